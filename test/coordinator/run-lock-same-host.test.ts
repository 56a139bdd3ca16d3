import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { claimRun } from '../../src/coordinator/run-config.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { LOCK_LEASE_MS, lockOwner } from '../../src/coordinator/run-lock.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

const runLock = new URL('../../src/coordinator/run-lock.js', import.meta.url).href;
const hasProc = existsSync('/proc/self/stat');

/** A live process on this machine that has claimed `file` (as a trainer would), stays alive and renews nothing in the test's few seconds. */
async function holder(file: string): Promise<{ child: ChildProcess; pid: number; exited: Promise<unknown> }> {
  const code = `const { claimLock } = await import(${JSON.stringify(runLock)});
if ((await claimLock(${JSON.stringify(file)})) !== null) process.exit(3);
console.log('held');
setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await Promise.race([
    new Promise<void>((resolve) => child.stdout.setEncoding('utf8').once('data', () => resolve())),
    exited.then((c) => Promise.reject(new Error(`the holder exited (${String(c)})`))),
  ]);
  return { child, pid: child.pid ?? 0, exited };
}

/** The lock as last renewed `ageMs` ago. */
async function age(file: string, ageMs: number): Promise<void> {
  const t = new Date(Date.now() - ageMs);
  await utimes(file, t, t);
}

const refusal = (folder: RunFolder, pid: number) => (err: unknown) =>
  isTrainerError(err, 'E_CHECKPOINT') &&
  err.message === `${folder.dir} is being trained by process ${pid} on ${hostname()}: wait for it to end or stop it (if no such run is in progress, remove ${folder.lockFile})`;

test('on this machine a run lock is its live process\'s however long since it was renewed (a stopped process trains on when it wakes); a dead or reused pid\'s is taken over at once', async () => {
  const dir = await tempDir();
  const folder = new RunFolder(join(dir, 'r'));
  await mkdir(folder.dir);
  const live = await holder(folder.lockFile);
  const written = await readFile(folder.lockFile, 'utf8');
  try {
    // Not renewed for ten leases: stopped (Ctrl-Z, SIGSTOP), a paused VM, a blocked event loop.
    await age(folder.lockFile, 10 * LOCK_LEASE_MS);
    await assert.rejects(claimRun(folder), refusal(folder, live.pid));
    // --resume (which waits out a lock from another machine) is refused at once too.
    await assert.rejects(claimRun(folder, () => assert.fail('waited for a live process on this machine')), refusal(folder, live.pid));
    assert.equal((await lockOwner(folder.lockFile))?.pid, live.pid, 'eval and --resume name it as the run\'s trainer');
    assert.equal(await readFile(folder.lockFile, 'utf8'), written, 'left as it was');

    // A lock written before locks named more than pid and host: still its live process's.
    await writeFile(folder.lockFile, `${JSON.stringify({ pid: live.pid, host: hostname() })}\n`);
    await age(folder.lockFile, 10 * LOCK_LEASE_MS);
    await assert.rejects(claimRun(folder), refusal(folder, live.pid));

    if (hasProc) {
      // The pid is alive but another process now: another start time (reused), or another boot.
      const lock = JSON.parse(written) as { startTicks: number; bootId: string };
      assert.equal(typeof lock.startTicks, 'number', written);
      for (const other of [{ startTicks: lock.startTicks + 1 }, { bootId: `${lock.bootId}-before-a-reboot` }]) {
        await writeFile(folder.lockFile, `${JSON.stringify({ ...lock, ...other })}\n`); // renewed just now
        await claimRun(folder);
        assert.equal((JSON.parse(await readFile(folder.lockFile, 'utf8')) as { pid: number }).pid, process.pid, `taken over (${JSON.stringify(other)})`);
        await folder.release();
      }
    }
  } finally {
    live.child.kill('SIGKILL');
  }

  // Its process gone (killed and reaped), the lock renewed just now: taken over at once.
  await live.exited;
  await writeFile(folder.lockFile, written);
  await claimRun(folder);
  assert.equal((JSON.parse(await readFile(folder.lockFile, 'utf8')) as { pid: number }).pid, process.pid);
  await folder.release();
  assert.equal(existsSync(folder.lockFile), false);
});

test('a lock from another pid namespace under this host name (a container with the host\'s network) is judged by its lease, not by a pid that names another process here', { skip: !hasProc && 'no /proc here' }, async () => {
  const dir = await tempDir();
  const folder = new RunFolder(join(dir, 'r'));
  await mkdir(folder.dir);
  // Its pid is no process in this namespace, and may be any process: only the lease can tell.
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => dead.once('exit', resolve));
  const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const lock = { pid: dead.pid, host: hostname(), bootId, startTicks: 1, pidNs: 'pid:[1]' };
  await writeFile(folder.lockFile, `${JSON.stringify(lock)}\n`);
  const someone = (err: unknown) => isTrainerError(err, 'E_CHECKPOINT') && err.message.startsWith(`${folder.dir} is being trained by process ${dead.pid} on ${hostname()}`);
  // Renewed just now: refused (it was taken over at once: its pid is dead here).
  await assert.rejects(claimRun(folder), someone);
  assert.equal((await lockOwner(folder.lockFile))?.pid, dead.pid);
  // --resume waits for its lease as for another machine's (it was refused at once as this machine's).
  let waited = '';
  await age(folder.lockFile, LOCK_LEASE_MS - 1_500);
  await claimRun(folder, (line) => (waited = line));
  assert.match(waited, /trains this run \(renewed \d+ s ago\); waiting up to \d+ s for it to end or its lock to lapse/);
  assert.equal((JSON.parse(await readFile(folder.lockFile, 'utf8')) as { pid: number }).pid, process.pid, 'taken over once lapsed');
  assert.match(await readFile(folder.lockFile, 'utf8'), /"pidNs":"pid:\[\d+\]"/, 'a lock names its pid namespace');
  await folder.release();
});
