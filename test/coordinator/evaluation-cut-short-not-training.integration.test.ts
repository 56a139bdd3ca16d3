import assert from 'node:assert/strict';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { runTraining } from '../../src/coordinator/run.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import type { PoolFactory, WorkerPool } from '../../src/transports/pool.js';
import { TrainerError } from '../../src/shared/errors.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

test("an evaluation cut short by a stop is run time, not training time: the checkpoint keeps the epoch's training seconds, and the resumed epoch's images/s is its training throughput", async () => {
  const dir = await tempDir();
  // 600 examples, batch 64: 10 steps an epoch, then the evaluation.
  const config = smallConfig(dir, { run: { name: 'eval-cut' }, train: { epochs: 1 } });
  const folder = RunFolder.of(config);
  const evalMs = 600;
  const stop = new AbortController();
  // The evaluation runs a while, then its workers are gone after the stop (a scheduler signals every process of the job).
  const createPool: PoolFactory = async (ctx) => {
    const pool = await createInProcessPool(ctx);
    pool.evaluate = async (..._args: Parameters<WorkerPool['evaluate']>) => {
      await sleep(evalMs);
      stop.abort();
      throw new TrainerError('E_NO_WORKERS', 'every worker left');
    };
    return pool;
  };
  assert.equal((await runTraining({ config, resume: false, createPool, log: quietLog, signal: stop.signal })).outcome, 'stopped');
  const ckpt = await loadCheckpoint(folder.checkpointFile);
  assert.deepEqual([ckpt.globalStep, ckpt.stepInEpoch], [10, 10], 'every step of the epoch done, its evaluation to come');
  assert.ok(ckpt.elapsedSec - ckpt.epochTrainSec >= (evalMs - 50) / 1000, `the evaluation's ${evalMs} ms are run time beside the training's ${ckpt.epochTrainSec} s (run ${ckpt.elapsedSec} s)`);

  await runTraining({ config, resume: true, createPool: createInProcessPool, log: quietLog });
  const [epoch] = await folder.readMetrics();
  assert.ok(epoch);
  const trainSec = epoch.step === 10 ? 600 / epoch.imagesPerSec : Number.NaN;
  assert.ok(trainSec < ckpt.epochTrainSec + (evalMs - 50) / 1000, `images/s counts training only: ${trainSec} s of training, the checkpoint's ${ckpt.epochTrainSec} s`);
  assert.ok(epoch.elapsedSec >= ckpt.elapsedSec, `the run's seconds keep the cut evaluation: ${epoch.elapsedSec} s, ${ckpt.elapsedSec} s at the stop`);
});
