/**
 * The unit of work: the gradient of one micro-batch. Every worker (in-process,
 * thread, child process or remote) runs exactly this code, so a micro-batch's
 * gradient depends only on (weights, indices, backend): never on who computed it.
 *
 * The gradient is of the SUM of per-example losses; the coordinator adds the
 * micro-batch gradients in fixed order and divides by the global batch size.
 */
import * as tf from '@tensorflow/tfjs';
import { IMAGE_BYTES, type Dataset } from './data/cifar-format.js';
import { normalizeBatch, type Normalization } from './data/normalize.js';
import { NUM_OUTPUTS, paramTensors, type ModelSpec } from './model.js';

export interface BatchStats {
  /** Sum of per-example cross-entropy losses (float32 result, widened). */
  lossSum: number;
  /** Examples whose arg-max logit is the label. */
  correct: number;
  count: number;
}

export class MicroBatchComputer {
  private input: Float32Array;
  private labelBuf: Int32Array;

  constructor(
    readonly model: ModelSpec,
    readonly norm: Normalization,
    maxBatch = 64,
  ) {
    this.input = new Float32Array(maxBatch * IMAGE_BYTES);
    this.labelBuf = new Int32Array(maxBatch);
  }

  private prepare(data: Dataset, indices: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D } {
    const n = indices.length;
    if (this.input.length < n * IMAGE_BYTES) {
      this.input = new Float32Array(n * IMAGE_BYTES);
      this.labelBuf = new Int32Array(n);
    }
    normalizeBatch(data, indices, this.norm, this.input);
    for (let i = 0; i < n; i++) this.labelBuf[i] = data.labels[indices[i] as number] as number;
    const x = tf.tensor4d(this.input.subarray(0, n * IMAGE_BYTES), [n, 32, 32, 3]);
    const y = tf.tensor1d(this.labelBuf.subarray(0, n), 'int32');
    return { x, y };
  }

  /**
   * Writes d(sum of losses)/d(params) for the examples at `indices` into `out`
   * (length model.size) and returns the loss sum and correct count.
   */
  gradient(weights: Float32Array, data: Dataset, indices: ArrayLike<number>, out: Float32Array): BatchStats {
    const n = indices.length;
    if (n === 0) {
      out.fill(0);
      return { lossSum: 0, correct: 0, count: 0 };
    }
    const { x, y } = this.prepare(data, indices);
    const params = paramTensors(this.model, weights);
    let correctT: tf.Tensor | undefined;
    try {
      const { value, grads } = tf.valueAndGrads((...ws: tf.Tensor[]) => {
        const logits = this.model.forward(ws, x);
        correctT = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')));
        return tf.neg(tf.sum(tf.mul(tf.oneHot(y, NUM_OUTPUTS), tf.logSoftmax(logits)))) as tf.Scalar;
      })(params);
      this.model.params.forEach((spec, i) => {
        const g = grads[i] as tf.Tensor;
        out.set(g.dataSync() as Float32Array, spec.offset);
      });
      const lossSum = value.dataSync()[0] as number;
      const correct = (correctT as tf.Tensor).dataSync()[0] as number;
      tf.dispose([value, ...grads]);
      return { lossSum, correct, count: n };
    } finally {
      tf.dispose([x, y, ...params]);
      if (correctT) correctT.dispose();
    }
  }

  /** Loss sum and correct count of the examples at `indices`, forward only. */
  evaluate(weights: Float32Array, data: Dataset, indices: ArrayLike<number>): BatchStats {
    const n = indices.length;
    if (n === 0) return { lossSum: 0, correct: 0, count: 0 };
    const { x, y } = this.prepare(data, indices);
    const params = paramTensors(this.model, weights);
    try {
      const [loss, correct] = tf.tidy(() => {
        const logits = this.model.forward(params, x);
        const l = tf.neg(tf.sum(tf.mul(tf.oneHot(y, NUM_OUTPUTS), tf.logSoftmax(logits))));
        const c = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'));
        return [l.dataSync()[0] as number, c.dataSync()[0] as number];
      });
      return { lossSum: loss, correct, count: n };
    } finally {
      tf.dispose([x, y, ...params]);
    }
  }

  /** Logits [n, 10] of already-normalised NHWC images, for prediction. */
  logits(weights: Float32Array, images: Float32Array, n: number): Float32Array {
    const params = paramTensors(this.model, weights);
    try {
      const out = tf.tidy(() => this.model.forward(params, tf.tensor4d(images.subarray(0, n * IMAGE_BYTES), [n, 32, 32, 3])));
      const values = out.dataSync() as Float32Array;
      out.dispose();
      return values;
    } finally {
      tf.dispose(params);
    }
  }
}

/** Evaluation indices in chunks of `size`: [0, size), [size, 2·size), ... */
export function chunks(count: number, size: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let s = 0; s < count; s += size) {
    const idx = new Int32Array(Math.min(size, count - s));
    for (let i = 0; i < idx.length; i++) idx[i] = s + i;
    out.push(idx);
  }
  return out;
}
