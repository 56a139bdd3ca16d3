/**
 * The unit of work: the gradient of one micro-batch. Every worker (in-process,
 * thread, child process or remote) runs exactly this code, so a micro-batch's
 * gradient depends only on (weights, indices, backend): never on who computed it.
 *
 * The gradient is of the SUM of per-example losses; the coordinator adds the
 * micro-batch gradients in fixed order and divides by the global batch size.
 */
import * as tf from './tf.js';
import { IMAGE_BYTES, type Dataset } from '../data/cifar-format.js';
import { type Normalization } from '../data/normalize.js';
import { WASM_BACKEND, copyFloatsInto } from './kernels/wasm-heap.js';
import { productFromFloats, transposedProductInto } from './kernels/batch-mat-mul.js';
import { KernelPlan, type Replayed } from './kernel-plan.js';
import { NUM_OUTPUTS, paramTensors, type ModelSpec } from './model.js';
import { TrainerError } from '../shared/errors.js';
import { webGpuFailure } from './webgpu.js';
import { refuseOversizeTasks, webGpuTask } from './webgpu-errors.js';
import { recordGpuPlan, type GpuPlan } from './webgpu-plan.js';
import { InputStager, type Input } from './gradient-input.js';

export interface BatchStats {
  /** Sum of per-example cross-entropy losses (float32 result, widened). */
  lossSum: number;
  /** Examples whose arg-max logit is the label. */
  correct: number;
  count: number;
}

/**
 * Weights as a computer takes them: a vector, copied to the backend for one
 * call, or a version of a vector, copied once and kept for every call at
 * that version (a thread computes several micro-batches of a step at one
 * version). The caller must not change `flat` while its version is in use.
 */
export type WeightsInput = Float32Array | { version: number; flat: Float32Array };

export class MicroBatchComputer {
  /** The micro-batches' inputs, prepared at the call or staged ahead of it (gradient-input.ts). */
  private readonly inputs: InputStager;
  /** The parameter tensors of the last versioned weights. */
  private kept: { version: number; flat: Float32Array; tensors: (tf.Tensor | null)[] } | null = null;
  /** Whether gradient() forms a first dense layer's weight gradient itself on wasm (ModelSpec.firstDense); tests compare. */
  firstDenseInto = true;
  /**
   * Whether gradient() and evaluate() replay kernel plans on wasm (kernel-plan.ts);
   * TRAINER_KERNEL_PLAN=0 turns them off (tfjs's engine every time: the same bits, slower).
   */
  usePlans = process.env['TRAINER_KERNEL_PLAN'] !== '0';
  /** Kernel plans of the gradient and of evaluation by path and batch size; null where recording found none can be made. */
  private plans = new Map<string, KernelPlan | null>();
  /** How the plans fared (for tests): replays, plans recorded, and why any was refused. */
  readonly planning = { replays: 0, recorded: 0, refused: [] as string[] };
  /** GPU command plans of the gradient on webgpu by micro-batch size (webgpu-plan.ts); null where none could be made. */
  private gpuPlans = new Map<number, GpuPlan | null>();

  constructor(
    readonly model: ModelSpec,
    readonly norm: Normalization,
    private readonly maxBatch = 64,
  ) {
    // On webgpu, tasks of maxBatch examples must fit the adapter's buffer bindings (callers that
    // know which of the config's sizes is which refuse first, naming the key to change).
    refuseOversizeTasks(model, { maxBatch });
    this.inputs = new InputStager(norm, maxBatch);
  }

  /** How staged inputs fared: used by the call they were staged for, or dropped (for traces and tests). */
  get staging(): { used: number; dropped: number } {
    return this.inputs.staging;
  }

  /** Prepares now the input of a coming call for the examples of `data` at `indices` (InputStager.stage). */
  stage(data: Dataset, indices: ArrayLike<number>): void {
    this.inputs.stage(data, indices);
  }

  /** Drops what stage() prepared, if anything (e.g. when the staged step will not come). */
  discardStaged(): void {
    this.inputs.discard();
  }

  /** The staged input if it was made for exactly these examples, else a fresh one. */
  private input(data: Dataset, indices: ArrayLike<number>): Input {
    return this.inputs.take(data, indices);
  }

  /**
   * Whether results can be read back synchronously: on every backend but
   * webgpu, whose readback in Node is asynchronous only. Callers that may run
   * on webgpu use the *Async methods, which give the same bits as the
   * synchronous ones wherever both work.
   */
  get readsBackSync(): boolean {
    return tf.getBackend() !== 'webgpu';
  }

  /**
   * Writes d(sum of losses)/d(params) for the examples at `indices` into `out`
   * (length model.size) and returns the loss sum and correct count.
   */
  gradient(weights: WeightsInput, data: Dataset, indices: ArrayLike<number>, out: Float32Array): BatchStats {
    const n = indices.length;
    if (n === 0) return this.emptyGradient(out);
    if (this.model.firstDense && this.firstDenseInto && tf.getBackend() === 'wasm') return this.gradientFirstDense(weights, data, indices, out);
    const r = this.plannedOn(`net:${n}`, weights, data, indices, (params, x, y) => valueCorrectGrads((ws) => this.model.forward(ws, x), y, params));
    try {
      const [value, correct, ...grads] = r.outputs;
      this.model.params.forEach((spec, i) => copyFloatsInto(grads[i] as tf.TensorInfo, out, spec.offset));
      return { lossSum: valuesOf(value as tf.TensorInfo)[0] as number, correct: valuesOf(correct as tf.TensorInfo)[0] as number, count: n };
    } finally {
      r.release();
    }
  }

  /** gradient() on any backend: on webgpu the gradients, loss and correct count come back in one readback. */
  async gradientAsync(weights: WeightsInput, data: Dataset, indices: ArrayLike<number>, out: Float32Array): Promise<BatchStats> {
    if (this.readsBackSync) return this.gradient(weights, data, indices, out);
    const n = indices.length;
    if (n === 0) return this.emptyGradient(out);
    const v = await webGpuTask('gradient', n, this.model, () => this.gpuGradient(weights, data, indices));
    const size = this.model.size;
    out.set(v.subarray(0, size));
    return { lossSum: v[size] as number, correct: v[size + 1] as number, count: n };
  }

  /**
   * The gradients, then the loss sum and the correct count, on webgpu, read back at once: by
   * replaying the GPU command plan of this micro-batch size, recorded the first time (through
   * tfjs's engine, as when plans are off or none could be made).
   */
  private async gpuGradient(weights: WeightsInput, data: Dataset, indices: ArrayLike<number>): Promise<Float32Array> {
    const n = indices.length;
    const plan = this.usePlans ? this.gpuPlans.get(n) : null;
    if (plan === null) {
      const b = this.backward(weights, data, indices);
      try {
        return readBack(tf.tidy(() => this.gradientVector(b.value, b.correct, b.grads)));
      } finally {
        b.dispose();
      }
    }
    const { x, y } = this.input(data, indices);
    const flat = weights instanceof Float32Array ? weights : weights.flat;
    try {
      if (plan !== undefined) {
        this.planning.replays++;
        return await plan.replay([x.dataSync(), y.dataSync(), ...this.model.params.map((p) => flat.subarray(p.offset, p.offset + p.size))]).catch((err: unknown) => {
          throw readBackFailed(err);
        });
      }
      const params = paramTensors(this.model, flat);
      try {
        const made = await recordGpuPlan([x, y, ...params], () =>
          tf.tidy(() => {
            const [value, correct, ...grads] = valueCorrectGrads((ws) => this.model.forward(ws, x), y, params) as [tf.Scalar, tf.Scalar, ...tf.Tensor[]];
            return this.gradientVector(value, correct, grads);
          }),
        );
        this.gpuPlans.set(n, made.plan);
        if (made.plan === null) this.planning.refused.push(`gpu:${n}: ${made.reason}`);
        else this.planning.recorded++;
        return made.values;
      } finally {
        tf.dispose(params);
      }
    } finally {
      tf.dispose([x, y]);
    }
  }

  /** The gradients, loss sum and correct count as one float32 vector, for one readback. */
  private gradientVector(value: tf.Tensor, correct: tf.Tensor, grads: tf.Tensor[]): tf.Tensor1D {
    return tf.concat([...grads.map((g) => tf.reshape(g, [-1])), tf.reshape(value, [1]), tf.reshape(tf.cast(correct, 'float32'), [1])]) as tf.Tensor1D;
  }

  /**
   * gradient() for a model whose first layer is dense (ModelSpec.firstDense): the first product
   * z = x·W is formed outside the differentiated function, W multiplied straight from the weights
   * vector (productFromFloats: W never becomes a tensor), and the rest differentiated with respect
   * to z and the other parameters; dW = x^T·dz then goes straight into `out` in chunks that stay
   * in cache (transposedProductInto), not through a tensor of its own (12.5 MB each for fc). The
   * same kernels on the same values as tfjs's gradient of the whole network, so the same bits.
   */
  private gradientFirstDense(weights: WeightsInput, data: Dataset, indices: ArrayLike<number>, out: Float32Array): BatchStats {
    const dense = this.model.firstDense as NonNullable<ModelSpec['firstDense']>;
    const first = this.model.params[0] as ModelSpec['params'][number];
    const { x, y } = this.input(data, indices);
    // The parameters after the first weight: the first weight itself goes into the product from the shared floats.
    const { params: after, owned } = this.params(weights, 1);
    const held: tf.Tensor[] = [x, y, ...(owned ? after : [])];
    try {
      const flat = dense.flatten(x);
      held.push(flat);
      const w = (weights instanceof Float32Array ? weights : weights.flat).subarray(first.offset, first.offset + first.size);
      let z = productFromFloats(flat, w, first.shape[1] as number);
      if (z === null) {
        const all = this.params(weights);
        if (all.owned) held.push(...all.params);
        z = tf.matMul(flat, all.params[0] as tf.Tensor2D);
      }
      held.push(z);
      const r = this.planned(`dense:${indices.length}`, [z, y, ...after], () => valueCorrectGrads((ws) => dense.rest(ws.slice(1), ws[0] as tf.Tensor2D), y, [z, ...after]));
      try {
        const [value, correct, dz, ...grads] = r.outputs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, ...tf.TensorInfo[]];
        // Tapeless: tfjs's gradient of x·W with respect to W is matMul(x, dz, transposeA), the same product.
        if (!transposedProductInto(flat, dz, out, first.offset)) {
          const dW = tf.tidy(() => tf.matMul(flat, tensorOf(dz) as tf.Tensor2D, true, false));
          held.push(dW);
          copyFloatsInto(dW, out, first.offset);
        }
        this.model.params.slice(1).forEach((spec, i) => copyFloatsInto(grads[i] as tf.TensorInfo, out, spec.offset));
        return { lossSum: valuesOf(value)[0] as number, correct: valuesOf(correct)[0] as number, count: indices.length };
      } finally {
        r.release();
      }
    } finally {
      tf.dispose(held);
    }
  }

  /**
   * What `run` computes from `inputs` (tensors the caller keeps and disposes): on wasm by
   * replaying the kernel plan recorded for `key`, recording it on the first call (whose results
   * are the engine's); elsewhere, or where no plan can be made, through tfjs's engine every time.
   */
  private planned(key: string, inputs: tf.Tensor[], run: () => tf.Tensor[]): Replayed {
    const engine = (outputs: tf.Tensor[]): Replayed => ({ outputs, release: () => tf.dispose(outputs) });
    const known = this.plans.get(key);
    if (!this.usePlans || tf.getBackend() !== 'wasm' || known === null) return engine(run());
    if (known !== undefined) {
      this.planning.replays++;
      return known.replay(inputs);
    }
    const { outputs, plan, reason } = KernelPlan.record(inputs, run);
    this.plans.set(key, plan);
    if (plan === null) this.planning.refused.push(`${key}: ${reason}`);
    else this.planning.recorded++;
    return engine(outputs);
  }

  /** planned() on the input of `indices` and the parameter tensors of `weights`, freed once it returns. */
  private plannedOn(key: string, weights: WeightsInput, data: Dataset, indices: ArrayLike<number>, run: (params: tf.Tensor[], x: tf.Tensor4D, y: tf.Tensor1D) => tf.Tensor[]): Replayed {
    const { x, y } = this.input(data, indices);
    const { params, owned } = this.params(weights);
    try {
      return this.planned(key, [x, y, ...params], () => run(params, x, y));
    } finally {
      tf.dispose([x, y, ...(owned ? params : [])]);
    }
  }

  /** Frees the kernel plans (a later gradient records them again). */
  dropPlans(): void {
    for (const plan of this.plans.values()) plan?.dispose();
    this.plans.clear();
    for (const plan of this.gpuPlans.values()) plan?.dispose();
    this.gpuPlans.clear();
  }

  private emptyGradient(out: Float32Array): BatchStats {
    this.discardStaged();
    out.fill(0);
    return { lossSum: 0, correct: 0, count: 0 };
  }

  /** The loss sum, its gradients and the correct count, as tensors the caller reads and then disposes. */
  private backward(weights: WeightsInput, data: Dataset, indices: ArrayLike<number>) {
    const { x, y } = this.input(data, indices);
    const { params, owned } = this.params(weights);
    try {
      const [value, correct, ...grads] = valueCorrectGrads((ws) => this.model.forward(ws, x), y, params) as [tf.Scalar, tf.Scalar, ...tf.Tensor[]];
      return { value, grads, correct, dispose: () => tf.dispose([value, ...grads, correct]) };
    } finally {
      tf.dispose([x, y, ...(owned ? params : [])]);
    }
  }

  /**
   * Parameter tensors for `weights` from parameter `from` on (those before it are not made): fresh
   * ones the caller disposes (owned), or those kept for its version, each made the first time a
   * call needs it.
   */
  private params(weights: WeightsInput, from = 0): { params: tf.Tensor[]; owned: boolean } {
    const flat = weights instanceof Float32Array ? weights : weights.flat;
    if (weights instanceof Float32Array) return { params: paramTensors(this.model, flat, from), owned: true };
    let k = this.kept;
    if (k === null || k.version !== weights.version || k.flat !== flat) {
      this.dropWeights();
      k = this.kept = { version: weights.version, flat, tensors: this.model.params.map(() => null) };
    }
    const made = paramTensors(this.model, flat, from, k.tensors);
    made.forEach((t, i) => (k.tensors[from + i] = t));
    return { params: made, owned: false };
  }

  /** Frees the tensors of the versioned weights kept, if any. */
  dropWeights(): void {
    const k = this.kept;
    this.kept = null;
    if (k !== null) tf.dispose(k.tensors.filter((t): t is tf.Tensor => t !== null));
  }

  /** Loss sum and correct count of the examples at `indices`, forward only. */
  evaluate(weights: WeightsInput, data: Dataset, indices: ArrayLike<number>): BatchStats {
    const n = indices.length;
    if (n === 0) {
      this.discardStaged();
      return { lossSum: 0, correct: 0, count: 0 };
    }
    const r = this.plannedOn(`eval:${n}`, weights, data, indices, (params, x, y) => [this.stats(params, x, y)]);
    try {
      const v = valuesOf(r.outputs[0] as tf.TensorInfo);
      return { lossSum: v[0] as number, correct: v[1] as number, count: n };
    } finally {
      r.release();
    }
  }

  /** evaluate() on any backend. */
  async evaluateAsync(weights: WeightsInput, data: Dataset, indices: ArrayLike<number>): Promise<BatchStats> {
    if (this.readsBackSync) return this.evaluate(weights, data, indices);
    const n = indices.length;
    if (n === 0) {
      this.discardStaged();
      return { lossSum: 0, correct: 0, count: 0 };
    }
    const v = await webGpuTask('evaluation', n, this.model, () => readBack(this.forwardStats(weights, data, indices)));
    return { lossSum: v[0] as number, correct: v[1] as number, count: n };
  }

  /** [loss sum, correct count] of the examples at `indices`, as one float32 tensor. */
  private forwardStats(weights: WeightsInput, data: Dataset, indices: ArrayLike<number>): tf.Tensor1D {
    const { x, y } = this.input(data, indices);
    const { params, owned } = this.params(weights);
    try {
      return this.stats(params, x, y);
    } finally {
      tf.dispose([x, y, ...(owned ? params : [])]);
    }
  }

  /** [loss sum, correct count] of the network on images `x` and labels `y`, as one float32 tensor. */
  private stats(params: tf.Tensor[], x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => {
      const logits = this.model.forward(params, x);
      return tf.stack([lossSum(logits, y), tf.cast(correctCount(logits, y), 'float32')]) as tf.Tensor1D;
    });
  }

  /** Logits [n, 10] of already-normalised NHWC images, for prediction (any backend). */
  async logits(weights: Float32Array, images: Float32Array, n: number): Promise<Float32Array> {
    this.discardStaged();
    const forward = () => {
      const params = paramTensors(this.model, weights);
      try {
        return tf.tidy(() => this.model.forward(params, tf.tensor4d(images.subarray(0, n * IMAGE_BYTES), [n, 32, 32, 3])));
      } finally {
        tf.dispose(params);
      }
    };
    if (this.readsBackSync) return readSync(forward());
    return webGpuTask('prediction', n, this.model, () => readBack(forward()));
  }
}

/**
 * [loss sum, correct count, d(loss sum)/d(each of xs)] of the network `logitsOf` on labels `y`,
 * through tfjs's engine: the computation a kernel plan records.
 */
function valueCorrectGrads(logitsOf: (xs: tf.Tensor[]) => tf.Tensor2D, y: tf.Tensor1D, xs: tf.Tensor[]): tf.Tensor[] {
  let correct: tf.Tensor | undefined;
  try {
    const { value, grads } = tf.valueAndGrads((...ws: tf.Tensor[]) => {
      const logits = logitsOf(ws);
      correct = tf.keep(correctCount(logits, y));
      return lossSum(logits, y);
    })(xs);
    return [value, correct as tf.Tensor, ...grads];
  } catch (err) {
    correct?.dispose();
    throw err;
  }
}

/** A result's values: a view of the wasm heap (read before the result is freed), else a copy. */
function valuesOf(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array {
  if (tf.getBackend() === WASM_BACKEND) return (tf.backend() as unknown as { typedArrayFromHeap(i: tf.TensorInfo): Float32Array | Int32Array | Uint8Array }).typedArrayFromHeap(info);
  return (info as tf.Tensor).dataSync() as Float32Array | Int32Array | Uint8Array;
}

/** A tensor on the same data as `info` (one more reference to it), for tfjs ops; dispose it. */
function tensorOf(info: tf.TensorInfo): tf.Tensor {
  if (info instanceof tf.Tensor) return info.clone();
  const backend = tf.backend() as unknown as { incRef(dataId: tf.DataId): void };
  backend.incRef(info.dataId);
  return (tf.engine() as unknown as { makeTensorFromTensorInfo(i: tf.TensorInfo): tf.Tensor }).makeTensorFromTensorInfo(info);
}

/** The sum of the examples' softmax cross-entropy losses (what every gradient here is of). */
function lossSum(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Scalar {
  return tf.neg(tf.sum(tf.mul(tf.oneHot(y, NUM_OUTPUTS), tf.logSoftmax(logits))));
}

/** Examples whose arg-max logit is the label, as an int32 scalar. */
function correctCount(logits: tf.Tensor2D, y: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'));
}

/** A tensor's floats, synchronously, then the tensor is disposed. */
function readSync(t: tf.Tensor): Float32Array {
  try {
    return t.dataSync() as Float32Array;
  } finally {
    t.dispose();
  }
}

/**
 * A tensor's floats, asynchronously (the only readback webgpu has in Node),
 * then the tensor is disposed. A failed readback says why the device stopped
 * when it knows (a lost device rejects with an empty AbortError).
 */
async function readBack(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } catch (err) {
    throw readBackFailed(err);
  } finally {
    t.dispose();
  }
}

/** E_BACKEND for a failed readback (an engine's or a GPU plan's), with why the device stopped where it is known. */
function readBackFailed(err: unknown): TrainerError {
  return new TrainerError('E_BACKEND', `reading results back failed: ${webGpuFailure() ?? ((err as Error).message || String(err))}`);
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
