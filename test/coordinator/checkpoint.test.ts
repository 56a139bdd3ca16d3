import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint, saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';
import { sampleCheckpoint as sample } from './checkpoint-fixtures.js';


test('a checkpoint round-trips every field bit for bit', async () => {
  for (const momentum of [false, true]) {
    const dir = await tempDir();
    const s = await sample(dir, momentum);
    await saveCheckpoint(new RunFolder(dir).checkpointFile, s);
    assert.deepEqual(await loadCheckpoint(new RunFolder(dir).checkpointFile), s);
  }
});

test('saving leaves no temporary files behind and replaces the previous checkpoint', async () => {
  const dir = await tempDir();
  const s = await sample(dir, true);
  await saveCheckpoint(new RunFolder(dir).checkpointFile, s);
  s.globalStep = 26;
  await saveCheckpoint(new RunFolder(dir).checkpointFile, s);
  assert.deepEqual(await readdir(join(dir, 'checkpoint')), ['state.ckpt']);
  assert.equal((await loadCheckpoint(new RunFolder(dir).checkpointFile)).globalStep, 26);
});

test('a missing, truncated or corrupted checkpoint is E_CHECKPOINT', async () => {
  const dir = await tempDir();
  await assert.rejects(loadCheckpoint(new RunFolder(dir).checkpointFile), (e) => isTrainerError(e, 'E_CHECKPOINT') && /no checkpoint/.test(e.message));
  await saveCheckpoint(new RunFolder(dir).checkpointFile, await sample(dir, false));
  const file = new RunFolder(dir).checkpointFile;
  const bytes = await readFile(file);
  await writeFile(file, bytes.subarray(0, bytes.length - 4));
  await assert.rejects(loadCheckpoint(new RunFolder(dir).checkpointFile), (e) => isTrainerError(e, 'E_CHECKPOINT') && /size/.test(e.message));
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
  await writeFile(file, flipped);
  await assert.rejects(loadCheckpoint(new RunFolder(dir).checkpointFile), (e) => isTrainerError(e, 'E_CHECKPOINT') && /checksum/.test(e.message));
  await writeFile(file, 'hello');
  await assert.rejects(loadCheckpoint(new RunFolder(dir).checkpointFile), (e) => isTrainerError(e, 'E_CHECKPOINT') && /not a trainer checkpoint/.test(e.message));
});
