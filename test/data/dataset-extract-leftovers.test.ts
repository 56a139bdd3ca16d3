import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isTrainerError } from '../../src/shared/errors.js';
import { loadDatasets } from '../../src/data/dataset.js';
import { options, smallTarball, tempDir } from './fixtures.js';
import { writeSyntheticCifar } from '../../src/data/synthetic.js';

/** A ustar archive of plain files, written by hand: tar's own packer will not put a file where a folder goes. */
function rawTar(entries: { name: string; data: Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    h.write(e.name, 0);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${e.data.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\0' + '00', 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, e.data, Buffer.alloc((512 - (e.data.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

test('an archive with a file where cifar-10-batches-bin/ goes is E_DATA and leaves no temporary folder (was E_INTERNAL ENOTEMPTY, one more .extract-* a try)', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const src = join(dir, 'src');
  await writeSyntheticCifar(src, { trainSize: 30, valSize: 10, seed: 3 });
  const files = await readdir(join(src, 'cifar-10-batches-bin'));
  const entries = [{ name: 'cifar-10-batches-bin', data: Buffer.from('x') }];
  for (const f of files.sort()) entries.push({ name: `cifar-10-batches-bin/${f}`, data: await readFile(join(src, 'cifar-10-batches-bin', f)) });
  const data = join(dir, 'data');
  await mkdir(data);
  await writeFile(join(data, 'cifar-10-binary.tar.gz'), gzipSync(rawTar(entries)));
  for (let i = 0; i < 3; i++) {
    await assert.rejects(loadDatasets(options(data)), (err) => isTrainerError(err, 'E_DATA') && /cannot extract/.test(err.message));
    assert.deepEqual(await readdir(data), ['cifar-10-binary.tar.gz']);
  }
});

test("a killed process's temporaries in the data folder are swept once an hour untouched; fresh ones, a live writer's and a user's stay", async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const tarball = await smallTarball(dir);
  const data = join(dir, 'data');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited: its id runs nothing now
  const live = process.ppid;
  const swept = [`.cifar-10-batches-bin.extract-${dead}-AbC123`, `cifar-10-binary.tar.gz.download-${dead}-0a1b2c3d`, `.cifar-10-batches-bin.tmp-${dead}-0a1b2c3f`];
  await mkdir(join(data, swept[0] as string, 'cifar-10-batches-bin'), { recursive: true });
  await writeFile(join(data, swept[1] as string), tarball.bytes.subarray(0, 100));
  await mkdir(join(data, swept[2] as string));
  await mkdir(join(data, `.cifar-10-batches-bin.extract-${dead}-Fresh1`));
  await writeFile(join(data, `cifar-10-binary.tar.gz.download-${live}-0a1b2c3e`), tarball.bytes.subarray(0, 100));
  // Names like them that no trainer wrote: a user's, never swept.
  await mkdir(join(data, '.extract-backup'));
  await writeFile(join(data, 'photos.download-2024-0badcafe'), 'x');
  await writeFile(join(data, 'notes.txt'), 'mine');
  const old = new Date(Date.now() - 2 * 3600_000);
  for (const name of [...swept, `cifar-10-binary.tar.gz.download-${live}-0a1b2c3e`, 'notes.txt', '.extract-backup', 'photos.download-2024-0badcafe']) await utimes(join(data, name), old, old);
  await writeFile(join(data, 'cifar-10-binary.tar.gz'), tarball.bytes);
  const loaded = await loadDatasets(options(data));
  assert.equal(loaded.train.count, 30);
  assert.deepEqual((await readdir(data)).sort(), [
    `.cifar-10-batches-bin.extract-${dead}-Fresh1`,
    '.extract-backup',
    'cifar-10-batches-bin',
    'cifar-10-binary.tar.gz',
    `cifar-10-binary.tar.gz.download-${live}-0a1b2c3e`,
    'notes.txt',
    'photos.download-2024-0badcafe',
  ].sort());
});
