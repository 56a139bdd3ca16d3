/**
 * The TRAINER_* variables that change how trainer computes, checked once when a command starts.
 * Each is read where it acts (the kernels, the threads, the heap tuning), and those readers take
 * "0" for off and anything else for on: TRAINER_WASM_SIMD=false or =off ran the SIMD kernels,
 * and TRAINER_WARMUP_STEPS=abc or -5 ran no warm-up, without a word. Worker processes and
 * threads inherit the environment of the command that checked it.
 */
import { existsSync } from 'node:fs';
import { TrainerError } from '../shared/errors.js';
import { launcherPid } from './launcher-watch.js';

/** Switches: 0 turns one off, 1 (or empty, or unset) leaves it as it is by default. */
const SWITCHES = [
  'TRAINER_WASM_SIMD',
  'TRAINER_WASM_FMA',
  'TRAINER_KERNEL_PLAN',
  'TRAINER_STEP_MEMORY',
  'TRAINER_PIN_THREADS',
  'TRAINER_BARRIER_SPIN',
  'TRAINER_GC_TUNING',
  'TRAINER_WASM_EAGER',
  'TRAINER_JS_EAGER',
  'TRAINER_DEBUG',
] as const;

/** E_USAGE naming the first TRAINER_* variable whose value trainer would not understand. */
export function checkEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of SWITCHES) {
    const value = env[name];
    if (value === undefined || value === '' || value === '0' || value === '1') continue;
    throw new TrainerError('E_USAGE', `${name} must be 0 (off) or 1 (on), got ${JSON.stringify(value)}`);
  }
  const steps = env.TRAINER_WARMUP_STEPS;
  if (steps !== undefined && !/^\d+$/.test(steps)) {
    throw new TrainerError('E_USAGE', `TRAINER_WARMUP_STEPS must be a whole number of warm-up gradients (0: none), got ${JSON.stringify(steps)}`);
  }
  launcherPid(env);
}

/**
 * The folder the command was started in, which relative paths (`runs/`, `data/`, `-c cfg.yaml`) are
 * read against. One deleted while a shell stayed in it (a clone removed and made again from another
 * terminal, a CI workspace cleaned under a job) made every command, `--version` included, a bug of
 * ours: `error E_INTERNAL: ENOENT: no such file or directory, uv_cwd` (yargs asks for it first).
 */
export function checkWorkingFolder(env: NodeJS.ProcessEnv = process.env): void {
  try {
    process.cwd();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    const named = env.PWD !== undefined && env.PWD !== '' ? env.PWD : null;
    const folder = named === null ? 'the current folder' : `the current folder ${named}`;
    // A folder of that name made again since is another folder than the one the shell is in.
    const act = named !== null && existsSync(named) ? ` and made again since: cd to it anew (cd ${JSON.stringify(named)})` : ': cd to a folder that exists';
    throw new TrainerError('E_IO', `${folder} was deleted (${code})${act}`);
  }
}
