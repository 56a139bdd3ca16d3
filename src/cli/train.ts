/** `trainer train`: one machine, the coordinator's loop with a local pool. */
import type { Argv } from 'yargs';
import { runTraining, type PoolFactory } from '../coordinator/run.js';
import { resolveConfig, type Config } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { createInProcessPool } from '../worker/local-pool.js';
import { threadPoolFactory } from '../worker/thread-pool.js';
import { downloadProgress } from './output.js';

export interface TrainArgs {
  config?: string;
  threads?: number;
  backend?: string;
  gpu?: number;
  resume: boolean;
  quiet: boolean;
  json: boolean;
}

export function trainOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'YAML config file (defaults apply to keys it leaves out)' })
    .option('threads', { type: 'number', describe: 'worker threads on this machine (sets cluster.transport threads)' })
    .option('backend', { type: 'string', describe: 'auto | tensorflow-gpu | tensorflow | wasm | cpu' })
    .option('gpu', { type: 'number', describe: 'CUDA device index (sets CUDA_VISIBLE_DEVICES, backend tensorflow-gpu)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue the run in run.dir/run.name from its checkpoint' })
    .option('quiet', { type: 'boolean', default: false, describe: 'print only errors' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per epoch on stdout (metrics.jsonl schema)' });
}

/** CLI flags that are shorthands for config keys, layered over the dotted overrides. */
export function flagOverrides(a: Pick<TrainArgs, 'threads' | 'backend' | 'gpu'>, overrides: Record<string, unknown>) {
  const out: Record<string, unknown> = structuredClone(overrides);
  const section = (k: string) => (out[k] ??= {}) as Record<string, unknown>;
  if (a.threads !== undefined) {
    if (!Number.isInteger(a.threads) || a.threads < 1) {
      throw new TrainerError('E_CONFIG', `--threads must be a positive integer, got ${JSON.stringify(a.threads)}`);
    }
    Object.assign(section('cluster'), { transport: 'threads', workers: a.threads });
  }
  if (a.backend !== undefined) out.backend = a.backend;
  if (a.gpu !== undefined) out.gpu = a.gpu;
  return out;
}

export const POOL_FACTORIES: Partial<Record<Config['cluster']['transport'], PoolFactory>> = {
  local: createInProcessPool,
  threads: threadPoolFactory(),
};

export async function trainCommand(a: TrainArgs, overrides: Record<string, unknown>): Promise<void> {
  const config = await resolveConfig(a.config, flagOverrides(a, overrides));
  const createPool = POOL_FACTORIES[config.cluster.transport];
  if (!createPool) {
    throw new TrainerError('E_CONFIG', `cluster.transport ${config.cluster.transport} is not available in trainer train`);
  }
  const log = a.quiet || a.json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping at the next step (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const progress = downloadProgress();
    const result = await runTraining({
      config,
      resume: a.resume,
      createPool,
      log,
      signal: controller.signal,
      ...(progress ? { onDownloadProgress: progress } : {}),
      ...(a.json ? { onEpoch: (m) => process.stdout.write(`${JSON.stringify(m)}\n`) } : {}),
    });
    if (result.outcome === 'stopped') process.exitCode = 130;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
