import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI, trainer } from './cli-helpers.js';

const run = (env: Record<string, string>, args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, stderr: r.stderr };
};

test('a TRAINER_* switch or warm-up count trainer does not understand is E_USAGE at start, in every command (false, off, abc, -5 were taken as on, or as no warm-up)', () => {
  for (const [name, value, accepted] of [
    ['TRAINER_WASM_SIMD', 'false', '0 (off) or 1 (on)'],
    ['TRAINER_WASM_SIMD', 'off', '0 (off) or 1 (on)'],
    ['TRAINER_GC_TUNING', 'no', '0 (off) or 1 (on)'],
    ['TRAINER_DEBUG', 'yes', '0 (off) or 1 (on)'],
    ['TRAINER_WARMUP_STEPS', 'abc', 'a whole number of warm-up gradients (0: none)'],
    ['TRAINER_WARMUP_STEPS', '-5', 'a whole number of warm-up gradients (0: none)'],
  ] as const) {
    for (const args of [['train', '-c', '/nonexistent.yaml'], ['worker', '--connect', '127.0.0.1:9', '--retry-for-ms', '300']]) {
      const r = run({ [name]: value }, args);
      assert.equal(r.stderr, `error E_USAGE: ${name} must be ${accepted}, got ${JSON.stringify(value)}\n`, `${name}=${value} ${args[0]}`);
      assert.equal(r.code, 2);
    }
  }
  // The help, which lists them and their values, and the version are shown all the same (they were E_USAGE too).
  for (const args of [['--help'], ['train', '--help'], ['worker', '-h'], ['--version']]) {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TRAINER_DEBUG: 'false' } });
    assert.deepEqual([r.status, r.stderr], [0, ''], args.join(' '));
    assert.match(r.stdout, args[0] === '--version' ? /^\d+\.\d+\.\d+\n$/ : /TRAINER_DEBUG/, args.join(' '));
  }
  // 0 and 1 are taken, as are an empty value (as if unset) and a whole warm-up count.
  const ok = run({ TRAINER_WASM_SIMD: '1', TRAINER_WASM_FMA: '0', TRAINER_DEBUG: '', TRAINER_WARMUP_STEPS: '2' }, ['train', '-c', '/nonexistent.yaml']);
  assert.equal(ok.stderr, 'error E_CONFIG: cannot read config file /nonexistent.yaml: no such file or folder (ENOENT)\n');
});

test("the help's list of environment variables has every one the README documents, and eval's --backend says how it picks a GPU without --gpu", async () => {
  const readme = await readFile(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  const documented = new Set(readme.match(/TRAINER_[A-Z_]+(?==)/g));
  const help = trainer(['train', '--help']).stdout.replace(/\s+/g, ' ');
  for (const name of ['TRAINER_WASM_FMA', 'TRAINER_WARMUP_STEPS', 'TRAINER_WEBGPU_ADAPTER', ...documented]) {
    if (name === 'TRAINER_BIN') continue; // the Slurm script's, not trainer's
    assert.ok(help.includes(name), `trainer train --help names ${name}`);
  }
  const evalHelp = trainer(['eval', '--help']).stdout.replace(/\s+/g, ' ');
  assert.match(evalHelp, /eval takes no --gpu: tensorflow-gpu computes on the first device CUDA_VISIBLE_DEVICES shows/);
});
