/**
 * A seeded, CIFAR-shaped synthetic dataset, for machines without the real one
 * (CI is offline) and for fast tests. Each class is a shape with its own
 * orientation and a loose colour preference; position, size, colours, texture,
 * background gradient, clutter and pixel noise are random, so a small CNN has
 * to learn shapes to do well and cannot reach 100% at once.
 *
 * Same (seed, count, classes) gives byte-identical images on every machine:
 * the pictures (synthetic-draw.ts) use their own PRNG and only IEEE-exact operations (+ - * /,
 * sqrt, floor), never Math.random, sin, cos, exp or pow, whose last bits may
 * differ between platforms. A worker that regenerates the set therefore gets
 * the same bytes (and the same hash) as the coordinator.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as tar from 'tar';
import { diskFault, outOfRoom } from '../shared/atomic-file.js';
import { TrainerError } from '../shared/errors.js';
import { makeDir } from '../shared/make-dir.js';
import {
  BATCHES_DIR,
  CIFAR10_CLASSES,
  IMAGE_BYTES,
  META_FILE,
  RECORD_BYTES,
  TEST_BATCH_FILE,
  TRAIN_BATCH_FILES,
  allocateDataset,
  writeCifarBatch,
} from './cifar-format.js';
import type { Dataset } from './cifar-format.js';
import { Rng, SHAPES, mix32, renderImage } from './synthetic-draw.js';

export interface SyntheticOptions {
  trainSize: number;
  valSize: number;
  seed: number;
}

/** Independent random streams, so the validation set never repeats training images. */
const STREAM_TRAIN = 1;
const STREAM_VAL = 2;

/** `count` images with balanced labels 0..classes-1 in shuffled order. */
export function generateSynthetic(count: number, seed: number, classes = 10): Dataset {
  return generateStream(count, seed, STREAM_TRAIN, classes);
}

/**
 * Writes a synthetic train/val split into `dir/cifar-10-batches-bin/` in the
 * real binary layout: the training set split over data_batch_1..5.bin, the
 * validation set as test_batch.bin, plus batches.meta.txt. The folder is built
 * under a temporary name and renamed into place, so concurrent callers (several
 * worker processes on one machine) never read a half-written set.
 * Returns the path of the batches folder.
 */
export async function writeSyntheticCifar(dir: string, opts: SyntheticOptions): Promise<string> {
  checkSyntheticOptions(opts);
  const final = join(dir, BATCHES_DIR);
  const tmp = join(dir, `.${BATCHES_DIR}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await makeDir(tmp);
    const train = generateStream(opts.trainSize, opts.seed, STREAM_TRAIN, 10);
    let start = 0;
    for (let f = 0; f < TRAIN_BATCH_FILES.length; f++) {
      // Spread the remainder over the first files: 12 records -> 3 3 2 2 2.
      const n = Math.floor(opts.trainSize / 5) + (f < opts.trainSize % 5 ? 1 : 0);
      await writeCifarBatch(join(tmp, TRAIN_BATCH_FILES[f] as string), sliceDataset(train, start, n));
      start += n;
    }
    await writeCifarBatch(join(tmp, TEST_BATCH_FILE), generateStream(opts.valSize, opts.seed, STREAM_VAL, 10));
    await writeFile(join(tmp, META_FILE), `${CIFAR10_CLASSES.join('\n')}\n`);
    try {
      await rename(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Someone else finished the same set first; theirs is identical.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  } catch (err) {
    // The disk's fault: named with the folder and the room the set takes, not a temporary file of it.
    const fault = err instanceof TrainerError ? err.cause : err;
    const disk = diskFault(fault);
    if (disk !== null) {
      const mb = Math.ceil(((opts.trainSize + opts.valSize) * RECORD_BYTES) / 1e6);
      const room = outOfRoom(fault) ? ` (the set takes about ${mb} MB)` : '';
      throw new TrainerError(outOfRoom(fault) ? 'E_IO' : 'E_DATA', `cannot write the synthetic data set into ${dir}: ${disk}${room}`, { cause: err });
    }
    if (err instanceof TrainerError) throw err;
    throw new TrainerError('E_DATA', `cannot write synthetic dataset into ${dir}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return final;
}

/** Packs `srcDir/cifar-10-batches-bin/` into a gzipped tarball laid out like the published one. */
export async function makeCifarTarball(srcDir: string, outFile: string): Promise<void> {
  await tar.c({ gzip: true, file: outFile, cwd: srcDir, portable: true }, [BATCHES_DIR]);
}

export function checkSyntheticOptions(opts: SyntheticOptions): void {
  for (const key of ['trainSize', 'valSize'] as const) {
    const v = opts[key];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new TrainerError('E_DATA', `data.synthetic.${key} must be a non-negative integer, got ${String(v)}`);
    }
  }
  if (!Number.isSafeInteger(opts.seed)) {
    throw new TrainerError('E_DATA', `data.synthetic.seed must be an integer, got ${String(opts.seed)}`);
  }
}

function sliceDataset(d: Dataset, start: number, n: number): Dataset {
  return {
    images: d.images.subarray(start * IMAGE_BYTES, (start + n) * IMAGE_BYTES),
    labels: d.labels.subarray(start, start + n),
    count: n,
  };
}

function generateStream(count: number, seed: number, stream: number, classes: number): Dataset {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new TrainerError('E_DATA', `synthetic count must be a non-negative integer, got ${String(count)}`);
  }
  if (!Number.isSafeInteger(seed)) throw new TrainerError('E_DATA', `synthetic seed must be an integer, got ${String(seed)}`);
  if (!Number.isInteger(classes) || classes < 1 || classes > SHAPES.length) {
    throw new TrainerError('E_DATA', `synthetic classes must be an integer in 1..${SHAPES.length}, got ${String(classes)}`);
  }
  // Fold all 53 bits of the seed in, so seeds 1 and 2^32+1 differ.
  const base = mix32(mix32((seed >>> 0) ^ mix32(Math.floor(seed / 0x100000000) >>> 0)) ^ Math.imul(stream, 0x9e3779b1));
  const out = allocateDataset(count);
  for (let i = 0; i < count; i++) out.labels[i] = i % classes;
  const shuffle = new Rng(mix32(base ^ 0x5bd1e995));
  for (let i = count - 1; i > 0; i--) {
    const j = shuffle.int(i + 1);
    const t = out.labels[i] as number;
    out.labels[i] = out.labels[j] as number;
    out.labels[j] = t;
  }
  const canvas = new Float64Array(IMAGE_BYTES);
  for (let i = 0; i < count; i++) {
    // One stream per image: image i does not depend on how many came before.
    const rng = new Rng(mix32(base + Math.imul(i + 1, 0x85ebca6b)));
    renderImage(canvas, out.labels[i] as number, rng);
    const o = i * IMAGE_BYTES;
    for (let p = 0; p < IMAGE_BYTES; p++) {
      const v = canvas[p] as number;
      out.images[o + p] = v <= 0 ? 0 : v >= 1 ? 255 : Math.floor(v * 255 + 0.5);
    }
  }
  return out;
}
