/**
 * One measured configuration of `npm run bench:scale`, in a process of its
 * own (so that its CPU time and RSS are the coordinator's alone): the real
 * coordinator (WsPool on 127.0.0.1, the real step loop's trainStep: dispatch,
 * OrderedReduction, SGD, publish) driving simulated workers in a second
 * process (sim-workers.ts). After `warmupSteps`, steps are measured until
 * both `minSteps` and `minSeconds` are reached, or `maxSteps` or `maxSeconds`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRunData } from '../../src/coordinator/run.js';
import { trainStep, type PlannedStep, type StepContext, type StepTiming, type TrainState } from '../../src/coordinator/train-loop.js';
import { splitMicroBatches } from '../../src/coordinator/plan.js';
import { resolveNormalization } from '../../src/data/normalize.js';
import { DEFAULT_CONFIG, type Config, type ModelName } from '../../src/shared/config.js';
import { mergeConfig } from '../../src/shared/config-values.js';
import { validateConfig } from '../../src/shared/config-validate.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { WsPool } from '../../src/transports/ws/pool.js';
import { arrayFrameBytes } from '../../src/transports/ws/protocol.js';
import { median } from '../stats.js';
import type { SimOptions, SimResult } from './sim-workers.js';

export interface RunSpec {
  label: string;
  model: ModelName;
  /** Connections: simulated machines (worker processes). */
  connections: number;
  /** Compute threads behind each connection (machine-level aggregation, protocol 3). */
  threads: number;
  /** train.microBatches: gradients the coordinator receives per step. */
  microBatches: number;
  /** Examples per micro-batch (only the size of a task's index list: the compute is simulated). */
  microBatchSize: number;
  /** Set when each task stands for a block of this many micro-batches summed at the machine (a design prototype). */
  block?: number;
  /** cluster.verify: the share of micro-batches also computed by a second worker and compared. */
  verify: number;
  /** Simulated compute time of one micro-batch on one thread, ms. */
  delayMs: number;
  warmupSteps: number;
  minSteps: number;
  minSeconds: number;
  maxSteps: number;
  maxSeconds: number;
  dataDir: string;
  runDir: string;
  spreadAddresses: boolean;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface RunResult {
  spec: RunSpec;
  modelSize: number;
  steps: number;
  stepsPerSec: number;
  /** Coordinator process CPU time (user + system, all its threads) per measured step, ms. */
  cpuMsPerStep: number;
  /** Of which in the kernel (system time): socket copies, page faults. */
  sysMsPerStep: number;
  /** Share of the measured wall time the coordinator's event loop was busy. */
  eventLoopBusy: number;
  bytesInPerStep: number;
  bytesOutPerStep: number;
  /** Gradient frames' worth of bytes received per step: above microBatches when slow tasks were run again elsewhere. */
  gradientsInPerStep: number;
  /** Wall time of a step. */
  stepMs: Spread;
  /** A step's wall time minus the compute time of its slowest worker thread. */
  outsideComputeMs: Spread;
  /** From the last result to the next weights published: reduction tail, SGD, publish. */
  afterLastResultMs: number;
  rssMB: number;
  maxRssMB: number;
  /** The simulated workers' process: CPU per measured step (approximate: its whole life over all steps), peak RSS. */
  simCpuMsPerStep: number;
  simMaxRssMB: number;
  /** Anything that went wrong while measuring: evictions. */
  problems: string[];
  /** Simulated workers whose socket ended without a clean close (at shutdown, when the coordinator cuts them). */
  simAbnormalCloses: number;
  /** 1-minute load average at the start and the end. */
  load: [number, number];
}

/** TRAINER_SCALE_DEBUG=1: phases and memory on stderr. */
const debug = process.env.TRAINER_SCALE_DEBUG === '1' ? (what: string) => {
  const m = process.memoryUsage();
  process.stderr.write(`[coordinator ${(performance.now() / 1000).toFixed(1)} s] ${what}: rss ${(m.rss / 2 ** 20).toFixed(0)} MB, heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MB, external ${(m.external / 2 ** 20).toFixed(0)} MB, arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)} MB\n`);
} : () => {};

const BENCH_JS = fileURLToPath(new URL('../bench-scale.js', import.meta.url));

function spread(xs: readonly number[]): Spread {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/** The simulated workers, in a child process; resolves with its report once every connection has ended. */
function startSim(o: SimOptions, token: string): { result: Promise<SimResult>; kill: () => void } {
  const child = spawn(process.execPath, [BENCH_JS, '--role', 'sim', '--spec', JSON.stringify({ ...o, token: null })], {
    env: { ...process.env, TRAINER_TOKEN: token },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const result = new Promise<SimResult>((resolve, reject) => {
    child.once('exit', (code, sig) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as SimResult);
      else reject(new Error(`simulated workers exited (${sig ?? code})`));
    });
  });
  return { result, kill: () => child.kill('SIGKILL') };
}

/** The data of every run (small: the simulated workers read none of it), for the coordinator and the simulated workers alike. */
export function scaleDataConfig(dataDir: string): Config {
  return validateConfig(mergeConfig(structuredClone(DEFAULT_CONFIG), { data: { source: 'synthetic', path: dataDir, synthetic: { trainSize: 1024, valSize: 64, seed: 1 } } }));
}

export async function runCoordinator(s: RunSpec): Promise<RunResult> {
  const load0 = loadavg()[0] as number;
  const config = validateConfig(
    mergeConfig(scaleDataConfig(s.dataDir), {
      run: { dir: s.runDir, name: 'scale', seed: 0 },
      model: { name: s.model },
      train: { epochs: 1, batchSize: s.microBatches * s.microBatchSize, microBatches: s.microBatches, lr: 0.01, momentum: 0 },
      backend: 'auto',
      cluster: {
        transport: 'ws',
        workers: s.connections,
        // Generous deadlines: a step of fc with 128 workers takes seconds on a loaded 2-core machine.
        stepTimeoutMs: 300_000,
        heartbeatMs: 5_000,
        handshakeTimeoutMs: 60_000,
        noWorkerTimeoutMs: 60_000,
        // All K connect at once (real workers refused here would retry with backoff).
        maxUnauthenticated: Math.max(64, 2 * s.connections),
        verify: s.verify,
      },
    }),
  );
  const model = getModel(s.model);
  debug('started');
  const data = await loadRunData(config);
  debug('data loaded');
  const token = randomBytes(24).toString('hex');
  const problems: string[] = [];
  const lines: string[] = [];
  let measuring = false;
  const pool = await WsPool.start(
    {
      config,
      model,
      data,
      normalization: resolveNormalization(config.data.normalize, data.train),
      log: (l) => lines.push(l),
      token,
      onEvent: (e) => {
        if (e.kind === 'evicted' && measuring) problems.push(`evicted ${e.worker}: ${e.code} ${e.reason}`);
      },
    },
    '127.0.0.1',
    0,
  );
  const sim = startSim(
    { url: pool.listening.url, token: null, count: s.connections, threads: s.threads, delayMs: s.delayMs, modelSize: model.size, spreadAddresses: s.spreadAddresses, dataDir: s.dataDir },
    token,
  );
  sim.result.catch(() => {});
  try {
    const joinTimer = setTimeout(() => sim.kill(), 120_000);
    await Promise.race([pool.waitForWorkers(s.connections), sim.result.then(() => Promise.reject(new Error('simulated workers ended before joining')))]);
    clearTimeout(joinTimer);
    debug(`${s.connections} workers ready`);

    // Only the marks and per-worker compute: a timing's results still hold their gradients.
    const timings: Pick<StepTiming, 'marks' | 'workers'>[] = [];
    const progress = { epoch: 0, stepInEpoch: 0, globalStep: 0, epochLossSum: 0, epochCorrect: 0, epochExamples: 0, epochTrainSec: 0, elapsedSec: 0 };
    const state: TrainState = { params: initParams(model, 0), sgd: { momentum: null }, ...progress };
    const ctx: StepContext = { config, pool, state, grad: new Float32Array(model.size), onStepTiming: (t) => void timings.push({ marks: t.marks, workers: t.workers }) };
    // The examples do not matter to simulated workers; any valid indices do.
    const B = config.train.batchSize;
    const plan = (step: number): PlannedStep => {
      const batch = new Int32Array(B);
      for (let i = 0; i < B; i++) batch[i] = (step * B + i) % data.train.count;
      return { size: B, micro: splitMicroBatches(batch, s.microBatches) };
    };
    await pool.publish(0, state.params);
    const step = async (n: number) => {
      const t0 = performance.now();
      await trainStep(ctx, plan(n), plan(n + 1), [t0, performance.now()]);
      debug(`step ${n}`);
    };
    let n = 0;
    for (; n < s.warmupSteps; n++) await step(n);

    measuring = true;
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const wire0 = pool.wireBytes();
    const first = timings.length;
    const t0 = performance.now();
    let steps = 0;
    for (;;) {
      await step(n++);
      steps++;
      const sec = (performance.now() - t0) / 1000;
      if ((steps >= s.minSteps && sec >= s.minSeconds) || steps >= s.maxSteps || sec >= s.maxSeconds) break;
    }
    const wallSec = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    const wire = pool.wireBytes();
    measuring = false;

    // Per step: wall time, and wall time minus its slowest worker thread's compute.
    const stepMs: number[] = [];
    const outside: number[] = [];
    const after: number[] = [];
    for (let i = Math.max(1, first); i < timings.length; i++) {
      const t = timings[i] as (typeof timings)[number];
      const prev = new Map((timings[i - 1] as (typeof timings)[number]).workers.map((w) => [w.worker, w.computeMs]));
      const slowest = Math.max(0, ...t.workers.map((w) => (w.computeMs - (prev.get(w.worker) ?? 0)) / s.threads));
      const wall = t.marks[4] - t.marks[0];
      stepMs.push(wall);
      outside.push(wall - slowest);
      after.push(t.marks[4] - t.marks[2]);
    }
    const rssMB = process.memoryUsage().rss / 2 ** 20;
    await pool.close();
    debug('pool closed');
    let ended: NodeJS.Timeout | undefined;
    const simResult = await Promise.race([sim.result, new Promise<never>((_, reject) => (ended = setTimeout(() => reject(new Error('simulated workers did not end')), 30_000)))]);
    clearTimeout(ended);
    debug('simulated workers ended');
    // A worker lost while measuring shows above as an eviction; sockets the coordinator cuts
    // while closing (it waits 50 ms for close handshakes) are no problem of the measurement.
    const totalSteps = n;
    return {
      spec: s,
      modelSize: model.size,
      steps,
      stepsPerSec: steps / wallSec,
      cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
      sysMsPerStep: cpu.system / 1000 / steps,
      eventLoopBusy: elu.utilization,
      bytesInPerStep: (wire.in - wire0.in) / steps,
      bytesOutPerStep: (wire.out - wire0.out) / steps,
      gradientsInPerStep: (wire.in - wire0.in) / steps / arrayFrameBytes(model.size),
      stepMs: spread(stepMs),
      outsideComputeMs: spread(outside),
      afterLastResultMs: median(after),
      rssMB,
      maxRssMB: process.resourceUsage().maxRSS / 1024,
      simCpuMsPerStep: simResult.cpuMs / totalSteps,
      simMaxRssMB: simResult.maxRssMB,
      simAbnormalCloses: simResult.abnormalCloses.length,
      problems,
      load: [load0, loadavg()[0] as number],
    };
  } catch (err) {
    sim.kill();
    await pool.close().catch(() => {});
    throw new Error(`${s.label}: ${(err as Error).message}; coordinator log: ${lines.slice(-5).join(' | ')}`);
  }
}

/** Where a run's temporary files go. */
export function runDirFor(work: string, label: string): string {
  return join(work, 'runs', label.replace(/\W+/g, '-'));
}
