import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { MAX_TIMER_MS } from '../../src/shared/config.js';
import { tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, spawnMain, spawnWorker, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('trainer coordinator whose workers never come gives up after cluster.startTimeoutMs: exit 1 (a scheduler may try again), one error line, no run folder left (it waited for ever)', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'nobody');
  const t0 = performance.now();
  const r = trainer(['coordinator', '-c', config, '--port', '0', '--cluster.workers', '2', '--cluster.startTimeoutMs', '1500', '--quiet']);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(performance.now() - t0 >= 1500);
  assert.equal(
    r.stderr.split('\n').filter((l) => l.startsWith('error ')).join('\n'),
    'error E_NO_WORKERS: 0 of 2 worker(s) joined within cluster.startTimeoutMs (1.5 s): start the workers (trainer worker --connect HOST:PORT), or raise cluster.startTimeoutMs (0 waits for ever)',
  );
  assert.equal(existsSync(join(dir, 'runs')), false, 'no run folder, nor the runs/ folder made for it');
});

test('trainer coordinator whose worker joins within cluster.startTimeoutMs trains; the longest value a timer keeps (2^31-1 ms) does not give up at once (a longer timer fires at once)', async () => {
  const dir = await tempDir();
  const file = join(dir, 'c.yaml');
  await writeFile(file, JSON.stringify(wsConfig(dir, 'joined', { cluster: { workers: 1 } })));
  const port = await freePort();
  const procs: Spawned[] = [];
  try {
    const c = spawnMain(['coordinator', '--config', file, '--port', String(port), '--cluster.startTimeoutMs', String(MAX_TIMER_MS)], { TRAINER_TOKEN: TOKEN });
    procs.push(c);
    await waitFor('the coordinator listening', () => /waiting for 1 worker\(s\)/.test(c.output()));
    // Past the moment a timer that fired at once would have given up.
    await delay(1000);
    procs.push(spawnWorker(`127.0.0.1:${port}`, dir, 'w'));
    assert.equal(await c.exited, 0, c.output());
    assert.match(c.output(), /model saved to .* \(weights sha256 [0-9a-f]{64}\)/);
    assert.doesNotMatch(c.output(), /E_NO_WORKERS/);
  } finally {
    killAll(procs);
  }
});

test('a new run\'s coordinator that gives up on too few workers sends the one that joined away: it exits 1 at once, saying why, instead of retrying for its --retry-for-ms', async () => {
  const dir = await tempDir();
  const file = join(dir, 'c.yaml');
  // Long enough for a worker to join on a busy machine; the test waits this long.
  await writeFile(file, JSON.stringify(wsConfig(dir, 'short', { cluster: { workers: 2, startTimeoutMs: 8000 } })));
  const port = await freePort();
  const procs: Spawned[] = [];
  try {
    const c = spawnMain(['coordinator', '--config', file, '--port', String(port)], { TRAINER_TOKEN: TOKEN });
    procs.push(c);
    await waitFor('the coordinator listening', () => /waiting for 2 worker\(s\)/.test(c.output()));
    const worker = spawnWorker(`127.0.0.1:${port}`, dir, 'early');
    procs.push(worker);
    await waitFor('one worker ready', () => /ready; 1 worker$/m.test(c.output()));
    assert.equal(await c.exited, 1, c.output());
    const t0 = performance.now();
    assert.match(c.output(), /^error E_NO_WORKERS: 1 of 2 worker\(s\) joined within cluster\.startTimeoutMs \(8 s\): /m);
    // Nothing of the run exists: told "it may resume", the worker retried for its --retry-for-ms
    // (15 s here, 10 min under trainer.sbatch, for ever by default once joined).
    assert.equal(await worker.exited, 1, worker.output());
    assert.ok(performance.now() - t0 < 5000, `the worker took ${Math.round(performance.now() - t0)} ms`);
    assert.match(
      worker.output(),
      /^error E_WORKER_LOST: the coordinator at ws:\/\/127\.0\.0\.1:\d+ gave up before the run began \(nothing trained, nothing written\): 1 of 2 worker\(s\) joined within cluster\.startTimeoutMs \(8 s\); no run to wait for; start the workers again with the coordinator$/m,
    );
    assert.doesNotMatch(worker.output(), /retrying/);
  } finally {
    killAll(procs);
  }
});
