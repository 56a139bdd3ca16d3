// Helpers for the tests of how a micro-batch's input is made (not a test file itself).
import { IMAGE_BYTES, PLANE_BYTES, allocateDataset, type Dataset } from '../../src/data/cifar-format.js';
import { ARTICLE_NORMALIZATION, normalizePixel, type Normalization } from '../../src/data/normalize.js';

/** Normalisations to test with: the article's, an identity-like one, odd ones, a tiny std. */
export const NORMALIZATIONS: readonly Normalization[] = [
  ARTICLE_NORMALIZATION,
  { mean: [0, 0, 0], std: [1, 1, 1] },
  { mean: [0.5, 0.25, 0.9], std: [0.1, 0.3333, 2] },
  { mean: [0.47889522, 0.47227842, 0.43047404], std: [0.24205776, 0.23828046, 0.25874835] },
  { mean: [-3.7, 1e-3, 123.456], std: [1e-3, 7.77, 0.0625] },
];

/**
 * `count` images on a SharedArrayBuffer (as the trainer reads them). Every plane of every image
 * holds each byte value 0..255 four times, at positions that differ per image and channel, so
 * any batch of one image or more covers every byte value on every channel.
 */
export function everyByteDataset(count: number): Dataset {
  const d = allocateDataset(count);
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) {
      const base = i * IMAGE_BYTES + c * PLANE_BYTES;
      for (let p = 0; p < PLANE_BYTES; p++) d.images[base + p] = (p * 5 + 37 * i + 91 * c) & 0xff;
    }
    d.labels[i] = (i * 7) % 10;
  }
  return d;
}

/** Indices in an awkward order: descending, repeated, a run of consecutive ones, one alone. */
export function oddIndices(count: number, n: number): Int32Array {
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    if (k % 4 === 3) out[k] = out[k - 1]!; // a repeat
    else if (k < n / 2) out[k] = count - 1 - ((k * 3) % count); // descending, jumping
    else out[k] = (k - Math.floor(n / 2) + 1) % count; // a consecutive run
  }
  return out;
}

/** The definition, pixel by pixel with normalizePixel, independent of any table or kernel. */
export function referenceImages(d: Dataset, indices: ArrayLike<number>, norm: Normalization): Float32Array {
  const out = new Float32Array(indices.length * IMAGE_BYTES);
  for (let k = 0; k < indices.length; k++) {
    const image = (indices[k] as number) * IMAGE_BYTES;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < PLANE_BYTES; p++) {
        out[k * IMAGE_BYTES + p * 3 + c] = normalizePixel(d.images[image + c * PLANE_BYTES + p] as number, c as 0 | 1 | 2, norm);
      }
    }
  }
  return out;
}

/** Index of the first element whose bits differ (so -0 vs 0 and NaN payloads count), or -1. */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}
