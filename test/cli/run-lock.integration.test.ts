import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { LOCK_LEASE_MS } from '../../src/coordinator/run-lock.js';
import { tempDir } from '../helpers.js';
import { waitFor } from '../transports/ws/helpers.js';
import { CLI, smallConfigFile, trainer } from './cli-helpers.js';

/** Starts the CLI; `seen` resolves once its output matches `pattern`; with the child and a promise of its exit. */
function startUntil(args: string[], pattern: RegExp) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  let out = '';
  const exited = new Promise<{ code: number | null; out: string }>((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, out });
    });
  });
  const seen = new Promise<void>((resolve, reject) => {
    const onData = (s: string) => {
      out += s;
      if (pattern.test(out)) resolve();
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    void exited.then(() => reject(new Error(`exited before its output matched ${pattern}: ${out}`)));
  });
  return { child, exited, seen };
}

test('one process trains a run at a time: run.lock names it; a new run of the same name goes elsewhere, --resume is refused while it lives, and taken over once it was killed', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'r', 40);
  const size = ['--data.synthetic.trainSize', '2000'];
  const live = startUntil(['train', '--config', config, ...size], /Epoch 1,/);
  try {
    await live.seen;
    const folder = new RunFolder(join(dir, 'runs', 'r'));
    await waitFor('its first checkpoint', () => existsSync(folder.checkpointFile));
    // Stopped once its first checkpoint is out, it lives on and holds its lock (however long it is
    // stopped: run-lock-same-host.test.ts), without taking a core from the runs below.
    live.child.kill('SIGSTOP');
    const lock = JSON.parse(await readFile(folder.lockFile, 'utf8')) as { pid: unknown; host: unknown };
    assert.deepEqual({ pid: lock.pid, host: lock.host }, { pid: live.child.pid, host: hostname() });

    // Started while it trains (its first checkpoint is out, so this shows the checkpoint rule too).
    const second = trainer(['train', '--config', config, '--train.epochs', '1', ...size]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /model saved to .*runs\/r-2\/model /);
    assert.equal(existsSync(join(dir, 'runs', 'r-2', 'run.lock')), false, 'released at the end');

    const resumed = trainer(['train', '--config', config, '--resume', ...size]);
    assert.equal(resumed.code, 2);
    assert.equal(
      resumed.stderr,
      `error E_CHECKPOINT: ${folder.dir} is being trained by process ${live.child.pid} on ${hostname()}: wait for it to end or stop it (if no such run is in progress, remove ${folder.lockFile})\n`,
    );

    // No model yet, and not for want of a --resume: it is still training.
    const early = trainer(['eval', '--run', folder.dir]);
    assert.equal(early.stderr, `error E_MODEL: ${folder.dir} has no model yet: process ${live.child.pid} on ${hostname()} is still training it, and writes the model at its end\n`);

    live.child.kill('SIGKILL');
    assert.equal((await live.exited).code, null);
    assert.ok(existsSync(folder.lockFile), 'a killed process leaves its lock');
    // One epoch past the last one it finished (checkpoints are written at epoch ends).
    const epochs = String((await folder.readMetrics()).length + 1);
    const after = trainer(['train', '--config', config, '--resume', '--train.epochs', epochs, ...size]);
    assert.equal(after.code, 0, after.stderr);
    assert.match(after.stdout, /model saved to .*runs\/r\/model /);
    assert.equal(existsSync(folder.lockFile), false);
  } finally {
    live.child.kill('SIGKILL');
  }
});

test('two runs of one config started at the same moment get two folders, never one', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'twin', 1);
  const start = () =>
    new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'train', '--config', config], { stdio: ['ignore', 'pipe', 'ignore'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.once('error', reject);
      child.once('exit', (code) => resolve({ code, stdout }));
    });
  const runs = await Promise.all([start(), start(), start()]);
  const folders = runs.map((r) => {
    assert.equal(r.code, 0);
    return /model saved to (\S+)\/model /.exec(r.stdout)?.[1];
  });
  assert.deepEqual(new Set(folders).size, 3, folders.join(', '));
});

test('a lock from another machine: a new run goes elsewhere; --resume waits for its lease to lapse (a rescheduled pod), and takes over a lapsed one at once', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'moved', 1);
  const first = trainer(['train', '--config', config]);
  assert.equal(first.code, 0, first.stderr);
  const folder = new RunFolder(join(dir, 'runs', 'moved'));
  // Written whole and renamed into place, as a holder renews it: a reader never sees half a lock.
  const foreign = async (ageMs: number) => {
    const temp = `${folder.lockFile}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify({ pid: 4242, host: 'another-node' })}\n`);
    const t = new Date(Date.now() - ageMs);
    await utimes(temp, t, t);
    await rename(temp, folder.lockFile);
  };

  // Renewed 3 s ago: a new run of that name goes elsewhere, without waiting.
  await foreign(3_000);
  const fresh = trainer(['train', '--config', config, '--run.name', 'moved', '--data.synthetic.trainSize', '640']);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(fresh.stderr, /runs\/moved already holds a run/);

  // Renewed (3 s short of lapsing) until --resume says it waits, then no more: it waits about 3 s
  // for it to lapse, then trains on. Renewed until then, however long the CLI takes to start.
  await foreign(LOCK_LEASE_MS - 3_000);
  let renewing = true;
  const renewals = (async () => {
    while (renewing) {
      await new Promise((r) => setTimeout(r, 100));
      await foreign(LOCK_LEASE_MS - 3_000);
    }
  })();
  const resumed = startUntil(['train', '--config', config, '--resume', '--train.epochs', '2'], /waiting up to \d+ s/);
  try {
    await resumed.seen;
  } finally {
    renewing = false;
    await renewals;
  }
  const t0 = performance.now();
  const { code, out } = await resumed.exited;
  assert.equal(code, 0, out);
  assert.match(out, /run\.lock: process 4242 on another-node trains this run \(renewed \d+ s ago\); waiting up to \d+ s for it to end or its lock to lapse/);
  assert.ok(performance.now() - t0 > 2_000, 'it waited for the lease');
  assert.equal(existsSync(folder.lockFile), false);

  // Lapsed long ago: taken over at once.
  await foreign(10 * LOCK_LEASE_MS);
  const lapsed = trainer(['train', '--config', config, '--resume', '--train.epochs', '3']);
  assert.equal(lapsed.code, 0, lapsed.stderr);
  assert.doesNotMatch(lapsed.stderr, /waiting/);
});

test('a lock whose process was killed but not yet reaped (a zombie) is taken over at once, like a gone one', { skip: !existsSync('/proc/self') && 'no /proc here' }, async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'zombie', 50);
  // sh starts the run, then becomes `sleep`, which never reaps it: once killed, it stays a zombie.
  const parent = spawn('sh', ['-c', `"${process.execPath}" "${CLI}" train --config "${config}" --quiet & echo $!; exec sleep 120`], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    let pid = 0;
    parent.stdout.setEncoding('utf8').on('data', (s: string) => (pid ||= Number.parseInt(s, 10)));
    const folder = new RunFolder(join(dir, 'runs', 'zombie'));
    await waitFor('a first checkpoint', () => pid > 0 && existsSync(folder.checkpointFile));
    process.kill(pid, 'SIGKILL');
    await waitFor('the run to be a zombie', async () => / Z /.test(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')));
    // It said "is being trained by process N" until the zombie was reaped.
    const epochs = String((await folder.readMetrics()).length + 1);
    const after = trainer(['train', '--config', config, '--resume', '--train.epochs', epochs]);
    assert.equal(after.code, 0, after.stderr);
  } finally {
    parent.kill('SIGKILL');
  }
});

test('--resume of a run still in its first epoch (no checkpoint yet) names the process that trains it, not a wrong --run.name', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'young');
  const folder = new RunFolder(join(dir, 'runs', 'young'));
  await mkdir(folder.dir, { recursive: true });
  // This test's own process holds it: alive, on this host.
  await writeFile(folder.lockFile, JSON.stringify({ pid: process.pid, host: hostname() }));
  const r = trainer(['train', '--config', config, '--resume']);
  assert.equal(r.stderr, `error E_CHECKPOINT: ${folder.dir} is being trained by process ${process.pid} on ${hostname()} and has no checkpoint yet: wait for it to end or stop it\n`);
  assert.equal(r.code, 2);
});
