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

/**
 * What every thread gets at start (its workerData): the datasets moved into
 * shared memory (in place: the private copies can be collected), and zeroed
 * shared weights, indices, slots and the task board.
 */
export function threadInit(o: ThreadInitOptions): ThreadInit {
  const shared = <T>(Ctor: new (b: SharedArrayBuffer) => T, bytes: number) => new Ctor(new SharedArrayBuffer(bytes));
  o.data.train = shareDataset(o.data.train);
  o.data.val = shareDataset(o.data.val);
  return {
    backend: o.backend,
    gpu: o.gpu,
    model: o.model.name,
    normalization: o.normalization,
    train: o.data.train,
    val: o.data.val,
    weights: [shared(Float32Array, o.model.size * 4), shared(Float32Array, o.model.size * 4)],
    stepEnd: { ints: shared(Int32Array, (2 + o.slotCount) * 4), lr: shared(Float64Array, 8) },
    indices: shared(Int32Array, o.indices * 4),
    slots: shared(Float32Array, o.slotCount * o.model.size * 4),
    slotCount: o.slotCount,
    maxBatch: o.maxBatch,
    warmUpSizes: o.warmUpSizes,
    pinCores: o.pinCores ?? null,
    board: boardFor(o.slotCount + o.evalEntries, o.threads),
  };
}

function boardFor(capacity: number, positions: number): Board {
  const shared = <T>(Ctor: new (b: SharedArrayBuffer) => T, bytes: number) => new Ctor(new SharedArrayBuffer(bytes));
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
