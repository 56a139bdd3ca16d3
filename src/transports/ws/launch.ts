/**
 * Pool factories over the ws pool: `ws` listens and waits for remote workers;
 * `procs` also starts N local `trainer worker` processes on 127.0.0.1 with an
 * ephemeral port and a one-off token (passed in the environment, not argv).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { MAX_TIMER_MS } from '../../shared/config.js';
import { TrainerError, type ErrorCode } from '../../shared/errors.js';
import type { PoolContext, PoolEnd, PoolFactory } from '../pool.js';
import { WsPool, type WsPoolOptions } from './pool.js';
import { gaveUpReason } from './protocol.js';

export interface WsFactoryOptions {
  host: string;
  port: number;
  token: string | null;
  /** Workers to wait for before the first step. */
  minWorkers: number;
  /**
   * The run resumes: it waits for `minWorkers` up to cluster.noWorkerTimeoutMs, then goes on with
   * those ready (at least one). A new run waits for all of them.
   */
  resumed?: boolean;
  /**
   * Gives up the start when the workers have not joined within this long (0: waits for ever);
   * default cluster.startTimeoutMs. `--procs` passes 0: its own join deadline governs.
   */
  startTimeoutMs?: number;
  /** How often the wait says so (default WAITING_LINE_EVERY_MS; tests). */
  waitingLineEveryMs?: number;
  /** Stops the wait for workers, at the start and whenever all of them left mid-run. */
  signal?: AbortSignal;
  /**
   * Called once listening, with the bound URL (tests connect workers here), its port, and every
   * URL it listens on (`all`: IPv6 and IPv4, on the one port).
   */
  onListening?: (url: string, port: number, urls: string[]) => void;
  /** Called once the pool exists (the dashboard reads its workers). */
  onPool?: (pool: WsPool) => void;
  extra?: Partial<WsPoolOptions>;
}

export function wsPoolFactory(f: WsFactoryOptions): PoolFactory {
  return async (ctx: PoolContext) => {
    const pool = await WsPool.start({ ...ctx, token: f.token, ...(f.signal ? { signal: f.signal } : {}), ...f.extra }, f.host, f.port);
    f.onPool?.(pool);
    const { url, urls, port } = pool.listening;
    ctx.log(`coordinator listening on ${urls.join(' and ')}; waiting for ${f.minWorkers} worker(s)`);
    f.onListening?.(url, port, urls);
    // Why a new run's start was given up, in its workers' words (the error's adds what to do here).
    let gaveUp: string | null = null;
    try {
      const graceMs = f.resumed ? ctx.config.cluster.noWorkerTimeoutMs : undefined;
      const limitMs = f.startTimeoutMs ?? ctx.config.cluster.startTimeoutMs;
      const t0 = performance.now();
      // A wait of minutes says it is still waiting, and how long it will (a scheduler's log showed one line, then nothing).
      const progress = setInterval(() => {
        const gives = limitMs > 0 ? ` (gives up after ${spokenMs(limitMs)}: cluster.startTimeoutMs)` : '';
        ctx.log(`waiting for workers: ${pool.size} of ${f.minWorkers} joined after ${spokenMs(performance.now() - t0)}${gives}`);
      }, f.waitingLineEveryMs ?? WAITING_LINE_EVERY_MS);
      progress.unref();
      let enough: boolean;
      try {
        enough = await pool.waitForWorkers(f.minWorkers, f.signal, graceMs, limitMs > 0 ? limitMs : undefined);
      } finally {
        clearInterval(progress);
      }
      if (!enough && !(f.resumed && pool.size > 0)) {
        gaveUp = `${pool.size} of ${f.minWorkers} worker(s) joined within cluster.startTimeoutMs (${spokenMs(limitMs)})`;
        throw new TrainerError('E_NO_WORKERS', `${gaveUp}: start the workers (trainer worker --connect HOST:PORT), or raise cluster.startTimeoutMs (0 waits for ever)`);
      }
      if (pool.size < f.minWorkers) {
        ctx.log(
          `resuming with ${pool.size} of ${f.minWorkers} worker(s), all that came within cluster.noWorkerTimeoutMs (${(graceMs ?? 0) / 1000} s); ` +
            'the others take micro-batches once they join',
        );
      }
    } catch (err) {
      // A new run stopped or given up while waiting for its first workers: nothing of it exists to
      // resume. Told "it may resume", its workers retried for their --retry-for-ms (for ever once joined).
      if (f.resumed) await pool.close('stopped');
      else await pool.close('not-started', f.signal?.aborted ? undefined : gaveUpReason(gaveUp ?? String((err as Error)?.message ?? err)));
      throw err;
    }
    return pool;
  };
}

/** How often a coordinator waiting for its workers says so. */
const WAITING_LINE_EVERY_MS = 30_000;

/** 1500 -> "1.5 s", 90_000 -> "90 s", 210_000 -> "3.5 min", 1_800_000 -> "30 min", 10_800_000 -> "3 h". */
export function spokenMs(ms: number): string {
  if (ms < 10_000) return `${Number((ms / 1000).toFixed(1))} s`;
  if (ms < 180_000) return `${Math.round(ms / 1000)} s`;
  // Tenths, not whole minutes: the wait's lines come every 30 s, and rounded to the minute two in a row said the same time.
  if (ms < 3 * 3_600_000) return `${Number((ms / 60_000).toFixed(1))} min`;
  return `${Number((ms / 3_600_000).toFixed(1))} h`;
}

/** dist/src/cli/main.js, beside this file's folder. */
export const MAIN_JS = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

/** How often a local worker process that dies mid-run is started again. */
const MAX_LOCAL_RESTARTS = 3;

/** How long local worker processes get to start, load a backend and join. */
const JOIN_DEADLINE_MS = 60_000;

/** How long local worker processes told the run is done get to exit by themselves before SIGTERM. */
const FINISHED_EXIT_WAIT_MS = 2000;

/** How long a local worker process that has not joined gets to leave on SIGTERM when the start fails. */
const START_GRACE_MS = 1000;

/** How long a local worker process's stderr gets after its exit to give its last lines and close. */
const STDERR_AFTER_EXIT_MS = 1000;

export interface ProcsOptions {
  signal?: AbortSignal;
  /** Extra worker flags (tests). */
  workerArgs?: readonly string[];
  /** Plain HTTP requests on the pool's port (the dashboard). */
  onRequest?: WsPoolOptions['onRequest'];
  onPool?: (pool: WsPool) => void;
  /** How long the local workers get to join (tests; default JOIN_DEADLINE_MS, or 3 handshakes if longer). */
  joinDeadlineMs?: number;
}

/** Worker i's command line (without the node binary). */
export function workerArgv(url: string, ctx: PoolContext, i: number, o: ProcsOptions): string[] {
  // --parent-pipe: the worker leaves once this process is gone (its stdin, a pipe from here, ends).
  const argv = [MAIN_JS, 'worker', '--connect', url, '--name', `proc${i}`, '--retry-for-ms', '10000', '--parent-pipe'];
  const gpus = ctx.config.cluster.gpus;
  const gpu = gpus.length > 0 ? gpus[i % gpus.length] : ctx.config.gpu;
  if (gpu !== null && gpu !== undefined) argv.push('--gpu', String(gpu));
  else argv.push('--backend', ctx.config.backend);
  argv.push(...(o.workerArgs ?? []));
  return argv;
}

export function procsPoolFactory(o: ProcsOptions): PoolFactory {
  return async (ctx: PoolContext) => {
    const n = ctx.config.cluster.workers;
    const token = randomBytes(24).toString('hex');
    const children: ChildProcess[] = [];
    /** Each child's end: it exited and its stderr ended (exitAndStderr). */
    const ends: Promise<unknown>[] = [];
    // Set once every worker joined (a child that dies later is started again), and when the pool closes.
    let joined = false;
    let closing = false;
    const reap = async (end: PoolEnd) => {
      closing = true;
      // Told the run is done, they exit by themselves within milliseconds: a SIGTERM at once raced
      // that exit, and a worker caught between its socket's close and its line said "leaving:
      // interrupted" instead of "leaving: coordinator done".
      if (end === 'finished' && joined) await Promise.race([Promise.all(ends), delay(FINISHED_EXIT_WAIT_MS, undefined, { ref: false })]);
      // These workers serve this process only: after a finished run they leave by themselves, after a
      // stop they would wait for a resume (as remote workers do), so they are told to go (SIGTERM: they
      // leave cleanly), and killed if they have not within 5 s.
      // Before every one joined (a start that failed or timed out), 1 s: the error waited out the
      // 5 s of a worker that never would (a stopped or hung process), and the run said nothing meanwhile.
      children.forEach((c) => c.kill('SIGTERM'));
      const t = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), joined ? 5000 : START_GRACE_MS);
      // Their output, not only their exit: the pool tells its lines about them leaving after this.
      await Promise.all(ends);
      clearTimeout(t);
    };
    const abort = new AbortController();
    const signal = o.signal ? AbortSignal.any([o.signal, abort.signal]) : abort.signal;
    let failure: Error | null = null;
    let made: WsPool | null = null;
    /** Worker indices given up on (exited MAX_LOCAL_RESTARTS + 1 times mid-run). */
    const givenUp = new Set<number>();
    const factory = wsPoolFactory({
      host: '127.0.0.1',
      port: 0,
      token,
      minWorkers: n,
      startTimeoutMs: 0,
      signal,
      // The pool itself stops waiting on Ctrl-C only, not when a child failed (that is reported as such).
      extra: { onClose: reap, sharesCores: true, signal: o.signal ?? new AbortController().signal, ...(o.onRequest ? { onRequest: o.onRequest } : {}) },
      onPool: (pool) => {
        made = pool;
        o.onPool?.(pool);
      },
      onListening: (url) => {
        if (o.signal?.aborted) return; // stopped already: the wait ends at once
        const start = (i: number, restarts: number) => {
          const child = spawn(process.execPath, workerArgv(url, ctx, i, o), {
            env: { ...process.env, TRAINER_TOKEN: token },
            // Standard input: a pipe only this process holds the other end of. Killed outright
            // (SIGKILL, the OOM killer), it cannot reap them: they read its end and leave at once,
            // where they retried its coordinator, gone with it, for 10 s (--retry-for-ms).
            stdio: ['pipe', 'ignore', 'pipe'],
            // A group of their own: Ctrl-C in a terminal (the foreground group) reached the workers
            // too, they left mid-step, and the run ended E_NO_WORKERS, exit 1, instead of stopping
            // at the next step. This process tells them to go when the pool closes.
            detached: true,
          });
          // Nothing is written to it: an error here (the worker gone) is its exit's to report.
          child.stdin?.on('error', () => {});
          let tail = '';
          // A worker's own error line before the run began is held: the run's error says it
          // once (long E_BACKEND texts were printed three times, with the [worker i] lines).
          let held: string | null = null;
          child.stderr?.setEncoding('utf8').on('data', (s: string) => {
            tail = (tail + s).slice(-2000);
            for (const line of s.split('\n')) {
              if (!line.trim()) continue;
              if (held !== null) ctx.log(`[worker ${i}] ${held}`);
              held = null;
              if (!joined && line.startsWith('error E_')) held = line;
              else ctx.log(`[worker ${i}] ${line}`);
            }
          });
          const end = exitAndStderr(child);
          void end.then(([code, sig, notStarted]) => {
            const how = notStarted ? `worker process ${i} could not be started (${notStarted.message})` : `worker process ${i} exited (${sig ?? code})`;
            if (!joined && code !== 0 && failure === null) {
              failure = notStarted ? new TrainerError('E_WORKER_LOST', how) : startFailure(i, code, sig, tail);
              abort.abort();
              return;
            }
            // Another worker's failure is the run's error already: this one's is the same, or follows from it.
            if (held !== null && (joined || failure === null)) ctx.log(`[worker ${i}] ${held}`);
            // A worker that left on a signal of the stop (a scheduler signals every process of the
            // job) is not started again: the run stops at its step boundary.
            if (joined && !closing && code !== 0 && !o.signal?.aborted) {
              // (Exit 0 is a worker told the run is done, before the pool's close began.)
              // Mid-run. Nobody else can join these runs (the token is this process's own): without a
              // new one, the run waited out cluster.noWorkerTimeoutMs once all were gone. Its
              // micro-batches went to the others meanwhile; a new process takes its place.
              if (restarts < MAX_LOCAL_RESTARTS) {
                ctx.log(`${how}; starting it again (${restarts + 1} of ${MAX_LOCAL_RESTARTS})`);
                start(i, restarts + 1);
              } else {
                ctx.log(`${how} for the ${MAX_LOCAL_RESTARTS + 1}th time; not started again`);
                givenUp.add(i);
                // None left and none to come: it waited out cluster.noWorkerTimeoutMs (120 s), then
                // said "no worker joined".
                if (givenUp.size === n) {
                  const last = lastLine(tail);
                  made?.fail(new TrainerError('E_WORKER_LOST', `every local worker process exited ${MAX_LOCAL_RESTARTS + 1} times; the last, ${how}${last ? `: ${last}` : ''}`));
                }
              }
            }
          });
          children.push(child);
          ends.push(end);
        };
        for (let i = 0; i < n; i++) start(i, 0);
      },
    });
    // At most a timer's longest delay (a longer one fires at once).
    const joinMs = o.joinDeadlineMs ?? Math.min(MAX_TIMER_MS, Math.max(JOIN_DEADLINE_MS, 3 * ctx.config.cluster.handshakeTimeoutMs));
    const deadline = setTimeout(() => {
      failure ??= new TrainerError('E_TIMEOUT', `${n} local worker process(es) not ready within ${joinMs} ms`);
      abort.abort();
    }, joinMs);
    // Stopped (Ctrl-C) before every worker joined: the workers leave at once (a worker ends
    // cleanly on SIGTERM, also while it still retries its connection), and the stop is the outcome.
    const onStop = () => children.forEach((c) => c.kill('SIGTERM'));
    o.signal?.addEventListener('abort', onStop, { once: true });
    // The workers are this process's own children on 127.0.0.1: a certificate (a shared config's,
    // for remote workers) protects nothing there, and they were never given it to trust: every
    // --procs run with cluster.tls failed after 10 s of "certificate not trusted".
    const { tls } = ctx.config.cluster;
    if (tls.cert !== null || tls.key !== null) ctx.log('cluster.tls is for workers on other machines: the local worker processes connect over 127.0.0.1 without it');
    const local = { ...ctx, config: { ...ctx.config, cluster: { ...ctx.config.cluster, tls: { cert: null, key: null } } } };
    try {
      const pool = await factory(local);
      joined = true;
      return pool;
    } catch (err) {
      children.forEach((c) => c.kill('SIGKILL'));
      throw o.signal?.aborted ? err : (failure ?? err);
    } finally {
      clearTimeout(deadline);
      o.signal?.removeEventListener('abort', onStop);
    }
  };
}

/**
 * `child`'s exit code and signal once it exited and its stderr closed, or STDERR_AFTER_EXIT_MS after
 * its exit (then the pipe is destroyed). Its last lines, its error, may come after its exit, so the
 * exit alone is too early; 'close' alone waits for every holder of the pipe: a process the worker
 * started that outlived it inherited its stderr, and a worker SIGKILLed mid-run was never started
 * again, and the run hung at its end. A process that could not be started (its program gone, as
 * after an upgrade of Node during a run, or no process left to the user) never exits: its spawn
 * error, third, ends it; unheard, that error ended the coordinator with a stack trace.
 */
function exitAndStderr(child: ChildProcess): Promise<[number | null, NodeJS.Signals | null, Error?]> {
  return new Promise((resolve) => {
    child.on('error', (err) => {
      if (child.pid === undefined) resolve([null, null, err]);
      // Else a signal that could not be sent: the process is there, and its exit will come.
    });
    child.once('exit', (code, sig) => {
      const late = setTimeout(() => {
        child.stderr?.destroy();
        resolve([code, sig]);
      }, STDERR_AFTER_EXIT_MS);
      // Attached at the exit: 'close' may follow it in the same tick.
      child.once('close', () => {
        clearTimeout(late);
        resolve([code, sig]);
      });
    });
  });
}

/**
 * Why a local worker process ended before every one joined. One that refused its own flags or the
 * run's config (`error E_CONFIG: ...`), or has no usable backend, fails the same way at every try,
 * so the run ends with that error and its status; as E_WORKER_LOST (exit 1) schedulers started it again.
 */
export function startFailure(i: number, code: number | null, signal: NodeJS.Signals | null, stderrTail: string): TrainerError {
  const last = lastLine(stderrTail);
  const own = /^error (E_[A-Z_]+): (.*)$/.exec(last);
  const ownCode = own?.[1] as ErrorCode | undefined;
  if (own && ownCode && STARTUP_CODES.has(ownCode)) return new TrainerError(ownCode, `worker process ${i}: ${own[2]}`);
  // Its last line is quoted as such, not as the reason: a worker killed from outside (the OOM
  // killer, an operator) was said to have "exited (SIGKILL): dataset 9837d462ed17 from the cache".
  const how = signal !== null ? `was ended by ${signal}` : `exited with status ${code}`;
  return new TrainerError('E_WORKER_LOST', `worker process ${i} ${how} before it joined${last ? ` (its last line: ${last})` : ''}`);
}

/** The last line a worker process wrote on stderr ('' for none). */
const lastLine = (stderrTail: string) => stderrTail.trim().split('\n').pop() ?? '';

/** A worker's own errors before it joined that are the run's error as they are (E_BACKEND: --gpu, or tensorflow without libtensorflow, was E_WORKER_LOST). */
const STARTUP_CODES = new Set<ErrorCode>(['E_CONFIG', 'E_USAGE', 'E_BACKEND']);

