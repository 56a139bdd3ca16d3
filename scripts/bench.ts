/**
 * `npm run bench`: what users run, measured against PyTorch on the same files.
 *
 * Every trainer run is the shipped `configs/cifar10.yaml` set-up (the article's CNN, its batch,
 * micro-batches, learning rate and momentum), backend wasm, on a synthetic CIFAR-shaped set in
 * the real binary format, so that ../shared/reference/torch_reference.py reads the same files.
 * A round is: trainer with 1 and 2 worker threads and with 1 and 2 ws worker processes on 127.0.0.1;
 * two 1-thread runs started together (two processes that share nothing: what the machine gives a
 * second core at that moment, against which 2 threads are measured too);
 * PyTorch with 1 and 2 threads; the fully connected `fc` model on 2 threads against PyTorch's fc
 * with 1 and 2 threads, and with 1 thread whose OpenBLAS runs 2 of its own. Rounds alternate their order and ratios are taken within a round, then
 * the median over rounds is printed with the spread: this machine's speed drifts by up to 2x
 * within minutes, so figures of different runs do not compare, ratios of one round do.
 *
 * For trainer, each epoch's images/s as the run reports it: the first epoch, the first three
 * (warm-up included) and the steady state (epochs 3 to the last). PyTorch prints one figure over
 * all its epochs. Each run is a child process of its own (peak RSS is its own); each one notes
 * the CPU the rest of the machine used meanwhile. PyTorch runs with OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE unset and OPENBLAS_NUM_THREADS set (1, unless said), so that its thread count is
 * the cores it uses, and the bench says which BLAS it loaded: without OpenBLAS it runs the
 * reference BLAS and its `fc` figure means nothing.
 *
 * Options: OPTIONS below (`--help` lists them with their defaults).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '../src/worker/tf.js';
import { loadRunData, runTraining } from '../src/coordinator/run.js';
import { resolveConfig } from '../src/shared/config-file.js';
import type { Config } from '../src/shared/config.js';
import { createInProcessPool } from '../src/transports/in-process.js';
import type { PoolFactory, WorkerPool, WorkerStats } from '../src/transports/pool.js';
import { threadPoolFactory } from '../src/transports/threads/pool.js';
import { procsPoolFactory } from '../src/transports/ws/launch.js';
import { intOption, parseOptions, runMain } from './options.js';
import { machineBusySec } from './machine-load.js';
import { median } from './stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHIPPED_CONFIG = join(ROOT, 'configs', 'cifar10.yaml');
const TORCH_REFERENCE = resolve(ROOT, '..', 'shared', 'reference', 'torch_reference.py');

interface ChildSpec {
  label: string;
  transport: 'local' | 'threads' | 'procs';
  threads: number;
  images: number;
  epochs: number;
  dataDir: string;
  runDir: string;
  model?: 'net' | 'fc';
  /** A tuned variant's train.microBatches instead of the shipped one. */
  microBatches?: number;
  /** Only load the data and start the pool (memory measurement). */
  startOnly?: boolean;
}

interface ChildResult {
  label: string;
  /** Training images per epoch. */
  images: number;
  /** images/s of each epoch, as the run's epoch line reports it. */
  epochs: number[];
  /** Epoch training seconds. */
  epochSec: number[];
  /** 1 − (compute time summed over workers) / (workers × wall time), over the steady epochs. */
  overheadShare: number;
  maxRssMB: number;
  startupSec: number;
}

/** The shipped set-up on the bench's synthetic files. */
async function configFor(s: Pick<ChildSpec, 'label' | 'transport' | 'threads' | 'images' | 'epochs' | 'dataDir' | 'runDir' | 'model' | 'microBatches'>): Promise<Config> {
  return resolveConfig(SHIPPED_CONFIG, {
    // A folder per run: rounds repeat labels, and a run folder that holds a run is not reused.
    run: { dir: s.runDir, name: `${s.label.replace(/\W+/g, '-')}-${process.pid}`, seed: 0 },
    data: { source: 'synthetic', path: s.dataDir, download: false, classes: null, synthetic: { trainSize: s.images, valSize: 500, seed: 1 } },
    ...(s.model ? { model: { name: s.model } } : {}),
    train: { epochs: s.epochs, ...(s.microBatches ? { microBatches: s.microBatches } : {}) },
    eval: { every: 1000 },
    checkpoint: { every: 1000 },
    backend: 'wasm',
    cluster: { transport: s.transport, workers: s.threads },
  });
}

async function child(s: ChildSpec): Promise<ChildResult> {
  const t0 = performance.now();
  const config = await configFor(s);
  // Ctrl-C reaches this child, but not its ws worker processes (each leads a process group of its
  // own): dying by the signal left them retrying a gone coordinator for 10 s. Stopped as the CLI stops
  // a run instead: at the next step, the workers closed with the pool.
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench child ${s.label}: stopped by ${signal}\n`);
    process.exitCode = signal === 'SIGINT' ? 130 : 143;
    stop.abort();
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  const factory: PoolFactory =
    s.transport === 'local' ? createInProcessPool : s.transport === 'threads' ? threadPoolFactory() : procsPoolFactory({ signal: stop.signal });
  let pool: WorkerPool | undefined;
  if (s.startOnly) {
    const data = await loadRunData(config);
    const { getModel } = await import('../src/worker/model.js');
    const { resolveNormalization } = await import('../src/data/normalize.js');
    pool = await factory({ config, model: getModel(config.model.name), data, normalization: resolveNormalization('auto', data.train), log: () => {} });
    await pool.close();
    return { label: s.label, images: s.images, epochs: [], epochSec: [], overheadShare: 0, maxRssMB: process.resourceUsage().maxRSS / 1024, startupSec: 0 };
  }
  const epochs: number[] = [];
  const epochSec: number[] = [];
  const statsAt: WorkerStats[][] = [];
  let startupSec = 0;
  await runTraining({
    config,
    resume: false,
    signal: stop.signal,
    log: () => {},
    createPool: async (ctx) => {
      pool = await factory(ctx);
      startupSec = (performance.now() - t0) / 1000;
      statsAt.push(pool.stats());
      return pool;
    },
    onEpoch: (m) => {
      epochs.push(m.imagesPerSec);
      epochSec.push(s.images / m.imagesPerSec);
      statsAt.push((pool as WorkerPool).stats());
    },
  });
  // Over the steady epochs (3 to the last): the share of the workers' time not spent computing.
  const from = Math.min(2, epochs.length - 1);
  const computeMs = (at: WorkerStats[]) => at.reduce((a, w) => a + w.computeMs, 0);
  const wallMs = epochSec.slice(from).reduce((a, b) => a + b, 0) * 1000;
  const overheadShare = 1 - (computeMs(statsAt[statsAt.length - 1] ?? []) - computeMs(statsAt[from] ?? [])) / (s.threads * wallMs);
  return { label: s.label, images: s.images, epochs, epochSec, overheadShare, maxRssMB: process.resourceUsage().maxRSS / 1024, startupSec };
}

/** Runs `cmd` and returns its stdout with the CPU cores the rest of the machine used meanwhile. */
function measured(cmd: string, args: string[], env?: NodeJS.ProcessEnv): { out: string; othersCores: number | null } {
  const busy0 = machineBusySec();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26, ...(env ? { env } : {}) });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} exited with ${r.status ?? r.signal}`);
  return { out: r.stdout, othersCores: othersCoresSince(busy0, wall) };
}

/**
 * The cores the rest of the machine used over the last `wall` seconds, from the machine's busy time
 * when they began (`busy0`) less the children's CPU time meanwhile (this process's own is negligible).
 */
function othersCoresSince(busy0: number | null, wall: number): number | null {
  const busy1 = machineBusySec();
  const childCpu = childCpuSec();
  const mine = childCpu - lastChildCpu;
  lastChildCpu = childCpu;
  return busy0 === null || busy1 === null ? null : Math.max(0, (busy1 - busy0 - mine) / wall);
}

let lastChildCpu = 0;
/** CPU seconds of this process's finished children (cutime + cstime in /proc/self/stat). */
function childCpuSec(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

interface Run<T> {
  value: T;
  othersCores: number | null;
  load: number;
}

function runChild(s: ChildSpec): Run<ChildResult> {
  const { out, othersCores } = measured(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(s)]);
  return { value: JSON.parse(out.trim().split('\n').pop() as string) as ChildResult, othersCores, load: loadavg()[0] ?? 0 };
}

/** A child run started without waiting for it (runChild's, for runs side by side). */
function startChild(s: ChildSpec): Promise<ChildResult> {
  return new Promise((done, fail) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(s)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.on('error', fail);
    c.on('close', (code, signal) => {
      if (code !== 0) return fail(new Error(`bench child ${s.label} exited with ${code ?? signal}`));
      done(JSON.parse(out.trim().split('\n').pop() as string) as ChildResult);
    });
  });
}

/**
 * Two 1-thread runs started together, as one result: each epoch's images/s is the two runs' sum.
 * They share nothing (two processes, no step in common), so their sum against one thread alone is
 * what the machine gives a second core in that minute: on the 2-core development machine 1.96-2.12
 * in some half hours, while in others a micro-batch took 5-50 % longer whenever both cores
 * computed, in two processes as in one (docs/performance.md): a 2 threads / 1 thread ratio alone
 * cannot tell that from trainer's own cost. Their epochs
 * overlap within their start-ups' difference (a tenth of a second or two).
 */
async function runPair(s: ChildSpec): Promise<Run<ChildResult>> {
  const busy0 = machineBusySec();
  const t0 = performance.now();
  const [a, b] = await Promise.all([startChild({ ...s, label: `${s.label} a` }), startChild({ ...s, label: `${s.label} b` })]);
  const othersCores = othersCoresSince(busy0, (performance.now() - t0) / 1000);
  const epochs = a.epochs.map((x, i) => x + (b.epochs[i] ?? 0));
  const value: ChildResult = {
    label: s.label,
    images: a.images + b.images,
    epochs,
    epochSec: epochs.map((x) => (a.images + b.images) / x),
    overheadShare: (a.overheadShare + b.overheadShare) / 2,
    maxRssMB: a.maxRssMB + b.maxRssMB,
    startupSec: Math.max(a.startupSec, b.startupSec),
  };
  return { value, othersCores, load: loadavg()[0] ?? 0 };
}

/**
 * A python with torch: the one on PATH, or Debian's (python3-torch), which a pyenv shim may hide;
 * else, in a few words, what was tried and why not (the bench says so: its PyTorch rows and
 * ratios used to disappear without a word).
 */
function torchPython(): { py: string } | { missing: string } {
  if (!existsSync(TORCH_REFERENCE)) return { missing: `its reference script ${TORCH_REFERENCE} is not there (shared/reference, beside the repository)` };
  const tried: string[] = [];
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status === 0) return { py };
    tried.push(`${py}: ${r.error ? 'not found' : (r.stderr.trim().split('\n').pop() ?? `exit status ${r.status}`)}`);
  }
  return { missing: `not found (tried ${tried.join('; ')}; to install: apt-get install python3-torch libopenblas0-pthread, see README, Benchmark)` };
}

/**
 * PyTorch's environment: OpenBLAS's core type and cache size as the library finds them, not as
 * this machine may force them, and its own thread count `blasThreads`. OpenBLAS (pthreads build)
 * starts a thread per core by itself, besides the threads torch.set_num_threads gives ATen: left
 * alone, "PyTorch, 2 threads" ran 4 busy threads on 2 cores (net 4,338 images/s against 6,287
 * with OpenBLAS at 1; fc 1,436 against 3,998) and "1 thread" used both cores for its products.
 */
function torchEnv(blasThreads = 1): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['OPENBLAS_CORETYPE'];
  delete env['OPENBLAS_L2_SIZE'];
  env['OPENBLAS_NUM_THREADS'] = String(blasThreads);
  return env;
}

/** Which BLAS PyTorch computes with: its build's BLAS_INFO and the library it actually loaded. */
function torchBlas(py: string): { version: string; blasInfo: string; library: string } {
  const script = [
    'import re, torch',
    'torch.ones(64, 64) @ torch.ones(64, 64)',
    'libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if re.search(r"(blas|lapack|mkl)[^/]*\\.so", l)})',
    'info = re.search(r"BLAS_INFO=(\\w+)", torch.__config__.show())',
    'print(torch.__version__); print(info.group(1) if info else "?"); print(" ".join(libs) or "none")',
  ].join('\n');
  const out = execFileSync(py, ['-c', script], { encoding: 'utf8', env: torchEnv() }).trim().split('\n');
  return { version: out[0] ?? '?', blasInfo: out[1] ?? '?', library: out[2] ?? '?' };
}

/** torch_reference.py with `threads` ATen threads and OpenBLAS at `blasThreads`. */
function runTorch(py: string, dataDir: string, threads: number, epochs: number, model: 'net' | 'fc', blasThreads = 1): Run<number> {
  const args = [TORCH_REFERENCE, dataDir, '--epochs', String(epochs), '--threads', String(threads), '--model', model];
  const { out, othersCores } = measured(py, args, torchEnv(blasThreads));
  const r = JSON.parse(out.trim().split('\n').pop() as string) as { images_per_sec: number };
  return { value: r.images_per_sec, othersCores, load: loadavg()[0] ?? 0 };
}

const PAIR = 'two 1-thread runs at once';

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Images/s over epochs [from, to) of a run: images over their summed time. */
function rateOver(r: ChildResult, from: number, to: number): number {
  const sec = r.epochSec.slice(from, to);
  return sec.length > 0 ? (sec.length * r.images) / sum(sec) : 0;
}

const steady = (r: ChildResult) => rateOver(r, Math.min(2, r.epochs.length - 1), r.epochs.length);
const firstThree = (r: ChildResult) => rateOver(r, 0, Math.min(3, r.epochs.length));

/** "median (min–max)" of a list. */
function spread(xs: readonly number[], d = 2): string {
  if (xs.length === 0) return '-';
  return `${fmt(median(xs), d)} (${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)})`;
}

const ABOUT = `npm run bench -- [options]: configs/cifar10.yaml as shipped (backend wasm, synthetic CIFAR-shaped images)
with 1 and 2 worker threads, 1 and 2 ws worker processes and the fc model, against PyTorch on the same files;
medians and spreads over rounds, ratios within a round. See README, Benchmark.`;

const OPTIONS = {
  // A run in a process of its own: the script runs itself.
  child: { type: 'string' },
  rounds: { type: 'string', default: '5', help: 'rounds; runs alternate their order and ratios are taken within a round' },
  images: { type: 'string', default: '6400', help: 'synthetic training images (PyTorch reads the same files)' },
  epochs: { type: 'string', default: '5', help: 'epochs of each net run (steady state: epochs 3 to the last)' },
  'fc-images': { type: 'string', default: '1280', help: "training images of trainer's fc run (3 epochs)" },
  'micro-batches': { type: 'string', arg: 'M', help: 'adds "2 threads, M micro-batches" (a tuned variant)' },
  'no-torch': { type: 'boolean', help: 'no PyTorch runs' },
  memory: { type: 'boolean', help: 'also peak RSS with CIFAR-10-sized data (50,000 images), 1 and 4 threads' },
} as const;

async function main(): Promise<void> {
  tf.enableProdMode(); // no debug checks, no console banners
  const values = parseOptions(ABOUT, OPTIONS);
  if (values.child) {
    process.stdout.write(`${JSON.stringify(await child(JSON.parse(values.child) as ChildSpec))}\n`);
    return;
  }
  const rounds = intOption('rounds', values.rounds);
  const images = intOption('images', values.images);
  const epochs = intOption('epochs', values.epochs);
  const fcImages = intOption('fc-images', values['fc-images']);
  const tuned = values['micro-batches'] === undefined ? undefined : intOption('micro-batches', values['micro-batches']);
  const fcEpochs = 3;
  const work = await mkdtemp(join(tmpdir(), 'trainer-bench-'));
  // The data set and the run folders (20-35 MB) go with the bench however it ends. A Ctrl-C or a
  // kill is handled once the run in progress returns (spawnSync blocks the event loop); Ctrl-C
  // reaches that run's child too (the terminal's process group), which ends it.
  const stop = (signal: NodeJS.Signals) => {
    rmSync(work, { recursive: true, force: true });
    process.stderr.write(`bench: stopped by ${signal}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    await bench({ rounds, images, epochs, fcImages, fcEpochs, tuned, torch: !values['no-torch'], memory: values.memory }, work);
  } finally {
    // A Ctrl-C that ended the run in progress is handled while this waits: the bench says it stopped.
    await rm(work, { recursive: true, force: true });
    process.off('SIGINT', stop).off('SIGTERM', stop);
  }
}

interface BenchOptions {
  rounds: number;
  images: number;
  epochs: number;
  fcImages: number;
  fcEpochs: number;
  tuned: number | undefined;
  torch: boolean;
  memory: boolean;
}

/** The bench's runs and tables, with its data and run folders under `work`. */
async function bench({ rounds, images, epochs, fcImages, fcEpochs, tuned, torch: withTorch, memory }: BenchOptions, work: string): Promise<void> {
  const dataDir = join(work, 'data');
  const base = { images, epochs, dataDir, runDir: join(work, 'runs') };
  // Generate the data set once, outside the timed runs.
  const shipped = await configFor({ ...base, label: 'prep', transport: 'local', threads: 1 });
  // The other runs' set-ups, checked now rather than by a child after minutes of runs.
  await configFor({ ...base, images: fcImages, epochs: fcEpochs, label: 'fc', transport: 'threads', threads: 2, model: 'fc' });
  if (tuned) await configFor({ ...base, label: 'tuned', transport: 'threads', threads: 2, microBatches: tuned });
  const data = await loadRunData(shipped);
  const torchDataDir = dirname(data.sourceDir);
  const pytorch = withTorch ? torchPython() : { missing: 'not run (--no-torch)' };
  const py = 'py' in pytorch ? pytorch.py : null;

  console.log(
    `trainer bench, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: configs/cifar10.yaml as shipped (model ${shipped.model.name}, ` +
      `batch ${shipped.train.batchSize} in ${shipped.train.microBatches} micro-batches, lr ${shipped.train.lr}, momentum ${shipped.train.momentum}), ` +
      `backend wasm, ${images} synthetic images, ${epochs} epochs; fc: ${fcImages} images, ${fcEpochs} epochs; ${rounds} rounds; node ${process.version}`,
  );
  if ('missing' in pytorch) console.log(`PyTorch: ${pytorch.missing}; its rows and ratios are skipped`);
  if (py) {
    const blas = torchBlas(py);
    const openblas = /openblas/i.test(blas.library);
    console.log(`PyTorch ${blas.version} (${py}), BLAS_INFO=${blas.blasInfo}, loaded: ${blas.library}${openblas ? '' : '  <-- not OpenBLAS: the reference BLAS, fc figures mean nothing (apt-get install libopenblas0-pthread)'}`);
  }

  type Row = { label: string; run: () => Run<ChildResult> | Run<number> | Promise<Run<ChildResult>> };
  const rows: Row[] = [
    { label: '1 thread', run: () => runChild({ ...base, label: '1 thread', transport: 'threads', threads: 1 }) },
    { label: '2 threads', run: () => runChild({ ...base, label: '2 threads', transport: 'threads', threads: 2 }) },
    { label: PAIR, run: () => runPair({ ...base, label: 'pair', transport: 'threads', threads: 1 }) },
    { label: '2 ws worker processes', run: () => runChild({ ...base, label: '2 ws', transport: 'procs', threads: 2 }) },
    // One worker process: the coordinator has the other core to itself, as on a cluster where it runs apart from the workers.
    { label: '1 ws worker process', run: () => runChild({ ...base, label: '1 ws', transport: 'procs', threads: 1 }) },
    ...(tuned ? [{ label: `2 threads, ${tuned} micro-batches`, run: () => runChild({ ...base, label: 'tuned', transport: 'threads' as const, threads: 2, microBatches: tuned }) }] : []),
    { label: 'fc, 2 threads', run: () => runChild({ ...base, images: fcImages, epochs: fcEpochs, label: 'fc 2 threads', transport: 'threads', threads: 2, model: 'fc' }) },
    ...(py
      ? [
          { label: 'PyTorch, 1 thread', run: () => runTorch(py, torchDataDir, 1, epochs, 'net') },
          { label: 'PyTorch, 2 threads', run: () => runTorch(py, torchDataDir, 2, epochs, 'net') },
          // PyTorch's fc reads the same files (all of them): it trains on `images` images, not fcImages.
          { label: 'PyTorch fc, 1 thread', run: () => runTorch(py, torchDataDir, 1, fcEpochs, 'fc') },
          { label: 'PyTorch fc, 2 threads', run: () => runTorch(py, torchDataDir, 2, fcEpochs, 'fc') },
          // fc's time is matrix products: one ATen thread with OpenBLAS's own 2 is its best use of 2 cores.
          { label: 'PyTorch fc, 1 thread, OpenBLAS 2 threads', run: () => runTorch(py, torchDataDir, 1, fcEpochs, 'fc', 2) },
        ]
      : []),
  ];
  const results = new Map<string, (Run<ChildResult> | Run<number>)[]>(rows.map((r) => [r.label, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? rows : [...rows].reverse();
    for (const row of order) results.get(row.label)?.push(await row.run());
    process.stderr.write(`round ${round + 1} of ${rounds} done\n`);
  }
  const trainer = (label: string) => (results.get(label) ?? []).map((r) => r.value as ChildResult);
  const torch = (label: string) => (results.get(label) ?? []).map((r) => r.value as number);
  const others = [...results.values()].flat().map((r) => r.othersCores ?? 0);
  const loads = [...results.values()].flat().map((r) => r.load);

  console.log('\n| run (medians over rounds, min–max) | epoch 1 | epochs 1–3 | steady state | epoch 1 / steady | outside compute | start-up s | peak RSS MB |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const rs = trainer(row.label);
    if (!rs[0] || typeof rs[0] !== 'object') continue;
    console.log(
      `| ${row.label} | ${spread(rs.map((r) => r.epochs[0] ?? 0), 0)} | ${spread(rs.map(firstThree), 0)} | ${spread(rs.map(steady), 0)} | ` +
        `${spread(rs.map((r) => (r.epochs[0] ?? 0) / steady(r)))} | ${fmt(median(rs.map((r) => r.overheadShare * 100)), 1)} % | ` +
        `${fmt(median(rs.map((r) => r.startupSec)), 1)} | ${fmt(median(rs.map((r) => r.maxRssMB)))} |`,
    );
  }
  if (py) {
    console.log('\n| PyTorch CPU, same files (medians, min–max) | images/s over all its epochs |\n| --- | ---: |');
    for (const label of ['PyTorch, 1 thread', 'PyTorch, 2 threads', 'PyTorch fc, 1 thread', 'PyTorch fc, 2 threads', 'PyTorch fc, 1 thread, OpenBLAS 2 threads']) {
      console.log(`| ${label} | ${spread(torch(label), 0)} |`);
    }
  }

  const perRound = (f: (i: number) => number) => Array.from({ length: rounds }, (_, i) => f(i)).filter((x) => Number.isFinite(x) && x > 0);
  const t1 = trainer('1 thread');
  const t2 = trainer('2 threads');
  const pair = trainer(PAIR);
  const ws = trainer('2 ws worker processes');
  const ws1 = trainer('1 ws worker process');
  const fc = trainer('fc, 2 threads');
  const ratio = (label: string, xs: number[], goal: string) => console.log(`${label.padEnd(58)} ${spread(xs).padEnd(22)} ${goal}`);
  console.log(`\nratios within each round: median (min–max) over ${rounds} rounds`);
  ratio('2 threads / 1 thread, steady state', perRound((i) => steady(t2[i]!) / steady(t1[i]!)), '(goal >= 1.85)');
  ratio('two 1-thread runs at once / 1 thread, steady state', perRound((i) => steady(pair[i]!) / steady(t1[i]!)), "(the machine's own, for any two processes)");
  ratio('2 threads / two 1-thread runs at once, steady state', perRound((i) => steady(t2[i]!) / steady(pair[i]!)), '(against two processes that share nothing)');
  ratio('epoch 1 / steady state, 1 thread', perRound((i) => (t1[i]!.epochs[0] ?? 0) / steady(t1[i]!)), '(goal >= 0.85)');
  ratio('epoch 1 / steady state, 2 threads', perRound((i) => (t2[i]!.epochs[0] ?? 0) / steady(t2[i]!)), '(goal >= 0.85)');
  ratio('2 ws worker processes / 2 threads, steady state', perRound((i) => steady(ws[i]!) / steady(t2[i]!)), '(goal >= 0.95)');
  ratio('1 ws worker process / 1 thread, steady state', perRound((i) => steady(ws1[i]!) / steady(t1[i]!)), '(the coordinator on a core of its own)');
  if (py) {
    const p1 = torch('PyTorch, 1 thread');
    const p2 = torch('PyTorch, 2 threads');
    const pf1 = torch('PyTorch fc, 1 thread');
    const pf2 = torch('PyTorch fc, 2 threads');
    const pfb = torch('PyTorch fc, 1 thread, OpenBLAS 2 threads');
    ratio('1 thread / PyTorch 1 thread, steady state', perRound((i) => steady(t1[i]!) / p1[i]!), '');
    ratio('2 threads / PyTorch 2 threads, steady state', perRound((i) => steady(t2[i]!) / p2[i]!), '(goal >= 1.3)');
    ratio('2 threads / PyTorch 2 threads, first three epochs', perRound((i) => firstThree(t2[i]!) / p2[i]!), '(goal >= 1.1)');
    ratio('fc 2 threads / PyTorch fc at its best on 2 cores', perRound((i) => steady(fc[i]!) / Math.max(pf1[i]!, pf2[i]!, pfb[i]!)), '(goal >= 0.3)');
  }
  console.log(
    `\nmachine: the rest of it used ${spread(others)} cores during the runs (median, min–max); load average ${spread(loads)}. ` +
      'Figures drift between rounds with the machine; compare ratios.',
  );

  if (memory) {
    console.log('\n| CIFAR-10-sized data (50,000 images), pool started | peak RSS MB |\n| --- | ---: |');
    for (const threads of [1, 4]) {
      const r = runChild({ ...base, images: 50_000, label: `memory ${threads}`, transport: 'threads', threads, startOnly: true });
      console.log(`| ${threads} thread${threads > 1 ? 's' : ''} | ${fmt(r.value.maxRssMB)} |`);
    }
  }
}

await runMain(main);
