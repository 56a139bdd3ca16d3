/** Image files as predict reads them: what is there is checked before it is read. */
import { open, stat } from 'node:fs/promises';
import { fsFaultText } from '../shared/atomic-file.js';
import { TrainerError } from '../shared/errors.js';
import { IMAGE_MAGIC_BYTES, imageKind } from './image.js';

/**
 * Most bytes an image file may have: a 40-megapixel PNG of 16-bit RGBA stored without compression
 * is 320 MB. Larger ones cannot be images under DEFAULT_MAX_IMAGE_PIXELS.
 */
const MAX_IMAGE_FILE_BYTES = 512 * 2 ** 20;

/**
 * An image file's bytes, once it is a regular file of at most MAX_IMAGE_FILE_BYTES that starts as
 * a PNG or a JPEG does: files were read whole first, so /dev/zero grew memory ~100 MB/s for ever,
 * a FIFO hung, and a 1.5 GB non-image took 16 s and 1.6 GB to be called one.
 */
export async function readImageFile(file: string): Promise<Uint8Array> {
  const failed = (err: unknown) => new TrainerError('E_DATA', `cannot read ${file}: ${fsFaultText(err)}`);
  const st = await stat(file).catch((err: unknown) => {
    throw failed(err);
  });
  // predict takes many files: a folder given for its images is told how to name them.
  if (st.isDirectory()) {
    throw new TrainerError('E_DATA', `cannot read ${file}: ${fsFaultText({ code: 'EISDIR' })}; name the images in it, as ${file.replace(/\/+$/, '')}/*.png`);
  }
  if (!st.isFile()) throw new TrainerError('E_DATA', `${file} is not a regular file (a device, FIFO or socket): name an image file`);
  if (st.size > MAX_IMAGE_FILE_BYTES) throw new TrainerError('E_DATA', `${file} has ${st.size} bytes, more than an image of at most 40 megapixels can (${MAX_IMAGE_FILE_BYTES})`);
  const fh = await open(file, 'r').catch((err: unknown) => {
    throw failed(err);
  });
  try {
    const head = new Uint8Array(IMAGE_MAGIC_BYTES);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (imageKind(head.subarray(0, bytesRead)) === null) throw new TrainerError('E_DATA', `${file} is not a PNG or JPEG file`);
    return await fh.readFile();
  } catch (err) {
    throw err instanceof TrainerError ? err : failed(err);
  } finally {
    await fh.close();
  }
}
