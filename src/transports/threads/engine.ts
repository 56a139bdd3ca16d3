/**
 * N compute threads behind one WebSocket worker process (`trainer worker
 * --threads N`): one connection, one copy of the dataset and of the weights
 * per machine. The threads run the same entry and the same task board as
 * `trainer train --threads` (worker.ts, board.ts); each task is one
 * micro-batch computed on its own by whichever thread is free, so its
 * gradient has the bits a single-thread worker gives and the weights hash
 * does not change.
 *
 * Threads read the weights of a version from shared memory while they
 * compute, so a new version is published only once no task of another
 * version runs: a stale task finishing late never sees torn weights.
 */
import type { Dataset } from '../../data/cifar-format.js';
import type { Normalization } from '../../data/normalize.js';
import type { BackendName } from '../../shared/config.js';
import { TrainerError } from '../../shared/errors.js';
import type { BatchStats } from '../../worker/gradient.js';
import type { ModelSpec } from '../../worker/model.js';
import { ThreadBoard } from './board.js';
import type { Fault, ThreadInit } from './messages.js';
import { workerPinCores } from './pin.js';
import { threadInit } from './shared-data.js';
import { microBatchSizes } from '../../worker/warm-up.js';

export interface EngineOptions {
  threads: number;
  backend: BackendName;
  gpu: number | null;
  model: ModelSpec;
  normalization: Normalization;
  data: { train: Dataset; val: Dataset };
  /** The most examples one task holds. */
  maxBatch: number;
  /** Examples in a training micro-batch: the threads warm up with it. */
  microBatch: number;
  /** A task running longer than this has its thread terminated (and fails); default an hour. */
  taskTimeoutMs?: number;
  /** Tests only: a fault for the n-th task (0 is the first). */
  injectFault?: (task: number) => Fault | undefined;
}

export class ThreadEngine {
  readonly threads: number;
  private readonly free: number[];
  private published = -1;
  /** Gradient tasks begun (injectFault's count). */
  private tasks = 0;
  private running = 0;
  private readonly idle: (() => void)[] = [];
  /** Tasks waiting for a slot (all were taken: see withSlot). */
  private readonly slotWaiters: ((slot: number) => void)[] = [];

  private constructor(
    private readonly board: ThreadBoard,
    private readonly init: ThreadInit,
    private readonly model: ModelSpec,
    /** The backend kind the threads compute on. */
    readonly backendKind: string,
    threads: number,
    private readonly injectFault?: EngineOptions['injectFault'],
  ) {
    this.threads = threads;
    this.free = Array.from({ length: init.slotCount }, (_, i) => i);
  }

  /** Starts every thread and waits until each has loaded its backend and model. */
  static async start(o: EngineOptions): Promise<ThreadEngine> {
    // tfjs-node's addon loads in one thread per process only, so auto means wasm here (as in trainer train --threads).
    const backend = o.backend === 'auto' ? 'wasm' : o.backend;
    if (backend === 'tensorflow' || backend === 'tensorflow-gpu') {
      throw new TrainerError('E_CONFIG', `backend ${backend} cannot run in more than one thread (tfjs-node loads once per process): run one worker process per GPU instead`);
    }
    // One board entry (and gradient slot) per task at once; evaluation tasks use them too.
    const init = threadInit({
      ...o,
      backend,
      indices: o.threads * o.maxBatch,
      slotCount: o.threads,
      evalEntries: 0,
      warmUpSizes: microBatchSizes(o.microBatch, 1, o.maxBatch),
      pinCores: workerPinCores(o.threads),
    });
    const board = await ThreadBoard.start(init, { threads: o.threads, timeoutMs: o.taskTimeoutMs ?? 3_600_000, startupTimeoutMs: 60_000 });
    return new ThreadEngine(board, init, o.model, board.backends().join(', '), o.threads, o.injectFault);
  }

  /** d(sum of losses)/d(params) of the examples at `indices` at weights `version`, into `out`. */
  async gradient(version: number, weights: Float32Array, indices: Int32Array, out: Float32Array): Promise<BatchStats> {
    if (indices.length > this.init.maxBatch) throw new TrainerError('E_PROTOCOL', `a task of ${indices.length} examples, at most ${this.init.maxBatch}`);
    return this.withSlot(version, weights, async (slot) => {
      const offset = slot * this.init.maxBatch;
      this.init.indices.set(indices, offset);
      const fault = this.injectFault?.(this.tasks++);
      const r = await this.board.run(slot, { kind: 'gradient', version, offset, length: indices.length, ...(fault ? { fault } : {}) }, `task of version ${version}`);
      out.set(this.init.slots.subarray(slot * this.model.size, (slot + 1) * this.model.size));
      return { lossSum: r.lossSum, correct: r.correct, count: r.count };
    });
  }

  /** Loss sum and correct count of a contiguous range of `split` at weights `version`. */
  async evaluate(version: number, weights: Float32Array, split: 'train' | 'val', indices: Int32Array): Promise<BatchStats> {
    const start = indices[0] ?? 0;
    if (indices.some((v, k) => v !== start + k)) throw new TrainerError('E_PROTOCOL', 'evaluation indices must be a contiguous range');
    return this.withSlot(version, weights, async (slot) => {
      const r = await this.board.run(slot, { kind: 'evaluate', version, split, offset: start, length: indices.length }, `evaluation of version ${version}`);
      return { lossSum: r.lossSum, correct: r.correct, count: r.count };
    });
  }

  /** Whether the threads compute on a GPU. */
  onGpu(): boolean {
    return this.board.onGpu();
  }

  /** The cores the threads are pinned to (pin.ts); empty when they are not. */
  cores(): number[] {
    return this.board.cores();
  }

  async close(): Promise<void> {
    await this.board.close();
  }

  /** Runs `f` on a free slot once `weights` are published as `version` (after any task of another version ended). */
  private async withSlot<T>(version: number, weights: Float32Array, f: (slot: number) => Promise<T>): Promise<T> {
    while (this.published !== version && this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.published !== version) {
      this.board.publish(version, weights);
      this.published = version;
    }
    // Counted before it has a slot: a task of another version waits for this one to end, not only to start.
    this.running++;
    try {
      // No slot free: one is held by a thread terminated mid-task (a task past its timeout) until that
      // thread has exited. The task waits for it (it was E_INTERNAL, "more than N tasks at once").
      const slot = this.free.pop() ?? (await new Promise<number>((resolve) => this.slotWaiters.push(resolve)));
      try {
        return await f(slot);
      } finally {
        // Free again: at once, or once a thread terminated mid-task there has exited (it may write the slot until then).
        this.board.whenReusable(slot, () => {
          const waiter = this.slotWaiters.shift();
          if (waiter) waiter(slot);
          else this.free.push(slot);
        });
      }
    } finally {
      if (--this.running === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }
}
