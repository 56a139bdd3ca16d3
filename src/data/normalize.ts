/**
 * Per-channel normalisation of uint8 CIFAR images into the float32 NHWC
 * tensors the models take.
 *
 * Bit-exact parity across workers depends on every worker turning the same
 * bytes into the same floats, so the formula is fixed here and nowhere else:
 *
 *   scale_c = 1 / (255 * std_c)            (float64)
 *   shift_c = -mean_c / std_c              (float64)
 *   out     = Math.fround(pixel * scale_c + shift_c)
 *
 * The multiply and add are float64 IEEE operations (no fused multiply-add in
 * JavaScript) and the store rounds once to float32, so the result is the same
 * on every machine and Node version. It differs from `(pixel/255 - mean)/std`
 * by at most an ulp or so; do not "simplify" one into the other in one worker
 * only. Training looks the floats up in a table of this formula's 3×256 values
 * (normalizationTable), which gives the same bits with no arithmetic per pixel.
 */
import { TrainerError } from '../shared/errors.js';
import { IMAGE_BYTES, PLANE_BYTES } from './cifar-format.js';
import type { Dataset } from './cifar-format.js';

export interface Normalization {
  mean: [number, number, number];
  std: [number, number, number];
}

/** The usual CIFAR-10 statistics (of pixel/255), as quoted in most articles. */
export const ARTICLE_NORMALIZATION: Normalization = Object.freeze({
  mean: Object.freeze([0.4914, 0.4822, 0.4465]),
  std: Object.freeze([0.247, 0.2435, 0.2616]),
}) as unknown as Normalization;

/**
 * Mean and population standard deviation per channel of pixel/255 over every
 * pixel of the set. Works from exact per-channel histograms and sums them in
 * a fixed order in float64, so the result is deterministic and independent of
 * how the set was read or split.
 */
export function channelStats(d: Dataset): Normalization {
  if (d.count === 0) throw new TrainerError('E_DATA', 'cannot compute channel statistics of an empty dataset');
  const hist = new Float64Array(3 * 256);
  const { images } = d;
  for (let i = 0; i < d.count; i++) {
    const base = i * IMAGE_BYTES;
    for (let c = 0; c < 3; c++) {
      const from = base + c * PLANE_BYTES;
      const h = c * 256;
      for (let p = from; p < from + PLANE_BYTES; p++) hist[h + (images[p] as number)]! += 1;
    }
  }
  const n = d.count * PLANE_BYTES;
  const mean: [number, number, number] = [0, 0, 0];
  const std: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let v = 0; v < 256; v++) sum += v * hist[c * 256 + v]!;
    const m = sum / n;
    let sq = 0;
    for (let v = 0; v < 256; v++) {
      const dv = v - m;
      sq += dv * dv * hist[c * 256 + v]!;
    }
    mean[c] = m / 255;
    std[c] = Math.sqrt(sq / n) / 255;
  }
  return { mean, std };
}

/**
 * The run's normalisation (data.normalize): 'auto' means the statistics of the
 * training set (after class selection and limits), 'article' the article's
 * figures; anything else is used as given, after checking it.
 */
export function resolveNormalization(spec: 'auto' | 'article' | Normalization, train: Dataset): Normalization {
  const norm = spec === 'auto' ? channelStats(train) : spec === 'article' ? ARTICLE_NORMALIZATION : spec;
  checkNormalization(norm);
  return norm;
}

/** Throws E_DATA unless every mean is finite and every std positive and finite. */
export function checkNormalization(norm: Normalization): void {
  for (let c = 0; c < 3; c++) {
    const m = norm.mean[c];
    const s = norm.std[c];
    if (typeof m !== 'number' || !Number.isFinite(m)) {
      throw new TrainerError('E_DATA', `normalization mean[${c}] must be a finite number, got ${String(m)}`);
    }
    if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0) {
      throw new TrainerError(
        'E_DATA',
        `normalization std[${c}] must be a positive finite number, got ${String(s)}` +
          (s === 0 ? ' (is every pixel of that channel the same?)' : ''),
      );
    }
  }
}

/** The float32 value `normalizeBatch` writes for one pixel byte of channel `c`. */
export function normalizePixel(pixel: number, c: 0 | 1 | 2, norm: Normalization): number {
  const scale = 1 / (255 * norm.std[c]);
  const shift = -norm.mean[c] / norm.std[c];
  return Math.fround(pixel * scale + shift);
}

/**
 * Writes the images at `indices` into `out` as NHWC float32, image k at
 * out[k*3072 .. (k+1)*3072), element (y, x, c) at ((y*32 + x)*3 + c), using the
 * formula at the top of this file (through its table: the same bits).
 * `out.length` must be at least indices.length*3072; the rest of `out` is left
 * alone. For one-off batches (prediction, tests); training keeps its table.
 */
export function normalizeBatch(d: Dataset, indices: ArrayLike<number>, norm: Normalization, out: Float32Array): void {
  normalizeBatchFromTable(d, indices, normalizationTable(norm), out);
}

/** Floats in a table from `normalizationTable`: 256 byte values for each of the 3 channels. */
export const NORMALIZATION_TABLE_SIZE = 3 * 256;

/**
 * table[c*256 + byte] = normalizePixel(byte, c, norm). A pixel has only 256 values per
 * channel, so looking its float up gives exactly what the formula gives, with no arithmetic
 * per pixel; this is how training turns bytes into floats (normalizeBatchFromTable here, or the
 * wasm kernel in worker/kernels/normalize-images.ts).
 */
export function normalizationTable(norm: Normalization): Float32Array {
  checkNormalization(norm);
  const table = new Float32Array(NORMALIZATION_TABLE_SIZE);
  for (const c of [0, 1, 2] as const) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = normalizePixel(v, c, norm);
  }
  return table;
}

/** Throws E_INTERNAL unless every index names a record of `d` (`who` starts the message). */
export function checkBatchIndices(d: Dataset, indices: ArrayLike<number>, who: string): void {
  const { count } = d;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new TrainerError('E_INTERNAL', `${who}: index ${i} at position ${k} is outside 0..${count - 1}`);
    }
  }
}

/**
 * The images at `indices` as NHWC float32 (see normalizeBatch), looked up in a table from
 * `normalizationTable`: the one JavaScript conversion, for backends the wasm kernel does not
 * serve and for normalizeBatch. Allocates nothing.
 */
export function normalizeBatchFromTable(d: Dataset, indices: ArrayLike<number>, table: Float32Array, out: Float32Array): void {
  const n = indices.length;
  if (table.length !== NORMALIZATION_TABLE_SIZE) {
    throw new TrainerError('E_INTERNAL', `normalizeBatchFromTable: table holds ${table.length} floats, not ${NORMALIZATION_TABLE_SIZE}`);
  }
  if (out.length < n * IMAGE_BYTES) {
    throw new TrainerError('E_INTERNAL', `normalizeBatchFromTable: output holds ${out.length} floats, ${n} images need ${n * IMAGE_BYTES}`);
  }
  checkBatchIndices(d, indices, 'normalizeBatchFromTable');
  const { images } = d;
  for (let k = 0; k < n; k++) {
    const r = (indices[k] as number) * IMAGE_BYTES;
    const g = r + PLANE_BYTES;
    const b = g + PLANE_BYTES;
    let o = k * IMAGE_BYTES;
    for (let p = 0; p < PLANE_BYTES; p++) {
      out[o] = table[images[r + p] as number] as number;
      out[o + 1] = table[256 + (images[g + p] as number)] as number;
      out[o + 2] = table[512 + (images[b + p] as number)] as number;
      o += 3;
    }
  }
}
