/**
 * What a WebSocket pool is given (the run, the token, the stop signal, an
 * HTTP handler for its port) and what it tells its observers: events for
 * tests, and a row per ready worker for the dashboard.
 */
import type { PoolContext, PoolEnd, WorkerStats } from '../pool.js';
import type { RequestHandler } from './server.js';

export interface WsPoolOptions extends PoolContext {
  /** The shared secret (already resolved from cluster.token / TRAINER_TOKEN); null on loopback only. */
  token: string | null;
  /** Ends a wait for workers (at the start, or when every worker left mid-step) with E_NO_WORKERS. */
  signal?: AbortSignal;
  /** Plain HTTP requests on the pool's port (e.g. the dashboard); unanswered ones get 426. */
  onRequest?: RequestHandler;
  /** Observer for tests and metrics. */
  onEvent?: (e: PoolEvent) => void;
  /**
   * Runs after the pool closed: reaps local worker processes, and ends once their output relayed to
   * the log has. The pool's lines about workers that leave during its close are told after it.
   * `end`: 'finished' when the workers were told the run is done (they leave by themselves). Its
   * workers are told a plain stop also where the run never began ('not-started').
   */
  onClose?: (end: PoolEnd) => Promise<void>;
  /** The workers are processes on this machine (`--procs`): WorkerPool.sharesCores. */
  sharesCores?: boolean;
}

export type PoolEvent =
  | { kind: 'ready'; worker: string; name: string }
  | { kind: 'task'; worker: string; step: number; index: number }
  | { kind: 'evicted'; worker: string; code: number; reason: string };

/** One ready worker as the dashboard shows it. */
export interface WorkerInfo extends WorkerStats {
  /** The peer's address:port as this end of the socket sees it. */
  address: string;
  backend: string;
  /** Tasks it holds now. */
  inflight: number;
  /** ms since its last result; null before its first. */
  lastResultMsAgo: number | null;
  /** ms since the last frame from it (results and pongs alike). */
  lastHeardMsAgo: number;
}
