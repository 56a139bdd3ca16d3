import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { poisonedFrom, quietLog, smallConfig, tempDir } from '../helpers.js';
import { trainer } from './cli-helpers.js';

test('eval of a run that diverged after an epoch\'s checkpoint names, beside --resume, how to end it there (it diverges again on --resume, the only way it named); the model that writes is the checkpoint\'s, and eval and predict call it no "model of the run\'s earlier end"', async () => {
  const dir = await tempDir();
  // Two epochs of 10 steps; the 13th diverges: the checkpoint of epoch 1 stays, no model.
  const config = smallConfig(dir, { run: { name: 'div' }, train: { epochs: 2 } });
  await assert.rejects(runTraining({ config, resume: false, createPool: poisonedFrom(12), log: quietLog }), (err) => isTrainerError(err, 'E_DIVERGED'));
  const runs = join(dir, 'runs');
  const run = join(runs, 'div');
  const resume = `trainer train --run.dir ${runs} --run.name div --resume`;
  const r = trainer(['eval', run]);
  assert.deepEqual([r.code, r.stdout, r.stderr], [
    2,
    '',
    `error E_MODEL: ${run} has no model yet: the run stopped before its end; finish it with ${resume} ` +
      `(it stopped with E_DIVERGED, and diverges again from there; ${resume} --train.epochs 1 ends it at its checkpoint, epoch 1, and writes that model)\n`,
  ]);
  // The command named works: it writes the checkpoint's model, and the run no longer counts as diverged.
  const end = trainer(['train', '--run.dir', runs, '--run.name', 'div', '--resume', '--train.epochs', '1']);
  assert.equal(end.code, 0, end.stderr);
  assert.match(end.stdout, /model saved to /);
  assert.equal(await access(new RunFolder(run).divergedFile).then(() => true, () => false), false);
  // That model is the checkpoint, though the checkpoint keeps 2 epochs: eval and predict said it was
  // "the model of the run's earlier end" and to finish the run with --resume.
  const image = join(dir, 'x.png');
  await writeFile(image, PNG.sync.write(new PNG({ width: 8, height: 8 })));
  for (const args of [['eval', run, '--json'], ['predict', '--run', run, image, '--json']]) {
    const e = trainer(args);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stderr, '', args[0]);
  }
});
