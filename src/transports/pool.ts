/**
 * The one interface the step loop sees, whatever computes the gradients:
 * the coordinator's own thread, worker threads, child processes or remote
 * machines. That is what keeps one code path for 1..N workers. Each
 * transport (in-process.ts, threads/, ws/) implements WorkerPool and exports
 * a PoolFactory; create-pool.ts picks one by cluster.transport.
 */
import type { LoadedData } from '../data/dataset.js';
import type { Normalization } from '../data/normalize.js';
import type { Config } from '../shared/config.js';
import type { BatchStats } from '../worker/gradient.js';
import type { ModelSpec } from '../worker/model.js';
import type { SgdOptions } from '../coordinator/optimizer.js';

export interface MicroBatchResult extends BatchStats {
  /** d(sum of losses)/d(params) of this micro-batch; owned by the pool, valid until the next runStep. */
  gradient: Float32Array;
  /** Who computed it (for per-worker statistics). */
  worker: string;
  /** Where its time went, for traces; absent where a pool cannot tell. */
  timing?: ResultTiming;
}

/**
 * A micro-batch's life in the coordinator's performance.now() clock (ms):
 * handed to the transport, computing, computed, back. A thread reports its own
 * start and end; a remote worker its start by its own clock and how long it
 * computed, placed where its clock says when that fits the round trip, else in
 * the middle of it (ws/dispatch.ts resultTiming).
 */
export interface ResultTiming {
  sentMs: number;
  startMs: number;
  endMs: number;
  receivedMs: number;
}

/**
 * Told of each micro-batch result as soon as it is accepted (index m), exactly
 * once per micro-batch, before runStep resolves: the loop reduces from these
 * calls alone, while the other micro-batches still compute.
 */
export type ResultListener = (m: number, result: MicroBatchResult) => void;

/** What the loop tells a pool about one step besides its micro-batches. */
export interface StepHooks {
  onResult: ResultListener;
  /**
   * The next step's micro-batches, when the loop knows them: a worker may
   * load those examples while it waits for the next weights, taking that
   * work off the step's critical path. A hint only: pools may ignore it, and
   * it never changes what is computed.
   */
  next?: readonly Int32Array[];
}

export interface WorkerStats {
  worker: string;
  /**
   * The worker's backend kind (SelectedBackend.kind: the backend, and for GPU
   * backends the device): results are bit-identical among workers of one kind.
   */
  backend: string;
  /**
   * Compute threads behind the worker, which compute micro-batches at once: N for a
   * `trainer worker --threads N` (one connection), 1 for every other worker (a thread of
   * `trainer train --threads N` is a worker of its own).
   */
  threads: number;
  microBatches: number;
  examples: number;
  /** Compute time summed over the worker's threads: with several, it passes wall time. */
  computeMs: number;
}

/**
 * Images per second the worker computes, its threads computing at once. Examples over
 * computeMs (summed over the threads) is one thread's speed, so it is multiplied by the
 * threads: shown alone, it made a 2-thread worker read 1,681 images/s while a run on it
 * alone trained at up to 3,220.
 */
export function workerImagesPerSec(w: Pick<WorkerStats, 'examples' | 'computeMs' | 'threads'>): number {
  return w.computeMs > 0 ? (w.examples / w.computeMs) * 1000 * w.threads : 0;
}

export interface WorkerPool {
  /** How many workers compute in parallel now. */
  readonly size: number;
  /**
   * Whether the workers compute on the coordinator's own cores (threads, its
   * own thread). The loop then adds the micro-batch gradients only after the
   * last one, in one pass with the SGD update, instead of as each arrives,
   * which would take a core from a worker still computing. Absent: false.
   */
  readonly sharesCores?: boolean;
  /**
   * Makes `weights` (a vector the pool must not keep a reference to) the
   * parameters of version `version`. The loop publishes version s before
   * step s: a step's number is the version of the weights it computes at.
   */
  publish(version: number, weights: Float32Array): Promise<void>;
  /**
   * Storage for the loop's parameters that the workers share (threads: the
   * shared weights), holding a copy of `initial`: the loop then updates the
   * parameters in place there, and publishing that very array moves nothing
   * but the version. Absent: the loop keeps its own array.
   */
  paramsStorage?(initial: Float32Array): Float32Array;
  /**
   * The end of step `step` in the workers, where they can run it in parallel: the micro-batch
   * gradients runStep returned added in micro-batch order and divided by `examples`, and the plain
   * SGD update (no momentum, no weight decay) of `params` (the paramsStorage the loop published as
   * version `step`) written into storage of the pool's, which holds the new parameters on return;
   * `params` itself stays as it was. The bits of OrderedReduction's finishStep. Resolves to null,
   * having changed nothing, where the pool does not (the loop then does it). Only for pools that
   * share the coordinator's cores (the reduction is deferred). Absent: never.
   */
  finishStep?(step: number, params: Float32Array, examples: number, opt: SgdOptions): Promise<{ params: Float32Array; finite: boolean } | null>;
  /**
   * Gradients of every micro-batch of step `step`, at the weights published
   * as version `step`, reported through `hooks.onResult` and returned in
   * micro-batch order. A worker that fails loses its micro-batches to the
   * others within this call; it rejects only when no worker can finish them.
   */
  runStep(step: number, microBatches: readonly Int32Array[], hooks: StepHooks): Promise<MicroBatchResult[]>;
  /** Forward-only loss and accuracy of `split` at `version`, chunk by chunk, in chunk order. */
  evaluate(version: number, split: 'train' | 'val', chunks: readonly Int32Array[]): Promise<BatchStats[]>;
  /** Per-worker work done so far. */
  stats(): WorkerStats[];
  /**
   * The training is over: lines held back about its steps (throttled) are told now, before the
   * run's last line (its model saved), not when the pool closes after it. Absent: none are held.
   */
  tellHeldLines?(): void;
  /**
   * Ends the pool. `finished`: the run is over (done, or diverged), remote workers exit;
   * `not-started`: stopped or given up before the run began, nothing of it written, remote workers exit with an
   * error; otherwise (stopped, failed, the default) they keep retrying for a coordinator that resumes the run.
   */
  close(end?: PoolEnd): Promise<void>;
}

/** How a pool ends, as its remote workers are told (WorkerPool.close). */
export type PoolEnd = 'finished' | 'stopped' | 'not-started';

/** What every transport is given to build its pool: the run as resolved. */
export interface PoolContext {
  config: Config;
  model: ModelSpec;
  data: LoadedData;
  normalization: Normalization;
  log: (line: string) => void;
}

/** Builds a ready pool (workers started or joined) for one run. */
export type PoolFactory = (ctx: PoolContext) => Promise<WorkerPool>;

/** The most examples one task holds: a training micro-batch or an evaluation chunk. */
export function maxTaskBatch(config: Pick<Config, 'train' | 'eval'>): number {
  return Math.max(Math.ceil(config.train.batchSize / config.train.microBatches), config.eval.batchSize);
}
