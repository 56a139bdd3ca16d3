import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint } from '../../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../../src/coordinator/run-folder.js';
import { runTraining } from '../../../src/coordinator/run.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import type { Fault } from '../../../src/transports/threads/messages.js';
import { threadPoolFactory } from '../../../src/transports/threads/pool.js';
import { quietLog, smallConfig, tempDir } from '../../helpers.js';

async function train(dir: string, name: string, createPool: PoolFactory, over: object = {}) {
  const config = smallConfig(dir, {
    run: { name },
    data: { synthetic: { trainSize: 300 } },
    train: { epochs: 1, microBatches: 4 },
    cluster: { transport: 'threads', workers: 2, stepTimeoutMs: 3000 },
    ...over,
  });
  return runTraining({ config, resume: false, createPool, log: quietLog });
}

/** Fails the first attempt of micro-batch 1 of step 2 and of micro-batch 3 of step 3. */
const faultAt = (fault: Fault) => (step: number, m: number, attempt: number) =>
  attempt === 0 && ((step === 2 && m === 1) || (step === 3 && m === 3)) ? fault : undefined;

test('a thread that dies, throws or hangs mid-step loses its micro-batches to the others, and the weights stay bit-identical', async () => {
  const dir = await tempDir();
  const clean = await train(dir, 'clean', threadPoolFactory());
  for (const fault of ['exit', 'throw', 'hang'] as const) {
    const injected: string[] = [];
    const r = await train(
      dir,
      `fault-${fault}`,
      threadPoolFactory({
        injectFault: (s, m, a) => {
          const f = faultAt(fault)(s, m, a);
          if (f) injected.push(`${s}/${m}`);
          return f;
        },
      }),
      fault === 'hang' ? { cluster: { transport: 'threads', workers: 2, stepTimeoutMs: 4000 } } : {},
    );
    assert.deepEqual(injected, ['2/1', '3/3'], `${fault} injected`);
    assert.equal(r.weightsSha256, clean.weightsSha256, `after ${fault}`);
  }
});

test('a micro-batch that fails on every attempt ends the step with E_WORKER_LOST, not a hang, and leaves a checkpoint', async () => {
  const dir = await tempDir();
  await assert.rejects(
    train(dir, 'always', threadPoolFactory({ maxAttempts: 3, injectFault: (s, m) => (s === 1 && m === 0 ? 'throw' : undefined) })),
    (e) => isTrainerError(e, 'E_WORKER_LOST') && /failed 3 times/.test(e.message),
  );
  const ck = await loadCheckpoint(new RunFolder(join(dir, 'runs', 'always')).checkpointFile);
  assert.equal(ck.globalStep, 1, 'the checkpoint holds the one step that finished');
  assert.equal(ck.stepInEpoch, 1);
});

test('tfjs-node backends in more than one thread point to multi-process mode', async () => {
  const dir = await tempDir();
  for (const backend of ['tensorflow', 'tensorflow-gpu'] as const) {
    await assert.rejects(
      train(dir, `native-${backend}`, threadPoolFactory(), { backend }),
      (e) => isTrainerError(e, 'E_CONFIG') && /--procs/.test(e.message),
    );
  }
});

test('a thread that dies, throws or hangs in its range of the step end (run by the threads) changes no bit: the range is run again', async () => {
  const dir = await tempDir();
  // Plain SGD (smallConfig has momentum, which the threads do not take).
  const plain = { train: { epochs: 1, microBatches: 4, momentum: 0 } };
  const clean = await train(dir, 'clean-step-end', threadPoolFactory(), plain);
  for (const fault of ['exit', 'throw', 'hang'] as const) {
    const injected: string[] = [];
    const r = await train(
      dir,
      `step-end-${fault}`,
      threadPoolFactory({
        stepEndMin: 1,
        injectStepEndFault: (step, range) => {
          if (!((step === 1 && range === 0) || (step === 3 && range === 3))) return undefined;
          injected.push(`${step}/${range}`);
          return fault;
        },
      }),
      plain,
    );
    assert.deepEqual(injected, ['1/0', '3/3'], `${fault} injected`);
    assert.equal(r.weightsSha256, clean.weightsSha256, `after ${fault}`);
  }
});
