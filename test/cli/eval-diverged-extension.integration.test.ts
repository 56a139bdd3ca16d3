import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { poisonedFrom, quietLog, smallConfig, tempDir } from '../helpers.js';
import { trainer } from './cli-helpers.js';

// 600 images in batches of 64: 10 steps an epoch. A finished 1-epoch run (its model written) is
// extended with --train.epochs 3 and diverges: eval and predict keep reading the epoch-1 model.
async function extendedAndDiverged(dir: string, name: string, from: number): Promise<string> {
  const config = smallConfig(dir, { run: { name }, train: { epochs: 1 } });
  assert.equal((await runTraining({ config, resume: false, createPool: createInProcessPool, log: quietLog })).outcome, 'finished');
  const longer = smallConfig(dir, { run: { name }, train: { epochs: 3 } });
  await assert.rejects(runTraining({ config: longer, resume: true, createPool: poisonedFrom(from), log: quietLog }), (err) => isTrainerError(err, 'E_DIVERGED'));
  return join(dir, 'runs', name);
}

test('eval of a finished run whose extension diverged after a new checkpoint says so and names how to end it there, not "finish it with --resume" (which diverges again)', async () => {
  const dir = await tempDir();
  const run = await extendedAndDiverged(dir, 'ext', 25); // step 26 diverges: the checkpoint of epoch 2 stays
  const runs = join(dir, 'runs');
  const resume = `trainer train --run.dir ${runs} --run.name ext --resume`;
  const r = trainer(['eval', run, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stderr,
    `note: ${run}/model is the model of the run's earlier end: resumed for 3 epochs, the run diverged at step 26 (E_DIVERGED), and diverges again from its checkpoint; ` +
      `${resume} --train.epochs 2 ends it at its checkpoint, epoch 2, and writes that model\n`,
  );
  // The command named works, and then the model is the run's last word.
  const end = trainer(['train', '--run.dir', runs, '--run.name', 'ext', '--resume', '--train.epochs', '2']);
  assert.equal(end.code, 0, end.stderr);
  assert.equal(trainer(['eval', run, '--json']).stderr, '');
});

test('eval of a finished run whose extension diverged before its next checkpoint says that the model is the end at that checkpoint and that the extension diverged (it said nothing)', async () => {
  const dir = await tempDir();
  const run = await extendedAndDiverged(dir, 'ext', 12); // step 13 diverges: the checkpoint is still the model's, epoch 1
  const r = trainer(['eval', run, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `note: ${run}/model is the model of the run's end at epoch 1: resumed for more epochs, the run diverged at step 13 (E_DIVERGED), and diverges again from there\n`);
});
