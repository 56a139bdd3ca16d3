/**
 * The transport of a run, chosen by cluster.transport, for `trainer train`
 * and `trainer coordinator` alike: `local` (in-process), `threads`, `procs`
 * (local worker processes over ws) or `ws` (remote workers connect).
 */
import { TrainerError } from '../shared/errors.js';
import type { PoolContext, WorkerPool } from './pool.js';
import type { WsFactoryOptions } from './ws/launch.js';
import type { WsPool } from './ws/pool.js';

export interface PoolLaunch {
  /** Stops waiting for workers (ws, procs) and local processes' start-up. */
  signal?: AbortSignal;
  /** Called once a ws pool exists (the dashboard reads its workers). */
  onPool?: (pool: WsPool) => void;
  /** For `ws`: where to listen, the token, how many workers to wait for, the dashboard on the same port. */
  ws?: Omit<WsFactoryOptions, 'signal' | 'onPool'>;
}

export async function createPool(ctx: PoolContext, launch: PoolLaunch = {}): Promise<WorkerPool> {
  const transport = ctx.config.cluster.transport;
  const common = { ...(launch.signal ? { signal: launch.signal } : {}), ...(launch.onPool ? { onPool: launch.onPool } : {}) };
  // Each transport loaded when it is the run's: a threads run needs no ws server, nor ws nor msgpackr.
  switch (transport) {
    case 'local':
      return (await import('./in-process.js')).createInProcessPool(ctx);
    case 'threads':
      return (await import('./threads/pool.js')).threadPoolFactory()(ctx);
    case 'procs':
      return (await import('./ws/launch.js')).procsPoolFactory(common)(ctx);
    case 'ws':
      if (!launch.ws) throw new TrainerError('E_CONFIG', 'cluster.transport ws: workers connect to `trainer coordinator`, not to `trainer train`');
      return (await import('./ws/launch.js')).wsPoolFactory({ ...launch.ws, ...common })(ctx);
    default: {
      const never: never = transport;
      throw new TrainerError('E_CONFIG', `unknown cluster.transport ${String(never)}`);
    }
  }
}
