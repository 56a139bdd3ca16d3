/** Running the built CLI as a child process (pipes, never a terminal) on small synthetic runs. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function trainer(args: string[], cwd?: string): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, ...(cwd ? { cwd } : {}) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Writes DIR/c.yaml: a synthetic run named `name` under DIR/runs that trains in about a second. */
export async function smallConfigFile(dir: string, name = 'run', epochs = 2): Promise<string> {
  const file = join(dir, 'c.yaml');
  await writeFile(
    file,
    [
      `run: {name: ${name}, dir: ${JSON.stringify(join(dir, 'runs'))}, seed: 3}`,
      `data: {source: synthetic, path: ${JSON.stringify(join(dir, 'data'))}, synthetic: {trainSize: 320, valSize: 64, seed: 1}}`,
      `train: {epochs: ${epochs}, batchSize: 64, microBatches: 4, lr: 0.05, momentum: 0.9}`,
      'eval: {batchSize: 200}',
      'backend: wasm',
      '',
    ].join('\n'),
  );
  return file;
}


/** Runs each command line and checks it ends with exactly that stderr and exit code (default 2, a usage or config error). */
export function expectFailures(cases: readonly (readonly [string[], string, number?])[]): void {
  for (const [args, stderr, code = 2] of cases) {
    const r = trainer(args);
    assert.equal(r.stderr, stderr, args.join(' '));
    assert.equal(r.code, code, args.join(' '));
  }
}

/** Runs the CLI (`trainer train ...`) and sends SIGINT once the first epoch line is out; resolves with its exit code and output (stdout and stderr). */
export function trainUntilInterrupted(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return trainActingAtEpoch1(args, (child) => child.kill('SIGINT'));
}

/**
 * Runs the CLI (`trainer train ...`) with `env` added to the environment, calls `act` once the first
 * epoch line is out, and resolves with its exit code and output (stdout and stderr). Killed after 120 s.
 */
export function trainActingAtEpoch1(args: string[], act: (child: ChildProcess) => void, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    let acted = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const onData = (s: string) => {
      stderr += s;
      if (!acted && /Epoch 1,/.test(stderr)) {
        acted = true;
        act(child);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr });
    });
  });
}
