/**
 * `npm run bench`: training throughput of the article's CNN (batch 64) in one
 * invocation, so that ratios compare runs made minutes apart on the same
 * (shared, noisy) machine:
 *   - the trainer in-process, with 1 and 2 worker threads (scaling efficiency,
 *     share of step time outside gradient computation, peak RSS);
 *   - PyTorch's reference (../shared/reference/torch_reference.py) with 1 and
 *     2 threads on the same data files, when `python3 -c "import torch"` works;
 *   - peak RSS with CIFAR-10-sized data (50,000 images) for 1 and 4 threads
 *     (with --memory).
 * Each configuration runs in its own child process, so peak RSS is its own.
 *
 * The ws-vs-threads ratio is the median over alternating pairs of runs
 * (--pairs, default 5): a single pair on a shared machine can be off by 10 %.
 *
 * Options: --images N (training images, default 6400), --epochs N (default 5;
 * the last epoch is measured), --micro-batches M (default 2), --pairs N,
 * --memory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { WorkerPool, WorkerStats } from '../src/transports/pool.js';
import { loadRunData, runTraining } from '../src/coordinator/run.js';
import type { PoolFactory } from '../src/transports/pool.js';
import { DEFAULT_CONFIG, mergeConfig, validateConfig, type Config } from '../src/shared/config.js';
import { createInProcessPool } from '../src/transports/in-process.js';
import { threadPoolFactory } from '../src/transports/threads/pool.js';
import { procsPoolFactory } from '../src/transports/ws/launch.js';
import { WsPool } from '../src/transports/ws/pool.js';
import { median } from './stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TORCH_REFERENCE = resolve(ROOT, '..', 'shared', 'reference', 'torch_reference.py');

interface ChildSpec {
  label: string;
  transport: 'local' | 'threads' | 'procs';
  threads: number;
  images: number;
  epochs: number;
  microBatches: number;
  dataDir: string;
  runDir: string;
  /** Only load the data and start the pool (memory measurement). */
  startOnly?: boolean;
  model?: 'net' | 'fc';
}

interface ChildResult {
  label: string;
  imagesPerSec: number;
  /** 1 − (compute time summed over workers) / (workers × wall time) in the measured epoch. */
  overheadShare: number;
  maxRssMB: number;
  /** Resident set size at the end of each epoch: flat when nothing leaks. */
  rssByEpochMB: number[];
  /** WebSocket transports: bytes on the wire per step (both directions) in the measured epoch. */
  wireBytesPerStep?: number;
  /** Per step in the measured epoch: ms in reduce, and ms not spent computing by the busiest worker (transfer, dispatch, reduce, update). */
  reduceMs?: number;
  commMs?: number;
  /** Peak RSS of each worker process (ws transports), read from /proc at the end of the last epoch. */
  workerPeakRssMB?: number[];
}

function configFor(s: ChildSpec): Config {
  return validateConfig(
    mergeConfig(structuredClone(DEFAULT_CONFIG), {
      run: { dir: s.runDir, name: s.label.replace(/\W+/g, '-'), seed: 0 },
      data: { source: 'synthetic', path: s.dataDir, synthetic: { trainSize: s.images, valSize: 500, seed: 1 } },
      model: { name: s.model ?? 'net' },
      train: { epochs: s.epochs, batchSize: 64, microBatches: s.microBatches, lr: 0.01, momentum: 0 },
      eval: { every: 1, batchSize: 500 },
      checkpoint: { every: 1000 },
      backend: 'wasm',
      cluster: { transport: s.transport, workers: s.threads },
    }),
  );
}

async function child(s: ChildSpec): Promise<ChildResult> {
  const config = configFor(s);
  const factory: PoolFactory =
    s.transport === 'local' ? createInProcessPool : s.transport === 'threads' ? threadPoolFactory() : procsPoolFactory({});
  const wire = () => (pool instanceof WsPool ? pool.wireBytes() : { in: 0, out: 0 });
  let wireBefore = { in: 0, out: 0 };
  let reduceMs = 0;
  let steps = 0;
  let pool: WorkerPool | undefined;
  if (s.startOnly) {
    const data = await loadRunData(config);
    const { getModel } = await import('../src/worker/model.js');
    const { resolveNormalization } = await import('../src/data/normalize.js');
    pool = await factory({ config, model: getModel('net'), data, normalization: resolveNormalization('auto', data.train), log: () => {} });
    await pool.close();
    return { label: s.label, imagesPerSec: 0, overheadShare: 0, maxRssMB: process.resourceUsage().maxRSS / 1024, rssByEpochMB: [] };
  }
  let before: WorkerStats[] = [];
  const rssByEpochMB: number[] = [];
  let measured = { imagesPerSec: 0, overheadShare: 0 };
  let extra: Pick<ChildResult, 'wireBytesPerStep' | 'reduceMs' | 'commMs'> = {};
  let workerPeakRssMB: number[] = [];
  await runTraining({
    config,
    resume: false,
    log: () => {},
    createPool: async (ctx) => (pool = await factory(ctx)),
    onStepTiming: (t) => {
      if (t.epoch !== s.epochs - 1) return;
      reduceMs += t.marks[3] - t.marks[2];
      steps++;
    },
    onEpoch: (m) => {
      rssByEpochMB.push(process.memoryUsage().rss / 2 ** 20);
      const after = (pool as WorkerPool).stats();
      if (m.epoch === s.epochs - 1) {
        before = after;
        wireBefore = wire();
      }
      if (m.epoch !== s.epochs) return;
      const w = wire();
      workerPeakRssMB = childPeakRssMB();
      const busiest = Math.max(...after.map((a) => a.computeMs - (before.find((b) => b.worker === a.worker)?.computeMs ?? 0)));
      const wallMsAll = (s.images / m.imagesPerSec) * 1000;
      extra = {
        wireBytesPerStep: (w.in + w.out - wireBefore.in - wireBefore.out) / steps,
        reduceMs: reduceMs / steps,
        commMs: (wallMsAll - busiest) / steps,
      };
      const computeMs = after.reduce((a, w) => a + w.computeMs, 0) - before.reduce((a, w) => a + w.computeMs, 0);
      const wallMs = (s.images / m.imagesPerSec) * 1000;
      measured = { imagesPerSec: m.imagesPerSec, overheadShare: 1 - computeMs / (s.threads * wallMs) };
    },
  });
  return {
    label: s.label,
    ...measured,
    ...extra,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    rssByEpochMB,
    ...(workerPeakRssMB.length ? { workerPeakRssMB } : {}),
  };
}

/** Peak RSS (VmHWM) of this process's child processes, on Linux; empty elsewhere. */
function childPeakRssMB(): number[] {
  const out: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
      if (kb > 0) out.push(kb / 1024);
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

function runChild(s: ChildSpec): ChildResult {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(s)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as ChildResult;
}

/** A python with torch: the one on PATH, or Debian's (python3-torch), which a pyenv shim may hide. */
function torchPython(): string | null {
  if (!existsSync(TORCH_REFERENCE)) return null;
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

function runTorch(py: string, dataDir: string, threads: number, epochs: number): { imagesPerSec: number; valAcc: number } {
  const out = execFileSync(py, [TORCH_REFERENCE, dataDir, '--epochs', String(epochs), '--threads', String(threads)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const r = JSON.parse(out.trim().split('\n').pop() as string) as { images_per_sec: number; val_acc: number };
  return { imagesPerSec: r.images_per_sec, valAcc: r.val_acc };
}

const fmt = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  tf.enableProdMode(); // no debug checks, no console banners
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      images: { type: 'string', default: '6400' },
      epochs: { type: 'string', default: '5' },
      'micro-batches': { type: 'string', default: '2' },
      pairs: { type: 'string', default: '5' },
      memory: { type: 'boolean', default: false },
    },
  });
  if (values.child) {
    process.stdout.write(`${JSON.stringify(await child(JSON.parse(values.child) as ChildSpec))}\n`);
    return;
  }
  const images = Number(values.images);
  const epochs = Number(values.epochs);
  const microBatches = Number(values['micro-batches']);
  const work = await mkdtemp(join(tmpdir(), 'trainer-bench-'));
  const dataDir = join(work, 'data');
  const base = { images, epochs, microBatches, dataDir, runDir: join(work, 'runs') };
  // Generate the data set once, outside the timed runs.
  const data = await loadRunData(configFor({ ...base, label: 'prep', transport: 'local', threads: 1 }));
  const torchDataDir = dirname(data.sourceDir);

  console.log(`trainer bench: model net, batch 64, ${microBatches} micro-batches, ${images} synthetic images, epoch ${epochs} of ${epochs} measured, backend wasm`);
  const rows: ChildResult[] = [];
  for (const spec of [
    { label: 'in-process', transport: 'local' as const, threads: 1 },
    { label: '1 thread', transport: 'threads' as const, threads: 1 },
    { label: '2 threads', transport: 'threads' as const, threads: 2 },
    { label: '2 ws worker processes', transport: 'procs' as const, threads: 2 },
  ]) {
    rows.push(runChild({ ...base, ...spec }));
  }
  const one = rows[1] as ChildResult;
  const two = rows[2] as ChildResult;
  console.log('\n| run | images/s | outside compute | peak RSS MB |\n| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.label} | ${fmt(r.imagesPerSec)} | ${fmt(r.overheadShare * 100, 1)} % | ${fmt(r.maxRssMB)} |`);
  console.log(`RSS after each epoch, 2 threads: ${two.rssByEpochMB.map((x) => fmt(x)).join(' / ')} MB`);
  const ws = rows[3] as ChildResult;
  // More pairs, each run right after the other, so that both see the same machine.
  const ratios = [ws.imagesPerSec / two.imagesPerSec];
  for (let i = 1; i < Number(values.pairs); i++) {
    const t = runChild({ ...base, label: `2 threads, pair ${i + 1}`, transport: 'threads', threads: 2 });
    const w = runChild({ ...base, label: `2 ws worker processes, pair ${i + 1}`, transport: 'procs', threads: 2 });
    ratios.push(w.imagesPerSec / t.imagesPerSec);
  }
  console.log(
    `2 ws worker processes / 2 threads: ${fmt(median(ratios), 2)}x, median of ${ratios.length} alternating pairs ` +
      `(${ratios.map((r) => fmt(r, 2)).join(', ')}); ${fmt((ws.wireBytesPerStep ?? 0) / 1e3, 1)} kB on the wire per step`,
  );
  console.log(`peak RSS, coordinator ${fmt(ws.maxRssMB)} MB, ws worker processes ${(ws.workerPeakRssMB ?? []).map((x) => `${fmt(x)} MB`).join(', ')}`);
  console.log(`\nscaling, 2 threads / 1 thread: ${fmt(two.imagesPerSec / one.imagesPerSec, 2)}x (efficiency ${fmt((two.imagesPerSec / one.imagesPerSec / 2) * 100, 0)} %)`);

  const py = torchPython();
  if (py) {
    const t1 = runTorch(py, torchDataDir, 1, epochs);
    const t2 = runTorch(py, torchDataDir, 2, epochs);
    console.log('\n| PyTorch CPU (same data files) | images/s | trainer / PyTorch |\n| --- | ---: | ---: |');
    console.log(`| 1 thread | ${fmt(t1.imagesPerSec)} | ${fmt(one.imagesPerSec / t1.imagesPerSec, 2)} |`);
    console.log(`| 2 threads | ${fmt(t2.imagesPerSec)} | ${fmt(two.imagesPerSec / t2.imagesPerSec, 2)} |`);
  } else {
    console.log('\nPyTorch reference skipped: python3 cannot import torch (apt-get install python3-torch) or ../shared/reference is absent');
  }

  if (values.memory) {
    // The fc model: 3.7 M parameters, 15 MB per gradient and per weights copy.
    const fc = runChild({ ...base, images: 1280, epochs: 3, label: 'fc, 2 threads', transport: 'threads', threads: 2, model: 'fc' });
    console.log(`\nfc model, 2 threads: ${fmt(fc.imagesPerSec)} images/s, peak RSS ${fmt(fc.maxRssMB)} MB, RSS after each epoch ${fc.rssByEpochMB.map((x) => fmt(x)).join(' / ')} MB`);
    const fcWs = runChild({ ...base, images: 1280, epochs: 3, label: 'fc, 2 ws processes', transport: 'procs', threads: 2, model: 'fc' });
    const mb = (fcWs.wireBytesPerStep ?? 0) / 1e6;
    console.log(
      `fc model, 2 ws worker processes: ${fmt(fcWs.imagesPerSec)} images/s; per step ${fmt(mb, 1)} MB on the wire, ` +
        `reduce ${fmt(fcWs.reduceMs ?? 0, 1)} ms, ${fmt(fcWs.commMs ?? 0, 1)} ms outside the busiest worker's compute ` +
        `(${fmt(mb / 1e3 / ((fcWs.commMs ?? 1) / 1e3), 2)} GB/s effective); peak RSS coordinator ${fmt(fcWs.maxRssMB)} MB, ` +
        `workers ${(fcWs.workerPeakRssMB ?? []).map((x) => `${fmt(x)} MB`).join(', ')}`,
    );
    console.log('\n| CIFAR-10-sized data (50,000 images), pool started | peak RSS MB |\n| --- | ---: |');
    for (const threads of [1, 4]) {
      const r = runChild({ ...base, images: 50_000, label: `memory ${threads}`, transport: 'threads', threads, microBatches: 4, startOnly: true });
      console.log(`| ${threads} thread${threads > 1 ? 's' : ''} | ${fmt(r.maxRssMB)} |`);
    }
  }
}

await main();
