import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { makeDir } from '../../src/shared/make-dir.js';

test('makeDir makes every missing folder, leaves existing ones, and refuses a file in the way', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-make-dir-'));
  try {
    const deep = join(dir, 'a', 'b', 'c');
    // The folders it made, top down: a run that fails before it begins takes them back (run-lock.ts).
    assert.deepEqual(await makeDir(deep), [join(dir, 'a'), join(dir, 'a', 'b'), deep]);
    assert.ok(statSync(deep).isDirectory());
    assert.deepEqual(await makeDir(deep), []); // already there
    assert.deepEqual(await makeDir(`${join(dir, 'a')}/./b/../b`), []);
    // Several processes making the same cache folder at once all succeed; each folder is one's.
    const made = await Promise.all(Array.from({ length: 8 }, () => makeDir(join(dir, 'x', 'y', 'z'))));
    assert.deepEqual(made.flat().sort(), [join(dir, 'x'), join(dir, 'x', 'y'), join(dir, 'x', 'y', 'z')]);
    assert.ok(statSync(join(dir, 'x', 'y', 'z')).isDirectory());
    await writeFile(join(dir, 'file'), 'not a folder');
    await assert.rejects(makeDir(join(dir, 'file', 'sub')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR');
    await assert.rejects(makeDir(join(dir, 'file')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR');
    // A link to nothing in the way: said so (it was a bare EEXIST).
    await symlink(join(dir, 'gone'), join(dir, 'dangling'));
    await assert.rejects(makeDir(join(dir, 'dangling')), (e: Error) => e.message === `a link to ${join(dir, 'gone')}, which does not exist`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('makeDir ends where the file system refuses a folder whose parent exists (Node 20\'s recursive mkdir spins there for ever)', { skip: !existsSync('/proc/self') && 'no /proc here' }, async () => {
  const t0 = performance.now();
  await assert.rejects(makeDir('/proc/trainer-no-such/run'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  assert.ok(performance.now() - t0 < 5000, 'rejected at once');
});
