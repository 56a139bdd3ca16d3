import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir, trainStoppedAt } from '../helpers.js';

// 300 examples, batch 64: 5 steps an epoch; a line every 2 steps; a checkpoint at each epoch's end.
const over = { run: { name: 'ends' }, data: { synthetic: { trainSize: 300 } }, train: { epochs: 3, lr: 0.05 }, log: { everySteps: 2 } };

test('a run ended at its checkpoint (--resume --train.epochs N, nothing trained) drops the metrics and steps lines past that checkpoint, as a resume that trains does', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, over);
  const folder = new RunFolder(`${config.run.dir}/ends`);
  const saved = `${dir}/epoch1.ckpt`;
  // A process killed in epoch 3 with its checkpoint still at epoch 1 (as a run that diverged in
  // epoch 2 leaves it, or a kill while a later checkpoint was written): the epoch-1 checkpoint is
  // kept aside at step 6 and put back after the stop.
  const part = await trainStoppedAt(config, 12, (s) => s.globalStep === 6 && copyFileSync(folder.checkpointFile, saved));
  assert.equal(part.outcome, 'stopped');
  copyFileSync(saved, folder.checkpointFile);
  assert.deepEqual((await folder.readMetrics()).map((m) => m.epoch), [1, 2], 'the lines the process wrote past the checkpoint');

  const end = await runTraining({ config: smallConfig(dir, { ...over, train: { ...over.train, epochs: 1 } }), resume: true, createPool: createInProcessPool, log: quietLog });
  assert.equal(end.outcome, 'finished');
  assert.deepEqual((await folder.readMetrics()).map((m) => m.epoch), [1], 'the model is epoch 1\'s: epoch 2\'s line is not its run');
  assert.deepEqual((await folder.readSteps()).map((s) => s.step), [2, 4, 5], 'steps past the checkpoint (6, 8, 10, 12) were not this model\'s training');
});
