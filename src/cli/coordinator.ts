/** `trainer coordinator --config FILE`: train with remote WebSocket workers. */
import { parseAllowedHosts, parseStatusPort } from '../dashboard/host-check.js';
import { dashboardRun, dashboardUrlOf, startDashboard } from '../dashboard/live.js';
import { resolveRunConfig, runStart } from '../coordinator/run-config.js';
import { type Config } from '../shared/config.js';
import { copyConfig } from '../shared/config-values.js';
import { VERIFY_NEEDS_WORKERS } from '../shared/config-validate.js';
import { TrainerError, isTrainerError } from '../shared/errors.js';
import { isLoopbackHost, MIN_NETWORK_TOKEN_CHARS, resolveToken } from '../transports/ws/auth.js';
import { tlsMaterial } from '../transports/ws/server.js';
import { note } from './output.js';
import { checkTraceFile } from './trace.js';
import { trainWatched } from './watched-run.js';
import type { CoordinatorArgs } from './commands.js';

/**
 * The run's config, with cluster.workers raised to `--min-workers` where that is more and the
 * micro-batches allow it (cluster.workers at most train.microBatches; more workers than that are
 * spares, and cluster.workers stays): Slurm and Kubernetes give the task count as --min-workers,
 * and the run said it was set up for cluster.workers' 1 (the dashboard's "n of N", /metrics'
 * trainer_workers_wanted) while it waited for 3. Raising it breaks no rule of the config (the
 * micro-batches' is checked here; the threads' is not a ws run's). cluster.verify, which needs 2,
 * refused the config before it could be raised: that one is resolved again with the count given.
 * A --cluster.workers flag is kept as given.
 */
async function workersAtLeast(minWorkers: number | undefined, over: Record<string, unknown>, resolve: (over: Record<string, unknown>) => Promise<Config>): Promise<Config> {
  const cluster = over.cluster as Record<string, unknown>;
  const raise = minWorkers !== undefined && cluster.workers === undefined ? minWorkers : undefined;
  let config: Config;
  try {
    config = await resolve(over);
  } catch (err) {
    if (!(raise !== undefined && raise >= 2 && isTrainerError(err, 'E_CONFIG') && err.message.endsWith(VERIFY_NEEDS_WORKERS))) throw err;
    return resolve({ ...over, cluster: { ...cluster, workers: raise } });
  }
  if (raise === undefined || raise <= config.cluster.workers || raise > config.train.microBatches) return config;
  return { ...config, cluster: { ...config.cluster, workers: raise } };
}

export async function coordinatorCommand(a: CoordinatorArgs, overrides: Record<string, unknown>): Promise<void> {
  const over: Record<string, unknown> = copyConfig(overrides);
  const cluster = (over.cluster ??= {}) as Record<string, unknown>;
  cluster.transport = 'ws';
  // [::1] as in a URL is taken as the address inside by the config's validation (clusterHost).
  if (a.host !== undefined) cluster.host = a.host;
  if (a.port !== undefined) cluster.port = a.port;
  if (a.backend !== undefined) over.backend = a.backend;
  // Flags checked before the run's folder is claimed or anything starts.
  const trace = await checkTraceFile(a.trace);
  const file = a.config !== undefined ? { file: a.config } : {};
  const start = await runStart({ ...file, overrides: over, resume: a.resume, autoResume: a.autoResume, log: note(a.quiet) });
  const resume = start === 'resume';
  if (a.minWorkers !== undefined && (!Number.isInteger(a.minWorkers) || a.minWorkers < 1)) {
    throw new TrainerError('E_USAGE', `--min-workers must be a positive integer, got ${JSON.stringify(a.minWorkers)}`);
  }
  const resolved = await workersAtLeast(a.minWorkers, over, (overrides) => resolveRunConfig({ ...file, overrides, resume, log: note(a.quiet) }));
  const minWorkers = a.minWorkers ?? resolved.cluster.workers;
  const statusPort = parseStatusPort(a.statusPort);
  // Ignored without a word, before.
  if (statusPort !== undefined && a.dashboard === false) {
    throw new TrainerError('E_USAGE', `--status-port ${statusPort} asks for the dashboard that --no-dashboard turns off: give one of them`);
  }
  // The workers' port as the dashboard's own: it failed after the data had loaded, as "in use
  // (another coordinator or dashboard?)", taken by its own dashboard.
  if (statusPort !== undefined && statusPort !== 0 && statusPort === resolved.cluster.port) {
    throw new TrainerError(
      'E_USAGE',
      `--status-port ${statusPort} is the workers' port (cluster.port): the dashboard is served there already; leave --status-port out, or give it another port`,
    );
  }
  const allowedHosts = parseAllowedHosts(a.allowedHost);
  const token = resolveToken(resolved.cluster.token);
  const host = resolved.cluster.host;
  if (token === null && !isLoopbackHost(host)) {
    throw new TrainerError('E_CONFIG', `listening on ${host} needs a shared token: set cluster.token or TRAINER_TOKEN (only loopback may go without)`);
  }
  // A worker's answer to a challenge is an HMAC of the token: whoever poses as the coordinator
  // (a spoofed name, a hijacked address) may try tokens against it offline, so a short one falls.
  if (token !== null && token.length < MIN_NETWORK_TOKEN_CHARS && !isLoopbackHost(host)) {
    throw new TrainerError(
      'E_CONFIG',
      `listening on ${host} needs a token of at least ${MIN_NETWORK_TOKEN_CHARS} characters, this one has ${token.length}: make one with openssl rand -hex 24`,
    );
  }
  tlsMaterial(resolved.cluster.tls); // checked before the run's folder and data: E_CONFIG for a bad file
  const tell = note(a.quiet);
  await trainWatched({
    resolved,
    start,
    quiet: a.quiet,
    json: a.json,
    trace,
    // The dashboard binds where the coordinator does: its port, or a status port on the same host.
    dashboard: async (config) =>
      a.dashboard === false
        ? null
        : startDashboard({
            ...dashboardRun(config),
            // What it waits for, when that is more (spares past train.microBatches: workersAtLeast).
            workersWanted: Math.max(config.cluster.workers, minWorkers),
            host: config.cluster.host,
            tls: config.cluster.tls,
            allowedHosts,
            ...(statusPort !== undefined ? { statusPort } : {}),
          }),
    // The run's config is without the secret (`token` above is what the workers are checked against).
    launch: (config, d) => ({
      ws: {
        host: config.cluster.host,
        port: config.cluster.port,
        token,
        minWorkers,
        resumed: resume,
        ...(d && !d.served ? { extra: { onRequest: d.handler } } : {}),
        onListening: (url: string, _port: number, urls: string[]) => {
          // --port 0 with --quiet: the port taken, which nothing else said (workers could not find it);
          // every address, as the log line says them (--host all said [::] only, not 0.0.0.0).
          if (a.quiet && config.cluster.port === 0) process.stderr.write(`coordinator listening on ${urls.join(' and ')}\n`);
          if (d && !d.served) tell(`dashboard on ${dashboardUrlOf(url)}`);
        },
      },
    }),
  });
}
