import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import type { PoolFactory } from '../../src/transports/pool.js';
import { procsPoolFactory } from '../../src/transports/ws/launch.js';
import { smallConfig, tempDir } from '../helpers.js';

/** This process's children (the local worker processes, once the pool started them). */
function children(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('local worker processes that never join (stopped) end the start on time: E_TIMEOUT at the join deadline, their processes gone within 1 s more (it waited out 5 s of SIGTERM first)', async (t) => {
  const dir = await tempDir();
  const config = smallConfig(dir, { cluster: { transport: 'procs', workers: 2 } });
  const stopped: number[] = [];
  t.after(() => stopped.forEach((pid) => alive(pid) && process.kill(pid, 'SIGKILL')));
  // Stops each worker process as soon as it exists: they load for a second or more before they
  // could join, and a stopped process takes no SIGTERM.
  const watch = setInterval(() => {
    for (const pid of children()) {
      if (stopped.includes(pid)) continue;
      stopped.push(pid);
      process.kill(pid, 'SIGSTOP');
    }
  }, 20);
  // Timed from the pool's start, where the join deadline starts: from before runTraining, the time
  // counted the run's set-up too (data, model): 6-7 s of it on one core beside two busy loops.
  const factory = procsPoolFactory({ joinDeadlineMs: 1500, workerArgs: ['--cache-dir', join(dir, 'cache')] });
  let t0 = Number.NaN;
  const createPool: PoolFactory = (ctx) => {
    t0 = performance.now();
    return factory(ctx);
  };
  try {
    await assert.rejects(
      runTraining({ config, resume: false, log: () => {}, createPool }),
      (err) => isTrainerError(err, 'E_TIMEOUT') && err.message === '2 local worker process(es) not ready within 1500 ms',
    );
  } finally {
    clearInterval(watch);
  }
  const took = performance.now() - t0;
  assert.equal(stopped.length, 2, `stopped ${stopped.length} worker processes`);
  assert.ok(took >= 1500 && took < 1500 + 3000, `the start ended after ${Math.round(took)} ms`);
  assert.deepEqual(stopped.filter(alive), [], 'no worker process left');
});
