import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { pidsWith, tempDir } from '../helpers.js';
import { MAIN_JS } from '../../src/transports/ws/launch.js';
import { spawnMain, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

const noProc = !existsSync('/proc/self') && 'no /proc here';

async function procsRun(name: string, args: string[], over: object = {}, detached = false) {
  const dir = await tempDir();
  const config = wsConfig(dir, name, { train: { epochs: 30 }, cluster: { transport: 'local', workers: 1 }, ...over });
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const argv = ['train', '--config', file, ...args];
  const env = { TRAINER_CACHE_DIR: join(dir, 'cache') };
  // Its own process group, as a shell's foreground job: the terminal's Ctrl-C goes to the group.
  const run: Spawned = detached ? spawnDetached(argv, env) : spawnMain(argv, env);
  let url = '';
  await waitFor('the first epoch', () => {
    url = /listening on (ws:\/\/[\d.:]+);/.exec(run.output())?.[1] ?? '';
    return url !== '' && /Epoch 1,/.test(run.output());
  });
  return { run, url };
}

function spawnDetached(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, [MAIN_JS, ...args], { env: { ...process.env, TRAINER_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

const stoppedCleanly = (out: string) => {
  assert.match(out, /^stopped at epoch \d+, step \d+; checkpoint written, continue with --resume$/m);
  assert.doesNotMatch(out, /E_NO_WORKERS|starting it again/);
};

test('Ctrl-C in a terminal (SIGINT to the process group) stops trainer train --procs at a step with exit 130 (the workers got it too, left mid-step, and the run ended E_NO_WORKERS, exit 1)', { skip: noProc }, async () => {
  const { run } = await procsRun('ctrl-c', ['--procs', '2'], {}, true);
  try {
    process.kill(-(run.child.pid as number), 'SIGINT');
    assert.equal(await run.exited, 130, run.output());
    stoppedCleanly(run.output());
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('a local worker process that dies once more than it is started again ends the run at once with E_WORKER_LOST (it waited out cluster.noWorkerTimeoutMs, then said no worker joined)', { skip: noProc }, async () => {
  const { run, url } = await procsRun('dies', ['--procs', '1'], { cluster: { transport: 'local', workers: 1, noWorkerTimeoutMs: 60_000 } });
  try {
    const killed = new Set<number>();
    for (let death = 0; death < 4; death++) {
      let pid = 0;
      await waitFor(`worker process ${death}`, () => {
        pid = pidsWith(`--connect ${url}`).find((p) => !killed.has(p)) ?? 0;
        return pid !== 0;
      });
      killed.add(pid);
      process.kill(pid, 'SIGKILL');
    }
    const t0 = performance.now();
    assert.equal(await run.exited, 1, run.output());
    assert.ok(performance.now() - t0 < 20_000, `took ${Math.round(performance.now() - t0)} ms`);
    assert.match(run.output(), /worker process 0 exited \(SIGKILL\) for the 4th time; not started again/);
    assert.match(run.output(), /^error E_WORKER_LOST: every local worker process exited 4 times; the last, worker process 0 exited \(SIGKILL\); checkpoint at step \d+ written in .*, continue with --resume$/m);
  } finally {
    run.child.kill('SIGKILL');
  }
});
