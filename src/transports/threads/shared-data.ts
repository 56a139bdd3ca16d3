/**
 * The memory threads share with the thread that feeds them: the training and
 * validation sets (held once per process, read by every thread, never copied
 * per thread or per step), the weights and their version, batch indices and
 * gradient slots, all SharedArrayBuffers set up once.
 */
import type { Dataset } from '../../data/cifar-format.js';
import type { Normalization } from '../../data/normalize.js';
import type { BackendName } from '../../shared/config.js';
import type { ModelSpec } from '../../worker/model.js';
import { SHARED_STEP_RESERVED, registerSharedStepMemory } from '../../coordinator/step-simd.js';
import { sharedMemory } from '../../worker/kernels/wasm-instance.js';
import { envVar } from '../../worker/kernels/wasm-heap.js';
import { CTRL, CTRL_INTS, ENTRY_INTS, ERROR_BYTES, HINT_INTS, RESULT_FLOATS, STAT_STRIDE, type Board, type ThreadInit } from './messages.js';

export function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** A dataset whose arrays live in shared memory (the same object when they already do). */
export function shareDataset(d: Dataset): Dataset {
  if (isShared(d.images) && isShared(d.labels)) return d;
  const images = new Uint8Array(new SharedArrayBuffer(d.images.byteLength));
  images.set(d.images);
  const labels = new Uint8Array(new SharedArrayBuffer(d.labels.byteLength));
  labels.set(d.labels);
  return { images, labels, count: d.count };
}

export interface ThreadInitOptions {
  backend: BackendName;
  gpu: number | null;
  model: ModelSpec;
  normalization: Normalization;
  data: { train: Dataset; val: Dataset };
  /** Ints of batch indices the feeding thread writes. */
  indices: number;
  /** Gradient slots (and the board's first entries, which compute into them). */
  slotCount: number;
  /** Board entries beyond the gradient slots, for evaluation tasks. */
  evalEntries: number;
  /** Thread positions. */
  threads: number;
  maxBatch: number;
  warmUpSizes: number[];
  /** A core per thread position (pin.ts), or null / absent: not pinned. */
  pinCores?: number[] | null;
}

/** A typed array of `bytes` bytes on a SharedArrayBuffer of its own. */
const shared = <T>(Ctor: new (b: SharedArrayBuffer) => T, bytes: number) => new Ctor(new SharedArrayBuffer(bytes));

/**
 * What every thread gets at start (its workerData): the datasets moved into
 * shared memory (in place: the private copies can be collected), and zeroed
 * shared weights, indices, slots and the task board.
 */
export function threadInit(o: ThreadInitOptions): ThreadInit {
  o.data.train = shareDataset(o.data.train);
  o.data.val = shareDataset(o.data.val);
  const { memory, weights, slots } = stepMemory(o.model.size, o.slotCount);
  return {
    backend: o.backend,
    gpu: o.gpu,
    model: o.model.name,
    normalization: o.normalization,
    train: o.data.train,
    val: o.data.val,
    memory,
    weights,
    stepEnd: { ints: shared(Int32Array, (2 + o.slotCount) * 4), lr: shared(Float64Array, 8) },
    indices: shared(Int32Array, o.indices * 4),
    slots,
    slotCount: o.slotCount,
    maxBatch: o.maxBatch,
    warmUpSizes: o.warmUpSizes,
    pinCores: o.pinCores ?? null,
    board: boardFor(o.slotCount + o.evalEntries, o.threads),
  };
}

function boardFor(capacity: number, positions: number): Board {
  return {
    ctrl: shared(Int32Array, CTRL_INTS * 4).fill(1, CTRL.NOTIFY_EACH, CTRL.NOTIFY_EACH + 1),
    entries: shared(Int32Array, capacity * ENTRY_INTS * 4),
    results: shared(Float64Array, capacity * RESULT_FLOATS * 8),
    errors: shared(Uint8Array, capacity * ERROR_BYTES),
    capacity,
    hints: shared(Int32Array, positions * 2 * HINT_INTS * 4),
    stats: shared(Int32Array, positions * STAT_STRIDE * 4),
    positions,
  };
}

/**
 * The weights buffers and the gradient slots, in one shared WebAssembly.Memory where one can be
 * made (each array on 64-byte lines, after the bytes step-simd.ts reserves): the step end then
 * runs in place there (sharedStepEnd). Else, or with TRAINER_STEP_MEMORY=0, plain
 * SharedArrayBuffers, and memory null (the same results; the step end copies blocks).
 */
function stepMemory(size: number, slotCount: number): Pick<ThreadInit, 'memory' | 'weights' | 'slots'> {
  const line = (bytes: number) => Math.ceil(bytes / 64) * 64;
  const at = [SHARED_STEP_RESERVED, SHARED_STEP_RESERVED + line(size * 4), SHARED_STEP_RESERVED + 2 * line(size * 4)] as const;
  const memory = envVar('TRAINER_STEP_MEMORY') === '0' ? null : sharedMemory(Math.ceil((at[2] + slotCount * size * 4) / 65536));
  if (memory === null) {
    return { memory: null, weights: [shared(Float32Array, size * 4), shared(Float32Array, size * 4)], slots: shared(Float32Array, slotCount * size * 4) };
  }
  registerSharedStepMemory(memory);
  const { buffer } = memory;
  return { memory, weights: [new Float32Array(buffer, at[0], size), new Float32Array(buffer, at[1], size)], slots: new Float32Array(buffer, at[2], slotCount * size) };
}

/**
 * In a thread given `init`: its weights and slots as views of its own copy of the shared memory
 * (structured cloning gives the arrays and the memory different buffer objects), so this thread's
 * step ends find them there (registerSharedStepMemory).
 */
export function adoptStepMemory(init: ThreadInit): void {
  const { memory } = init;
  if (memory === null) return;
  registerSharedStepMemory(memory);
  const view = (a: Float32Array) => new Float32Array(memory.buffer, a.byteOffset, a.length);
  init.weights = [view(init.weights[0]), view(init.weights[1])];
  init.slots = view(init.slots);
}
