/**
 * The transport of a run, chosen by cluster.transport, for `trainer train`
 * and `trainer coordinator` alike: `local` (in-process), `threads`, `procs`
 * (local worker processes over ws) or `ws` (remote workers connect).
 */
import { TrainerError } from '../shared/errors.js';
import { createInProcessPool } from './in-process.js';
import type { PoolContext, WorkerPool } from './pool.js';
import { threadPoolFactory } from './threads/pool.js';
import { procsPoolFactory, wsPoolFactory, type WsFactoryOptions } from './ws/launch.js';
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
  switch (transport) {
    case 'local':
      return createInProcessPool(ctx);
    case 'threads':
      return threadPoolFactory()(ctx);
    case 'procs':
      return procsPoolFactory(common)(ctx);
    case 'ws':
      if (!launch.ws) throw new TrainerError('E_CONFIG', 'cluster.transport ws: workers connect to `trainer coordinator`, not to `trainer train`');
      return wsPoolFactory({ ...launch.ws, ...common })(ctx);
    default: {
      const never: never = transport;
      throw new TrainerError('E_CONFIG', `unknown cluster.transport ${String(never)}`);
    }
  }
}
