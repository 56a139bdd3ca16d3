/**
 * N compute threads on this machine, sharing memory with the coordinator
 * thread: dataset, weights, batch indices, gradient slots and the task board
 * (messages.ts) are SharedArrayBuffers set up once, so a step moves no arrays
 * and sends no messages between threads. A step posts its micro-batches on
 * the board; each thread claims the ones that prefer its position first,
 * then any left pending (a slow or lost thread's), and the coordinator
 * reduces each result as the board reports it.
 *
 * Faults: a task that throws, a thread that exits, or a task past
 * cluster.stepTimeoutMs (its thread is terminated) is posted again, into a
 * fresh gradient slot, within the same step, and whichever thread is free
 * takes it; a lost thread is replaced. The gradient of a micro-batch does not
 * depend on which thread computes it, so the step's result stays
 * bit-identical. The slot of a task past its deadline is used again once its
 * thread has exited (board.whenReusable), so SPARE_SLOTS bounds the timeouts
 * at once, not those of a run.
 */
import { taskTimeoutMs, type Config } from '../../shared/config.js';
import { isTrainerError, TrainerError } from '../../shared/errors.js';
import type { BatchStats } from '../../worker/gradient.js';
import { maxTaskBatch, type MicroBatchResult, type PoolContext, type StepHooks, type WorkerPool, type WorkerStats } from '../pool.js';
import { microBatchSizes } from '../../worker/warm-up.js';
import { gpuMicroBatchNote } from '../../worker/backend.js';
import { usableCpus } from '../../shared/cpus.js';
import { ThreadBoard, type TaskOutcome } from './board.js';
import type { Fault, ThreadInit } from './messages.js';
import { pinCores } from './pin.js';
import { warmUpOver } from '../../worker/kernels/v8-wasm-flags.js';
import { threadInit } from './shared-data.js';
import { plainStepEnd, type SgdOptions } from '../../coordinator/optimizer.js';

export { WORKER_FILE } from './board.js';

export interface ThreadPoolOptions {
  threads: number;
  /** Attempts per micro-batch within one step before the step fails. */
  maxAttempts?: number;
  /** Tests only: a fault for the given attempt of a micro-batch (attempt 0 is the first). */
  injectFault?: (step: number, microBatch: number, attempt: number) => Fault | undefined;
  /** Tests only: a fault for range r of step `step`'s update on the threads (finishStep). */
  injectStepEndFault?: (step: number, range: number) => Fault | undefined;
  /** The fewest parameters for which the threads run the step end (finishStep); default PARALLEL_STEP_END_MIN. */
  stepEndMin?: number;
  /** Tests only: ThreadInit.idlePauseMs. */
  idlePauseMs?: number;
  /** Tests only: BoardOptions.maxReplacements (threads started in a row at one position). */
  maxReplacements?: number;
  /** Where a thread past its deadline or lost, and its replacement, are told (the run's log). */
  log?: (line: string) => void;
}

/**
 * Below this many parameters the step end stays on the coordinator's thread: waking the threads
 * for it costs more than it saves (the article's CNN has 18,354 parameters: ~0.07 ms a step end).
 */
export const PARALLEL_STEP_END_MIN = 1 << 18;

export class ThreadPool implements WorkerPool {
  readonly size: number;
  readonly sharesCores = true;
  private readonly maxAttempts: number;
  /** Gradient slots (board entries 0..slotCount-1) free now. */
  private readonly freeSlots: number[];
  /** Gradient slots holding a result of the last step: free again once the next one begins. */
  private readonly heldSlots: number[] = [];
  /** Board entries for evaluation chunks and step-end ranges free now. */
  private readonly freeEval: number[];
  private readonly perThread = new Map<number, WorkerStats>();
  /** The step whose micro-batches were hinted to the threads (the next one, when the loop knew it). */
  private hintedStep = -1;
  /** Hinted micro-batches that a thread other than the hinted one computed (work stealing): their staged input is dropped. */
  private stolen = 0;
  /** The gradient slot of each micro-batch of the last step (-1: none yet), for finishStep. */
  private stepSlots: number[] = [];

  private constructor(
    private readonly board: ThreadBoard,
    private readonly init: ThreadInit,
    private readonly modelSize: number,
    evalEntries: number,
    private readonly opts: ThreadPoolOptions,
    /** An evaluation chunk's deadline (taskTimeoutMs of eval.batchSize images). */
    private readonly evalTimeoutMs: number,
  ) {
    this.size = opts.threads;
    this.maxAttempts = opts.maxAttempts ?? 4;
    this.freeSlots = Array.from({ length: init.slotCount }, (_, i) => i).reverse();
    this.freeEval = Array.from({ length: evalEntries }, (_, i) => init.slotCount + i).reverse();
    // Listed from now on (the dashboard's worker table), with nothing done yet.
    for (const t of board.ready()) this.perThread.set(t.thread, { worker: `thread-${t.thread}`, backend: t.backend, threads: 1, microBatches: 0, examples: 0, computeMs: 0 });
  }

  /** Starts every thread and waits until each has loaded its backend and model. */
  static async start(config: Config, init: ThreadInit, modelSize: number, evalEntries: number, opts: ThreadPoolOptions): Promise<ThreadPool> {
    const board = await ThreadBoard.start(init, {
      threads: opts.threads,
      timeoutMs: config.cluster.stepTimeoutMs,
      startupTimeoutMs: Math.max(config.cluster.stepTimeoutMs, STARTUP_TIMEOUT_MS),
      // The threads are ready (v8-wasm-flags.ts): once warmed up, V8 optimises the step loop over ten times as many steps.
      warmedUp: warmUpOver,
      ...(opts.log ? { log: opts.log } : {}),
      ...(opts.maxReplacements !== undefined ? { maxReplacements: opts.maxReplacements } : {}),
    });
    return new ThreadPool(board, init, modelSize, evalEntries, opts, taskTimeoutMs(config, config.eval.batchSize));
  }

  /** Whether the threads compute on a GPU. */
  onGpu(): boolean {
    return this.board.onGpu();
  }

  /** The backend kinds the threads compute on. */
  backends(): string {
    return this.board.backends().join(', ');
  }

  /** The cores the threads are pinned to, in thread order; empty when they are not. */
  cores(): number[] {
    return this.board.cores();
  }

  async publish(version: number, weights: Float32Array): Promise<void> {
    this.board.publish(version, weights);
  }

  /** The published shared weights themselves: an SGD update here writes where the threads read (no task runs meanwhile). */
  paramsStorage(initial: Float32Array): Float32Array {
    const storage = this.board.published();
    storage.set(initial);
    return storage;
  }

  /**
   * The step end by ranges of parameters on the threads (the coordinator's thread waits, or with
   * a single thread takes half), for models of at least stepEndMin parameters
   * (PARALLEL_STEP_END_MIN): a pass over the fc model's 3.7 M parameters and 4 micro-batch
   * gradients took 15-16 ms on one thread, 8.5-9.3 on two (2 cores; it is bound by memory
   * bandwidth, which one core does not fill). Each range reads the published weights and the
   * gradient slots and writes the other weights buffer, so a range whose thread failed or hung is
   * run again here with the same result.
   */
  async finishStep(step: number, params: Float32Array, examples: number, opt: SgdOptions): Promise<{ params: Float32Array; finite: boolean } | null> {
    const size = params.length;
    const slots = this.stepSlots;
    if (size < (this.opts.stepEndMin ?? PARALLEL_STEP_END_MIN) || opt.momentum !== 0 || opt.weightDecay !== 0) return null;
    if (params !== this.board.published() || slots.length === 0 || slots.some((slot) => slot < 0)) return null;
    const { ints, lr } = this.init.stepEnd;
    ints[0] = slots.length;
    ints[1] = examples;
    ints.set(slots, 2);
    lr[0] = opt.lr;
    const next = this.board.unpublished();
    const parts = slots.map((slot) => this.init.slots.subarray(slot * this.modelSize, (slot + 1) * this.modelSize));
    // Two ranges a thread, so that one thread takes over more of them when the other is late; starts on 64-byte lines.
    // With one thread, this thread takes one of the two (a core of its own is idle otherwise).
    const count = 2 * this.size;
    const bounds = Array.from({ length: count + 1 }, (_, r) => (r === count ? size : Math.floor((size * r) / count / 16) * 16));
    const ranges = Array.from({ length: count }, (_, r) => ({ from: bounds[r] as number, to: bounds[r + 1] as number }));
    const here = this.size === 1 ? 1 : 0;
    const onThreads = Promise.all(
      ranges.slice(here).map(async ({ from, to }, i) => {
        const r = here + i;
        const entry = this.freeEval.pop();
        if (entry !== undefined) {
          try {
            const fault = this.opts.injectStepEndFault?.(step, r);
            const task = { kind: 'stepEnd' as const, version: step, offset: from, length: to - from, prefer: r % this.size, ...(fault ? { fault } : {}) };
            const o = await this.board.run(entry, task, `step ${step + 1} update of parameters ${from}..${to}`);
            this.freeEval.push(entry);
            return o.correct === 1;
          } catch {
            this.board.whenReusable(entry, () => this.freeEval.push(entry));
          }
        }
        // No entry left, or its thread failed: the same range here (it reads only what no one writes now).
        return plainStepEnd(parts, examples, opt.lr, params, next, from, to);
      }),
    );
    const finiteHere = ranges.slice(0, here).map(({ from, to }) => plainStepEnd(parts, examples, opt.lr, params, next, from, to));
    const finite = [...finiteHere, ...(await onThreads)];
    return { params: next, finite: finite.every(Boolean) };
  }

  async runStep(step: number, microBatches: readonly Int32Array[], hooks: StepHooks): Promise<MicroBatchResult[]> {
    const hinted = this.hintedStep === step;
    // The previous step's gradients have been reduced: their slots are free again. Lowest first, so
    // that micro-batches go to board entries in their order, which is the order threads claim in
    // (worker.ts claim): a thread takes the micro-batch it was hinted (its prefetched input) first.
    this.freeSlots.push(...this.heldSlots.splice(0));
    this.freeSlots.sort((a, b) => b - a);
    const half = this.init.indices.length / 2;
    const place = (mbs: readonly Int32Array[], base: number) => {
      let offset = base;
      return mbs.map((mb) => {
        this.init.indices.set(mb, offset);
        const at = { offset, length: mb.length };
        offset += mb.length;
        return at;
      });
    };
    // This step's indices stay put while its tasks run; the next step's go to the other half.
    const placed = place(microBatches, (step % 2) * half);
    // One wake-up of this thread per step, not one per micro-batch (see board.notifyEach).
    this.board.notifyEach(false);
    this.stepSlots = microBatches.map(() => -1);
    // Posts this step's tasks (each runMicroBatch posts before its first await).
    const results = Promise.all(
      placed.map(async (at, m) => {
        const r = await this.runMicroBatch(step, m, at.offset, at.length, hinted);
        hooks.onResult(m, r);
        return r;
      }),
    );
    if (hooks.next) {
      // Each thread loads the next step's micro-batch it will take first (the one preferring it) once it has nothing left to do.
      // Written after the posts: an idle thread that sees these hints sees this step's tasks too, and claims first (worker.ts prefetch).
      const next = place(hooks.next, ((step + 1) % 2) * half);
      for (let p = 0; p < this.size; p++) this.board.hint(p, step + 1, next[p]?.offset ?? 0, next[p]?.length ?? 0);
      this.hintedStep = step + 1;
    }
    return results;
  }

  private async runMicroBatch(step: number, m: number, offset: number, length: number, hinted: boolean): Promise<MicroBatchResult> {
    const failures: string[] = [];
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const slot = this.freeSlots.pop();
      if (slot === undefined) throw new TrainerError('E_WORKER_LOST', 'no gradient slot left: too many worker threads hung');
      const fault = this.opts.injectFault?.(step, m, attempt);
      try {
        const task = { kind: 'gradient' as const, version: step, offset, length, prefer: m % this.size, ...(fault ? { fault } : {}) };
        const r = await this.board.run(slot, task, `step ${step + 1} micro-batch ${m}`);
        this.record(r, length);
        // Hints go to positions 0..size-1 for micro-batches 0..size-1, each the first its thread prefers.
        if (hinted && m < this.size && this.board.positionOf(r.thread) !== m) this.stolen++;
        this.stepSlots[m] = slot;
        this.heldSlots.push(slot);
        const gradient = this.init.slots.subarray(slot * this.modelSize, (slot + 1) * this.modelSize);
        // Threads stamp times as timeOrigin + now; this thread's clock has its own origin.
        const timing = {
          sentMs: r.postedMs,
          startMs: r.startedAtMs - performance.timeOrigin,
          endMs: r.endedAtMs - performance.timeOrigin,
          receivedMs: performance.now(),
        };
        return { lossSum: r.lossSum, correct: r.correct, count: r.count, gradient, worker: `thread-${r.thread}`, timing };
      } catch (err) {
        // Free again: at once, or once a thread terminated mid-task there has exited (it may write the slot until then).
        this.board.whenReusable(slot, () => this.freeSlots.push(slot));
        // A backend that failed (a WebGPU error) fails again on another try: the run stops with its error.
        if (isTrainerError(err, 'E_BACKEND')) throw err;
        failures.push((err as Error).message.split('\n')[0] ?? '');
      }
    }
    // Each reason once: with no thread left, every attempt fails the same way at once.
    throw new TrainerError('E_WORKER_LOST', `step ${step + 1} micro-batch ${m} failed ${this.maxAttempts} times (${[...new Set(failures)].join('; ')})`);
  }

  private record(r: TaskOutcome, examples: number): void {
    // A new thread may finish a task before its 'ready' is read here, and none else be ready then:
    // its kind is the pool's (every thread loads the same backend). Unknown, it was '', and the
    // epoch lines said "parity: mixed backends (, wasm)".
    const backend =
      this.board.ready().find((t) => t.thread === r.thread)?.backend || this.board.backends()[0] || [...this.perThread.values()].find((p) => p.backend !== '')?.backend || '';
    const s = this.perThread.get(r.thread) ?? { worker: `thread-${r.thread}`, backend, threads: 1, microBatches: 0, examples: 0, computeMs: 0 };
    if (s.backend === '') s.backend = backend;
    s.microBatches++;
    s.examples += examples;
    s.computeMs += r.endedAtMs - r.startedAtMs;
    this.perThread.set(r.thread, s);
  }

  async evaluate(version: number, split: 'train' | 'val', chunks: readonly Int32Array[]): Promise<BatchStats[]> {
    // Each chunk done lets the next one in.
    this.board.notifyEach(true);
    const out: BatchStats[] = new Array(chunks.length);
    let next = 0;
    // As many chunks posted at a time as there are evaluation entries; each one done posts the next.
    const feed = async () => {
      for (let i = next++; i < chunks.length; i = next++) out[i] = await this.evaluateChunk(version, split, i, chunks[i] as Int32Array);
    };
    // One at least: with every entry waiting for a hung thread to exit, none ran and `out` came back empty.
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.freeEval.length, chunks.length)) }, feed));
    return out;
  }

  private async evaluateChunk(version: number, split: 'train' | 'val', i: number, c: Int32Array): Promise<BatchStats> {
    const start = c[0] ?? 0;
    if (c.some((v, k) => v !== start + k)) throw new TrainerError('E_INTERNAL', 'evaluation chunks must be contiguous ranges');
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const entry = this.freeEval.pop();
      if (entry === undefined) throw new TrainerError('E_WORKER_LOST', 'no evaluation entry left: too many worker threads hung');
      try {
        const r = await this.board.run(entry, { kind: 'evaluate', version, split, offset: start, length: c.length }, `${split} evaluation chunk ${i} after ${version} steps`, this.evalTimeoutMs);
        this.freeEval.push(entry);
        return { lossSum: r.lossSum, correct: r.correct, count: r.count };
      } catch (err) {
        this.board.whenReusable(entry, () => this.freeEval.push(entry));
        if (isTrainerError(err, 'E_BACKEND')) throw err;
        lastErr = err;
      }
    }
    throw new TrainerError('E_WORKER_LOST', `evaluation chunk ${i} failed: ${(lastErr as Error).message}`);
  }

  stats(): WorkerStats[] {
    return [...this.perThread.values()].map((s) => ({ ...s }));
  }

  /** tf.memory().numTensors each thread reported after its last task. */
  tensorCounts(): Map<number, number> {
    return this.board.tensorCounts();
  }

  /**
   * Prefetched inputs over all threads so far: used by their task, or dropped; and how many
   * hinted micro-batches another thread took (a late thread's: its staged input is dropped).
   */
  staging(): { used: number; dropped: number; stolen: number } {
    return { ...this.board.staging(), stolen: this.stolen };
  }

  /** The times the threads spun while the others finished a step, instead of sleeping (worker.ts spinWhileOthersCompute). */
  barrierSpins(): number {
    return this.board.barrierSpins();
  }

  /** How the closed threads went: ended by themselves (webgpu's) or terminated, and how many released their webgpu device. */
  closedThreads(): { ended: number; terminated: number; released: number } {
    return this.board.closedThreads();
  }

  async close(): Promise<void> {
    await this.board.close();
  }
}

/** A new thread imports tfjs and loads its backend before its first task. */
const STARTUP_TIMEOUT_MS = 60_000;

/**
 * What to tell a user who asked for more compute threads than the CPUs this process may use, or
 * null. Threads past the CPUs are not pinned and take turns on them, and each step waits for its
 * slowest: on 2 cores (2026-12-04, configs/cifar10.yaml's 4 micro-batches, 3 alternating rounds),
 * 4 threads made 0.54-0.93 of what 2 made.
 */
export function oversubscribedNote(threads: number, cpus: number): string | null {
  if (threads <= cpus) return null;
  return `${threads} threads on ${cpus} CPU${cpus === 1 ? '' : 's'}: the threads past the CPUs only take turns on them, and each step waits for its slowest; --threads ${cpus} is usually faster`;
}

/** Spare slots for attempts whose thread hung, until it has exited: a few, on top of one per micro-batch. */
export const SPARE_SLOTS = 4;

/** The threads pool for `trainer train --threads N` (cluster.transport threads). */
export function threadPoolFactory(extra: Partial<ThreadPoolOptions> = {}): (ctx: PoolContext) => Promise<ThreadPool> {
  return async ({ config, model, data, normalization, log }) => {
    const threads = config.cluster.workers;
    let backend = config.backend;
    // tfjs-node's addon loads in one thread per process only (validateConfig refuses tensorflow in
    // several threads), so auto means wasm here.
    if (backend === 'auto' && threads > 1) backend = 'wasm';
    const { batchSize, microBatches } = config.train;
    // Two evaluation chunks per thread in flight (one computing, one waiting), and spares for hung ones.
    const evalEntries = 2 * threads + SPARE_SLOTS;
    const init = threadInit({
      backend,
      gpu: config.gpu,
      model,
      normalization,
      data,
      indices: 2 * batchSize,
      slotCount: microBatches + SPARE_SLOTS,
      evalEntries,
      threads,
      maxBatch: maxTaskBatch(config),
      warmUpSizes: microBatchSizes(batchSize, microBatches, maxTaskBatch(config)),
      pinCores: pinCores(threads),
    });
    if (extra.idlePauseMs !== undefined) init.idlePauseMs = extra.idlePauseMs;
    const pool = await ThreadPool.start(config, init, model.size, evalEntries, { threads, log, ...extra });
    const inUse = pool.backends();
    const cores = pool.cores();
    log(
      `workers: ${threads} thread${threads > 1 ? 's' : ''}, backend ${inUse}${backend === config.backend ? '' : ` (${config.backend} resolves to ${backend} in threads)`}` +
        (cores.length > 0 ? `, pinned to cores ${cores.join(', ')}` : ''),
    );
    const note = pool.onGpu() ? gpuMicroBatchNote(Math.ceil(batchSize / microBatches)) : oversubscribedNote(threads, usableCpus());
    if (note) log(`note: ${note}`);
    return pool;
  };
}
