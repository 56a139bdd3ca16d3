/**
 * `npm run bench:barrier`: what a step's barrier costs two compute threads, with nothing else of
 * trainer around them (no coordinator, no update, no board). Each thread loops on the CNN's
 * gradient of a micro-batch (MicroBatchComputer on wasm, new weights every --every micro-batches
 * as in a step), warmed up as the pool's threads are, and all of them measure the same wall-clock
 * window. Modes, alternating over --rounds rounds:
 *   free       2 threads of one process, never waiting for each other;
 *   barrier    the same meeting every --every micro-batches, sleeping in Atomics.wait as the pool's
 *              threads do between steps (the core halts);
 *   spin       the same barrier, the first to arrive spinning instead (its core never halts);
 *   processes  2 processes of one thread each, never waiting (what the bench's "pair" row is
 *              without trainer's step).
 * `barrier / free` is the price of the step's barrier itself: the first thread idles while the
 * other finishes (the cores' speeds differ from one moment to the next) and wakes from a halted
 * core; `spin / free` leaves out the halting; `processes / free` tells whether sharing one process
 * slows the compute at all. CPU time is each thread's own (Linux /proc/thread-self/schedstat).
 * No test runs this and CI does not need it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { TrainerError } from '../src/shared/errors.js';
import { machineBusySec } from './machine-load.js';
import { intOption, numberOption, parseOptions, runMain } from './options.js';
import { median } from './stats.js';

const SELF = fileURLToPath(import.meta.url);
const MODES = ['free', 'barrier', 'spin', 'processes'] as const;
type Mode = (typeof MODES)[number];
type Wait = 'none' | 'sleep' | 'spin';

interface ThreadSpec {
  /** Date.now() at which every thread opens its window (until then they compute freely, warm). */
  startAt: number;
  windowMs: number;
  microBatch: number;
  every: number;
  wait: Wait;
  threads: number;
}

interface ThreadResult {
  microBatches: number;
  /** Time inside the gradient calls. */
  computeMs: number;
  /** This thread's CPU time over the window; null where the system does not say. */
  cpuMs: number | null;
  /** How late it was ready after the window opened (ms): loading and warming up took longer than --start-s. */
  lateMs: number;
}

/** This thread's CPU time in ms (Linux), or null. */
function threadCpuMs(): number | null {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

/**
 * A reusable barrier for `n` threads on a shared [arrived, generation, done] cell; false once
 * any thread has ended its window (`done`), so that none waits for a thread that left.
 */
function barrierOn(cell: Int32Array, n: number, wait: Wait): () => boolean {
  return () => {
    if (Atomics.load(cell, 2) === 1) return false;
    const generation = Atomics.load(cell, 1);
    if (Atomics.add(cell, 0, 1) === n - 1) {
      Atomics.store(cell, 0, 0);
      Atomics.add(cell, 1, 1);
      Atomics.notify(cell, 1);
      return true;
    }
    while (Atomics.load(cell, 1) === generation) {
      if (Atomics.load(cell, 2) === 1) return false;
      // Bounded sleeps: a thread that ends its window wakes the others through `done` too.
      if (wait === 'sleep') Atomics.wait(cell, 1, generation, 50);
    }
    return true;
  };
}

async function computeThread(spec: ThreadSpec, cell: Int32Array | null): Promise<ThreadResult> {
  const { selectBackend } = await import('../src/worker/backend.js');
  const { MicroBatchComputer } = await import('../src/worker/gradient.js');
  const { getModel, initParams } = await import('../src/worker/model.js');
  const { ARTICLE_NORMALIZATION } = await import('../src/data/normalize.js');
  const { generateSynthetic } = await import('../src/data/synthetic.js');
  const { warmUp } = await import('../src/worker/warm-up.js');
  const { warmUpOver } = await import('../src/worker/kernels/v8-wasm-flags.js');
  await selectBackend('wasm', null);
  const model = getModel('net');
  const computer = new MicroBatchComputer(model, ARTICLE_NORMALIZATION, spec.microBatch);
  const data = generateSynthetic(6400, 1);
  warmUp(computer, data, [spec.microBatch]);
  warmUpOver(true);
  const flats = [initParams(model, 0), initParams(model, 1)];
  const out = new Float32Array(model.size);
  const indices = new Int32Array(spec.microBatch);
  let k = 0;
  const gradient = () => {
    const version = Math.floor(k / spec.every);
    for (let i = 0; i < indices.length; i++) indices[i] = (k * indices.length + i) % data.count;
    if (k % spec.every === 0) computer.stage(data, indices);
    computer.gradient({ version, flat: flats[version % 2] as Float32Array }, data, indices, out);
    k++;
  };
  while (Date.now() < spec.startAt) gradient();
  const lateMs = Date.now() - spec.startAt;
  const meet = cell && spec.wait !== 'none' ? barrierOn(cell, spec.threads, spec.wait) : null;
  const end = spec.startAt + spec.windowMs;
  const cpu0 = threadCpuMs();
  let microBatches = 0;
  let computeMs = 0;
  for (;;) {
    if (Date.now() >= end) break;
    if (meet && microBatches % spec.every === 0 && !meet()) break;
    const t0 = performance.now();
    gradient();
    computeMs += performance.now() - t0;
    microBatches++;
  }
  if (cell) {
    Atomics.store(cell, 2, 1);
    Atomics.notify(cell, 1);
  }
  const cpu1 = threadCpuMs();
  return { microBatches, computeMs, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, lateMs };
}

/** A child process: `spec.threads` compute threads; prints their results as one JSON line. */
async function childMain(spec: ThreadSpec): Promise<void> {
  const cell = new Int32Array(new SharedArrayBuffer(12));
  const results = await Promise.all(
    Array.from(
      { length: spec.threads },
      () =>
        new Promise<ThreadResult>((resolve, reject) => {
          const w = new Worker(SELF, { workerData: { spec, cell } });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

function runChild(spec: ThreadSpec, timeoutMs: number): Promise<ThreadResult[]> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [SELF, '--child', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as ThreadResult[]);
      else reject(new TrainerError('E_INTERNAL', `a bench child exited with ${code ?? signal}: ${err.trim().split('\n').pop() ?? ''}`));
    });
  });
}

interface ModeResult {
  /** Micro-batches a second, all threads together. */
  rate: number;
  /** Per micro-batch: time inside the gradient call, and CPU time (null where unknown). */
  computeMs: number;
  cpuMs: number | null;
  /** Cores the rest of the machine used over the window (null where unknown). */
  othersCores: number | null;
}

/** A round of a mode that measured nothing comparable: a thread was ready this late (ms) after the window opened. */
interface Late {
  lateMs: number;
}

const sleepUntil = (t: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, t - Date.now())));

async function runMode(mode: Mode, o: { startS: number; seconds: number; microBatch: number; every: number }): Promise<ModeResult | Late> {
  const base = { startAt: Date.now() + o.startS * 1000, windowMs: o.seconds * 1000, microBatch: o.microBatch, every: o.every };
  const timeoutMs = (o.startS + o.seconds) * 1000 + 60_000;
  const wait: Wait = mode === 'barrier' ? 'sleep' : mode === 'spin' ? 'spin' : 'none';
  // The machine's busy time over the window, less the threads' own: what else ran meanwhile.
  const busy = (async () => {
    await sleepUntil(base.startAt);
    const b0 = machineBusySec();
    await sleepUntil(base.startAt + base.windowMs);
    const b1 = machineBusySec();
    return b0 === null || b1 === null ? null : b1 - b0;
  })();
  const parts =
    mode === 'processes'
      ? await Promise.all([runChild({ ...base, wait, threads: 1 }, timeoutMs), runChild({ ...base, wait, threads: 1 }, timeoutMs)])
      : [await runChild({ ...base, wait, threads: 2 }, timeoutMs)];
  const all = parts.flat();
  // A thread that opened its window late measured less than the window, and not beside the others.
  const lateMs = Math.max(...all.map((r) => r.lateMs));
  if (lateMs > o.seconds * 50) return { lateMs };
  const n = all.reduce((s, r) => s + r.microBatches, 0);
  const cpuKnown = all.every((r) => r.cpuMs !== null);
  const cpuSum = all.reduce((s, r) => s + (r.cpuMs ?? 0), 0);
  const busySec = await busy;
  return {
    rate: n / o.seconds,
    computeMs: all.reduce((s, r) => s + r.computeMs, 0) / n,
    cpuMs: cpuKnown ? cpuSum / n : null,
    othersCores: busySec === null || !cpuKnown ? null : Math.max(0, (busySec - cpuSum / 1000) / o.seconds),
  };
}

const ABOUT = `npm run bench:barrier -- [options]: two compute threads on the CNN's gradients (wasm), free, meeting at a barrier
every --every micro-batches (sleeping or spinning), and as two processes; alternating rounds, medians`;

const OPTIONS = {
  rounds: { type: 'string', default: '5', help: 'rounds of the four modes' },
  seconds: { type: 'string', default: '4', help: 'measured seconds of each mode' },
  'start-s': { type: 'string', default: '6', arg: 'S', help: 'seconds for the threads to load and warm up before the window opens' },
  'micro-batch': { type: 'string', default: '16', help: 'examples per micro-batch (configs/cifar10.yaml: 64 in 4)' },
  every: { type: 'string', default: '2', help: 'micro-batches per thread between barriers (a step of 4 on 2 threads: 2)' },
  child: { type: 'string' },
} as const;

const spread = (xs: number[], digits = 2) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

async function main(): Promise<void> {
  const values = parseOptions(ABOUT, OPTIONS);
  if (values.child !== undefined) return childMain(JSON.parse(values.child) as ThreadSpec);
  const rounds = intOption('rounds', values.rounds);
  const o = {
    seconds: numberOption('seconds', values.seconds, { min: 0, exclusiveMin: true }),
    startS: numberOption('start-s', values['start-s'], { min: 0, exclusiveMin: true }),
    microBatch: intOption('micro-batch', values['micro-batch']),
    every: intOption('every', values.every),
  };
  console.log(`bench:barrier: ${rounds} rounds of ${MODES.join(', ')}; micro-batches of ${o.microBatch}, a barrier every ${o.every}; ${o.seconds} s each; node ${process.version}`);
  const byMode = new Map<Mode, (ModeResult | null)[]>(MODES.map((m) => [m, []]));
  let latest: Late | null = null;
  for (let r = 0; r < rounds; r++) {
    for (const mode of MODES) {
      const res = await runMode(mode, o);
      if ('lateMs' in res) {
        latest = res;
        byMode.get(mode)?.push(null);
        console.log(`round ${r + 1} ${mode}: not measured: a compute thread was ready ${(res.lateMs / 1000).toFixed(1)} s after the window opened`);
        continue;
      }
      byMode.get(mode)?.push(res);
      const others = res.othersCores === null ? '' : `; the rest of the machine ${res.othersCores.toFixed(2)} cores`;
      console.log(`round ${r + 1} ${mode}: ${res.rate.toFixed(0)} micro-batches/s, ${res.computeMs.toFixed(3)} ms computing and ${res.cpuMs?.toFixed(3) ?? '?'} ms CPU a micro-batch${others}`);
    }
  }
  const measured = (m: Mode) => (byMode.get(m) ?? []).filter((x): x is ModeResult => x !== null);
  const unmeasured = MODES.filter((m) => measured(m).length === 0);
  if (unmeasured.length > 0 && latest !== null) {
    throw new TrainerError('E_USAGE', `${unmeasured.join(', ')}: no round measured: a compute thread was ready ${(latest.lateMs / 1000).toFixed(1)} s after the window opened (loading and warming up took longer than --start-s ${o.startS}): raise --start-s`);
  }
  console.log('\n| mode (medians over rounds, min–max) | micro-batches/s | ms computing a micro-batch | ms CPU a micro-batch | rounds |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const m of MODES) {
    const rows = measured(m);
    const cpu = rows.map((x) => x.cpuMs).filter((x): x is number => x !== null);
    console.log(`| ${m} | ${spread(rows.map((x) => x.rate), 0)} | ${spread(rows.map((x) => x.computeMs), 3)} | ${cpu.length ? spread(cpu, 3) : '?'} | ${rows.length} |`);
  }
  // Within each round where both were measured: the machine's speed drifts between rounds.
  const ratio = (m: Mode) => {
    const free = byMode.get('free') ?? [];
    return (byMode.get(m) ?? []).flatMap((x, i) => (x && free[i] ? [x.rate / (free[i] as ModeResult).rate] : []));
  };
  console.log('\n| ratio within each round (median, min–max) | micro-batches/s |');
  console.log('| --- | ---: |');
  for (const m of ['barrier', 'spin', 'processes'] as const) {
    const xs = ratio(m);
    console.log(`| ${m} / free | ${xs.length ? spread(xs) : '?'} |`);
  }
}

if (isMainThread) {
  await runMain(main);
} else {
  const { spec, cell } = workerData as { spec: ThreadSpec; cell: Int32Array };
  parentPort?.postMessage(await computeThread(spec, cell));
}
