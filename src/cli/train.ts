/** `trainer train`: one machine, the coordinator's loop with a local pool. */
import { parseAllowedHosts, parseStatusPort } from '../dashboard/host-check.js';
import { resolveRunConfig, runStart, verifyOff } from '../coordinator/run-config.js';
import { RunFolder } from '../coordinator/run-folder.js';
import { type Config } from '../shared/config.js';
import { copyConfig } from '../shared/config-values.js';
import { TrainerError, isTrainerError } from '../shared/errors.js';
import { parseGpuList } from '../shared/gpu-backends.js';
import { note } from './output.js';
import { checkTraceFile } from './trace.js';
import { trainWatched } from './watched-run.js';
import type { TrainArgs } from './commands.js';

/** CLI flags that are shorthands for config keys, layered over the dotted overrides. */
export function flagOverrides(a: Pick<TrainArgs, 'threads' | 'procs' | 'gpus' | 'backend' | 'gpu'>, overrides: Record<string, unknown>) {
  const out: Record<string, unknown> = copyConfig(overrides);
  const section = (k: string) => (out[k] ??= {}) as Record<string, unknown>;
  if (a.threads !== undefined && a.procs !== undefined) {
    throw new TrainerError('E_USAGE', '--threads and --procs are two ways to run the workers: give one of them');
  }
  // --threads 1 --cluster.workers 3 trained on 1, silently: the shorthand set the key over the key.
  const workers = (out['cluster'] as Record<string, unknown> | undefined)?.['workers'];
  const count = a.threads ?? a.procs;
  if (count !== undefined && workers !== undefined && workers !== count) {
    throw new TrainerError('E_USAGE', `${a.threads !== undefined ? '--threads' : '--procs'} ${count} and --cluster.workers ${JSON.stringify(workers)} both say how many workers: give one of them`);
  }
  if (a.threads !== undefined) {
    if (!Number.isInteger(a.threads) || a.threads < 1) {
      throw new TrainerError('E_USAGE', `--threads must be a positive integer, got ${JSON.stringify(a.threads)}`);
    }
    Object.assign(section('cluster'), { transport: 'threads', workers: a.threads });
  }
  if (a.procs !== undefined) {
    if (!Number.isInteger(a.procs) || a.procs < 1) {
      throw new TrainerError('E_USAGE', `--procs must be a positive integer, got ${JSON.stringify(a.procs)}`);
    }
    Object.assign(section('cluster'), { transport: 'procs', workers: a.procs });
  }
  if (a.gpus !== undefined) section('cluster').gpus = parseGpuList(a.gpus);
  if (a.backend !== undefined) out.backend = a.backend;
  if (a.gpu !== undefined) out.gpu = a.gpu;
  return out;
}

/**
 * A config error about cluster.workers that --threads N or --procs N set names the flag:
 * `--threads 99` was answered about cluster.workers alone, a key the user never typed.
 */
function namingFlag(a: Pick<TrainArgs, 'threads' | 'procs'>): (err: unknown) => never {
  return (err) => {
    const flag = a.threads !== undefined ? `--threads ${a.threads}` : a.procs !== undefined ? `--procs ${a.procs}` : null;
    if (flag !== null && isTrainerError(err, 'E_CONFIG') && err.message.startsWith('cluster.workers')) {
      throw new TrainerError('E_CONFIG', `${flag}: ${err.message}`, { cause: err });
    }
    throw err;
  };
}

/**
 * `trainer train` runs its workers here: a config for WebSocket workers is `trainer coordinator`'s
 * (said before anything starts; it was said after the data had loaded), and a run that
 * `trainer coordinator` trained goes on in this process unless --threads or --procs says otherwise.
 */
function localTransport(config: Config, resume: boolean, quiet: boolean): Config {
  if (config.cluster.transport !== 'ws') return config;
  if (!resume) {
    throw new TrainerError('E_CONFIG', 'cluster.transport ws: workers connect to `trainer coordinator --config FILE`, not to `trainer train`; give --threads N or --procs N to train here');
  }
  // cluster.verify recomputes WebSocket workers' results: in this process there are none to check,
  // and the continuation's checkpoints store the config it ran with. Kept, it checked nothing and
  // said nothing, and the next resume was refused (cluster.verify with cluster.transport local).
  const verify = config.cluster.verify;
  const off = verify > 0 ? `; ${verifyOff(verify, config.cluster.workers, 'here')}` : '';
  note(quiet)(
    `note: ${RunFolder.of(config).dir} was trained by \`trainer coordinator\` (cluster.transport ws): it goes on in this process ` +
      `(--threads N or --procs N for more workers here; \`trainer coordinator --resume\` to continue with WebSocket workers)${off}`,
  );
  return { ...config, cluster: { ...config.cluster, transport: 'local', workers: 1, verify: 0 } };
}

export async function trainCommand(a: TrainArgs, overrides: Record<string, unknown>): Promise<void> {
  // Flags checked before the run's folder is claimed or anything starts.
  const trace = await checkTraceFile(a.trace);
  const file = a.config !== undefined ? { file: a.config } : {};
  const overs = flagOverrides(a, overrides);
  const start = await runStart({ ...file, overrides: overs, resume: a.resume, autoResume: a.autoResume, log: note(a.quiet) }).catch(namingFlag(a));
  const resume = start === 'resume';
  const stored = await resolveRunConfig({ ...file, overrides: overs, resume, log: note(a.quiet) }).catch(namingFlag(a));
  const statusPort = parseStatusPort(a.statusPort);
  const allowedHosts = parseAllowedHosts(a.allowedHost);
  await trainWatched({
    resolved: localTransport(stored, resume, a.quiet),
    start,
    quiet: a.quiet,
    json: a.json,
    trace,
    // Local runs only listen on loopback, and so does their dashboard (only with --status-port).
    dashboard: async (config) => {
      if (statusPort === undefined) return null;
      // Loaded here: a run without --status-port needs none of it (nor the ws server it serves on).
      const { dashboardRun, startDashboard } = await import('../dashboard/live.js');
      return startDashboard({ ...dashboardRun(config), host: '127.0.0.1', statusPort, tls: { cert: null, key: null }, allowedHosts });
    },
  });
}
