/**
 * Telling a finished run's workers that it is over, and waiting a bounded time for them to read it:
 * a worker that never hears "done" retries for ever (a Kubernetes Job that never completes).
 */
import type { Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkerConn } from './connection.js';
import { RECONNECT_MAX_MS } from './protocol.js';
import type { Standing } from './standing.js';

/** A worker's longest wait between attempts, its jitter and a second more. */
export const BACKOFF_LINGER_MS = RECONNECT_MAX_MS * 1.25 + 1000;
/** How long workers have to answer the end of the run before the coordinator says it waits for them. */
const ANSWER_GRACE_MS = 1000;

/** A wait that does not hold the process (the pool's open port does while it waits); it ends early when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) => delay(Math.max(0, ms), undefined, { ref: false, ...(signal ? { signal } : {}) }).catch(() => {});

/** What the wait needs of the pool. */
export interface EndHost {
  /** A connection's TCP (or TLS) socket, where it is known. */
  socketOf(c: WorkerConn): Socket | undefined;
  standing: Standing;
  log(line: string): void;
  signal?: AbortSignal | undefined;
}

/**
 * After the last step: waits, up to BACKOFF_LINGER_MS, for the connected workers `told` (by
 * identity, `connected`) to answer the close, and for workers in a back-off (a stall's or a bad
 * result's) to try again, with the port open; a connection now is answered "done" (pool.ts accept).
 * - A worker not reading its socket at the end (stopped: SIGSTOP, Ctrl-Z, a suspended VM) that
 *   wrote once the coordinator had exited drew a reset, which discarded the "done" waiting unread:
 *   it saw its link lost and retried for ever (a Kubernetes Job never completed).
 * - A worker in a back-off is not connected to hear the leave: it retries every 5 s at most. So
 *   is one whose back-off ended but whose next try has not come yet.
 * Live workers answer at once, and then nothing is waited for.
 * - A stop signal (Ctrl-C, SIGTERM) ends the wait: the run is over, its model written (before the
 *   pool closes). Ctrl-C there was answered "stopping at the next step" and the wait went on;
 *   pressed again, it quit at once, and a run that had trained every epoch exited 130 without
 *   its model.
 */
export async function tellTheEnd(told: readonly WorkerConn[], connected: ReadonlySet<string>, host: EndHost): Promise<void> {
  const until = performance.now() + BACKOFF_LINGER_MS;
  const answered = Promise.all(told.map((c) => endAnswered(c, host)));
  const backingOff = host.standing.rejoining(performance.now(), RECONNECT_MAX_MS * 1.25, connected);
  if (backingOff > 0) host.log(`listening ${BACKOFF_LINGER_MS / 1000} s more to tell ${backingOff} worker(s) in a back-off that the run is over`);
  await Promise.race([answered, sleep(ANSWER_GRACE_MS, host.signal)]);
  const silent = () => told.filter((c) => !answeredEnd(c, host));
  if (silent().length === 0 && backingOff === 0) return;
  if (silent().length > 0 && !host.signal?.aborted) {
    const seconds = Math.round((until - performance.now()) / 100) / 10;
    host.log(`waiting up to ${seconds} s for ${silent().map((c) => `worker ${c.id} (${c.name})`).join(', ')} to read that the run is over (not reading: stopped?)`);
  }
  await Promise.race([backingOff > 0 ? new Promise<never>(() => {}) : answered, sleep(until - performance.now(), host.signal)]);
  if (host.signal?.aborted) host.log('stopped waiting for workers to read that the run is over (a stop signal)');
  for (const c of silent()) {
    // Not "did not read": one stopped for a while may still read it once it runs again, where it has not
    // written to the closed socket first (a worker stopped 20 s read it and exited 0).
    host.log(`worker ${c.id} (${c.name}) did not answer that the run is over: if it never reads it (one stopped for long loses its link), it retries until its --retry-for-ms ends (without it, for ever); then stop it by hand`);
  }
}

/**
 * Resolves once `c`'s worker has answered the end of the run: its close frame came (ws then ends
 * this side of the socket, and its writable side finishes; the close frame follows the leave, so
 * the worker read both), or the socket closed. Not the socket's close alone: that waits for the
 * worker's FIN, and on a slow, lossy link a FIN resent after a backed-off timeout came past
 * BACKOFF_LINGER_MS: a worker that had read "done" and exited 0 was logged as one that did not
 * ("stop it by hand"), after the coordinator had waited for it the whole 7.25 s.
 */
function endAnswered(c: WorkerConn, host: EndHost): Promise<void> {
  const socket = host.socketOf(c);
  if (!socket) return c.socketGone;
  if (answeredEnd(c, host)) return Promise.resolve();
  return Promise.race([c.socketGone, new Promise<void>((resolve) => socket.once('finish', () => resolve()))]);
}

/** Whether endAnswered has resolved for `c` by now. */
function answeredEnd(c: WorkerConn, host: EndHost): boolean {
  return c.socketClosed || host.socketOf(c)?.writableFinished === true;
}
