import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { writeFileAtomic } from '../../src/shared/atomic-file.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

/** A 64 KiB tmpfs, where this process may mount one (root with the capability); null elsewhere. */
async function smallDisk(): Promise<{ dir: string; unmount: () => void } | null> {
  if (process.getuid?.() !== 0) return null;
  const dir = join(await tempDir(), 'disk');
  await mkdir(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return { dir, unmount: () => void spawnSync('umount', [dir]) };
}

test('a disk filling up mid-write is E_IO naming the file and ENOSPC, and the previous file stays whole', async (t) => {
  const disk = await smallDisk();
  if (!disk) return t.skip('needs root and a tmpfs mount');
  try {
    const file = join(disk.dir, 'state.ckpt');
    const previous = Buffer.alloc(20_000, 1);
    await writeFile(file, previous);
    await assert.rejects(writeFileAtomic(file, [Buffer.alloc(30_000, 2), Buffer.alloc(30_000, 3)]), (err) => {
      assert.ok(isTrainerError(err, 'E_IO'), String(err));
      assert.equal(err.message, `cannot write ${file}: no space left on the device (ENOSPC)`);
      return true;
    });
    assert.deepEqual(await readFile(file), previous);
    assert.deepEqual(await readdir(disk.dir), ['state.ckpt']);
  } finally {
    disk.unmount();
  }
});
