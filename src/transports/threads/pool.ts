/**
 * N worker threads on this machine (piscina), sharing memory with the
 * coordinator thread: dataset, weights, batch indices and gradient slots are
 * SharedArrayBuffers set up once, so a step moves no arrays between threads.
 *
 * Faults: a task that throws, a thread that dies, or a task past
 * cluster.stepTimeoutMs (its thread is terminated) is run again, on whichever
 * thread is free, within the same step; piscina replaces lost threads. The
 * gradient of a micro-batch does not depend on which thread computes it, so
 * the step's result stays bit-identical.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Config } from '../../shared/config.js';
import { TrainerError } from '../../shared/errors.js';
import type { BatchStats } from '../../worker/gradient.js';
import { maxTaskBatch, type MicroBatchResult, type PoolContext, type StepHooks, type WorkerPool, type WorkerStats } from '../pool.js';
import { threadInit } from './shared-data.js';
import type { Fault, ThreadInit, ThreadResult, ThreadTask } from './messages.js';

export interface ThreadPoolOptions {
  threads: number;
  /** Attempts per micro-batch within one step before the step fails. */
  maxAttempts?: number;
  /** Tests only: a fault for the given attempt of a micro-batch (attempt 0 is the first). */
  injectFault?: (step: number, microBatch: number, attempt: number) => Fault | undefined;
}

/** The thread entry, for every pool of these threads. */
export const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));

export class ThreadPool implements WorkerPool {
  readonly size: number;
  private readonly piscina: Piscina<ThreadTask, ThreadResult>;
  private readonly init: ThreadInit;
  private readonly modelSize: number;
  /**
   * Gradient slots. A slot holding a finished micro-batch stays taken until the
   * next step (the loop reduces it after the step); a slot whose thread was
   * terminated mid-task is retired for good.
   */
  private readonly retired = new Set<number>();
  private freeSlots: number[] = [];
  private readonly perThread = new Map<number, WorkerStats>();
  private readonly maxAttempts: number;
  private readonly timeoutMs: number;
  private lastNumTensors = new Map<number, number>();
  private lastStaging = new Map<number, ThreadResult['staging']>();
  private inFlight = 0;
  private tickets = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    config: Config,
    init: ThreadInit,
    modelSize: number,
    private readonly opts: ThreadPoolOptions,
  ) {
    this.size = opts.threads;
    this.init = init;
    this.modelSize = modelSize;
    this.maxAttempts = opts.maxAttempts ?? 4;
    this.timeoutMs = config.cluster.stepTimeoutMs;
    this.piscina = new Piscina<ThreadTask, ThreadResult>({
      filename: WORKER_FILE,
      minThreads: opts.threads,
      maxThreads: opts.threads,
      // A second task waits in the thread's own queue and starts the moment the
      // first ends, without a round trip through this thread.
      concurrentTasksPerWorker: TASKS_PER_THREAD,
      // An idle thread waits with Atomics.waitAsync, not Atomics.wait, so its
      // event loop runs: that is when it loads the next step's examples (the
      // task's `next` hint). Measured: no slower than 'sync' (7,209 vs 6,986 images/s
      // over three runs each, 2 threads), and the hint is used for 9 in 10 tasks.
      atomics: 'async',
      idleTimeout: 2 ** 31 - 1,
      workerData: init,
    });
    // A thread that dies is replaced by piscina; its task rejects and is retried.
    this.piscina.on('error', () => {});
  }

  /** Starts every thread, waits until each has loaded its backend and model, and names the backend. */
  async start(): Promise<string> {
    const deadline = Math.max(this.timeoutMs, STARTUP_TIMEOUT_MS);
    const pongs = await Promise.all(Array.from({ length: this.size }, () => this.withDeadline({ kind: 'ping' }, 'thread start-up', deadline)));
    // Listed from now on (the dashboard's worker table), with nothing done yet.
    for (const p of pongs) if (!this.perThread.has(p.thread)) this.perThread.set(p.thread, { worker: `thread-${p.thread}`, backend: p.backend, microBatches: 0, examples: 0, computeMs: 0 });
    return [...new Set(pongs.map((p) => p.backend))].join(', ');
  }

  async publish(version: number, weights: Float32Array): Promise<void> {
    this.init.weights.set(weights);
    Atomics.store(this.init.publishedVersion, 0, version);
  }

  async runStep(step: number, microBatches: readonly Int32Array[], hooks: StepHooks): Promise<MicroBatchResult[]> {
    // The previous step's gradients have been reduced: every live slot is free again.
    this.freeSlots = Array.from({ length: this.init.slotCount }, (_, i) => i).filter((i) => !this.retired.has(i)).reverse();
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
    // A thread loads its hint when its task ends, so hints only pay when each thread has one
    // task a step; with more, a thread's second task would just drop what the first staged.
    const placed = place(microBatches, (step % 2) * half);
    const next = hooks.next && microBatches.length <= this.size ? place(hooks.next, ((step + 1) % 2) * half) : [];
    return Promise.all(
      placed.map(async (at, m) => {
        const r = await this.runMicroBatch(step, m, at.offset, at.length, next[m]);
        hooks.onResult(m, r);
        return r;
      }),
    );
  }

  private async runMicroBatch(
    step: number,
    m: number,
    offset: number,
    length: number,
    next?: { offset: number; length: number },
  ): Promise<MicroBatchResult> {
    const failures: string[] = [];
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const slot = this.freeSlots.pop();
      if (slot === undefined) throw new TrainerError('E_WORKER_LOST', 'no gradient slot left: too many worker threads hung');
      const fault = this.opts.injectFault?.(step, m, attempt);
      const ticket = ++this.tickets;
      const task: ThreadTask = { kind: 'gradient', step, microBatch: m, offset, length, slot, ticket, ...(next?.length ? { next } : {}), ...(fault ? { fault } : {}) };
      const startedAt = () => (Atomics.load(this.init.started, slot) === ticket ? (this.init.startedAtMs[slot] as number) : null);
      try {
        const sentMs = performance.now();
        const r = await this.withDeadline(task, `step ${step} micro-batch ${m}`, this.timeoutMs, startedAt);
        this.record(r, length);
        const gradient = this.init.slots.subarray(slot * this.modelSize, (slot + 1) * this.modelSize);
        // Threads stamp times as timeOrigin + now; this thread's clock has its own origin.
        const timing = {
          sentMs,
          startMs: r.startedAtMs - performance.timeOrigin,
          endMs: r.endedAtMs - performance.timeOrigin,
          receivedMs: performance.now(),
        };
        return { lossSum: r.lossSum, correct: r.correct, count: r.count, gradient, worker: `thread-${r.thread}`, timing };
      } catch (err) {
        // A timed-out thread was terminated while it may have been writing its
        // slot: retire the slot rather than risk a late write into a reused one.
        if (err instanceof TrainerError && err.code === 'E_TIMEOUT') this.retired.add(slot);
        else this.freeSlots.push(slot);
        failures.push((err as Error).message.split('\n')[0] ?? '');
      }
    }
    throw new TrainerError(
      'E_WORKER_LOST',
      `step ${step} micro-batch ${m} failed ${this.maxAttempts} times (${failures.join('; ')})`,
    );
  }

  /**
   * Runs a task with a deadline (cluster.stepTimeoutMs); past it the thread is
   * terminated. At most TASKS_PER_THREAD tasks per thread are handed to
   * piscina at a time. For a task that says when it starts (`running`), the
   * deadline counts from its start, not from its time in a thread's queue;
   * any other task gets the deadline once per task that may be ahead of it.
   */
  private async withDeadline(
    task: ThreadTask,
    what: string,
    timeoutMs = this.timeoutMs,
    startedAt?: () => number | null,
  ): Promise<ThreadResult> {
    while (this.inFlight >= this.size * TASKS_PER_THREAD) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    const controller = new AbortController();
    let queuedPeriods = 0;
    const expire = () => {
      const since = startedAt?.();
      if (since === null && ++queuedPeriods < TASKS_PER_THREAD) {
        // Still queued behind a task that has its own deadline: wait for it.
        timer = setTimeout(expire, timeoutMs);
        return;
      }
      const left = since === null || since === undefined ? 0 : since + timeoutMs - (performance.timeOrigin + performance.now());
      if (left > 0) timer = setTimeout(expire, left);
      else controller.abort();
    };
    let timer = setTimeout(expire, startedAt ? timeoutMs : timeoutMs * TASKS_PER_THREAD);
    try {
      return await this.piscina.run(task, { signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) {
        throw new TrainerError('E_TIMEOUT', `${what} took longer than ${timeoutMs} ms (cluster.stepTimeoutMs)`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  private record(r: ThreadResult, examples: number): void {
    const s = this.perThread.get(r.thread) ?? { worker: `thread-${r.thread}`, backend: r.backend, microBatches: 0, examples: 0, computeMs: 0 };
    s.microBatches++;
    s.examples += examples;
    s.computeMs += r.computeMs;
    this.perThread.set(r.thread, s);
    this.lastNumTensors.set(r.thread, r.numTensors);
    this.lastStaging.set(r.thread, r.staging);
  }

  async evaluate(version: number, split: 'train' | 'val', chunks: readonly Int32Array[]): Promise<BatchStats[]> {
    return Promise.all(
      chunks.map(async (c, i) => {
        const start = c[0] ?? 0;
        if (c.some((v, k) => v !== start + k)) throw new TrainerError('E_INTERNAL', 'evaluation chunks must be contiguous ranges');
        let lastErr: unknown;
        for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
          try {
            const r = await this.withDeadline({ kind: 'evaluate', version, split, start, length: c.length }, `evaluation chunk ${i}`);
            return { lossSum: r.lossSum, correct: r.correct, count: r.count };
          } catch (err) {
            lastErr = err;
          }
        }
        throw new TrainerError('E_WORKER_LOST', `evaluation chunk ${i} failed: ${(lastErr as Error).message}`);
      }),
    );
  }

  stats(): WorkerStats[] {
    return [...this.perThread.values()].map((s) => ({ ...s }));
  }

  /** tf.memory().numTensors each thread reported after its last task. */
  tensorCounts(): Map<number, number> {
    return new Map(this.lastNumTensors);
  }

  /** Prefetched inputs over all threads, as of their last results: used by their task, or dropped. */
  staging(): ThreadResult['staging'] {
    let used = 0, dropped = 0;
    for (const s of this.lastStaging.values()) {
      used += s.used;
      dropped += s.dropped;
    }
    return { used, dropped };
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}

/** Tasks handed to one thread at a time: the one it computes and the next. */
const TASKS_PER_THREAD = 2;

/** A new thread imports tfjs and loads its backend before its first task. */
const STARTUP_TIMEOUT_MS = 60_000;

/** Spare slots for attempts whose thread hung: a few, on top of one per micro-batch. */
const SPARE_SLOTS = 4;

/** The threads pool for `trainer train --threads N` (cluster.transport threads). */
export function threadPoolFactory(extra: Partial<ThreadPoolOptions> = {}): (ctx: PoolContext) => Promise<ThreadPool> {
  return async ({ config, model, data, normalization, log }) => {
    const threads = config.cluster.workers;
    let backend = config.backend;
    if ((backend === 'tensorflow' || backend === 'tensorflow-gpu' || (backend === 'auto' && config.gpu !== null)) && threads > 1) {
      throw new TrainerError(
        'E_CONFIG',
        `backend ${backend === 'auto' ? 'tensorflow-gpu' : backend} cannot run in more than one worker thread ` +
          '(tfjs-node loads once per process): use processes instead, trainer train --procs N (or --gpus 0,1), or --backend webgpu',
      );
    }
    // tfjs-node's addon loads in one thread per process only, so auto means wasm here.
    if (backend === 'auto' && threads > 1) backend = 'wasm';
    const { batchSize, microBatches } = config.train;
    const init = threadInit({
      backend,
      gpu: config.gpu,
      model,
      normalization,
      data,
      indices: 2 * batchSize,
      slotCount: microBatches + SPARE_SLOTS,
      maxBatch: maxTaskBatch(config),
    });
    const pool = new ThreadPool(config, init, model.size, { threads, ...extra });
    let inUse: string;
    try {
      inUse = await pool.start();
    } catch (err) {
      await pool.close();
      throw err;
    }
    log(`workers: ${threads} thread${threads > 1 ? 's' : ''}, backend ${inUse}${backend === config.backend ? '' : ` (${config.backend} resolves to ${backend} in threads)`}`);
    return pool;
  };
}
