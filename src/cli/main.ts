#!/usr/bin/env node
/** The `trainer` command line. */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { extractConfigFlags, leafPaths } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { closest } from '../shared/suggest.js';
import { coordinatorCommand, coordinatorOptions } from './coordinator.js';
import { doctorCommand, doctorOptions } from './doctor.js';
import { evalCommand, evalOptions } from './eval.js';
import { fail, watchOutput } from './output.js';
import { predictCommand, predictOptions } from './predict.js';
import { reportCommand, reportOptions } from './report.js';
import { trainCommand, trainOptions } from './train.js';
import { workerCommand, workerOptions } from './worker.js';

const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

const CONFIG_FLAG_HELP =
  'Every config key can be set with a dotted flag, e.g. --train.epochs 2 --data.path ./data --run.dir /tmp/runs; ' +
  'values are read as YAML (--data.classes "[airplane, ship]"). Every key, its default and what it does: ' +
  'the "Config reference" section of README.md.';

const ENV_HELP =
  'Environment: TRAINER_TOKEN (shared token of coordinator and workers), TRAINER_CACHE_DIR (a worker\'s dataset cache), ' +
  'TRAINER_DEBUG=1 (stack traces of internal errors), TRAINER_WASM_SIMD=0 (stock wasm kernels), ' +
  'TRAINER_GC_TUNING=0 (V8\'s own heap growth), TRAINER_PIN_THREADS=0 (--threads N: leave the threads\' cores to the OS), ' +
  'TRAINER_KERNEL_PLAN=0 (wasm: each gradient through tfjs\'s engine, not a replay of its recorded kernel calls; same results, slower), ' +
  'TRAINER_STEP_MEMORY=0 (--threads N: weights and gradient slots in plain SharedArrayBuffers, not one shared wasm memory where the step end runs in place; same results, slower), ' +
  'TRAINER_WASM_EAGER=0 (V8 optimises wasm in the background as it runs, not when it loads), ' +
  'TRAINER_JS_EAGER=0 (V8 optimises JavaScript after its default budget throughout: not sooner during the warm-up, nor later once --threads are warm).';

type Handler = (args: never, overrides: Record<string, unknown>) => Promise<void>;

interface Command {
  /** yargs command string: name and positionals. */
  spec: string;
  describe: string;
  options: (y: Argv) => Argv<unknown>;
  run: Handler;
  /** The dotted config keys (`--train.lr 0.1`) it takes: every key, these, or none (the default). */
  configKeys?: 'all' | readonly string[];
}

/** What eval may be told of a run's config: where its data is, and how much to evaluate at once. */
const EVAL_CONFIG_KEYS = ['data.path', 'data.download', 'data.url', 'data.md5', 'eval.batchSize'] as const;

const COMMANDS: Record<string, Command> = {
  train: {
    spec: 'train',
    describe: 'train on this machine: in-process, --threads N worker threads or --procs N worker processes',
    options: (y) => trainOptions(y).epilog(`${CONFIG_FLAG_HELP}\n\n${ENV_HELP}`),
    run: trainCommand as Handler,
    configKeys: 'all',
  },
  coordinator: {
    spec: 'coordinator',
    describe: 'train with WebSocket workers: listen, wait for them, run the step loop',
    options: (y) => coordinatorOptions(y).epilog(`${CONFIG_FLAG_HELP}\n\n${ENV_HELP}`),
    run: coordinatorCommand as Handler,
    configKeys: 'all',
  },
  worker: {
    spec: 'worker',
    describe: 'compute micro-batches for a coordinator',
    options: (y) => workerOptions(y).epilog(ENV_HELP),
    run: workerCommand as Handler,
  },
  eval: {
    spec: 'eval [RUN]',
    describe: 'train and validation accuracy of a saved run',
    options: (y) => evalOptions(y).epilog(`${EVAL_CONFIG_KEYS.map((k) => `--${k}`).join(', ')}: where the run's data is read from, and how many images a task evaluates; the rest of its config is its own.`),
    run: evalCommand as Handler,
    configKeys: EVAL_CONFIG_KEYS,
  },
  report: {
    spec: 'report [runs..]',
    describe: 'write RUN/report.html (curves, throughput, workers, config), or one page comparing several runs',
    options: (y) => reportOptions(y),
    run: reportCommand as Handler,
  },
  predict: {
    spec: 'predict <images..>',
    describe: 'top classes of PNG or JPEG files under a trained model',
    options: (y) => predictOptions(y),
    run: predictCommand as Handler,
  },
  doctor: {
    spec: 'doctor',
    describe: 'which backends and GPUs this machine can compute on (--train: one epoch on each)',
    options: (y) => doctorOptions(y),
    run: doctorCommand as Handler,
  },
};

interface DeclaredOption {
  name: string;
  alias?: string | string[];
  type?: string;
  array?: boolean;
}

/** The options a command's builder declares, read by running it on a recorder. */
function declaredOptions(options: Command['options']): DeclaredOption[] {
  const declared: DeclaredOption[] = [];
  const recorder: Record<string, unknown> = {};
  const chain = () => recorder;
  Object.assign(recorder, {
    option: (name: string, o: Omit<DeclaredOption, 'name'>) => {
      declared.push({ name, ...o });
      return recorder;
    },
    positional: chain,
    epilog: chain,
    example: chain,
    check: chain,
  });
  options(recorder as unknown as Argv);
  return declared;
}

/** The option names (and aliases) a command's builder declares. */
function optionNames(options: Command['options']): string[] {
  return ['help', 'h', 'version', ...declaredOptions(options).flatMap((o) => [o.name, ...[o.alias ?? []].flat()])];
}

/**
 * A one-value option given more than once (`--run a --run b`, `-c a.yaml -c b.yaml`): yargs makes
 * it an array, which commands met as E_INTERNAL ("The "path" argument must be of type string") or
 * read as "a.yaml,b.yaml". Flags (booleans) and repeatable options may come twice.
 */
function givenTwice(command: string, parsed: Record<string, unknown>): string | null {
  const twice = declaredOptions((COMMANDS[command] as Command).options).find(
    (o) => o.type !== 'boolean' && o.array !== true && Array.isArray(parsed[o.name]),
  );
  return twice === undefined ? null : `--${twice.name} given more than once`;
}

/** yargs' own messages, made one line with a code, a suggestion and the help to read. */
function usageError(msg: string, command: string | undefined, args: readonly string[]): TrainerError {
  const help = command ? `trainer ${command} --help` : 'trainer --help';
  const unknown = /^Unknown arguments?: (.+)$/.exec(msg);
  if (unknown && command) {
    const known = optionNames((COMMANDS[command] as Command).options);
    const parts = (unknown[1] as string).split(', ').map((name) => {
      // A word the command takes no place for (`trainer doctor extra`) is not an option.
      if (args.includes(name)) return `unexpected argument ${JSON.stringify(name)}`;
      const flag = (n: string) => (n.length === 1 ? `-${n}` : `--${n}`);
      const near = closest(name, known);
      return near === null ? `unknown option ${flag(name)}` : `unknown option ${flag(name)}; did you mean ${flag(near)}?`;
    });
    return new TrainerError('E_USAGE', `${parts.join('; ')} (see ${help})`);
  }
  return new TrainerError('E_USAGE', `${msg} (see ${help})`);
}

/**
 * A number option given something that is not a number, or nothing: yargs makes it NaN, which
 * each command would report as "got null" or "got NaN", or leaves it unset, so that the run went
 * on without it. Named here as typed, with what was given.
 */
function badNumber(parsed: Record<string, unknown>, args: readonly string[]): string | null {
  for (const [key, value] of Object.entries(parsed)) {
    if (!(value === undefined || (typeof value === 'number' && Number.isNaN(value)))) continue;
    for (let i = 0; i < args.length; i++) {
      const token = args[i] as string;
      const given = token === `--${key}` ? (args[i + 1] ?? '') : token.startsWith(`--${key}=`) ? token.slice(key.length + 3) : null;
      if (given === null) continue;
      if (value === undefined) return `--${key} needs a number`;
      return `--${key} must be a number, got ${JSON.stringify(given)}`;
    }
  }
  return null;
}

/**
 * A text option typed with an empty value or none (`--out ""`, `--config` last on the line): yargs
 * makes it "" (or [] for a repeatable one, which then counted as not given), and each command
 * went on to say something odd about an empty path ("cannot read config file : ENOENT").
 */
function emptyText(parsed: Record<string, unknown>, args: readonly string[]): string | null {
  for (const [key, value] of Object.entries(parsed)) {
    if (!(value === '' || (Array.isArray(value) && (value.length === 0 || value.includes(''))))) continue;
    if (args.some((token) => token === `--${key}` || token === `--${key}=`)) return `--${key} needs a value`;
  }
  return null;
}

/**
 * A config key the command does not take: eval, report, predict and the worker read a run's config
 * (or the coordinator's), and went on as if `--train.epochs 99` or `--data.classes [...]` had not
 * been given, or, for eval's data.classes, scored the model against relabelled images.
 */
function unusedConfigKey(command: string, overrides: Record<string, unknown>): TrainerError | null {
  const allowed = COMMANDS[command]?.configKeys ?? [];
  if (allowed === 'all') return null;
  const key = leafPaths(overrides).find((k) => !allowed.includes(k));
  if (key === undefined) return null;
  const takes = allowed.length === 0 ? 'takes no config keys' : `takes only ${allowed.map((k) => `--${k}`).join(', ')} of the run's config keys`;
  return new TrainerError('E_USAGE', `trainer ${command} ${takes}, not --${key} (see trainer ${command} --help)`);
}

export async function main(argv: string[]): Promise<void> {
  tf.enableProdMode(); // no debug checks, no console banners
  watchOutput();
  const { rest, overrides } = extractConfigFlags(argv);
  const first = rest[0];
  const command = first !== undefined && first in COMMANDS ? first : undefined;
  if (first !== undefined && !first.startsWith('-') && command === undefined) {
    const near = closest(first, Object.keys(COMMANDS));
    throw new TrainerError('E_USAGE', `unknown command ${JSON.stringify(first)}${near ? `; did you mean ${near}?` : ''} (see trainer --help)`);
  }
  const unused = command === undefined ? null : unusedConfigKey(command, overrides);
  if (unused !== null) throw unused;
  let y = yargs(rest)
    .scriptName('trainer')
    .usage('$0 <command> [options]\n\nData-parallel training of CNNs on CIFAR with TensorFlow.js.');
  for (const c of Object.values(COMMANDS)) y = y.command(c.spec, c.describe, c.options, (a) => c.run(a as never, overrides));
  await y
    .demandCommand(1, `name a command: ${Object.keys(COMMANDS).join(', ')}`)
    .epilog(`trainer <command> --help lists a command's options. ${ENV_HELP}`)
    .strict()
    .middleware((a) => {
      const bad = badNumber(a, rest) ?? emptyText(a, rest) ?? (command === undefined ? null : givenTwice(command, a));
      if (bad !== null) throw usageError(bad, command, rest);
    })
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .fail((msg, err) => {
      if (err) throw err;
      throw usageError(msg, command, rest);
    })
    .parseAsync();
  // A training run is over (stopOnSignal's end): exit now, with its status. Left to drain, Node sets
  // the signals back to their default actions some 50 ms before the process ends, and a scheduler's
  // SIGTERM then made a finished run, model saved, exit 143.
  if (command === 'train' || command === 'coordinator') {
    // Output still queued (pipes are asynchronous on macOS) goes first; a closed one is not waited for.
    const queued = [process.stdout, process.stderr].filter((s) => s.writableLength > 0 && !s.destroyed);
    const drained = Promise.all(queued.map((s) => new Promise((r) => s.once('drain', r))));
    await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())]);
    process.exit(process.exitCode ?? 0);
  }
}

main(hideBin(process.argv)).catch(fail);
