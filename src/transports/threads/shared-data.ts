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
import type { ThreadInit } from './messages.js';

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
  slotCount: number;
  maxBatch: number;
}

/**
 * What every thread gets at start (piscina's workerData): the datasets moved
 * into shared memory (in place: the private copies can be collected), and
 * zeroed shared weights, indices, slots and their bookkeeping.
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
    weights: shared(Float32Array, o.model.size * 4),
    publishedVersion: shared(Int32Array, 4).fill(-1),
    indices: shared(Int32Array, o.indices * 4),
    slots: shared(Float32Array, o.slotCount * o.model.size * 4),
    slotCount: o.slotCount,
    started: shared(Int32Array, o.slotCount * 4),
    startedAtMs: shared(Float64Array, o.slotCount * 8),
    maxBatch: o.maxBatch,
  };
}
