/**
 * A micro-batch's input on the backend (gradient.ts): its images normalised into a float32 tensor
 * and its labels, made at the call or staged ahead of it, while a worker waits for the step's
 * weights (the input does not depend on them).
 */
import * as tf from './tf.js';
import { IMAGE_BYTES, type Dataset } from '../data/cifar-format.js';
import { normalizationTable, normalizeBatchFromTable, type Normalization } from '../data/normalize.js';
import { normalizedImagesOnWasm } from './kernels/normalize-images.js';

/** A micro-batch's input on the backend: images [n, 32, 32, 3] float32, labels [n] int32. */
export interface Input {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

export class InputStager {
  /** normalizePixel for every byte and channel, built on first use (which checks the norm). */
  private table: Float32Array | null = null;
  /** Host-side images, only for backends the wasm kernel does not serve. */
  private images: Float32Array | null = null;
  private labelBuf: Int32Array;
  /** What stage() prepared, and for which examples (stagedIndices[0, n)). */
  private staged: (Input & { data: Dataset; n: number }) | null = null;
  private stagedIndices: Int32Array;
  /** How staged inputs fared: used by the call they were staged for, or dropped (for traces and tests). */
  readonly staging = { used: 0, dropped: 0 };

  constructor(
    private readonly norm: Normalization,
    private readonly maxBatch: number,
  ) {
    this.labelBuf = new Int32Array(maxBatch);
    this.stagedIndices = new Int32Array(maxBatch);
  }

  /**
   * Prepares now the input of a coming gradient() or evaluate() call for the examples of `data`
   * at `indices`, so that a worker can do it while it waits for the step's weights: the input
   * does not depend on them, and turning bytes into a tensor then leaves the critical path.
   * The next gradient(), evaluate() or logits() call takes it: gradient() and evaluate() use it
   * if they are given the same `data` object and element-wise equal indices (the indices are
   * copied here, so the caller may reuse its array), and otherwise drop it (its tensors are
   * disposed) and prepare their input as usual. Results are bit-identical either way: the
   * staged tensors hold exactly what the call would have prepared. Staging again replaces the
   * previous staged input; staging no indices only drops it. Throws E_INTERNAL, staging
   * nothing, if an index is not a record of `data`.
   */
  stage(data: Dataset, indices: ArrayLike<number>): void {
    this.discard();
    const n = indices.length;
    if (n === 0) return;
    const { x, y } = this.prepare(data, indices);
    if (this.stagedIndices.length < n) this.stagedIndices = new Int32Array(n);
    for (let i = 0; i < n; i++) this.stagedIndices[i] = indices[i] as number;
    // Kept: a stage() inside tf.tidy must not lose its tensors when the scope ends.
    this.staged = { data, n, x: tf.keep(x), y: tf.keep(y) };
  }

  /** Drops what stage() prepared, if anything (e.g. when the staged step will not come). */
  discard(): void {
    const s = this.staged;
    this.staged = null;
    if (s === null) return;
    this.staging.dropped++;
    tf.dispose([s.x, s.y]);
  }

  /** The staged input if it was made for exactly these examples, else a fresh one; the caller disposes it. */
  take(data: Dataset, indices: ArrayLike<number>): Input {
    const s = this.staged;
    if (s !== null && s.data === data && sameIndices(this.stagedIndices, s.n, indices)) {
      this.staged = null;
      this.staging.used++;
      return s;
    }
    this.discard();
    return this.prepare(data, indices);
  }

  private prepare(data: Dataset, indices: ArrayLike<number>): Input {
    const n = indices.length;
    const table = (this.table ??= normalizationTable(this.norm));
    let x = normalizedImagesOnWasm(data, indices, table);
    if (x === null) {
      if (this.images === null || this.images.length < n * IMAGE_BYTES) {
        this.images = new Float32Array(Math.max(n, this.maxBatch) * IMAGE_BYTES);
      }
      normalizeBatchFromTable(data, indices, table, this.images);
      x = tf.tensor4d(this.images.subarray(0, n * IMAGE_BYTES), [n, 32, 32, 3]);
    }
    if (this.labelBuf.length < n) this.labelBuf = new Int32Array(n);
    for (let i = 0; i < n; i++) this.labelBuf[i] = data.labels[indices[i] as number] as number;
    const y = tf.tensor1d(this.labelBuf.subarray(0, n), 'int32');
    return { x, y };
  }
}

/** Whether `indices` is exactly staged[0, n). */
function sameIndices(staged: Int32Array, n: number, indices: ArrayLike<number>): boolean {
  if (indices.length !== n) return false;
  for (let i = 0; i < n; i++) if (staged[i] !== indices[i]) return false;
  return true;
}
