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
  const counts = new Map<number, number[]>();
  await runTraining({
    config,
    resume: false,
    createPool: capture,
    log: quietLog,
    onStep: (s) => {
      if (s.globalStep === 10 || s.globalStep === 1000) counts.set(s.globalStep, [...(pool as ThreadPool).tensorCounts().values()]);
    },
  });
  const at10 = counts.get(10);
  const at1000 = counts.get(1000);
  assert.ok(at10 && at1000 && at10.length === 2, `both threads reported: ${JSON.stringify([...counts])}`);
  assert.deepEqual(at1000, at10);
});
