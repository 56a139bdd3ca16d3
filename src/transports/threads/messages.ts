/**
 * What the feeding thread (the pool's or the engine's) and its compute threads
 * share, and how they read it. Nothing travels by message once a thread is
 * up: the dataset, weights, batch indices and gradient slots are shared
 * memory set up once, and so is the task board, an array of entries the
 * feeding thread fills and the threads claim.
 *
 * An entry's state is the only word both sides write:
 *   FREE/DONE/FAILED --feeder--> PENDING --thread (compareExchange)--> CLAIMED + thread id
 *   CLAIMED + id --that thread--> DONE or FAILED;  CLAIMED + id --feeder (deadline, exit)--> FAILED
 * Every other field of an entry is written by one side before the state
 * change that hands it over (Atomics.store and compareExchange order them).
 * A thread finishing an entry the feeder has already failed (it hung, or its
 * claim was revoked) loses the compareExchange and its result is ignored.
 */
import type { WasmMemory } from '../../worker/kernels/wasm-instance.js';
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
  /**
   * Two parameter buffers (SharedArrayBuffers): the published version is in weights[CTRL.WEIGHTS],
   * written only while no task runs; a step end run by the threads (KIND.STEP_END) writes the
   * next version into the other one, so the published weights stay intact until it is complete.
   */
  weights: [Float32Array, Float32Array];
  /**
   * The shared WebAssembly.Memory that holds `weights` and `slots` (shared-data.ts stepMemory), so
   * the step end runs in place; null where they are plain SharedArrayBuffers.
   */
  memory: WasmMemory | null;
  /**
   * The step end the threads run by ranges: ints [parts, examples, slot of part 0, slot of
   * part 1, ...] (parts in micro-batch order) and the learning rate; written before its entries
   * are posted.
   */
  stepEnd: { ints: Int32Array; lr: Float64Array };
  /**
   * Batch indices. The pool keeps two halves of one global batch each: a
   * step's micro-batches, one after another, in the half of its step's
   * parity, and the next step's (when known) in the other, for prefetching.
   */
  indices: Int32Array;
  /** Gradient slots, `slotCount` × model size floats: entry e < slotCount computes into slot e. */
  slots: Float32Array;
  slotCount: number;
  /** The most examples one task holds (micro-batch or evaluation chunk). */
  maxBatch: number;
  /** The micro-batch sizes a thread warms up with (worker/warm-up.ts); empty: none. */
  warmUpSizes: number[];
  /** The core of each thread position (pin.ts); null: the scheduler places the threads. */
  pinCores: number[] | null;
  board: Board;
  /**
   * Tests only: ms a thread that found no task waits before it looks at its hints, widening the
   * moment a step begins (hints written, tasks not yet posted).
   */
  idlePauseMs?: number;
}

/** The task board: control words, entries, their results and error texts, and per-thread figures. */
export interface Board {
  /** CTRL.* words. */
  ctrl: Int32Array;
  /** `capacity` entries of ENTRY_INTS ints (E.* fields). */
  entries: Int32Array;
  /** `capacity` results of RESULT_FLOATS doubles (R.* fields). */
  results: Float64Array;
  /** `capacity` error texts of ERROR_BYTES UTF-8 bytes, zero-padded. */
  errors: Uint8Array;
  capacity: number;
  /**
   * Per thread position, two hints of HINT_INTS ints (H.*), one per parity of the step they are
   * for: the micro-batch of a coming step it is likely to compute, to prefetch. Two, so that the
   * hint for step s + 2 (posted with step s + 1) does not replace the one for s + 1 before a thread
   * slow to finish step s has read it.
   */
  hints: Int32Array;
  /** Per thread position: STAT_STRIDE ints (S.*): what the thread there reported after its last task. */
  stats: Int32Array;
  positions: number;
}

/** Control words; each on a cache line of its own, as different threads write them. */
export const CTRL = {
  /** Bumped by the feeder whenever it posts tasks (or asks threads to stop): idle threads wait on it. */
  SEQ: 0,
  /** Bumped by threads (and by the feeder on exits) whenever an entry is settled: the feeder waits on it. */
  EVENTS: 16,
  /** The version of `weights`, stored after the weights themselves. */
  VERSION: 32,
  /** 1: threads leave their loop. */
  STOP: 48,
  /**
   * 1: a thread wakes the feeder after every entry it settles; 0: only after one that fails, or
   * when no entry is left pending or claimed (a step's last result). Every wake-up takes a core
   * from a compute thread when there are as many of those as cores.
   */
  NOTIFY_EACH: 49,
  /** Which of the two weights buffers holds the published version (0 or 1). */
  WEIGHTS: 50,
} as const;
export const CTRL_INTS = 64;

/** Entry states; a claimed entry holds CLAIMED + the claiming thread's id (ids start at 1). */
export const STATE = { FREE: 0, PENDING: 1, DONE: 2, FAILED: 3, CLAIMED: 16 } as const;

/** Entry fields. */
export const E = {
  STATE: 0,
  KIND: 1,
  /** The weights version the task computes at (a training step's number). */
  VERSION: 2,
  /** Evaluation: 0 train, 1 validation. */
  SPLIT: 3,
  /**
   * Gradient: the task's indices are indices[OFFSET, OFFSET + LENGTH); evaluation: records
   * [OFFSET, OFFSET + LENGTH) of the split; step end: parameters [OFFSET, OFFSET + LENGTH).
   */
  OFFSET: 4,
  LENGTH: 5,
  /** FAULT_CODE of a test fault, 0 for none. */
  FAULT: 6,
  /** The thread position that should take it first (-1: any); others take it when they have nothing of their own. */
  PREFER: 7,
} as const;
export const ENTRY_INTS = 8;

export const KIND = { GRADIENT: 1, EVALUATE: 2, STEP_END: 3 } as const;

/**
 * Result fields: loss sum, correct count, examples, when the thread started and ended
 * (performance.timeOrigin + now, ms), and its node:worker_threads id. A step end's range
 * reports in CORRECT whether every new parameter is finite (1) or not (0), and its length in COUNT.
 */
export const R = { LOSS: 0, CORRECT: 1, COUNT: 2, START: 3, END: 4, THREAD: 5 } as const;
export const RESULT_FLOATS = 6;

/**
 * A failed task's first line, UTF-8, prefixed with its code (`E_BACKEND: ...`) where it has one:
 * room for a WebGPU error with the config keys to change (about 400 bytes).
 */
export const ERROR_BYTES = 1024;

/** Hint fields: a serial (bumped per hint), where the indices are, how many, and the weights version (step) they are for. */
export const H = { SERIAL: 0, OFFSET: 1, LENGTH: 2, VERSION: 3 } as const;
export const HINT_INTS = 4;

/** Per-thread figures: tf.memory().numTensors after its last task, prefetched inputs used and dropped, its thread id. */
/** SPUN: the times the thread spun while the others finished a step (worker.ts spinWhileOthersCompute). */
/** DONE: the tasks it computed, counted before each is settled (so exact once the thread has exited; board.ts PROVEN_TASKS). */
export const S = { TENSORS: 0, USED: 1, DROPPED: 2, THREAD: 3, SPUN: 4, RELEASED: 5, DONE: 6 } as const;
/** One cache line per position: each thread writes its own after every task. */
export const STAT_STRIDE = 16;

/** Test-only faults, injected by the pool's `injectFault` option. */
export type Fault = 'exit' | 'throw' | 'hang' | 'exitAfter';
/** exitAfter: the thread settles its task, then exits (as one that dies for a systematic reason after every task). */
export const FAULT_CODE: Record<Fault, number> = { exit: 1, throw: 2, hang: 3, exitAfter: 4 };

/** What a compute thread is started with (its workerData). */
export interface ThreadStart {
  init: ThreadInit;
  /** Its position, 0..threads-1 (a replacement takes the position of the thread it replaces). */
  position: number;
  /** Its id on the board, never reused: a claimed entry's state is STATE.CLAIMED + id. */
  id: number;
}

/** The one message a thread sends: when it is ready to claim tasks, or why it cannot start. */
/** `warmedUp`: it ran the warm-up (worker/warm-up.ts: wasm, TRAINER_WARMUP_STEPS not 0). */
/** ready: `gpu`, it computes on a GPU (SelectedBackend.gpu). */
export type ThreadMessage = { kind: 'ready'; backend: string; gpu: boolean; core: number | null; warmedUp: boolean } | { kind: 'failed'; code: string | null; message: string };
