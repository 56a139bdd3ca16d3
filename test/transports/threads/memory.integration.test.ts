import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { ThreadPool, threadPoolFactory } from '../../../src/transports/threads/pool.js';
import { quietLog, smallConfig, tempDir } from '../../helpers.js';

test('worker threads free their tensors every step: the count after step 10 equals the count after step 1,000', async () => {
  const dir = await tempDir();
  // Micro-batches of one image keep 1,000 steps cheap.
  const config = smallConfig(dir, {
    data: { synthetic: { trainSize: 2000, valSize: 10 } },
    train: { epochs: 1, batchSize: 2, microBatches: 2, lr: 0.01, momentum: 0 },
    eval: { batchSize: 10 },
    cluster: { transport: 'threads', workers: 2 },
  });
  let pool: ThreadPool | undefined;
  const factory = threadPoolFactory();
  const capture: PoolFactory = async (ctx) => (pool = await factory(ctx));
  let early: { step: number; counts: number[] } | null = null;
  let at1000: number[] | null = null;
  await runTraining({
    config,
    resume: false,
    createPool: capture,
    log: quietLog,
    onStep: (s) => {
      const now = [...(pool as ThreadPool).tensorCounts().values()];
      // From step 10, once each thread has computed a task (under load one may not have by step 10:
      // its count was 0, which is no growth).
      if (early === null && s.globalStep >= 10 && now.length === 2 && now.every((n) => n > 0)) early = { step: s.globalStep, counts: now };
      if (s.globalStep === 1000) at1000 = now;
    },
  });
  const first = early as { step: number; counts: number[] } | null;
  assert.ok(first !== null && first.step < 500 && at1000 !== null, `both threads reported: ${JSON.stringify([first, at1000])}`);
  assert.deepEqual(at1000, first.counts, `after step ${first.step} and after step 1,000`);
});
