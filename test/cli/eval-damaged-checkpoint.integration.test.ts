import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import test, { type TestContext } from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { smallConfig, tempDir, trainStoppedAt } from '../helpers.js';
import { trainer } from './cli-helpers.js';

// eval and predict of a stopped run whose checkpoint is damaged (a flipped bit, a copy cut short)
// said "finish it with trainer train ... --resume", which then refused the checkpoint, saying no
// more than "is unusable: checksum mismatch".
test('eval of a stopped run whose checkpoint is damaged says so, and --resume says what can be done', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = smallConfig(dir, { run: { name: 'flipped' } });
  assert.equal((await trainStoppedAt(config, 4)).outcome, 'stopped');
  const folder = RunFolder.of(config);
  const bytes = await readFile(folder.checkpointFile);
  bytes.writeUInt8(bytes.readUInt8(bytes.length >> 1) ^ 0x04, bytes.length >> 1);
  await writeFile(folder.checkpointFile, bytes);

  const unusable = `checkpoint ${folder.checkpointFile} is unusable: checksum mismatch (damaged: restore it from a copy, or train the run again as a new run)`;
  const e = trainer(['eval', folder.dir]);
  assert.deepEqual([e.code, e.stdout, e.stderr], [2, '', `error E_MODEL: ${folder.dir} has no model, and ${unusable}\n`]);
  const r = trainer(['train', '--run.dir', config.run.dir, '--run.name', 'flipped', '--resume']);
  assert.deepEqual([r.code, r.stderr], [2, `error E_CHECKPOINT: ${unusable}\n`]);
});

/** A run of one epoch trained to its end, in a folder removed after the test. */
async function finishedRun(t: TestContext, name: string) {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = smallConfig(dir, { run: { name }, train: { epochs: 1 } });
  assert.equal((await trainStoppedAt(config, -1)).outcome, 'finished');
  return { config, folder: RunFolder.of(config) };
}

// A finished run whose model is whole and whose checkpoint is damaged: eval scored the model and said
// nothing, and the README says eval tells of an unusable checkpoint (--resume to extend it refuses it).
test('eval of a finished run with a damaged checkpoint scores its model and notes that the run cannot go on from its checkpoint', async (t) => {
  const { folder } = await finishedRun(t, 'done');
  const bytes = await readFile(folder.checkpointFile);
  await writeFile(folder.checkpointFile, bytes.subarray(0, bytes.length - 9));

  const e = trainer(['eval', folder.dir]);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /^Accuracy train: \d\.\d{4}\nAccuracy val: \d\.\d{4}\n$/);
  assert.match(e.stderr, new RegExp(`^note: checkpoint ${folder.checkpointFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is unusable: .+; its model is evaluated all the same, but the run cannot be resumed or trained further$`, 'm'));
});

// A finished run whose model folder was removed was "has no model yet: the run stopped before its end".
test('eval of a finished run without its model says it finished, and the --resume it names writes the model', async (t) => {
  const { config, folder } = await finishedRun(t, 'gone');
  await rm(folder.modelDir, { recursive: true });
  const resume = `trainer train --run.dir ${config.run.dir} --run.name gone --resume`;
  const e = trainer(['eval', folder.dir]);
  assert.deepEqual([e.code, e.stdout, e.stderr], [2, '', `error E_MODEL: ${folder.dir} finished its 1 epoch but has no model (removed, or not written to its end); ${resume} writes it from the final checkpoint\n`]);
  const r = trainer(resume.split(' ').slice(1));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(trainer(['eval', folder.dir]).code, 0);
});
