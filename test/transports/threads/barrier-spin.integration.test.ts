import assert from 'node:assert/strict';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { createInProcessPool } from '../../../src/transports/in-process.js';
import { pinCores } from '../../../src/transports/threads/pin.js';
import { threadPoolFactory, type ThreadPool } from '../../../src/transports/threads/pool.js';
import { quietLog, smallConfig, tempDir } from '../../helpers.js';

// 600 examples in batches of 64, 4 micro-batches: 10 steps an epoch, each thread taking two of a step.
const over = { train: { epochs: 2, microBatches: 4 }, eval: { every: 2 } };

async function train(dir: string, threads: number, spin?: '0'): Promise<{ sha: string | null; spins: number; cores: number[] }> {
  let pool: ThreadPool | undefined;
  let cores: number[] = [];
  const before = process.env['TRAINER_BARRIER_SPIN'];
  // Read by each thread as it starts (threads get a copy of this process's environment).
  if (spin === undefined) delete process.env['TRAINER_BARRIER_SPIN'];
  else process.env['TRAINER_BARRIER_SPIN'] = spin;
  try {
    const factory = threadPoolFactory();
    const r = await runTraining({
      config: smallConfig(dir, { run: { name: `spin-${threads}-${spin ?? 'on'}` }, ...over, cluster: { transport: 'threads', workers: threads } }),
      resume: false,
      log: quietLog,
      createPool: async (ctx) => {
        pool = await factory(ctx);
        cores = pool.cores();
        return pool;
      },
    });
    const p = pool as ThreadPool;
    return { sha: r.weightsSha256, spins: p.barrierSpins(), cores };
  } finally {
    if (before === undefined) delete process.env['TRAINER_BARRIER_SPIN'];
    else process.env['TRAINER_BARRIER_SPIN'] = before;
  }
}

test('pinned threads spin while the other finishes a step instead of sleeping at once, one thread never does, TRAINER_BARRIER_SPIN=0 turns it off, and the weights do not change', { skip: pinCores(2) === null && 'fewer than 2 CPUs to pin 2 threads to' }, async () => {
  const dir = await tempDir();
  const base = await runTraining({ config: smallConfig(dir, { run: { name: 'in-process' }, ...over }), resume: false, createPool: createInProcessPool as PoolFactory, log: quietLog });

  const two = await train(dir, 2);
  assert.equal(two.sha, base.weightsSha256);
  assert.equal(two.cores.length, 2, 'both threads pinned');
  // 20 steps: in nearly every one the first thread to finish finds the other still computing.
  assert.ok(two.spins > 0, `2 pinned threads: spun ${two.spins} times in 20 steps`);

  // One thread has no one to wait for; unpinned threads (here: asked not to spin) sleep as before.
  const one = await train(dir, 1);
  assert.equal(one.sha, base.weightsSha256);
  assert.equal(one.spins, 0);
  const off = await train(dir, 2, '0');
  assert.equal(off.sha, base.weightsSha256);
  assert.equal(off.spins, 0);
});
