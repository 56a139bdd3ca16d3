/**
 * A dashboard for one training process: the state fed by the step loop's
 * callbacks, and where it is served — on the coordinator's own port (the
 * caller mounts `handler` there) or, with a status port, on a server of its
 * own bound to the same host.
 */
import type { StepInfo, StepTiming } from '../coordinator/train-loop.js';
import type { EpochMetrics } from '../coordinator/run-folder.js';
import type { RunEnd, RunHistory } from '../coordinator/run.js';
import type { WorkerPool } from '../transports/pool.js';
import type { WsPool } from '../transports/ws/pool.js';
import type { RequestHandler } from '../transports/ws/server.js';
import type { Config } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { hostCheck } from './host-check.js';
import { dashboardHandler } from './http.js';
import { serveDashboard, type ServedDashboard } from './serve.js';
import { DashboardState } from './state.js';

export interface LiveDashboard {
  state: DashboardState;
  handler: RequestHandler;
  /** The server of its own, when a status port was given; else null (mount `handler`). */
  served: ServedDashboard | null;
  onStep(s: StepInfo): void;
  onEpoch(m: EpochMetrics): void;
  /** A resumed run's past epochs and loss lines. */
  onHistory(h: RunHistory): void;
  onStepTiming(t: StepTiming): void;
  /** The run's pool, once built: its workers are listed from then on (a ws pool's from when it listens). */
  onPool(pool: WorkerPool): void;
  /** The run is over; resolves once an open page has shown it (at most a few seconds), at once when none is open: close after. */
  end(how: RunEnd): Promise<void>;
  close(): Promise<void>;
}

export interface LiveDashboardOptions {
  run: string;
  epochs: number;
  /** Workers the run is set up for (cluster.workers): the page says "n of N". */
  workersWanted?: number;
  host: string;
  /** Serve on this port (0 = any free one) instead of the caller's; undefined = the caller mounts it. */
  statusPort?: number;
  tls: { cert: string | null; key: string | null };
  /** Host names answered besides IP literals, localhost, `host` and this machine's hostname (`--allowed-host`); default none. */
  allowedHosts?: readonly string[];
}

/** What the dashboard says about a run before its first step. */
export function dashboardRun(config: Pick<Config, 'run' | 'train' | 'cluster'>): Pick<LiveDashboardOptions, 'run' | 'epochs' | 'workersWanted'> {
  return { run: config.run.name, epochs: config.train.epochs, workersWanted: config.cluster.workers };
}

export async function startDashboard(o: LiveDashboardOptions): Promise<LiveDashboard> {
  const state = new DashboardState(o.run, o.epochs, undefined, o.workersWanted);
  const handler = dashboardHandler(state, hostCheck(o.host, o.allowedHosts));
  const served = o.statusPort === undefined ? null : await serveDashboard(handler, o.host, o.statusPort, o.tls);
  return {
    state,
    handler,
    served,
    onStep: state.onStep,
    onEpoch: state.onEpoch,
    onHistory: state.onHistory,
    onStepTiming: state.onStepTiming,
    onPool: (pool) => {
      const ws = pool as WorkerPool & Partial<Pick<WsPool, 'workerInfo'>>;
      if (typeof ws.workerInfo === 'function') state.setWorkerSource(() => ws.workerInfo?.() ?? []);
      else state.setStatsSource(() => pool.stats());
    },
    end: (how) => {
      state.end(how);
      return state.shown();
    },
    close: async () => {
      await served?.close();
    },
  };
}

/** The dashboard's address on a ws(s):// listening URL. */
export function dashboardUrlOf(wsUrl: string): string {
  return `${wsUrl.replace(/^ws/, 'http')}/`;
}
