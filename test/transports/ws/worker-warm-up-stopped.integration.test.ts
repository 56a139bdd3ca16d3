// A worker stopped (SIGSTOP) during its warm-up said the stopped time as the warm-up's
// ("warmed up: 2 gradients of 16 examples in 3061 ms"): its line now gives the CPU time beside it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../../helpers.js';
import { TOKEN, killAll, spawnMain, startBarePool, waitFor, type Spawned } from './helpers.js';

const STOPPED_MS = 3000;

test('a worker SIGSTOPped during its warm-up says the CPU time of the warm-up beside its wall time', async () => {
  const dir = await tempDir();
  const { pool, url } = await startBarePool(dir);
  const spawned: Spawned[] = [];
  try {
    // Gradients enough for the warm-up's 3 s cap: the stop lands inside it however fast this machine is.
    const worker = spawnMain(['worker', '--connect', url.replace(/^ws:\/\//, ''), '--backend', 'wasm', '--name', 'stopped', '--retry-for-ms', '15000'], {
      TRAINER_CACHE_DIR: join(dir, 'cache'),
      TRAINER_TOKEN: TOKEN,
      TRAINER_WARMUP_STEPS: '100000',
    });
    spawned.push(worker);
    // The dataset's line comes just before the warm-up.
    await waitFor('the dataset', () => /^dataset [0-9a-f]{12} received/m.test(worker.output()), 60_000);
    worker.child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, STOPPED_MS));
    worker.child.kill('SIGCONT');
    await waitFor('the warm-up line', () => /warmed up: /.test(worker.output()), 30_000);
    const m = /^warmed up: (\d+) (gradients?) of \d+ examples in (\d+) ms \((\d+) ms of CPU\)$/m.exec(worker.output());
    assert.ok(m, worker.output());
    // One gradient is "1 gradient" (the stopped warm-up often gets one in): it said "1 gradients".
    assert.equal(m[2], m[1] === '1' ? 'gradient' : 'gradients', m[0]);
    const [wallMs, cpuMs] = [Number(m[3]), Number(m[4])];
    assert.ok(wallMs >= STOPPED_MS, `wall ${wallMs} ms`);
    assert.ok(cpuMs < wallMs - STOPPED_MS / 2, `CPU ${cpuMs} ms of ${wallMs} ms, ${STOPPED_MS} ms of them stopped`);
    await waitFor('the worker ready', () => pool.size === 1, 30_000);
  } finally {
    killAll(spawned);
    await pool.close();
  }
});
