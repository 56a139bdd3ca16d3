/** `trainer coordinator --config FILE`: train with remote WebSocket workers. */
import type { Argv } from 'yargs';
import { runTraining } from '../coordinator/run.js';
import { wsPoolFactory } from '../coordinator/ws-launch.js';
import { resolveConfig } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { isLoopbackHost, resolveToken } from '../shared/ws-auth.js';
import { downloadProgress } from './output.js';

export interface CoordinatorArgs {
  config?: string;
  host?: string;
  port?: number;
  minWorkers?: number;
  resume: boolean;
  quiet: boolean;
  json: boolean;
}

export function coordinatorOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'YAML config file' })
    .option('host', { type: 'string', describe: 'address to listen on (cluster.host, default 127.0.0.1)' })
    .option('port', { type: 'number', describe: 'port to listen on (cluster.port, default 9000; 0 = any free port)' })
    .option('min-workers', { type: 'number', describe: 'start with this many workers (default cluster.workers)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue the run from its checkpoint' })
    .option('quiet', { type: 'boolean', default: false, describe: 'print only errors' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per epoch on stdout' });
}

export async function coordinatorCommand(a: CoordinatorArgs, overrides: Record<string, unknown>): Promise<void> {
  const over: Record<string, unknown> = structuredClone(overrides);
  const cluster = (over.cluster ??= {}) as Record<string, unknown>;
  cluster.transport = 'ws';
  if (a.host !== undefined) cluster.host = a.host;
  if (a.port !== undefined) cluster.port = a.port;
  const config = await resolveConfig(a.config, over);
  const minWorkers = a.minWorkers ?? config.cluster.workers;
  if (!Number.isInteger(minWorkers) || minWorkers < 1) {
    throw new TrainerError('E_USAGE', `--min-workers must be a positive integer, got ${JSON.stringify(a.minWorkers)}`);
  }
  const token = resolveToken(config.cluster.token);
  if (token === null && !isLoopbackHost(config.cluster.host)) {
    throw new TrainerError(
      'E_CONFIG',
      `listening on ${config.cluster.host} needs a shared token: set cluster.token or TRAINER_TOKEN (only loopback may go without)`,
    );
  }
  // The run folder keeps the config: never the secret.
  const stored = { ...config, cluster: { ...config.cluster, token: null } };
  const log = a.quiet || a.json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping at the next step (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const progress = downloadProgress();
    const result = await runTraining({
      config: stored,
      resume: a.resume,
      createPool: wsPoolFactory({ host: config.cluster.host, port: config.cluster.port, token, minWorkers, signal: controller.signal }),
      log,
      signal: controller.signal,
      ...(progress ? { onDownloadProgress: progress } : {}),
      ...(a.json ? { onEpoch: (m) => process.stdout.write(`${JSON.stringify(m)}\n`) } : {}),
    });
    if (result.outcome === 'stopped') process.exitCode = 130;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
