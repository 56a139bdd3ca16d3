/** `trainer train`: one machine, the coordinator's loop with a local pool. */
import type { Argv } from 'yargs';
import { runTraining } from '../coordinator/run.js';
import type { StepTiming } from '../coordinator/train-loop.js';
import { parseAllowedHosts } from '../dashboard/host-check.js';
import { parseStatusPort, startDashboard, type LiveDashboard } from '../dashboard/live.js';
import { resolveConfig } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { parseGpuList } from '../transports/ws/launch.js';
import { downloadProgress } from './output.js';
import { createProgress } from './progress.js';
import { TraceRecorder } from './trace.js';

export interface TrainArgs {
  config?: string;
  threads?: number;
  procs?: number;
  gpus?: string;
  backend?: string;
  gpu?: number;
  resume: boolean;
  quiet: boolean;
  json: boolean;
  trace?: string;
  statusPort?: number;
  /** `--allowed-host`, repeatable: more Host names the dashboard answers. */
  allowedHost?: string[];
}

export function trainOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'YAML config file (defaults apply to keys it leaves out)' })
    .option('threads', { type: 'number', describe: 'worker threads on this machine (sets cluster.transport threads)' })
    .option('procs', { type: 'number', describe: 'local worker processes over WebSocket (sets cluster.transport procs)' })
    .option('gpus', { type: 'string', describe: 'with --procs: CUDA devices for the worker processes, round-robin, e.g. 0,1 (sets cluster.gpus)' })
    .option('backend', { type: 'string', describe: 'auto | tensorflow-gpu | tensorflow | webgpu | wasm | cpu' })
    .option('gpu', { type: 'number', describe: 'GPU to compute on: CUDA device for tensorflow-gpu, N-th hardware adapter for webgpu (auto tries both)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue the run in run.dir/run.name from its checkpoint' })
    .option('quiet', { type: 'boolean', default: false, describe: 'print only errors' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per epoch on stdout (metrics.jsonl schema)' })
    .option('trace', { type: 'string', describe: 'write a Chrome trace (Perfetto, chrome://tracing) of every step to this file' })
    .option('status-port', { type: 'number', describe: 'serve the live dashboard on 127.0.0.1:N (0 = any free port)' })
    .option('allowed-host', { type: 'string', array: true, describe: 'with --status-port: a Host name the dashboard answers besides IP addresses, localhost and this machine\'s name (repeatable)' });
}

/** CLI flags that are shorthands for config keys, layered over the dotted overrides. */
export function flagOverrides(a: Pick<TrainArgs, 'threads' | 'procs' | 'gpus' | 'backend' | 'gpu'>, overrides: Record<string, unknown>) {
  const out: Record<string, unknown> = structuredClone(overrides);
  const section = (k: string) => (out[k] ??= {}) as Record<string, unknown>;
  if (a.threads !== undefined) {
    if (!Number.isInteger(a.threads) || a.threads < 1) {
      throw new TrainerError('E_CONFIG', `--threads must be a positive integer, got ${JSON.stringify(a.threads)}`);
    }
    Object.assign(section('cluster'), { transport: 'threads', workers: a.threads });
  }
  if (a.procs !== undefined) {
    if (!Number.isInteger(a.procs) || a.procs < 1) {
      throw new TrainerError('E_CONFIG', `--procs must be a positive integer, got ${JSON.stringify(a.procs)}`);
    }
    Object.assign(section('cluster'), { transport: 'procs', workers: a.procs });
  }
  if (a.gpus !== undefined) section('cluster').gpus = parseGpuList(a.gpus);
  if (a.backend !== undefined) out.backend = a.backend;
  if (a.gpu !== undefined) out.gpu = a.gpu;
  return out;
}

export async function trainCommand(a: TrainArgs, overrides: Record<string, unknown>): Promise<void> {
  const config = await resolveConfig(a.config, flagOverrides(a, overrides));
  const statusPort = parseStatusPort(a.statusPort);
  const allowedHosts = parseAllowedHosts(a.allowedHost);
  const controller = new AbortController();
  // Local runs only listen on loopback, and so does their dashboard.
  const dash: LiveDashboard | null =
    statusPort === undefined
      ? null
      : await startDashboard({ run: config.run.name, epochs: config.train.epochs, host: '127.0.0.1', statusPort, tls: { cert: null, key: null }, allowedHosts });
  const bar = createProgress({ stream: process.stderr, epochs: config.train.epochs, quiet: a.quiet, lines: !a.json });
  const log = bar.log;
  const trace = a.trace !== undefined ? new TraceRecorder() : undefined;
  if (dash?.served) log(`dashboard on ${dash.served.url}`);
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    bar.done();
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
      launch: {
        signal: controller.signal,
        ...(dash ? { onPool: (pool) => dash.state.setWorkerSource(() => pool.workerInfo()) } : {}),
      },
      log,
      signal: controller.signal,
      ...(progress ? { onDownloadProgress: progress } : {}),
      onStep: (s) => {
        bar.onStep?.(s);
        dash?.onStep(s);
      },
      // Only when someone reads it: the loop then asks the pool for its statistics every step.
      ...(trace || dash
        ? {
            onStepTiming: (t: StepTiming) => {
              trace?.onStepTiming(t);
              dash?.onStepTiming(t);
            },
          }
        : {}),
      onEpoch: (m) => {
        trace?.onEpoch(m);
        dash?.onEpoch(m);
        if (a.json) process.stdout.write(`${JSON.stringify(m)}\n`);
      },
    });
    if (result.outcome === 'stopped') process.exitCode = 130;
  } finally {
    await dash?.close();
    bar.done();
    if (trace && a.trace !== undefined) await trace.write(a.trace);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
