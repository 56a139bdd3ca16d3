import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('../../scripts/bench.js', import.meta.url));
const BENCH_SCALE = fileURLToPath(new URL('../../scripts/bench-scale.js', import.meta.url));
const BENCH_WEBGPU = fileURLToPath(new URL('../../scripts/bench-webgpu.js', import.meta.url));

/** Runs a bench script with its temporary folders under a fresh TMPDIR; returns what it printed and what it left there. */
function run(script: string, args: string[]): { code: number | null; stdout: string; stderr: string; left: string[] } {
  const tmp = mkdtempSync(join(tmpdir(), 'trainer-bench-cli-'));
  try {
    // A bench the old code started anyway must not run for long.
    const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TMPDIR: tmp } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, left: readdirSync(tmp) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

test('bench --help lists every option with its default, one line each, and exits 0', () => {
  const r = run(BENCH, ['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const line of [/^ {2}--rounds N +.*\(default 5\)$/m, /^ {2}--images N +.*\(default 6400\)$/m, /^ {2}--epochs N +.*\(default 5\)$/m, /^ {2}--fc-images N +.*\(default 1280\)$/m, /^ {2}--micro-batches M +\S/m, /^ {2}--no-torch +\S/m, /^ {2}--memory +\S/m, /^ {2}--help +\S/m]) {
    assert.match(r.stdout, line);
  }
  assert.doesNotMatch(r.stdout, /--child/, 'the option the script gives its own children is not listed');
});

test('bench:scale --help lists every option with its default, one line each, and exits 0', () => {
  const r = run(BENCH_SCALE, ['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const flag of ['models', 'ks', 'design-k', 'delay-ms', 'micro-batch-size', 'rounds', 'warmup', 'min-steps', 'min-seconds', 'max-steps', 'max-seconds', 'timeout-s', 'budget-min', 'machine-threads', 'fc-max-k', 'max-rss-mb', 'compute-ms', 'verify']) {
    assert.match(r.stdout, new RegExp(`^ {2}--${flag} [A-Z]+ +.*\\(default [^)]+\\)$`, 'm'), flag);
  }
  assert.match(r.stdout, /^ {2}--rounds N +.*\(default 2\)$/m);
  assert.doesNotMatch(r.stdout, /--role|--spec/, 'the options the script gives its own children are not listed');
});

const usage = (line: string) => ({ code: 2, stderr: `error E_USAGE: ${line} (see --help)\n`, stdout: '', left: [] });

test('bench --rounds abc is one line error E_USAGE and exit 2, before anything runs', () => {
  const r = run(BENCH, ['--rounds', 'abc']);
  assert.deepEqual(r, usage('--rounds must be a positive integer, got "abc"'));
});

test('bench --epochs 0 is one line error E_USAGE and exit 2, before anything runs', () => {
  const r = run(BENCH, ['--epochs', '0']);
  assert.deepEqual(r, usage('--epochs must be a positive integer, got "0"'));
});

test("bench's other failures are one line error E_CODE with the TrainerError's exit status, no stack trace", () => {
  const r = run(BENCH, ['--images', '3']);
  assert.deepEqual({ code: r.code, stderr: r.stderr, stdout: r.stdout }, { code: 2, stderr: 'error E_CONFIG: data.synthetic.trainSize must be an integer of at least 5, got 3\n', stdout: '' });
});

test('bench leaves no temporary folder behind when it fails after making one', () => {
  const r = run(BENCH, ['--images', '3']);
  assert.match(r.stderr, /^error E_CONFIG: /);
  assert.deepEqual(r.left, []);
});

test('a small bench runs every row and ratio, two 1-thread runs at once among them, and leaves nothing behind', () => {
  const r = run(BENCH, ['--rounds', '1', '--images', '320', '--epochs', '3', '--fc-images', '64', '--no-torch']);
  assert.equal(r.code, 0, r.stderr);
  for (const label of ['1 thread', '2 threads', 'two 1-thread runs at once', '2 ws worker processes', '1 ws worker process', 'fc, 2 threads']) {
    // Every column a figure: a run that failed to report would print "-" or NaN.
    assert.match(r.stdout, new RegExp(`^\\| ${label} \\|( [\\d,.]+( \\([\\d,.]+–[\\d,.]+\\))?( %)? \\|){7}$`, 'm'), label);
  }
  for (const ratio of ['2 threads / 1 thread', 'two 1-thread runs at once / 1 thread', '2 threads / two 1-thread runs at once', '2 ws worker processes / 2 threads']) {
    assert.match(r.stdout, new RegExp(`^${ratio}, steady state +\\d+\\.\\d\\d \\(`, 'm'), ratio);
  }
  assert.deepEqual(r.left, []);
});

test('bench:scale --rounds abc is one line error E_USAGE and exit 2, before anything runs', () => {
  const r = run(BENCH_SCALE, ['--rounds', 'abc']);
  assert.deepEqual(r, usage('--rounds must be a positive integer, got "abc"'));
});

/** The pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so the fields after its last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

test("Ctrl-C of a bench run on ws worker processes ends those processes with it (they lead process groups of their own: Ctrl-C missed them, and they retried a gone coordinator for 10 s)", { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'trainer-bench-stop-'));
  const spec = { images: 640, epochs: 500, dataDir: join(tmp, 'data'), runDir: join(tmp, 'runs'), label: '2 ws', transport: 'procs', threads: 2 };
  const bench = spawn(process.execPath, [BENCH, '--child', JSON.stringify(spec)], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
  let stderr = '';
  bench.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
  try {
    let workers: number[] = [];
    for (let i = 0; i < 1200 && workers.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      workers = childrenOf(bench.pid as number);
    }
    assert.equal(workers.length, 2, `the run's two worker processes: ${stderr}`);
    await new Promise((r) => setTimeout(r, 1000));
    bench.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /^bench child 2 ws: stopped by SIGINT$/m);
    const until = Date.now() + 5000;
    while (workers.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(workers.filter(alive), [], 'worker processes still running 5 s after the bench stopped');
  } finally {
    bench.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
});

const BENCH_BARRIER = fileURLToPath(new URL('../../scripts/bench-barrier.js', import.meta.url));

test('bench:barrier --help lists every option with its default, one line each, and exits 0', () => {
  const r = run(BENCH_BARRIER, ['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  for (const line of [/^ {2}--rounds N +.*\(default 5\)$/m, /^ {2}--seconds N +.*\(default 4\)$/m, /^ {2}--start-s S +.*\(default 6\)$/m, /^ {2}--micro-batch N +.*\(default 16\)$/m, /^ {2}--every N +.*\(default 2\)$/m]) {
    assert.match(r.stdout, line);
  }
  assert.doesNotMatch(r.stdout, /--child/, 'the option the script gives its own children is not listed');
});

test('bench:barrier --every 0 is one line error E_USAGE and exit 2, before anything runs', () => {
  const r = run(BENCH_BARRIER, ['--every', '0']);
  assert.deepEqual(r, usage('--every must be a positive integer, got "0"'));
});

test('bench:barrier says so when its threads were not ready before the window opened, instead of a rate over a window they did not measure', () => {
  const r = run(BENCH_BARRIER, ['--rounds', '1', '--seconds', '0.2', '--start-s', '0.01']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^error E_USAGE: free, barrier, spin, processes: no round measured: a compute thread was ready \d+\.\d s after the window opened \(loading and warming up took longer than --start-s 0\.01\): raise --start-s\n$/);
  assert.match(r.stdout, /^round 1 free: not measured: a compute thread was ready \d+\.\d s after the window opened$/m);
  assert.doesNotMatch(r.stdout, /micro-batches\/s/);
});

test('bench:webgpu --help lists its options with their defaults; a bad --reps, --batches or --gpu is one line E_USAGE and exit 2, before any backend loads', () => {
  const help = run(BENCH_WEBGPU, ['--help']);
  assert.equal(help.code, 0, help.stderr);
  for (const line of [/^ {2}--gpu N +\S/m, /^ {2}--batches LIST +.*\(default 16,64,256,1024\)$/m, /^ {2}--reps N +.*\(default 7\)$/m]) assert.match(help.stdout, line);
  assert.deepEqual(run(BENCH_WEBGPU, ['--reps', '0']), usage('--reps must be a positive integer, got "0"'));
  assert.deepEqual(run(BENCH_WEBGPU, ['--batches', '16,x']), usage('--batches item must be a positive integer, got "x"'));
  assert.deepEqual(run(BENCH_WEBGPU, ['--gpu', 'x']), usage('--gpu must be a non-negative integer, got "x"'));
});
