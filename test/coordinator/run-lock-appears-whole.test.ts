import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import fsp, { mkdir, readFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import test from 'node:test';
import { claimRun } from '../../src/coordinator/run-config.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { tempDir } from '../helpers.js';

const runLock = new URL('../../src/coordinator/run-lock.js', import.meta.url).href;

// open('wx') made run.lock empty, and the process wrote its name into it after: killed between the
// two (SIGKILL at the lock's write, strace -e inject with the CLI), it left an empty lock, "process 0
// on ?", that only the 60 s lease could tell from one being written: the resume that followed waited
// a minute, and a new run of the name went to NAME-2.
test('a process killed the moment its run.lock appears leaves a lock that names it: a resume right after takes it over at once', async () => {
  const dir = await tempDir();
  const folder = new RunFolder(join(dir, 'r'));
  await mkdir(folder.dir);
  const code = `import fsp from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const lock = ${JSON.stringify(folder.lockFile)};
for (const name of ['open', 'link']) {
  const real = fsp[name];
  fsp[name] = async (...args) => {
    const r = await real(...args);
    if (existsSync(lock)) process.kill(process.pid, 'SIGKILL');
    return r;
  };
}
syncBuiltinESMExports();
const { claimLock } = await import(${JSON.stringify(runLock)});
await claimLock(lock);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'inherit' });
  const [, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  assert.equal(signal, 'SIGKILL', 'killed as its lock appeared');
  assert.equal((JSON.parse(await readFile(folder.lockFile, 'utf8')) as { pid: number }).pid, child.pid, 'the lock names the killed process');
  await claimRun(folder, () => assert.fail('waited for a dead process\'s lock'));
  assert.equal((JSON.parse(await readFile(folder.lockFile, 'utf8')) as { pid: number }).pid, process.pid, 'taken over at once');
  assert.deepEqual(readdirSync(folder.dir), ['run.lock'], 'the killed process\'s temporary file removed with the takeover');
  await folder.release();
});

test('where the file system has no hard links, run.lock is still created exclusively', async () => {
  const dir = await tempDir();
  const folder = new RunFolder(join(dir, 'r'));
  await mkdir(folder.dir);
  const real = fsp.link;
  fsp.link = () => Promise.reject(Object.assign(new Error('operation not permitted'), { code: 'EPERM' }));
  syncBuiltinESMExports();
  try {
    await claimRun(folder);
    assert.equal((JSON.parse(await readFile(folder.lockFile, 'utf8')) as { pid: number }).pid, process.pid);
    await folder.release();
    assert.deepEqual(readdirSync(folder.dir), [], 'no temporary file left');
  } finally {
    fsp.link = real;
    syncBuiltinESMExports();
  }
});
