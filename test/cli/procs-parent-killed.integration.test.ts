import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PARENT_GONE } from '../../src/cli/worker.js';
import { MAIN_JS } from '../../src/transports/ws/launch.js';
import { freePort, spawnMain, waitFor, wsConfig } from '../transports/ws/helpers.js';
import { killPids, pidsWith, tempDir } from '../helpers.js';

const noProc = !existsSync('/proc/self') && 'no /proc here';

/** Well under the 10 s of --retry-for-ms that the workers of a killed run waited out. */
const GONE_WITHIN_MS = 3000;

test('the worker processes of a trainer train --procs 2 killed outright (SIGKILL: it cannot reap them) leave within 3 s (they retried its coordinator, gone with it, for 10 s)', { skip: noProc }, async (t) => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'parent-killed', { train: { epochs: 30 }, cluster: { transport: 'local', workers: 1 } });
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const run = spawnMain(['train', '--config', file, '--procs', '2'], { TRAINER_CACHE_DIR: join(dir, 'cache') });
  let url = '';
  let workers: number[] = [];
  try {
    // Both joined and computing: the first epoch is done.
    await waitFor('the first epoch', () => {
      url = /listening on (ws:\/\/[\d.:]+);/.exec(run.output())?.[1] ?? '';
      return url !== '' && /Epoch 1,/.test(run.output());
    });
    workers = pidsWith(`--connect ${url}`);
    assert.equal(workers.length, 2, run.output());
    run.child.kill('SIGKILL');
    await run.exited;
    const t0 = Date.now();
    while (pidsWith(`--connect ${url}`).length > 0 && Date.now() - t0 < GONE_WITHIN_MS) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(pidsWith(`--connect ${url}`), [], `worker processes still there ${Date.now() - t0} ms after their trainer was killed`);
    t.diagnostic(`worker processes gone ${Date.now() - t0} ms after their trainer was`);
  } finally {
    run.child.kill('SIGKILL');
    killPids(workers);
  }
});

test('a worker given --parent-pipe says why and exits 129 when its standard input ends; one without it (started by hand, from anywhere) goes on retrying', async () => {
  const dir = await tempDir();
  // No coordinator there: both retry, as a --procs worker whose trainer was killed did.
  const url = `127.0.0.1:${await freePort()}`;
  const start = (extra: string[]) => {
    const child = spawn(process.execPath, [MAIN_JS, 'worker', '--connect', url, '--backend', 'wasm', '--retry-for-ms', '60000', ...extra], {
      env: { ...process.env, TRAINER_TOKEN: 'test-token-0123456789', TRAINER_CACHE_DIR: join(dir, 'cache') },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let out = '';
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<[number | null, number]>((resolve) => child.once('exit', (code) => resolve([code, Date.now()])));
    return { child, output: () => out, exited };
  };
  const piped = start(['--parent-pipe']);
  const plain = start([]);
  try {
    // (Or the first gone: one that refused the flag.)
    await waitFor('both retrying', () => piped.child.exitCode !== null || (/retrying/.test(piped.output()) && /retrying/.test(plain.output())), 60_000);
    const t0 = Date.now();
    piped.child.stdin?.end();
    plain.child.stdin?.end();
    const [code, at] = await piped.exited;
    assert.equal(code, 129, piped.output());
    assert.ok(at - t0 < GONE_WITHIN_MS, `exited ${at - t0} ms after its standard input ended`);
    assert.equal(piped.output().trim().split('\n').pop(), PARENT_GONE);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(plain.child.exitCode, null, `the worker without --parent-pipe exited: ${plain.output()}`);
    assert.doesNotMatch(plain.output(), /leaving/);
  } finally {
    piped.child.kill('SIGKILL');
    plain.child.kill('SIGKILL');
  }
});
