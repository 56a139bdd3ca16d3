import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, open, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { readImageFile } from '../../src/predict/image-file.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { tempDir } from '../helpers.js';

const dataError = (message: string) => (err: unknown) => isTrainerError(err, 'E_DATA') && err.message === message;

test('an image file is checked before it is read whole: a device, a FIFO, a file too large for an image, or one that does not start as PNG or JPEG is E_DATA at once (/dev/zero grew memory for ever, a FIFO hung)', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const png = new PNG({ width: 2, height: 2 });
  png.data.fill(90);
  const good = PNG.sync.write(png);
  await writeFile(join(dir, 'a.png'), good);
  await symlink(join(dir, 'a.png'), join(dir, 'link.png'));
  assert.deepEqual(Buffer.from(await readImageFile(join(dir, 'a.png'))), good);
  assert.deepEqual(Buffer.from(await readImageFile(join(dir, 'link.png'))), good, 'a link to an image is read');

  await assert.rejects(readImageFile('/dev/zero'), dataError('/dev/zero is not a regular file (a device, FIFO or socket): name an image file'));
  const fifo = join(dir, 'pipe.png');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(readImageFile(fifo), dataError(`${fifo} is not a regular file (a device, FIFO or socket): name an image file`));
  const huge = join(dir, 'huge.png');
  const fh = await open(huge, 'w');
  await fh.truncate(600 * 2 ** 20); // sparse: no disk used
  await fh.close();
  await assert.rejects(readImageFile(huge), dataError(`${huge} has ${600 * 2 ** 20} bytes, more than an image of at most 40 megapixels can (${512 * 2 ** 20})`));
  await writeFile(join(dir, 'notes.png'), 'not an image at all');
  await assert.rejects(readImageFile(join(dir, 'notes.png')), dataError(`${join(dir, 'notes.png')} is not a PNG or JPEG file`));
  await mkdir(join(dir, 'folder.png'));
  await assert.rejects(readImageFile(join(dir, 'folder.png')), dataError(`cannot read ${join(dir, 'folder.png')}: a folder, not a file (EISDIR); name the images in it, as ${join(dir, 'folder.png')}/*.png`));
  await assert.rejects(readImageFile(`${dir}/`), dataError(`cannot read ${dir}/: a folder, not a file (EISDIR); name the images in it, as ${dir}/*.png`));
  await assert.rejects(readImageFile(join(dir, 'missing.png')), dataError(`cannot read ${join(dir, 'missing.png')}: no such file or folder (ENOENT)`));
});
