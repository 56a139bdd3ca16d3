import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { RunFolder, type EpochMetrics } from '../../src/coordinator/run-folder.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir, trainStoppedAt } from '../helpers.js';

// 300 examples, batch 64: 5 steps an epoch; 3 epochs = 15 steps.
const over = (name: string, epochs = 3) => ({ run: { name }, data: { synthetic: { trainSize: 300 } }, train: { epochs } });

test('a run stopped mid-epoch and resumed ends bit-identical to one never interrupted, with the same losses', async () => {
  const dir = await tempDir();
  const losses = (list: number[]) => (m: { trainLoss: number }) => list.push(m.trainLoss);
  const straight: number[] = [];
  const whole = await runTraining({ config: smallConfig(dir, over('whole')), resume: false, createPool: createInProcessPool, log: quietLog, onEpoch: losses(straight) });

  const config = smallConfig(dir, over('interrupted'));
  const stop = new AbortController();
  const first: number[] = [];
  const part = await runTraining({
    config,
    resume: false,
    createPool: createInProcessPool,
    log: quietLog,
    signal: stop.signal,
    onEpoch: losses(first),
    onStep: (s) => s.globalStep === 7 && stop.abort(), // in the middle of epoch 2
  });
  assert.equal(part.outcome, 'stopped');
  const second: number[] = [];
  const resumed = await runTraining({ config, resume: true, createPool: createInProcessPool, log: quietLog, onEpoch: losses(second) });
  assert.equal(resumed.outcome, 'finished');
  assert.equal(resumed.weightsSha256, whole.weightsSha256);
  assert.deepEqual([...first, ...second], straight);
});

test('a finished run extended with more epochs matches a run that had them from the start', async () => {
  const dir = await tempDir();
  const whole = await runTraining({ config: smallConfig(dir, over('whole')), resume: false, createPool: createInProcessPool, log: quietLog });
  await runTraining({ config: smallConfig(dir, over('extended', 2)), resume: false, createPool: createInProcessPool, log: quietLog });
  const extended = await runTraining({ config: smallConfig(dir, over('extended', 3)), resume: true, createPool: createInProcessPool, log: quietLog });
  assert.equal(extended.weightsSha256, whole.weightsSha256);
});

test('resuming with a different seed or batch size is refused; starting over an existing run is refused', async () => {
  const dir = await tempDir();
  await runTraining({ config: smallConfig(dir, over('r', 1)), resume: false, createPool: createInProcessPool, log: quietLog });
  await assert.rejects(
    runTraining({ config: smallConfig(dir, { ...over('r', 2), train: { epochs: 2, batchSize: 32 } }), resume: true, createPool: createInProcessPool, log: quietLog }),
    (e) => isTrainerError(e, 'E_CHECKPOINT') && /train\.batchSize differs/.test(e.message),
  );
  await assert.rejects(
    runTraining({ config: smallConfig(dir, over('r', 1)), resume: false, createPool: createInProcessPool, log: quietLog }),
    (e) => isTrainerError(e, 'E_CONFIG') && /--resume/.test(e.message),
  );
  await assert.rejects(
    runTraining({ config: smallConfig(dir, over('never-ran')), resume: true, createPool: createInProcessPool, log: quietLog }),
    (e) => isTrainerError(e, 'E_CHECKPOINT'),
  );
});

test('a run resumed with train.epochs lowered to its checkpoint evaluates that last epoch (eval.every had skipped it) before writing its model', async () => {
  const dir = await tempDir();
  const oneEpoch = { eval: { every: 5 } };
  const epochs: EpochMetrics[] = [];
  const whole = await runTraining({ config: smallConfig(dir, { ...over('whole', 1), ...oneEpoch }), resume: false, createPool: createInProcessPool, log: quietLog, onEpoch: (m) => epochs.push(m) });
  // Three epochs wanted, stopped at the end of the first (not evaluated: eval.every 5), then ended there.
  const cut = await trainStoppedAt(smallConfig(dir, { ...over('cut', 3), ...oneEpoch }), 5);
  assert.equal(cut.outcome, 'stopped');
  const folder = RunFolder.of(smallConfig(dir, over('cut', 1)));
  assert.equal((await folder.readMetrics())[0]?.trainAcc, null);
  const lines: string[] = [];
  const ended = await runTraining({ config: smallConfig(dir, { ...over('cut', 1), ...oneEpoch }), resume: true, createPool: createInProcessPool, log: (l) => lines.push(l) });
  assert.equal(ended.outcome, 'finished');
  assert.equal(ended.weightsSha256, whole.weightsSha256);
  assert.match(lines.join('\n'), /finished its 1 epoch but has no model in .*, after evaluating its last epoch/);
  assert.match(lines.join('\n'), /Epoch 1, .*train acc \d\.\d{3}, val acc/);
  const [line] = await folder.readMetrics();
  const [want] = epochs;
  assert.ok(line && want && want.trainAcc !== null);
  assert.deepEqual([line.trainAcc, line.valAcc, line.valLoss], [want.trainAcc, want.valAcc, want.valLoss]);
  assert.ok(line.elapsedSec > 0);
});
