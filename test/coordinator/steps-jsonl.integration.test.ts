import assert from 'node:assert/strict';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import type { StepInfo } from '../../src/coordinator/train-loop.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir, trainStoppedAt } from '../helpers.js';

// 300 examples, batch 64: 5 steps an epoch (the last of 44), 3 epochs; a line every 2 steps.
const over = { run: { name: 'steps' }, data: { synthetic: { trainSize: 300 } }, train: { epochs: 3, lr: 0.05 }, log: { everySteps: 2 } };

test('steps.jsonl has a line every log.everySteps steps (mean loss and images/s of those steps, lr, workers), at each checkpoint and at a stop; a resume carries on after it', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, over);
  const seen: StepInfo[] = [];
  const part = await trainStoppedAt(config, 7, (s) => seen.push(s));
  assert.equal(part.outcome, 'stopped');
  await runTraining({ config, resume: true, createPool: createInProcessPool, log: quietLog });

  const lines = await new RunFolder(`${config.run.dir}/steps`).readSteps();
  // Each epoch's end writes a checkpoint: the steps up to it are in the log (a run killed after it
  // and resumed from it had lost step 5 from every line).
  assert.deepEqual(lines.map((l) => l.step), [2, 4, 5, 6, 7, 8, 10, 12, 14, 15], 'every 2 steps, each checkpoint (5, 10, 15), the stop at 7, and the run\'s last step');
  assert.deepEqual(lines.map((l) => l.epoch), [1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
  const [s1, s2] = seen;
  assert.ok(s1 && s2);
  const first = lines[0]!;
  assert.equal(first.loss, (s1.stepLoss * s1.stepExamples + s2.stepLoss * s2.stepExamples) / (s1.stepExamples + s2.stepExamples), 'the mean loss of the steps since the previous line');
  for (const l of lines) {
    assert.equal(l.lr, 0.05);
    assert.equal(l.workers, 1);
    assert.ok(l.imagesPerSec > 0 && Number.isFinite(l.imagesPerSec));
    assert.ok(Number.isFinite(l.loss) && l.loss > 0);
  }
  assert.ok(lines.every((l, i) => i === 0 || l.elapsedSec >= lines[i - 1]!.elapsedSec), 'run time grows, across the resume too');
});
