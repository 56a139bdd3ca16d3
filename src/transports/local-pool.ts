/**
 * Pools for one machine, chosen by cluster.transport: `local` computes in the
 * coordinator's own thread.
 */
import type { PoolFactory } from '../coordinator/run.js';
import { selectBackend } from '../worker/backend.js';
import { InProcessPool } from './in-process.js';

export const createInProcessPool: PoolFactory = async ({ config, model, data, normalization, log }) => {
  const b = await selectBackend(config.backend, config.gpu);
  log(`backend: ${b.name}${b.detail ? ` (${b.detail})` : ''}`);
  const micro = Math.ceil(config.train.batchSize / config.train.microBatches);
  return new InProcessPool(model, normalization, data, Math.max(micro, config.eval.batchSize));
};
