/**
 * A micro-batch's gradient as a fixed list of kernel calls: recorded once from tfjs's engine, then
 * replayed on the wasm backend without it.
 *
 * Why: the engine's bookkeeping around each kernel call (tensors, scopes, the tape, the walk from
 * the loss back to the parameters, reference counts) took about 14 % of a micro-batch of the CNN
 * on one thread (CPU profile, 2,000 micro-batches of 16: tf-core's JavaScript 14.2 %, the kernels
 * 70 %) and left about 370 KB of JavaScript garbage per micro-batch, which the compute threads'
 * collectors stop for. The network's graph never changes, so the calls the engine makes for one
 * micro-batch, in their order, with their attributes, are the calls it makes for every
 * micro-batch of that size: only the data differ.
 *
 * Same bits by construction: a replay calls the same registered kernel functions on the same
 * values in the same order. Recording gives up (the engine's results are used, and no plan is
 * made) where that could fail to hold: a kernel input that is neither an input of the plan, a
 * constant made during the recording, nor an earlier kernel's output; data read back to
 * JavaScript in the middle (a result that depends on values); an output that does not come from
 * the recorded calls. And a new plan is replayed once on the inputs it was recorded on, and kept
 * only if it gives the engine's results bit for bit.
 */
import * as tf from './tf.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { WASM_BACKEND } from './kernels/wasm-heap.js';

/** A kernel input: the slot its data comes from, and the shape and type the kernel saw. */
interface Arg {
  name: string;
  slot: number;
  shape: number[];
  dtype: tf.DataType;
}

interface Call {
  kernel: string;
  /** Inputs given as an array (Pack, Concat: a list of tensors), not by name. */
  list: boolean;
  args: Arg[];
  attrs: tf.NamedAttrMap;
  /** The slot of its first output; the others follow. */
  firstOut: number;
  outputs: number;
}

/** A call as a replay makes it: its inputs object built once, each input's data set per replay. */
interface Prepared extends Call {
  inputs: tf.NamedTensorInfoMap;
  infos: { info: { dataId: tf.DataId | null; shape: number[]; dtype: tf.DataType }; slot: number }[];
}

/** Data a plan's replay made: its outputs, and release(), which frees all of it (call it once). */
export interface Replayed {
  outputs: tf.TensorInfo[];
  release(): void;
}

type BackendValues = Float32Array | Int32Array | Uint8Array;

export class KernelPlan {
  private readonly calls: Prepared[];

  private constructor(
    private readonly backend: BackendWasm,
    private readonly inputShapes: number[][],
    /** Data of the constants the recorded code made (gradient seeds, ones), on the backend, at their slots. */
    private readonly constants: { slot: number; info: tf.TensorInfo }[],
    calls: Call[],
    private readonly outputSlots: number[],
    private readonly slotCount: number,
  ) {
    // Objects made once: a replay allocates little beyond what the kernels themselves make.
    this.calls = calls.map((call) => {
      const infos = call.args.map((a) => ({ info: { dataId: null, shape: a.shape, dtype: a.dtype }, slot: a.slot }));
      const inputs = (call.list ? [] : {}) as tf.NamedTensorInfoMap;
      call.args.forEach((a, k) => (inputs[a.name] = (infos[k] as Prepared['infos'][number]).info as tf.TensorInfo));
      return { ...call, inputs, infos };
    });
  }

  /** Kernel calls a replay makes. */
  get length(): number {
    return this.calls.length;
  }

  /**
   * Runs `run` (code that computes `outputs` from `inputs` through tfjs's ops) on the wasm backend
   * and records the kernel calls it makes. Returns what `run` returned, and the plan, or null
   * with the reason where the computation cannot be replayed as a fixed list of calls or its
   * replay on the same inputs does not give those outputs bit for bit.
   */
  static record<T extends readonly tf.TensorInfo[]>(
    inputs: readonly tf.TensorInfo[],
    run: () => T,
  ): { outputs: T; plan: KernelPlan | null; reason: string | null } {
    if (tf.getBackend() !== WASM_BACKEND) return { outputs: run(), plan: null, reason: `backend ${tf.getBackend()}, not wasm` };
    const backend = tf.backend() as BackendWasm;
    const slots = new Map<object, number>();
    inputs.forEach((t, i) => slots.set(t.dataId, i));
    let next = inputs.length;
    const constants: { slot: number; values: BackendValues; shape: number[]; dtype: tf.DataType }[] = [];
    const calls: Call[] = [];
    let depth = 0;
    let reason: string | null = null;
    const fail = (why: string) => {
      reason ??= why;
    };

    const configs = tf.getKernelsForBackend(WASM_BACKEND);
    const originals = configs.map((c) => c.kernelFunc);
    configs.forEach((config, i) => {
      const original = originals[i] as tf.KernelFunc;
      config.kernelFunc = (params) => {
        // A kernel that runs another through the engine: only the outer call is replayed.
        if (depth > 0) return original(params);
        const args: Arg[] = [];
        for (const [name, info] of Object.entries(params.inputs)) {
          if (info === undefined) continue;
          const slot = slots.get(info.dataId);
          if (slot === undefined) fail(`an input (${name}) of ${config.kernelName} comes from outside the recorded calls`);
          args.push({ name, slot: slot ?? -1, shape: [...info.shape], dtype: info.dtype });
        }
        depth++;
        let out: tf.TensorInfo | tf.TensorInfo[];
        try {
          out = original(params);
        } finally {
          depth--;
        }
        const outs = Array.isArray(out) ? out : [out];
        calls.push({ kernel: config.kernelName, list: Array.isArray(params.inputs), args, attrs: params.attrs ?? {}, firstOut: next, outputs: outs.length });
        for (const o of outs) slots.set(o.dataId, next++);
        return out;
      };
    });
    const { write, readSync } = backend;
    backend.write = function (this: BackendWasm, values, shape, dtype) {
      const dataId = write.call(this, values, shape, dtype);
      if (depth === 0) {
        if (values === null || !ArrayBuffer.isView(values)) fail('data written outside a kernel without values');
        else constants.push({ slot: next, values: (values as BackendValues).slice(), shape: [...shape], dtype });
        slots.set(dataId, next++);
      }
      return dataId;
    };
    backend.readSync = function (this: BackendWasm, dataId, start, end) {
      if (depth === 0) fail('data read back while recording');
      return readSync.call(this, dataId, start, end);
    };

    let outputs: T;
    try {
      outputs = run();
    } finally {
      configs.forEach((config, i) => (config.kernelFunc = originals[i] as tf.KernelFunc));
      delete (backend as Partial<BackendWasm>).write;
      delete (backend as Partial<BackendWasm>).readSync;
    }
    const outputSlots = outputs.map((t) => slots.get(t.dataId) ?? -1);
    if (outputSlots.includes(-1)) fail('an output does not come from the recorded calls');
    if (reason !== null) return { outputs, plan: null, reason };
    const made = constants.map((c) => ({ slot: c.slot, info: { dataId: backend.write(c.values, c.shape, c.dtype), shape: c.shape, dtype: c.dtype } }));
    const plan = new KernelPlan(backend, inputs.map((t) => [...t.shape]), made, calls, outputSlots, next);
    const differs = plan.differsFrom(inputs, outputs);
    if (differs === null) return { outputs, plan, reason: null };
    plan.dispose();
    return { outputs, plan: null, reason: differs };
  }

  /** Why a replay on `inputs` does not give `expected` bit for bit, or null where it does. */
  private differsFrom(inputs: readonly tf.TensorInfo[], expected: readonly tf.TensorInfo[]): string | null {
    try {
      const check = this.replay(inputs);
      const same = check.outputs.every((o, i) => sameData(o, expected[i] as tf.TensorInfo));
      check.release();
      return same ? null : 'its replay differs from the engine in bits';
    } catch (err) {
      return `its replay failed: ${(err as Error).message}`;
    }
  }

  /**
   * The recorded computation on other data of the same shapes. `inputs` stay the caller's; the
   * outputs and everything else the calls made are freed by release().
   */
  replay(inputs: readonly tf.TensorInfo[]): Replayed {
    if (inputs.length !== this.inputShapes.length || inputs.some((t, i) => !sameShape(t.shape, this.inputShapes[i] as number[]))) {
      throw new Error(`kernel plan: inputs of shapes ${inputs.map((t) => `[${t.shape}]`).join(' ')}, recorded for ${this.inputShapes.map((s) => `[${s}]`).join(' ')}`);
    }
    const backend = this.backend;
    const slots: tf.TensorInfo[] = new Array(this.slotCount);
    inputs.forEach((t, i) => (slots[i] = t));
    for (const c of this.constants) slots[c.slot] = c.info;
    const made: tf.TensorInfo[] = [];
    const release = () => {
      for (const info of made) {
        // Kernels that build their result with tfjs's ops return a tensor, which the engine counts.
        if (info instanceof tf.Tensor) info.dispose();
        else backend.disposeData(info.dataId);
      }
      made.length = 0;
    };
    try {
      for (const call of this.calls) {
        for (const a of call.infos) a.info.dataId = (slots[a.slot] as tf.TensorInfo).dataId;
        const config = tf.getKernel(call.kernel, WASM_BACKEND);
        if (config === undefined) throw new Error(`kernel plan: ${call.kernel} is no longer registered for wasm`);
        const out = config.kernelFunc({ inputs: call.inputs, attrs: call.attrs, backend: backend as unknown as tf.KernelBackend }) as tf.TensorInfo | tf.TensorInfo[];
        const outs = Array.isArray(out) ? out : [out];
        if (outs.length !== call.outputs) throw new Error(`kernel plan: ${call.kernel} gave ${outs.length} outputs, ${call.outputs} recorded`);
        for (let k = 0; k < outs.length; k++) {
          let o = outs[k] as tf.TensorInfo;
          // An input object handed back as the output is rewritten by the next replay: keep a copy.
          if (call.infos.some((a) => a.info === o)) o = { dataId: o.dataId, shape: o.shape, dtype: o.dtype };
          made.push(o);
          slots[call.firstOut + k] = o;
        }
      }
    } catch (err) {
      release();
      throw err;
    }
    return { outputs: this.outputSlots.map((s) => slots[s] as tf.TensorInfo), release };
  }

  /** Frees the plan's constants. */
  dispose(): void {
    for (const c of this.constants) this.backend.disposeData(c.info.dataId);
    this.constants.length = 0;
  }
}

/** Whether two results on the wasm backend hold the same bytes (the same shape and type, too). */
export function sameData(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  if (a.dtype !== b.dtype || !sameShape(a.shape, b.shape)) return false;
  const backend = tf.backend() as BackendWasm;
  const x = backend.typedArrayFromHeap(a);
  const y = backend.typedArrayFromHeap(b);
  const xb = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const yb = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
  for (let i = 0; i < xb.length; i++) if (xb[i] !== yb[i]) return false;
  return true;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
