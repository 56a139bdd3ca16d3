/** Shared set-up for tests: small synthetic runs in temporary folders. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type Config } from '../src/shared/config.js';
import { mergeConfig } from '../src/shared/config-values.js';
import { validateConfig } from '../src/shared/config-validate.js';
import type { StepInfo } from '../src/coordinator/train-loop.js';
import type { PoolFactory, WorkerPool } from '../src/transports/pool.js';

export async function tempDir(prefix = 'trainer-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** A config for a small, fast synthetic run under `dir`; `over` is merged on top. */
export function smallConfig(dir: string, over: object = {}): Config {
  const base = mergeConfig(structuredClone(DEFAULT_CONFIG), {
    run: { dir: join(dir, 'runs'), name: 'run', seed: 3 },
    data: { source: 'synthetic', path: join(dir, 'data'), synthetic: { trainSize: 600, valSize: 200, seed: 1 } },
    train: { epochs: 2, batchSize: 64, microBatches: 4, lr: 0.05, momentum: 0.9 },
    eval: { every: 1, batchSize: 200 },
    backend: 'wasm',
  });
  return validateConfig(mergeConfig(base, over));
}

/**
 * Trains `config` in this process and stops it as Ctrl-C does once step `step` is done: a run with
 * a checkpoint there to resume. `onStep` sees every step before that. (The trainer is imported
 * here, not by every test of this file.)
 */
export async function trainStoppedAt(config: Config, step: number, onStep: (s: StepInfo) => void = () => {}) {
  const { runTraining } = await import('../src/coordinator/run.js');
  const { createInProcessPool } = await import('../src/transports/in-process.js');
  const stop = new AbortController();
  return runTraining({
    config,
    resume: false,
    createPool: createInProcessPool,
    log: quietLog,
    signal: stop.signal,
    onStep: (s) => {
      onStep(s);
      if (s.globalStep === step) stop.abort();
    },
  });
}

/** Silences run logs unless TRAINER_TEST_LOG is set. */
export const quietLog = (line: string) => {
  if (process.env.TRAINER_TEST_LOG) process.stderr.write(`${line}\n`);
};

/** PIDs of this machine's live processes (not zombies) whose command line contains `needle`, from /proc. */
export function pidsWith(needle: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** SIGKILLs each of `pids` still there (one gone meanwhile is no error: a test's clean-up must not throw). */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** sha256 of the weights a run exported (`runDir`/model/weights.bin), as the run's last line prints it. */
export async function modelSha(runDir: string): Promise<string> {
  return createHash('sha256').update(await readFile(join(runDir, 'model', 'weights.bin'))).digest('hex');
}

/**
 * The in-process pool whose gradients from pool step `from` on are 3e38 everywhere (finite, but
 * their sum is Infinity in float32): the run diverges at that step. `before` runs once, as the
 * first poisoned step starts (the last good checkpoint is written by then).
 */
export function poisonedFrom(from: number, before: () => Promise<void> = async () => {}): PoolFactory {
  return async (ctx) => {
    const { createInProcessPool } = await import('../src/transports/in-process.js');
    const pool = await createInProcessPool(ctx);
    let poisoned = false;
    const wrapped: WorkerPool = {
      get size() {
        return pool.size;
      },
      publish: (v, w) => pool.publish(v, w),
      runStep: async (step, micro, hooks) => {
        if (step < from) return pool.runStep(step, micro, hooks);
        if (!poisoned) await before();
        poisoned = true;
        return pool.runStep(step, micro, { onResult: (m, r) => hooks.onResult(m, { ...r, gradient: r.gradient.fill(3e38) }) });
      },
      evaluate: (v, split, chunks) => pool.evaluate(v, split, chunks),
      stats: () => pool.stats(),
      close: (end) => pool.close(end),
    };
    return wrapped;
  };
}
