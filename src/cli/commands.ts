/**
 * What each `trainer` command is on the command line: its options, help and
 * config keys, and where its handler is. The handlers load only when their
 * command runs: TensorFlow.js and the training code take most of a second to
 * load, which --help, --version, a usage error and `trainer report` do not need
 * (a usage error took 0.9 s, now ~0.3 s; every doctor probe is a process too).
 */
import type { Argv } from 'yargs';
import { BACKENDS } from '../shared/config.js';
import { NEVER_JOINED_RETRY_MS } from '../transports/ws/protocol.js';

export interface TrainArgs {
  config?: string;
  threads?: number;
  procs?: number;
  gpus?: string;
  backend?: string;
  gpu?: number;
  resume: boolean;
  /** `--auto-resume`: resume when run.dir/run.name has a checkpoint, else start the run there. */
  autoResume: boolean;
  quiet: boolean;
  json: boolean;
  trace?: string;
  statusPort?: number;
  /** `--allowed-host`, repeatable: more Host names the dashboard answers. */
  allowedHost?: string[];
}

export function trainOptions<T>(y: Argv<T>) {
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML config file (defaults apply to keys it leaves out; optional with --resume)' })
    .option('threads', { type: 'number', describe: 'worker threads on this machine (sets cluster.transport threads)' })
    .option('procs', { type: 'number', describe: 'local worker processes over WebSocket, for backends that load once per process (tensorflow, tensorflow-gpu) or one process per GPU; on CPU with wasm, --threads is faster (sets cluster.transport procs)' })
    .option('gpus', { type: 'string', describe: 'with --procs: CUDA devices for the worker processes, round-robin, e.g. 0,1 (sets cluster.gpus)' })
    .option('backend', { type: 'string', describe: 'auto | tensorflow-gpu | tensorflow | webgpu | wasm | cpu' })
    .option('gpu', { type: 'number', describe: 'GPU to compute on: CUDA device for tensorflow-gpu, N-th hardware adapter for webgpu (auto tries both)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue the run in run.dir/run.name with its stored config (flags override; --train.epochs N extends it)' })
    .option('auto-resume', { type: 'boolean', default: false, describe: 'resume run.dir/run.name when it has a checkpoint, else start the run there (never name-2): for schedulers that restart the same command (Slurm --requeue, Kubernetes)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'print only errors' })
    .option('json', { type: 'boolean', default: false, describe: 'stdout: one JSON object per epoch (metrics.jsonl schema) and nothing else' })
    .option('trace', { type: 'string', describe: 'write a Chrome trace (Perfetto, chrome://tracing) of every step to this file, as the run goes: a killed run leaves it up to its last second' })
    .option('status-port', { type: 'number', describe: 'serve the live dashboard on 127.0.0.1:N (0 = any free port)' })
    .option('allowed-host', { type: 'string', array: true, describe: 'with --status-port: a Host name the dashboard answers besides IP addresses, localhost and this machine\'s name (repeatable; .example.com admits subdomains)' });
}

export interface CoordinatorArgs {
  config?: string;
  host?: string;
  port?: number;
  minWorkers?: number;
  backend?: string;
  statusPort?: number;
  /** false (`--no-dashboard`) serves no dashboard at all. */
  dashboard?: boolean;
  /** `--allowed-host`, repeatable: more Host names the dashboard answers. */
  allowedHost?: string[];
  resume: boolean;
  /** `--auto-resume`: resume when run.dir/run.name has a checkpoint, else start the run there. */
  autoResume: boolean;
  quiet: boolean;
  json: boolean;
  trace?: string;
}

export function coordinatorOptions<T>(y: Argv<T>) {
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'YAML config file (defaults apply to keys it leaves out; optional with --resume)' })
    .option('host', { type: 'string', describe: 'address to listen on (cluster.host, default 127.0.0.1; all: every IPv6 and IPv4 address)' })
    .option('port', { type: 'number', describe: 'port to listen on (cluster.port, default 9000; 0 = any free port)' })
    .option('min-workers', { type: 'number', describe: 'start with this many workers (default cluster.workers); a resumed run waits for them up to cluster.noWorkerTimeoutMs' })
    .option('backend', { type: 'string', describe: "the run's backend, for workers started without their own --backend (sets backend)" })
    .option('status-port', { type: 'number', describe: 'serve the dashboard on this port of the same host instead of the workers\' port (0 = any free port)' })
    .option('dashboard', { type: 'boolean', default: true, describe: 'serve the read-only, unauthenticated dashboard (--no-dashboard: none)' })
    .option('allowed-host', { type: 'string', array: true, describe: 'a Host name the dashboard answers besides IP addresses, localhost, --host and this machine\'s name (repeatable; .example.com admits subdomains)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue the run in run.dir/run.name with its stored config (flags override; --train.epochs N extends it)' })
    .option('auto-resume', { type: 'boolean', default: false, describe: 'resume run.dir/run.name when it has a checkpoint, else start the run there (never name-2): for schedulers that restart the same command (Slurm --requeue, Kubernetes)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'print only errors' })
    .option('json', { type: 'boolean', default: false, describe: 'stdout: one JSON object per epoch (metrics.jsonl schema) and nothing else' })
    .option('trace', { type: 'string', describe: 'write a Chrome trace (Perfetto, chrome://tracing) of every step to this file, as the run goes: a killed run leaves it up to its last second' });
}

export interface WorkerArgs {
  connect: string;
  gpu?: number;
  threads?: string;
  backend?: string;
  token?: string;
  name?: string;
  cacheDir?: string;
  retryForMs?: number;
  ca?: string;
  quiet: boolean;
  /** Internal (`trainer train --procs`): standard input is a pipe from the process that started this worker. */
  parentPipe?: boolean;
}

export function workerOptions<T>(y: Argv<T>) {
  return y
    .option('connect', { type: 'string', demandOption: true, describe: 'coordinator HOST:PORT (or ws://..., wss://...)' })
    .option('gpu', { type: 'number', describe: 'GPU to compute on: CUDA device for tensorflow-gpu, N-th hardware adapter for webgpu (auto tries both)' })
    .option('threads', { type: 'string', describe: 'compute threads behind this one connection, or auto (one per CPU this process may use, within a container\'s CPU quota): one copy of the dataset and weights per machine (default 1)' })
    .option('backend', { type: 'string', describe: `${BACKENDS.join(' | ')} (default: the run's backend, once a coordinator answers; one given here loads at start)` })
    .option('token', { type: 'string', describe: 'shared token (default TRAINER_TOKEN; a flag is visible to every user of the machine in ps, the variable is not)' })
    .option('name', { type: 'string', describe: 'name in the coordinator log (default host:pid)' })
    .option('cache-dir', { type: 'string', describe: 'dataset cache (default $TRAINER_CACHE_DIR, else $XDG_CACHE_HOME/trainer, else ~/.cache/trainer)' })
    .option('retry-for-ms', {
      type: 'number',
      describe: `give up after this long without a coordinator; 0 = never (default: ${NEVER_JOINED_RETRY_MS / 1000} s until the first join, then never)`,
    })
    .option('ca', { type: 'string', describe: 'CA certificate (PEM) to trust for wss://' })
    .option('quiet', { type: 'boolean', default: false, describe: 'print only errors' })
    .option('parent-pipe', { type: 'boolean', hidden: true });
}

export interface EvalArgs {
  /** `trainer eval RUN`. */
  RUN?: string;
  /** `trainer eval --run RUN`. */
  run?: string;
  backend?: string;
  json: boolean;
}

export function evalOptions<T>(y: Argv<T>) {
  return y
    .positional('RUN', { type: 'string', describe: 'run folder (holds config.json and model/), as RUN or --run RUN' })
    .option('run', { type: 'string', describe: 'run folder (holds config.json and model/), as RUN or --run RUN' })
    .option('backend', {
      type: 'string',
      describe: `${BACKENDS.join(' | ')} (default: the run's backend); eval takes no --gpu: tensorflow-gpu computes on the first device CUDA_VISIBLE_DEVICES shows, webgpu on Dawn's first adapter (or TRAINER_WEBGPU_ADAPTER's)`,
    })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' });
}

export interface ReportArgs {
  runs?: string[];
  run?: string[];
  out?: string;
  quiet: boolean;
}

/** Where a comparison goes unless --out says otherwise. */
export const COMPARISON_FILE = 'compare.html';

export function reportOptions<T>(y: Argv<T>) {
  return y
    .positional('runs', { type: 'string', array: true, default: undefined, describe: 'run folders: one gets RUN/report.html, several one page comparing them' })
    .option('run', { type: 'string', array: true, describe: 'a run folder (repeatable), as the positional form' })
    .option('out', { type: 'string', describe: `file to write, or a folder to write it in (default RUN/report.html for one run, ./${COMPARISON_FILE} for several)` })
    .option('quiet', { type: 'boolean', default: false, describe: 'do not print the report path' });
}

export interface PredictArgs {
  run: string;
  images: string[];
  top: number;
  backend: string;
  json: boolean;
}

export function predictOptions<T>(y: Argv<T>) {
  return y
    .positional('images', { type: 'string', array: true, default: undefined, describe: 'PNG or JPEG files, any size (one or more)' })
    .option('run', { type: 'string', demandOption: true, describe: 'run folder (holds model/) or a model folder (holds model.json)' })
    .option('top', { type: 'number', default: 3, describe: 'how many classes to list per image' })
    .option('backend', { type: 'string', default: 'auto', describe: 'auto | tensorflow | webgpu | wasm | cpu' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per image on stdout' });
}

export interface DoctorArgs {
  train: boolean;
  config?: string;
  /** With --train on a software adapter, train on this many images only (it runs at tens of images/s). */
  softwareLimit: number;
  /** Internal: probe one backend in this process and print one JSON line. */
  probe?: string;
  gpu?: number;
}

export function doctorOptions<T>(y: Argv<T>) {
  return y
    .option('train', { type: 'boolean', default: false, describe: 'also train one epoch of --config on each usable GPU backend and on wasm (webgpu on a GPU also on 2 threads, which must give the same weights)' })
    .option('config', { alias: 'c', type: 'string', describe: "the config --train runs (default: the package's configs/demo.yaml)" })
    .option('software-limit', { type: 'number', default: 512, describe: 'with --train on a software adapter (lavapipe), train on at most this many images, the first of the set' })
    .option('probe', { type: 'string', hidden: true })
    .option('gpu', { type: 'number', hidden: true });
}

const CONFIG_FLAG_HELP =
  'Every config key can be set with a dotted flag, e.g. --train.epochs 2 --data.path ./data --run.dir /tmp/runs; ' +
  'values are read as YAML (--data.classes "[airplane, ship]"). Every key, its default and what it does: ' +
  'the "Config reference" section of README.md.';

export const ENV_HELP =
  'Environment: TRAINER_TOKEN (shared token of coordinator and workers), TRAINER_CACHE_DIR (a worker\'s dataset cache), ' +
  'TRAINER_WEBGPU_ADAPTER=NAME (webgpu: the first adapter whose name contains NAME, over --gpu), ' +
  'TRAINER_WARMUP_STEPS=N (wasm: at most N warm-up gradients, within 3 s, per thread or worker before the first step; default 400, 0 none). ' +
  'TRAINER_STOP_WITH_PID=PID (train, coordinator: stop at the next step, with a checkpoint, once process PID has gone; trainer.sbatch sets it to its batch shell). ' +
  'Switches, 0 (off) or 1 (on, the default but for TRAINER_DEBUG), anything else refused: ' +
  'TRAINER_DEBUG=1 (stack traces of internal errors), TRAINER_WASM_SIMD=0 (stock wasm kernels), ' +
  'TRAINER_WASM_FMA=0 (wasm: multiply and add rounded separately, as on a CPU without FMA: the same last bits on every CPU), ' +
  'TRAINER_GC_TUNING=0 (V8\'s own heap growth), TRAINER_PIN_THREADS=0 (--threads N: leave the threads\' cores to the OS), ' +
  'TRAINER_BARRIER_SPIN=0 (--threads N, pinned: a thread done with its share of a step sleeps at once, not spinning while the others finish), ' +
  'TRAINER_KERNEL_PLAN=0 (wasm and webgpu: each gradient through tfjs\'s engine, not a replay of its recorded kernel calls or GPU commands; same results, slower), ' +
  'TRAINER_STEP_MEMORY=0 (--threads N: weights and gradient slots in plain SharedArrayBuffers, not one shared wasm memory where the step end runs in place; same results, slower), ' +
  'TRAINER_WASM_EAGER=0 (V8 optimises wasm in the background as it runs, not when it loads), ' +
  'TRAINER_JS_EAGER=0 (V8 optimises JavaScript after its default budget throughout: not sooner during the warm-up, nor later once --threads are warm).';

type Handler = (args: never, overrides: Record<string, unknown>) => Promise<void>;

export interface Command {
  /** yargs command string: name and positionals. */
  spec: string;
  describe: string;
  options: (y: Argv) => Argv<unknown>;
  /** The handler, loaded when the command runs. */
  load: () => Promise<Handler>;
  /** It computes with TensorFlow.js (set to production mode before the handler runs). */
  computes: boolean;
  /**
   * It answers SIGINT, SIGTERM and SIGHUP itself from some point on, and start-signals.ts's line
   * until then; the others leave them to Node's default action once their handler runs.
   */
  takesSignals?: true;
  /** The dotted config keys (`--train.lr 0.1`) it takes: every key, these, or none (the default). */
  configKeys?: 'all' | readonly string[];
}

/** What eval may be told of a run's config: where its data is, and how much to evaluate at once. */
const EVAL_CONFIG_KEYS = ['data.path', 'data.download', 'data.url', 'data.md5', 'eval.batchSize'] as const;

export const COMMANDS: Record<string, Command> = {
  train: {
    spec: 'train',
    describe: 'train on this machine: in-process, --threads N worker threads or --procs N worker processes',
    options: (y) => trainOptions(y).epilog(`${CONFIG_FLAG_HELP}\n\n${ENV_HELP}`),
    load: () => import('./train.js').then((m) => m.trainCommand as Handler),
    computes: true,
    takesSignals: true,
    configKeys: 'all',
  },
  coordinator: {
    spec: 'coordinator',
    describe: 'train with WebSocket workers: listen, wait for them, run the step loop',
    options: (y) => coordinatorOptions(y).epilog(`${CONFIG_FLAG_HELP}\n\n${ENV_HELP}`),
    load: () => import('./coordinator.js').then((m) => m.coordinatorCommand as Handler),
    computes: true,
    takesSignals: true,
    configKeys: 'all',
  },
  worker: {
    spec: 'worker',
    describe: 'compute micro-batches for a coordinator',
    options: (y) => workerOptions(y).epilog(ENV_HELP),
    load: () => import('./worker.js').then((m) => m.workerCommand as Handler),
    computes: true,
    takesSignals: true,
  },
  eval: {
    spec: 'eval [RUN]',
    describe: 'train and validation accuracy of a saved run',
    options: (y) => evalOptions(y).epilog(`${EVAL_CONFIG_KEYS.map((k) => `--${k}`).join(', ')}: where the run's data is read from, and how many images a task evaluates; the rest of its config is its own.`),
    load: () => import('./eval.js').then((m) => m.evalCommand as Handler),
    computes: true,
    configKeys: EVAL_CONFIG_KEYS,
  },
  report: {
    spec: 'report [runs..]',
    describe: 'write RUN/report.html (curves, throughput, workers, config), or one page comparing several runs',
    options: (y) => reportOptions(y),
    load: () => import('./report.js').then((m) => m.reportCommand as Handler),
    computes: false,
  },
  predict: {
    spec: 'predict <images..>',
    describe: 'top classes of PNG or JPEG files under a trained model',
    options: (y) => predictOptions(y),
    load: () => import('./predict.js').then((m) => m.predictCommand as Handler),
    computes: true,
  },
  doctor: {
    spec: 'doctor',
    describe: 'which backends and GPUs this machine can compute on (--train: one epoch on each)',
    options: (y) => doctorOptions(y),
    load: () => import('./doctor.js').then((m) => m.doctorCommand as Handler),
    computes: true,
  },
};
