import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

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
