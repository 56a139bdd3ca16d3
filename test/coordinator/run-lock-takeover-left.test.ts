import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { claimRun } from '../../src/coordinator/run-config.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

// A resume killed mid-takeover (after it wrote run.lock.takeover, before it removed it) left both
// files: for 10 s every resume was E_CHECKPOINT "being trained by process <the dead pid>", and a
// new run of the name went to NAME-2 (found by SIGKILL at that moment with the CLI, strace -e inject).
test('a takeover file left by a process killed mid-takeover does not hold the run: a resume right after takes the dead lock over', async () => {
  const dir = await tempDir();
  const folder = new RunFolder(join(dir, 'r'));
  await mkdir(folder.dir);
  const killed = await deadPid();
  const taker = await deadPid();
  await writeFile(folder.lockFile, `${JSON.stringify({ pid: killed, host: hostname() })}\n`);
  await writeFile(`${folder.lockFile}.takeover`, `${JSON.stringify({ pid: taker, host: hostname() })}\n`); // just now
  await claimRun(folder);
  assert.equal((JSON.parse(await readFile(folder.lockFile, 'utf8')) as { pid: number }).pid, process.pid);
  assert.equal(existsSync(`${folder.lockFile}.takeover`), false);
  await folder.release();
});

test('a takeover in progress by a live process still holds the run', async () => {
  const dir = await tempDir();
  const folder = new RunFolder(join(dir, 'r'));
  await mkdir(folder.dir);
  const killed = await deadPid();
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)']);
  try {
    await writeFile(folder.lockFile, `${JSON.stringify({ pid: killed, host: hostname() })}\n`);
    await writeFile(`${folder.lockFile}.takeover`, `${JSON.stringify({ pid: live.pid, host: hostname() })}\n`);
    await assert.rejects(claimRun(folder), (err) => isTrainerError(err, 'E_CHECKPOINT'));
    assert.equal(existsSync(`${folder.lockFile}.takeover`), true, 'the live taker\'s file stays');
  } finally {
    live.kill('SIGKILL');
  }
});

test('a takeover file left by a taker killed after it removed the dead lock goes with the next claim', async () => {
  const dir = await tempDir();
  const folder = new RunFolder(join(dir, 'r'));
  await mkdir(folder.dir);
  await writeFile(`${folder.lockFile}.takeover`, `${JSON.stringify({ pid: await deadPid(), host: hostname() })}\n`);
  await claimRun(folder);
  assert.equal(existsSync(`${folder.lockFile}.takeover`), false);
  await folder.release();
});
