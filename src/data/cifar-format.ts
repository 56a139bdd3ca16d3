/**
 * The CIFAR-10 binary format, exactly as published: each record is one label
 * byte (0..9) followed by 3,072 pixel bytes, a 32×32 red plane, then green,
 * then blue, each row-major. A file is a plain concatenation of records with
 * no header, so the only structural checks possible are "a whole number of
 * records" and "every label names a class".
 */
import { readFile, stat, writeFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { TrainerError } from '../shared/errors.js';

/** The 10 class names in label order, as in batches.meta.txt. */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);

export const IMAGE_SIDE = 32;
export const IMAGE_CHANNELS = 3;
/** Pixels in one plane (one channel of one image). */
export const PLANE_BYTES = IMAGE_SIDE * IMAGE_SIDE;
export const IMAGE_BYTES = 3072;
export const RECORD_BYTES = 3073;
/** Largest label the format allows (CIFAR-10 has classes 0..9). */
export const MAX_LABEL = 9;

/** Folder and file names of the published archive. */
export const BATCHES_DIR = 'cifar-10-batches-bin';
export const TRAIN_BATCH_FILES: readonly string[] = Object.freeze([1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`));
export const TEST_BATCH_FILE = 'test_batch.bin';
export const META_FILE = 'batches.meta.txt';

/**
 * A dataset held as one Uint8Array of images (count × 3072, CHW planar per
 * image exactly as in the file, label byte stripped) plus one label per image.
 */
export interface Dataset {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** An empty dataset with room for `count` records. */
export function allocateDataset(count: number): Dataset {
  // Shared memory from the start: worker threads read the set where it was
  // read into, so it exists once per process and is never copied to share it.
  return {
    images: new Uint8Array(new SharedArrayBuffer(count * IMAGE_BYTES)),
    labels: new Uint8Array(new SharedArrayBuffer(count)),
    count,
  };
}

/** Reads one CIFAR-10 batch file (any whole number of records, including none). */
export async function readCifarBatch(file: string): Promise<Dataset> {
  const buf = await readBatchBytes(file);
  const count = buf.length / RECORD_BYTES;
  const out = allocateDataset(count);
  decodeRecords(buf, file, out, 0);
  return out;
}

/**
 * Reads several batch files of a dataset into one, in the given order, without
 * holding every file's bytes at once (the full training set is 150 MB). Each
 * must hold at least one record.
 */
export async function readCifarBatches(files: readonly string[]): Promise<Dataset> {
  let count = 0;
  for (const file of files) {
    const n = recordCount(file, await fileSize(file));
    // A dataset's batch file holds records (10,000 in CIFAR-10's): an empty one is a copy that went wrong.
    if (n === 0) throw new TrainerError('E_DATA', `${file} holds no records (0 bytes): a batch file of the dataset is empty`);
    count += n;
  }
  const out = allocateDataset(count);
  let offset = 0;
  for (const file of files) {
    const buf = await readBatchBytes(file);
    decodeRecords(buf, file, out, offset);
    offset += buf.length / RECORD_BYTES;
  }
  if (offset !== count) {
    throw new TrainerError('E_DATA', `${files.join(', ')} changed size while being read`);
  }
  return out;
}

/**
 * Writes a dataset as one batch file. The bytes go to a temporary name first
 * and are renamed into place, so a reader never sees half a file.
 */
export async function writeCifarBatch(file: string, data: Dataset): Promise<void> {
  checkDatasetShape(data, file);
  const buf = Buffer.allocUnsafe(data.count * RECORD_BYTES);
  for (let i = 0; i < data.count; i++) {
    const label = data.labels[i] ?? 0;
    if (label > MAX_LABEL) {
      throw new TrainerError('E_DATA', `cannot write ${file}: record ${i} has label ${label}, labels must be 0..${MAX_LABEL}`);
    }
    const at = i * RECORD_BYTES;
    buf[at] = label;
    buf.set(data.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES), at + 1);
  }
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, buf);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new TrainerError('E_DATA', `cannot write ${file}: ${errorText(err)}`, { cause: err });
  }
}

/** Throws E_DATA unless images, labels and count agree. */
export function checkDatasetShape(data: Dataset, what: string): void {
  if (!Number.isInteger(data.count) || data.count < 0) {
    throw new TrainerError('E_DATA', `${what}: count must be a non-negative integer, got ${data.count}`);
  }
  if (data.images.length !== data.count * IMAGE_BYTES || data.labels.length !== data.count) {
    throw new TrainerError(
      'E_DATA',
      `${what}: ${data.count} records need ${data.count * IMAGE_BYTES} image bytes and ${data.count} labels, ` +
        `got ${data.images.length} and ${data.labels.length}`,
    );
  }
}

/** Copies the records at `indices` (in that order) into a new dataset, labels mapped through `relabel`. */
export function pickRecords(d: Dataset, indices: ArrayLike<number>, relabel?: (label: number) => number): Dataset {
  const out = allocateDataset(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] ?? 0;
    out.images.set(d.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES), k * IMAGE_BYTES);
    const label = d.labels[i] ?? 0;
    out.labels[k] = relabel === undefined ? label : relabel(label);
  }
  return out;
}

async function fileSize(file: string): Promise<number> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new TrainerError('E_DATA', `${file} is not a regular file`);
    return s.size;
  } catch (err) {
    throw readError(file, err);
  }
}

async function readBatchBytes(file: string): Promise<Buffer> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw readError(file, err);
  }
  recordCount(file, buf.length);
  return buf;
}

function recordCount(file: string, size: number): number {
  if (size % RECORD_BYTES !== 0) {
    throw new TrainerError(
      'E_DATA',
      `${file} is truncated or has bytes over: ${size} bytes is not a whole number of ${RECORD_BYTES}-byte records ` +
        `(${Math.floor(size / RECORD_BYTES)} records and ${size % RECORD_BYTES} bytes over)`,
    );
  }
  return size / RECORD_BYTES;
}

/** Splits records into `out` starting at record `offset`, checking every label. */
function decodeRecords(buf: Uint8Array, file: string, out: Dataset, offset: number): void {
  const n = buf.length / RECORD_BYTES;
  for (let r = 0; r < n; r++) {
    const at = r * RECORD_BYTES;
    const label = buf[at] ?? 0;
    if (label > MAX_LABEL) {
      throw new TrainerError(
        'E_DATA',
        `${file}: record ${r} (byte offset ${at}) has label ${label}, labels must be 0..${MAX_LABEL}`,
      );
    }
    out.labels[offset + r] = label;
    out.images.set(buf.subarray(at + 1, at + RECORD_BYTES), (offset + r) * IMAGE_BYTES);
  }
}

function readError(file: string, err: unknown): TrainerError {
  if (err instanceof TrainerError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new TrainerError('E_DATA', `missing file ${file}`, { cause: err });
  if (code === 'EISDIR') return new TrainerError('E_DATA', `${file} is a directory, expected a batch file`, { cause: err });
  return new TrainerError('E_DATA', `cannot read ${file}: ${errorText(err)}`, { cause: err });
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return (err.message.split('\n')[0] ?? '').trim();
  return String(err);
}
