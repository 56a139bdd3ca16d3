/**
 * The feeding side of the task board (messages.ts): starts the compute
 * threads, posts tasks into entries, and settles each posted entry exactly
 * once, as done, failed, past its deadline, or lost with its thread.
 *
 * The feeding thread sleeps in Atomics.waitAsync on the board's event
 * counter, so its event loop keeps running during a step (Ctrl-C, timers,
 * the dashboard, thread exits) while it costs nothing. A task that runs past
 * its deadline (cluster.stepTimeoutMs from its start) has its thread
 * terminated; a thread that exits loses its claimed task; either way a
 * replacement thread is started at its position (at most
 * MAX_THREAD_REPLACEMENTS times a position), and the options' log says so.
 * The entry of a task past its deadline is retired until its thread has
 * exited (whenReusable): until then the thread may still write its slot.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { TrainerError, openFilesError, wasmMemoryError, type ErrorCode } from '../../shared/errors.js';
import { CTRL, E, ENTRY_INTS, ERROR_BYTES, FAULT_CODE, H, HINT_INTS, KIND, R, RESULT_FLOATS, S, STAT_STRIDE, STATE, type Fault, type ThreadInit, type ThreadMessage, type ThreadStart } from './messages.js';

/** The thread entry. */
export const WORKER_FILE = fileURLToPath(new URL('./worker.js', import.meta.url));

export interface TaskSpec {
  kind: 'gradient' | 'evaluate' | 'stepEnd';
  /** Weights version. */
  version: number;
  split?: 'train' | 'val';
  /** Gradient: where its indices are in ThreadInit.indices; evaluation: its records; step end: its parameters. */
  offset: number;
  length: number;
  /** The thread position that should take it first. */
  prefer?: number;
  fault?: Fault;
}

export interface TaskOutcome {
  lossSum: number;
  correct: number;
  count: number;
  /** performance.timeOrigin + now (ms) in the thread: started, ended. */
  startedAtMs: number;
  endedAtMs: number;
  /** The node:worker_threads id of the thread that computed it. */
  thread: number;
  /** This thread's performance.now() when the task was posted. */
  postedMs: number;
}

export interface BoardOptions {
  threads: number;
  /** A task running longer than this has its thread terminated (cluster.stepTimeoutMs). */
  timeoutMs: number;
  /** How long a thread may take to load its backend and model. */
  startupTimeoutMs: number;
  /** Called once every thread started is ready, and again after each replacement is: whether every ready thread ran the warm-up. */
  warmedUp?: (all: boolean) => void;
  /** Threads started in a row in place of lost ones at one position, at most; default MAX_THREAD_REPLACEMENTS. */
  maxReplacements?: number;
  /** Where a thread stalled past its deadline, lost, or not replaced is told, one line each (the run's log). */
  log?: (line: string) => void;
}

interface Thread {
  id: number;
  position: number;
  worker: Worker;
  /** node:worker_threads id. */
  threadId: number;
  backend: string;
  /** It computes on a GPU (SelectedBackend.gpu). */
  gpu: boolean;
  /** The core it is pinned to (pin.ts), null if none. */
  core: number | null;
  ready: boolean;
  /** It ran the warm-up before saying ready. */
  warmedUp: boolean;
  /** Terminated by us (past a deadline, or closing): its exit is expected. */
  ending: boolean;
  /** Settles once it has exited and its exit was handled: it writes nothing more into the board or the slots. */
  exited: Promise<void>;
}

interface Posted {
  what: string;
  /** Its deadline from its start (the board's timeoutMs, more for an evaluation chunk). */
  timeoutMs: number;
  postedMs: number;
  /** When the feeder first saw it claimed without a start stamp (ms, timeOrigin-based). */
  seenClaimedMs: number;
  resolve: (o: TaskOutcome) => void;
  reject: (err: Error) => void;
}

type WaitAsync = (a: Int32Array, i: number, v: number, t?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** How long a stopped webgpu thread has to release its device and end by itself. */
const GPU_THREAD_END_MS = 5_000;

/**
 * How many times in a row a position's thread is replaced (lost, or terminated past its deadline),
 * as `--procs` starts a local worker process again at most 3 times. Without a limit, a thread that
 * died for a systematic reason after each task (a development bug did) was replaced at every step:
 * the run went on at the pace of thread start-ups, a line a step, and never ended by itself. Past
 * it the position stays empty and the others take its tasks; with none left, the step fails
 * (E_WORKER_LOST) and the run stops with its checkpoint. In a row: the count starts again with a
 * thread lost after computing PROVEN_TASKS tasks, so that a long run survives a loss now and then
 * (a machine suspended past cluster.stepTimeoutMs stalls every thread at once).
 */
export const MAX_THREAD_REPLACEMENTS = 3;

/** A thread lost after computing this many tasks or more starts its position's replacements in a row from zero. */
export const PROVEN_TASKS = 20;

/** Resolves once `worker` has exited: by itself within `ms` ('ended'), else terminated then. */
async function endedWithin(worker: Worker, ms: number): Promise<'ended' | 'terminated'> {
  const exited = new Promise<'ended'>((resolve) => worker.once('exit', () => resolve('ended')));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  try {
    if ((await Promise.race([exited, late])) === 'ended') return 'ended';
    await worker.terminate();
    return 'terminated';
  } finally {
    clearTimeout(timer);
  }
}

export class ThreadBoard {
  private readonly threads = new Map<number, Thread>();
  private readonly posted = new Map<number, Posted>();
  /** Entries whose thread was terminated while it computed there, until that thread has exited. */
  private readonly retired = new Map<number, Promise<void>>();
  private nextId = 1;
  private watching = false;
  private closing = false;
  /** A wake-up of the threads is queued (wakeSoon). */
  private wakePending = false;
  private hintSerial = 0;
  /** Staging figures of threads that are gone. */
  private readonly gone = { used: 0, dropped: 0 };
  private readonly decoder = new TextDecoder();
  private readonly ends = { ended: 0, terminated: 0 };
  /** Threads started in a row in place of lost ones, by position (MAX_THREAD_REPLACEMENTS). */
  private readonly replaced = new Map<number, number>();
  /** The last line saying a thread was lost and not replaced, for the error once none is left. */
  private lastGivenUp = '';

  private constructor(
    private readonly init: ThreadInit,
    private readonly o: BoardOptions,
  ) {}

  /** Starts `threads` threads and waits until each has loaded its backend and model. */
  static async start(init: ThreadInit, o: BoardOptions): Promise<ThreadBoard> {
    const board = new ThreadBoard(init, o);
    // Every thread settles before any is terminated: one terminated while inside a native addon's
    // start (Dawn's, for webgpu) aborted the whole process ("FATAL ERROR: napi_throw", exit 134)
    // when another thread had failed first.
    const started = await Promise.allSettled(Array.from({ length: o.threads }, (_, p) => board.spawn(p)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    try {
      if (failed) throw failed.reason;
      o.warmedUp?.(board.allWarmedUp());
    } catch (err) {
      await board.close();
      throw err;
    }
    return board;
  }

  /** The threads that are up: their node:worker_threads id and backend kind. */
  ready(): { thread: number; backend: string; core: number | null }[] {
    return [...this.threads.values()].filter((t) => t.ready).map((t) => ({ thread: t.threadId, backend: t.backend, core: t.core }));
  }

  /** The cores the ready threads are pinned to (pin.ts), in thread order; empty when they are not. */
  cores(): number[] {
    return this.ready().flatMap((t) => (t.core === null ? [] : [t.core]));
  }

  /** The position of the thread with node:worker_threads id `thread`, if it is still here. */
  positionOf(thread: number): number | undefined {
    for (const t of this.threads.values()) if (t.threadId === thread) return t.position;
    return undefined;
  }

  /** Whether a ready thread computes on a GPU. */
  onGpu(): boolean {
    return [...this.threads.values()].some((t) => t.ready && t.gpu);
  }

  /** The backend kinds the threads compute on. */
  backends(): string[] {
    return [...new Set(this.ready().map((t) => t.backend))];
  }

  /** Whether every ready thread ran the warm-up (none is ready: false). */
  private allWarmedUp(): boolean {
    const ready = [...this.threads.values()].filter((t) => t.ready);
    return ready.length > 0 && ready.every((t) => t.warmedUp);
  }

  /**
   * Calls `free` once `entry` (just settled) may be posted again: at once, or, when it was retired
   * (its thread was terminated while it computed there), once that thread has exited. A hung
   * thread may still be writing the entry's gradient slot until then; afterwards the entry is as
   * good as new, so a long run survives any number of timeouts with the few spare entries it has.
   */
  whenReusable(entry: number, free: () => void): void {
    const exited = this.retired.get(entry);
    if (exited) void exited.then(free);
    else free();
  }

  /**
   * Whether threads wake this thread after each result (true) or only after a failure or the last
   * result in flight (false): as many wake-ups a step as micro-batches, or one.
   */
  notifyEach(each: boolean): void {
    Atomics.store(this.init.board.ctrl, CTRL.NOTIFY_EACH, each ? 1 : 0);
  }

  /** The weights buffer holding the published version. */
  published(): Float32Array {
    return this.init.weights[Atomics.load(this.init.board.ctrl, CTRL.WEIGHTS)] as Float32Array;
  }

  /** The weights buffer a step end writes the next version into: the one not published. */
  unpublished(): Float32Array {
    return this.init.weights[1 - Atomics.load(this.init.board.ctrl, CTRL.WEIGHTS)] as Float32Array;
  }

  /**
   * Makes `weights` version `version`; only while no task runs. One of the two shared buffers
   * (the pool's paramsStorage, updated in place or written by a step end) is published as it
   * is; any other array is copied into the published buffer.
   */
  publish(version: number, weights: Float32Array): void {
    const { ctrl } = this.init.board;
    const at = this.init.weights.indexOf(weights);
    if (at < 0) this.published().set(weights);
    else Atomics.store(ctrl, CTRL.WEIGHTS, at);
    Atomics.store(ctrl, CTRL.VERSION, version);
  }

  /** Tells the thread at `position` which examples it will likely compute at weights `version`, to load them before. */
  hint(position: number, version: number, offset: number, length: number): void {
    const h = this.init.board.hints;
    const at = (position * 2 + (version % 2)) * HINT_INTS;
    h[at + H.OFFSET] = offset;
    h[at + H.LENGTH] = length;
    h[at + H.VERSION] = version;
    Atomics.store(h, at + H.SERIAL, ++this.hintSerial);
  }

  /** Posts a task into `entry` and settles when it does: a thread computed it, it failed, or it was lost. */
  run(entry: number, spec: TaskSpec, what: string, timeoutMs = this.o.timeoutMs): Promise<TaskOutcome> {
    if (this.closing) return Promise.reject(new TrainerError('E_WORKER_LOST', `${what}: the threads are closing`));
    if (this.retired.has(entry) || this.posted.has(entry)) throw new TrainerError('E_INTERNAL', `board entry ${entry} is in use`);
    const { entries, results, ctrl } = this.init.board;
    const at = entry * ENTRY_INTS;
    entries[at + E.KIND] = spec.kind === 'gradient' ? KIND.GRADIENT : spec.kind === 'evaluate' ? KIND.EVALUATE : KIND.STEP_END;
    entries[at + E.VERSION] = spec.version;
    entries[at + E.SPLIT] = spec.split === 'val' ? 1 : 0;
    entries[at + E.OFFSET] = spec.offset;
    entries[at + E.LENGTH] = spec.length;
    entries[at + E.FAULT] = spec.fault ? FAULT_CODE[spec.fault] : 0;
    entries[at + E.PREFER] = spec.prefer ?? -1;
    results.fill(0, entry * RESULT_FLOATS, (entry + 1) * RESULT_FLOATS);
    const p = new Promise<TaskOutcome>((resolve, reject) => {
      this.posted.set(entry, { what, timeoutMs, postedMs: performance.now(), seenClaimedMs: 0, resolve, reject });
    });
    Atomics.store(entries, at + E.STATE, STATE.PENDING);
    void this.watch();
    this.wakeSoon();
    return p;
  }

  /**
   * Wakes the threads once the tasks being posted now are all on the board: a microtask later, so
   * a step's posts (made one after another in one turn) share one wake-up. Waking a thread per
   * post, the first woken thread (pinned to the core the coordinator was on) often took the core
   * before the coordinator posted the rest, for a scheduler time slice: about one step in ten began
   * with one thread idle for a whole micro-batch (3-4 ms) while the other computed two or three.
   */
  private wakeSoon(): void {
    if (this.wakePending) return;
    this.wakePending = true;
    queueMicrotask(() => {
      this.wakePending = false;
      const { ctrl } = this.init.board;
      Atomics.add(ctrl, CTRL.SEQ, 1);
      Atomics.notify(ctrl, CTRL.SEQ);
    });
  }

  /** tf.memory().numTensors each live thread reported after its last task, by thread id. */
  tensorCounts(): Map<number, number> {
    const out = new Map<number, number>();
    for (const t of this.threads.values()) if (t.ready) out.set(t.threadId, this.stat(t.position, S.TENSORS));
    return out;
  }

  /** Prefetched inputs over all threads so far: used by their task, or dropped. */
  staging(): { used: number; dropped: number } {
    let { used, dropped } = this.gone;
    for (let p = 0; p < this.init.board.positions; p++) {
      used += this.stat(p, S.USED);
      dropped += this.stat(p, S.DROPPED);
    }
    return { used, dropped };
  }

  /** The times the threads spun while the others finished a step (worker.ts spinWhileOthersCompute); also once closed. */
  barrierSpins(): number {
    let spins = 0;
    for (let p = 0; p < this.init.board.positions; p++) spins += this.stat(p, S.SPUN);
    return spins;
  }

  /**
   * How the threads closed so far went: ended by themselves (webgpu's) or terminated; and the
   * positions whose thread released its webgpu device on the way out.
   */
  closedThreads(): { ended: number; terminated: number; released: number } {
    let released = 0;
    for (let p = 0; p < this.init.board.positions; p++) released += this.stat(p, S.RELEASED);
    return { ...this.ends, released };
  }

  async close(): Promise<void> {
    this.closing = true;
    const { ctrl } = this.init.board;
    Atomics.store(ctrl, CTRL.STOP, 1);
    Atomics.add(ctrl, CTRL.SEQ, 1);
    Atomics.notify(ctrl, CTRL.SEQ);
    const all = [...this.threads.values()];
    for (const t of all) t.ending = true;
    // A webgpu thread releases its device and ends by itself once it sees STOP (worker.ts); it is
    // terminated only if it has not within GPU_THREAD_END_MS (a hung task). Others go at once.
    const how = await Promise.all(
      all.map(async (t) => (t.backend.startsWith('webgpu') ? endedWithin(t.worker, GPU_THREAD_END_MS) : (await t.worker.terminate(), 'terminated' as const))),
    );
    for (const h of how) this.ends[h]++;
    this.threads.clear();
    for (const [entry, p] of this.posted) {
      this.posted.delete(entry);
      p.reject(new TrainerError('E_WORKER_LOST', `${p.what}: the threads were closed`));
    }
  }

  private stat(position: number, field: number): number {
    return this.init.board.stats[position * STAT_STRIDE + field] as number;
  }

  /** Starts a thread in place of lost `t` unless its position had its replacements in a row; the log gets `line` and which. */
  private replace(t: Thread, line: string): void {
    // Read before the replacement starts: it clears the position's figures. A thread that proved itself starts the row again.
    const times = this.stat(t.position, S.DONE) >= PROVEN_TASKS ? 0 : (this.replaced.get(t.position) ?? 0);
    const most = this.o.maxReplacements ?? MAX_THREAD_REPLACEMENTS;
    if (times >= most) {
      this.lastGivenUp = `${line}; not replaced: the thread at position ${t.position} was lost ${times + 1} times in a row`;
      this.o.log?.(this.lastGivenUp);
      return;
    }
    this.replaced.set(t.position, times + 1);
    this.o.log?.(`${line}; another thread starts in its place (${times + 1} of ${most} in a row)`);
    this.respawn(t.position);
  }

  /** A lost thread's replacement (BoardOptions.warmedUp once it is ready). */
  private respawn(position: number): void {
    this.spawn(position).then(
      () => this.o.warmedUp?.(this.allWarmedUp()),
      (err: Error) => {
        if (!this.closing) this.o.log?.(`the new thread at position ${position} did not start: ${err.message.split('\n')[0]}`);
      },
    );
  }

  /** Starts a thread at `position`; resolves once it is ready. */
  private spawn(position: number): Promise<void> {
    const id = this.nextId++;
    const start: ThreadStart = { init: this.init, position, id };
    const worker = new Worker(WORKER_FILE, { workerData: start });
    let exited = () => {};
    const t: Thread = {
      id, position, worker, threadId: worker.threadId, backend: '', gpu: false, core: null, ready: false, warmedUp: false, ending: false,
      exited: new Promise<void>((resolve) => (exited = resolve)),
    };
    // Its position's figures start again from zero: keep the old thread's.
    this.gone.used += this.stat(position, S.USED);
    this.gone.dropped += this.stat(position, S.DROPPED);
    this.init.board.stats.fill(0, position * STAT_STRIDE, (position + 1) * STAT_STRIDE);
    this.threads.set(id, t);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        t.ending = true;
        void worker.terminate();
        reject(new TrainerError('E_TIMEOUT', `thread start-up took longer than ${this.o.startupTimeoutMs} ms`));
      }, this.o.startupTimeoutMs);
      let failure = '';
      let failureCode: ErrorCode = 'E_BACKEND';
      worker.on('message', (m: ThreadMessage) => {
        if (m.kind === 'failed') {
          failure = m.message;
          if (m.code !== null && m.code.startsWith('E_')) failureCode = m.code as ErrorCode;
          return;
        }
        t.backend = m.backend;
        t.gpu = m.gpu;
        t.warmedUp = m.warmedUp;
        t.core = m.core;
        t.ready = true;
        clearTimeout(timer);
        resolve();
      });
      worker.on('error', (err) => (failure ||= err.message.split('\n')[0] ?? ''));
      worker.on('exit', (code) => {
        clearTimeout(timer);
        this.threads.delete(id);
        // A thread out of file descriptors (it opens its modules' files) is the limit's E_IO, not the backend's.
        if (!t.ready) reject(failure ? (openFilesError(failure) ?? wasmMemoryError(failure) ?? new TrainerError(failureCode, failure)) : new TrainerError('E_WORKER_LOST', `a compute thread exited with code ${code} while starting`));
        this.lost(t, `thread exited with code ${code}${failure ? ` (${failure.split('\n')[0]})` : ''}`);
        exited();
      });
    });
  }

  /** A thread is gone: its claimed entries fail, and another thread takes its place. */
  private lost(t: Thread, why: string): void {
    for (const entry of this.posted.keys()) this.fail(entry, STATE.CLAIMED + t.id, why);
    // A thread we terminated was replaced then; one that never started is not (the others finish the step, or none is left).
    if (!this.closing && t.ready && !t.ending) this.replace(t, `${threadName(t)} gone (${why})`);
    const { ctrl } = this.init.board;
    Atomics.add(ctrl, CTRL.EVENTS, 1);
    Atomics.notify(ctrl, CTRL.EVENTS);
  }

  /** Fails `entry` if it is still in state `from`, with `why` as its error; whether it did. */
  private fail(entry: number, from: number, why: string): boolean {
    const { entries, errors } = this.init.board;
    const text = errors.subarray(entry * ERROR_BYTES, (entry + 1) * ERROR_BYTES);
    if (Atomics.compareExchange(entries, entry * ENTRY_INTS + E.STATE, from, STATE.FAILED) !== from) return false;
    text.fill(0);
    new TextEncoder().encodeInto(why, text);
    return true;
  }

  /** Settles posted entries as threads report them, until none is outstanding. */
  private async watch(): Promise<void> {
    if (this.watching) return;
    this.watching = true;
    const { ctrl } = this.init.board;
    try {
      while (this.posted.size > 0) {
        const seen = Atomics.load(ctrl, CTRL.EVENTS);
        const nextDeadline = this.settle();
        if (this.posted.size === 0) break;
        if (this.threads.size === 0) {
          for (const [entry, p] of this.posted) {
            this.posted.delete(entry);
            p.reject(new TrainerError('E_WORKER_LOST', `${p.what}: no compute thread is left${this.lastGivenUp ? ` (the last: ${this.lastGivenUp})` : ''}`));
          }
          break;
        }
        const wait = waitAsync(ctrl, CTRL.EVENTS, seen, Number.isFinite(nextDeadline) ? Math.max(1, nextDeadline - nowMs()) : undefined);
        if (wait.async) await wait.value;
      }
    } finally {
      this.watching = false;
    }
  }

  /** Settles every posted entry that is done or failed, and fails those past their deadline; returns the next deadline. */
  private settle(): number {
    const { entries, results, errors } = this.init.board;
    let next = Infinity;
    for (const [entry, p] of this.posted) {
      const state = Atomics.load(entries, entry * ENTRY_INTS + E.STATE);
      const r = entry * RESULT_FLOATS;
      if (state === STATE.DONE) {
        this.posted.delete(entry);
        p.resolve({
          lossSum: results[r + R.LOSS] as number,
          correct: results[r + R.CORRECT] as number,
          count: results[r + R.COUNT] as number,
          startedAtMs: results[r + R.START] as number,
          endedAtMs: results[r + R.END] as number,
          thread: results[r + R.THREAD] as number,
          postedMs: p.postedMs,
        });
      } else if (state === STATE.FAILED) {
        this.posted.delete(entry);
        const text = errors.subarray(entry * ERROR_BYTES, (entry + 1) * ERROR_BYTES);
        const end = text.indexOf(0);
        p.reject(taskError(this.decoder.decode(text.slice(0, end < 0 ? text.length : end))));
      } else if (state === STATE.PENDING) {
        // Not started: its deadline is at least a timeout away; look again by then (it may be claimed, and hang, without a word).
        next = Math.min(next, nowMs() + this.o.timeoutMs);
      } else if (state >= STATE.CLAIMED) {
        const started = (results[r + R.START] as number) || (p.seenClaimedMs ||= nowMs());
        const deadline = started + p.timeoutMs;
        if (nowMs() < deadline) {
          next = Math.min(next, deadline);
          continue;
        }
        const t = this.threads.get(state - STATE.CLAIMED);
        if (!this.fail(entry, state, 'past its deadline')) {
          next = nowMs(); // settled meanwhile: look again at once
          continue;
        }
        const err = new TrainerError('E_TIMEOUT', `${p.what} took longer than ${p.timeoutMs} ms (cluster.stepTimeoutMs${p.timeoutMs === this.o.timeoutMs ? '' : ', once per micro-batch of its images'})`);
        // A thread still here may write the entry's slot until it has exited, however soon it is
        // terminated: the entry is posted again only after that (whenReusable). One not here has exited.
        if (t) this.retire(entry, t);
        this.posted.delete(entry);
        p.reject(err);
        if (!t) continue;
        if (t.ending) {
          // Terminated already: it finished an earlier task past its deadline late, and claimed this one before it was gone.
          if (!this.closing) this.o.log?.(`${threadName(t)} stalled: ${err.message}; it is being terminated already`);
          continue;
        }
        t.ending = true;
        void t.worker.terminate();
        if (this.closing) continue;
        this.replace(t, `${threadName(t)} stalled: ${err.message}; terminated`);
      }
    }
    return next;
  }

  /** Keeps `entry` from being posted until `t` has exited. */
  private retire(entry: number, t: Thread): void {
    this.retired.set(
      entry,
      t.exited.then(() => {
        this.retired.delete(entry);
      }),
    );
  }
}

/** How the log names a thread: as the pool's worker table does, and where it runs. */
function threadName(t: Thread): string {
  return `thread-${t.threadId} (position ${t.position})`;
}

/** Milliseconds on the clock threads stamp with (performance.timeOrigin + now). */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A failed task's error text as the thread wrote it: a TrainerError where it starts with a code. */
function taskError(text: string): Error {
  const m = /^(E_[A-Z_]+): (.*)$/s.exec(text);
  return m ? new TrainerError(m[1] as ErrorCode, m[2] as string) : new Error(text);
}
