import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { killPids, pidsWith, tempDir } from '../helpers.js';
import { spawnMain, waitFor, wsConfig } from '../transports/ws/helpers.js';

/** How long each worker process's own child lives (holding the worker's stderr): past every bound below. */
const HOLDER_S = 60;

/**
 * Preloaded into every process of the run (NODE_OPTIONS): in a worker process, starts a process of
 * its own that inherits its stderr and outlives it (in its own session, untouched by the run's
 * signals), and notes its pid in `pidFile` for the test to kill.
 */
const holderPreload = (pidFile: string) => `
if (process.argv.includes('worker')) {
  const c = require('node:child_process').spawn('sleep', ['${HOLDER_S}'], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  require('node:fs').appendFileSync(${JSON.stringify(pidFile)}, c.pid + '\\n');
  c.unref();
}
`;

test('trainer train --procs 2 whose worker processes started a process that holds their stderr: one SIGKILLed mid-run is started again at once, and the run exits at its end (it was started again only once that process ended, and the run hung at its end until then)', { skip: !existsSync('/proc/self') && 'no /proc here' }, async (t) => {
  const dir = await tempDir();
  const pidFile = join(dir, 'holders');
  const preload = join(dir, 'holder.cjs');
  await writeFile(preload, holderPreload(pidFile));
  // About 0.2 s an epoch here: the run goes on well past the 1 s before the start again.
  const epochs = 60;
  const config = wsConfig(dir, 'held', { train: { epochs }, cluster: { transport: 'local', workers: 1 } });
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const run = spawnMain(['train', '--config', file, '--procs', '2'], { TRAINER_CACHE_DIR: join(dir, 'cache'), NODE_OPTIONS: `--require ${JSON.stringify(preload)}` });
  let url = '';
  try {
    await waitFor('the first epoch', () => {
      url = /listening on (ws:\/\/[\d.:]+);/.exec(run.output())?.[1] ?? '';
      return url !== '' && /Epoch 1,/.test(run.output());
    });
    const workers = pidsWith(`--connect ${url}`);
    assert.equal(workers.length, 2, run.output());
    process.kill(workers[0] as number, 'SIGKILL');
    const killed = performance.now();
    // 1 s of its stderr after its exit, then its start; the old code waited out the holder (~50 s more).
    await waitFor('the worker process started again', () => /worker process \d exited \(SIGKILL\); starting it again \(1 of 3\)/.test(run.output()), 15_000);
    const restartMs = performance.now() - killed;
    await waitFor('the last epoch', () => new RegExp(`Epoch ${epochs},`).test(run.output()));
    const last = performance.now();
    // The end: up to 2 s for the workers to exit, 1 s for their stderr, then the model's export.
    const exit = await Promise.race([run.exited, new Promise((r) => setTimeout(r, 15_000, 'still running 15 s after its last epoch'))]);
    assert.equal(exit, 0, run.output());
    assert.match(run.output(), /weights sha256 [0-9a-f]{64}/);
    t.diagnostic(`started again ${Math.round(restartMs)} ms after the SIGKILL; exited ${Math.round(performance.now() - last)} ms after the last epoch`);
  } finally {
    run.child.kill('SIGKILL');
    if (url !== '') killPids(pidsWith(`--connect ${url}`));
    killPids(existsSync(pidFile) ? readFileSync(pidFile, 'utf8').split('\n').filter(Boolean).map(Number) : []);
  }
});
