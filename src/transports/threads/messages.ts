/**
 * What the coordinator thread and its worker threads say to each other. The
 * big arrays (dataset, weights, gradient slots, batch indices) are shared
 * memory set up once; a task names only step, weights version, micro-batch and
 * where its indices and its gradient slot are.
 */
import type { BackendName, ModelName } from '../../shared/config.js';
import type { Dataset } from '../../data/cifar-format.js';
import type { Normalization } from '../../data/normalize.js';

export interface ThreadInit {
  backend: BackendName;
  /** The GPU (webgpu's N-th hardware adapter); null for none. */
  gpu: number | null;
  model: ModelName;
  normalization: Normalization;
  train: Dataset;
  val: Dataset;
  /** Parameters of the published version (SharedArrayBuffer). */
  weights: Float32Array;
  /** [0]: the version of `weights`, written after the weights themselves. */
  publishedVersion: Int32Array;
  /**
   * Two halves of one global batch each: a step's micro-batches, one after
   * another, in the half of its step's parity, and the next step's (when
   * known) in the other, for prefetching.
   */
  indices: Int32Array;
  /** Gradient slots, `slotCount` × model size floats. */
  slots: Float32Array;
  slotCount: number;
  /** started[slot]: the ticket of the task that last began computing into that slot. */
  started: Int32Array;
  /** startedAtMs[slot]: when it began (performance.timeOrigin + performance.now()); written before started[slot]. */
  startedAtMs: Float64Array;
  maxBatch: number;
}

/** Test-only faults, injected by the pool's `injectFault` option. */
export type Fault = 'exit' | 'throw' | 'hang';

export type ThreadTask =
  | {
      kind: 'gradient';
      /** Also the version of the weights it computes at. */
      step: number;
      microBatch: number;
      /** The micro-batch's indices are indices[offset, offset + length). */
      offset: number;
      length: number;
      slot: number;
      /** Written to started[slot] when the task begins: tells a queued task from a running one. */
      ticket: number;
      /**
       * indices[offset, offset + length) of the same micro-batch in the next
       * step: the thread loads those examples once this task is done, while
       * the next weights are computed. A hint; it never changes a result.
       */
      next?: { offset: number; length: number };
      fault?: Fault;
    }
  | { kind: 'evaluate'; version: number; split: 'train' | 'val'; start: number; length: number }
  | { kind: 'ping' };

export interface ThreadResult {
  thread: number;
  lossSum: number;
  correct: number;
  count: number;
  computeMs: number;
  /** When the thread started and finished the task: performance.timeOrigin + performance.now(), in ms. */
  startedAtMs: number;
  endedAtMs: number;
  /** The backend kind the thread computes on (SelectedBackend.kind). */
  backend: string;
  /** tf.memory().numTensors after the task: must not grow from step to step. */
  numTensors: number;
  /** The thread's prefetched inputs so far: used by their task, or dropped. */
  staging: { used: number; dropped: number };
}
