import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { createInProcessPool } from '../../../src/transports/in-process.js';
import { threadPoolFactory, type ThreadPool } from '../../../src/transports/threads/pool.js';
import { quietLog, smallConfig, tempDir } from '../../helpers.js';

// 600 examples in batches of 64: 10 steps an epoch, 9 of them with a next step to hint at.
test('threads load the next step\'s examples while they wait, and the weights do not change', async () => {
  const dir = await tempDir();
  const over = { train: { epochs: 2, microBatches: 2 }, eval: { every: 2 } };
  const base = await runTraining({ config: smallConfig(dir, { run: { name: 'in-process' }, ...over }), resume: false, createPool: createInProcessPool as PoolFactory, log: quietLog });
  let pool: ThreadPool | undefined;
  const factory = threadPoolFactory();
  const r = await runTraining({
    config: smallConfig(dir, { run: { name: 'threads' }, ...over, cluster: { transport: 'threads', workers: 2 } }),
    resume: false,
    log: quietLog,
    createPool: async (ctx) => (pool = await factory(ctx)),
  });
  assert.equal(r.weightsSha256, base.weightsSha256);
  const { used, dropped } = (pool as ThreadPool).staging();
  // 2 epochs x 9 hinted steps x 2 micro-batches = 36 hints; the last result of a run reports before its thread's last staging.
  assert.ok(used >= 18, `prefetched inputs used: ${used} (dropped ${dropped})`);
  assert.ok(used + dropped <= 36, `no more staged than hinted: ${used} + ${dropped}`);
});
