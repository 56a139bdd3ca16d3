/**
 * `npm run bench:scale`: how far one coordinator goes. A real coordinator
 * (WsPool and the step loop's trainStep) drives K simulated workers that
 * speak the real protocol over real sockets on 127.0.0.1 but replace the
 * gradient computation by a fixed delay and a precomputed gradient of the
 * model's real size (scale/sim-workers.ts), for K = 1, 2, 4, ... 256 (`fc` to
 * 128) and the models `net` (73 kB frames) and `fc` (15 MB), with
 * train.microBatches = K.
 * Each configuration runs in a process of its own (scale/coordinator.ts);
 * configurations alternate over --rounds rounds and medians are printed with
 * the spread over rounds. Then: runs at --design-k workers with machine-level
 * aggregation (K/T connections of T threads) and with one block sum per
 * machine (K/T tasks of T micro-batches' examples), the cost model fitted to all
 * runs (scale/cost-model.ts), and the worker counts at which the coordinator's
 * CPU or a 1/10/25/100 Gbit/s link stops scaling.
 *
 * Bounded: each run measures at most --max-seconds (after --warmup steps) and
 * is killed after --timeout-s; once --budget-min has passed, the remaining
 * runs are skipped and named. No test runs this and CI does not need it.
 *
 * Options: OPTIONS below (`--help` lists them with their defaults).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODELS, type ModelName } from '../src/shared/config.js';
import { reduceGradients } from '../src/coordinator/optimizer.js';
import { loadRunData } from '../src/coordinator/run.js';
import { arrayFrameBytes } from '../src/transports/ws/protocol.js';
import { getModel } from '../src/worker/model.js';
import { runCoordinator, runDirFor, scaleDataConfig, type RunResult, type RunSpec } from './scale/coordinator.js';
import { fitCostModel } from './scale/cost-model.js';
import { fmt, printBeyond, printFit, printModel, printSaturation, printTable, sig, type Row } from './scale/report.js';
import { runSimWorkers, type SimOptions } from './scale/sim-workers.js';
import { choiceOption, intOption, listOption, numberOption, parseOptions, runMain } from './options.js';
import { median } from './stats.js';

const SELF = fileURLToPath(import.meta.url);

/**
 * What failed in a child, from its stderr: the first error line (`error E_X: ...` as the scripts
 * print one, or an uncaught `SomeError: ...`; the simulated workers' process writes there too and
 * fails first), else the last line. The last line alone was Node's version banner after any
 * uncaught error: every failed run said only "failed: Node.js v20.20.2".
 */
function failureLine(stderr: string, fallback = 'failed'): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => /^(error E_[A-Z_]+:|[A-Za-z]*Error\b)/.test(l));
  return error?.replace(/^error /, '') ?? lines.filter((l) => !/^Node\.js v\d/.test(l)).pop() ?? fallback;
}

function runChild(spec: RunSpec, timeoutS: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [SELF, '--role', 'coordinator', '--spec', JSON.stringify(spec)],
      { timeout: timeoutS * 1000, killSignal: 'SIGKILL', maxBuffer: 16 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const last = stdout.trim().split('\n').pop() ?? '';
        if (!err && last.startsWith('{')) return resolve(JSON.parse(last) as RunResult);
        reject(new Error(err?.killed ? `killed after ${timeoutS} s` : failureLine(stderr, err?.message.split('\n')[0])));
      },
    );
  });
}

/** CPU ms per MB of one reduction pass (out = (out + p) / d, after out.fill(0)) over fc-sized arrays: the machine's yardstick now. */
function yardstickMsPerMB(): number {
  const n = getModel('fc').size;
  const out = new Float32Array(n);
  const p = new Float32Array(n).fill(1e-3);
  reduceGradients(out, [p], 2); // first touch of the pages
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < 10; i++) reduceGradients(out, [p], 2);
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000 / 10 / ((n * 4) / 1e6);
}

const ABOUT = `npm run bench:scale -- [options]: how far one coordinator goes. A real coordinator drives K simulated
workers (real protocol and sockets on 127.0.0.1, a fixed delay for the compute) for each K and model; each
configuration runs in a process of its own, --rounds times, and the cost model is fitted to all runs.`;

const OPTIONS = {
  // The script runs itself as its children: a measured coordinator, and the simulated workers.
  role: { type: 'string' },
  spec: { type: 'string' },
  models: { type: 'string', default: 'net,fc', arg: 'LIST', help: `models to run (${MODELS.join(', ')})` },
  ks: { type: 'string', default: '1,2,4,8,16,32,64,128,256', arg: 'LIST', help: 'worker counts K (fc up to --fc-max-k); train.microBatches = K' },
  'design-k': { type: 'string', default: '128', help: 'workers of the design runs (machines of --machine-threads threads, block sums)' },
  'delay-ms': { type: 'string', default: '20', arg: 'MS', help: 'simulated compute time of one micro-batch' },
  'micro-batch-size': { type: 'string', default: '16', help: 'examples per micro-batch' },
  rounds: { type: 'string', default: '2', help: 'rounds; configurations alternate and medians over rounds are printed' },
  warmup: { type: 'string', default: '2', help: 'steps before measuring' },
  'min-steps': { type: 'string', default: '5', help: 'measured steps at least (with --min-seconds)' },
  'min-seconds': { type: 'string', default: '3', arg: 'S', help: 'measured seconds at least (with --min-steps)' },
  'max-steps': { type: 'string', default: '200', help: 'measured steps at most' },
  'max-seconds': { type: 'string', default: '30', arg: 'S', help: 'measured seconds at most' },
  'timeout-s': { type: 'string', default: '240', arg: 'S', help: 'a run is killed after this long' },
  'budget-min': { type: 'string', default: '45', arg: 'MIN', help: 'after this long, the remaining runs are skipped and named' },
  'machine-threads': { type: 'string', default: '8', help: 'compute threads of a machine in the design runs' },
  'fc-max-k': { type: 'string', default: '128', help: 'largest K for fc' },
  'max-rss-mb': { type: 'string', default: '6000', arg: 'MB', help: "a K whose coordinator would pass this peak RSS (twice the last K's) is not run" },
  'compute-ms': { type: 'string', default: '10,100,1000', arg: 'LIST', help: 'micro-batch compute times the tables are given for' },
  verify: { type: 'string', default: '0', arg: 'P', help: 'cluster.verify: that share of micro-batches is computed twice and compared' },
  json: { type: 'string', arg: 'FILE', help: 'raw results to FILE (default: scale.json in the temporary folder)' },
  'no-spread': { type: 'boolean', help: 'all workers from 127.0.0.1 (default: one loopback address each)' },
} as const;

/** The measuring options as numbers: E_USAGE for any that is not what its use needs. */
function readOptions(v: ReturnType<typeof parseOptions<typeof OPTIONS>>) {
  return {
    models: listOption('models', v.models, (n, s) => choiceOption(n, s, MODELS)),
    ks: listOption('ks', v.ks, (n, s) => intOption(n, s)),
    designK: intOption('design-k', v['design-k']),
    delayMs: numberOption('delay-ms', v['delay-ms']),
    microBatchSize: intOption('micro-batch-size', v['micro-batch-size']),
    rounds: intOption('rounds', v.rounds),
    warmup: intOption('warmup', v.warmup, 0),
    minSteps: intOption('min-steps', v['min-steps']),
    minSeconds: numberOption('min-seconds', v['min-seconds']),
    maxSteps: intOption('max-steps', v['max-steps']),
    maxSeconds: numberOption('max-seconds', v['max-seconds'], { exclusiveMin: true }),
    timeoutS: numberOption('timeout-s', v['timeout-s'], { exclusiveMin: true }),
    budgetMin: numberOption('budget-min', v['budget-min'], { exclusiveMin: true }),
    machineThreads: intOption('machine-threads', v['machine-threads']),
    fcMaxK: intOption('fc-max-k', v['fc-max-k']),
    maxRssMB: numberOption('max-rss-mb', v['max-rss-mb'], { exclusiveMin: true }),
    computeMs: listOption('compute-ms', v['compute-ms'], (n, s) => numberOption(n, s, { exclusiveMin: true })),
    verify: numberOption('verify', v.verify, { max: 1 }),
  };
}

async function main(): Promise<void> {
  const values = parseOptions(ABOUT, OPTIONS);
  if (values.role === 'coordinator') {
    process.stdout.write(`${JSON.stringify(await runCoordinator(JSON.parse(values.spec as string) as RunSpec))}\n`);
    process.exit(0);
  }
  if (values.role === 'sim') {
    const o = JSON.parse(values.spec as string) as SimOptions;
    const r = await runSimWorkers({ ...o, token: process.env.TRAINER_TOKEN ?? null });
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  }

  const o = readOptions(values);
  const { models, ks, computeMs, designK } = o;
  const threads = o.machineThreads;
  const work = await mkdtemp(join(tmpdir(), 'trainer-scale-'));
  const dataDir = join(work, 'data');
  const base = {
    microBatchSize: o.microBatchSize,
    delayMs: o.delayMs,
    warmupSteps: o.warmup,
    minSteps: o.minSteps,
    minSeconds: o.minSeconds,
    maxSteps: o.maxSteps,
    maxSeconds: o.maxSeconds,
    dataDir,
    spreadAddresses: !values['no-spread'],
    verify: o.verify,
  };
  // The data set once, outside the timed runs.
  await loadRunData(scaleDataConfig(dataDir));

  const flat = (model: ModelName, k: number): Omit<RunSpec, 'runDir'> => ({ ...base, label: `${model} K=${k}`, model, connections: k, threads: 1, microBatches: k });
  const machines = (model: ModelName, k: number): Omit<RunSpec, 'runDir'> => ({ ...base, label: `${model} K=${k} as ${k / threads}x${threads}`, model, connections: k / threads, threads, microBatches: k });
  // A block sum per machine (not in the protocol yet): the coordinator then sees K/T workers, each
  // sending one gradient for a task of T micro-batches' examples, computed on T threads at once.
  const blocks = (model: ModelName, k: number): Omit<RunSpec, 'runDir'> => ({
    ...base,
    label: `${model} K=${k} as ${k / threads} block sums of ${threads}`,
    model,
    connections: k / threads,
    threads: 1,
    microBatches: k / threads,
    microBatchSize: base.microBatchSize * threads,
    block: threads,
  });
  const plan: Omit<RunSpec, 'runDir'>[] = [];
  // Verification needs a second worker to compare with.
  for (const k of ks) for (const model of models) if ((model !== 'fc' || k <= o.fcMaxK) && (base.verify === 0 || k > 1)) plan.push(flat(model, k));
  if (threads > 1 && designK % threads === 0 && designK > threads) {
    for (const model of models) if (model !== 'fc' || designK <= o.fcMaxK) plan.push(machines(model, designK), blocks(model, designK));
  }

  const cores = cpus().length;
  const yardstick = yardstickMsPerMB();
  console.log(
    `trainer bench:scale: ${models.join(', ')}; K = ${ks.join(', ')}; train.microBatches = K, ${base.microBatchSize} examples each; ` +
      `simulated compute ${base.delayMs} ms per micro-batch; cluster.verify ${base.verify}; ${o.rounds} rounds; ${cores} cores (${cpus()[0]?.model ?? '?'}), ${fmt(totalmem() / 2 ** 30)} GiB, load ${fmt(loadavg()[0] as number, 1)}; ` +
      `one reduction pass takes ${sig(yardstick)} CPU ms/MB here now`,
  );
  const t0 = Date.now();
  const budgetMs = o.budgetMin * 60_000;
  const rows = new Map<string, Row>();
  const skipped: string[] = [];
  /** Per model, the K at which flat runs stopped and why. */
  const stops = new Map<ModelName, string>();
  for (let round = 0; round < o.rounds; round++) {
    for (const p of plan) {
      const k = p.connections * p.threads;
      const stop = stops.get(p.model);
      if (stop && p.threads === 1 && k >= Number(stop.split(' ')[0])) continue;
      if (Date.now() - t0 > budgetMs) {
        skipped.push(`${p.label} (round ${round + 1})`);
        continue;
      }
      // Memory: the coordinator's RSS roughly doubles with K; skip what would pass the limit.
      const smaller = rows.get(`${p.model} ${k / 2}x1`)?.runs.map((r) => r.maxRssMB) ?? [];
      if (p.threads === 1 && smaller.length && 2 * Math.max(...smaller) > o.maxRssMB) {
        stops.set(p.model, `${k} (coordinator RSS at K=${k / 2} was ${fmt(Math.max(...smaller))} MB; twice that passes --max-rss-mb ${values['max-rss-mb']})`);
        continue;
      }
      const spec: RunSpec = { ...p, runDir: runDirFor(work, `${p.label} r${round}`) };
      const started = Date.now();
      try {
        const r = await runChild(spec, o.timeoutS);
        const key = `${p.model} ${p.connections}x${p.threads}${p.block ? ` b${p.block}` : ''}`;
        const row = rows.get(key) ?? { key, runs: [] };
        row.runs.push(r);
        rows.set(key, row);
        console.error(
          `[round ${round + 1}] ${p.label}: ${fmt(r.steps)} steps, ${sig(r.cpuMsPerStep)} CPU ms/step, ${sig(r.outsideComputeMs.median)} ms outside compute, ` +
            `${fmt((Date.now() - started) / 1000)} s, load ${fmt(r.load[0], 1)}→${fmt(r.load[1], 1)}${r.problems.length ? `; problems: ${r.problems.join('; ')}` : ''}`,
        );
      } catch (err) {
        console.error(`[round ${round + 1}] ${p.label}: failed: ${(err as Error).message}`);
        if (p.threads === 1) stops.set(p.model, `${k} (${(err as Error).message})`);
      }
    }
  }

  const all = [...rows.values()];
  for (const model of models) {
    printTable(`${model}: one worker per connection`, all.filter((r) => r.key.startsWith(`${model} `) && r.key.endsWith('x1')).sort((a, b) => (a.runs[0] as RunResult).spec.connections - (b.runs[0] as RunResult).spec.connections));
    const stop = stops.get(model);
    if (stop) console.log(`\n${model}: stopped at K = ${stop}`);
    const capped = model === 'fc' ? ks.filter((k) => k > o.fcMaxK) : [];
    const peak = (k: number) => median(rows.get(`${model} ${k}x1`)?.runs.map((r) => r.maxRssMB) ?? []);
    const top = o.fcMaxK;
    if (capped.length && rows.has(`fc ${top}x1`) && rows.has(`fc ${top / 2}x1`)) {
      const perWorker = (peak(top) - peak(top / 2)) / (top / 2);
      const at = Math.max(...capped);
      console.log(`\nfc: not run past K = ${top} (--fc-max-k): its coordinator's peak RSS grew by ${fmt(perWorker)} MB per worker, so K = ${at} would need about ${fmt((peak(top) + perWorker * (at - top)) / 1024, 1)} GB`);
    }
  }
  const design = all.filter((r) => (r.runs[0] as RunResult).spec.threads > 1 || (r.runs[0] as RunResult).spec.block);
  if (design.length) {
    const cmp: Row[] = [];
    for (const model of models) cmp.push(...all.filter((r) => r.key === `${model} ${designK}x1`), ...design.filter((r) => r.key.startsWith(`${model} `)));
    printTable(
      `Design at ${designK} workers: flat; ${designK / threads} machines × ${threads} threads (protocol 3: every micro-batch's gradient comes back); ` +
        `${designK / threads} machines sending one block sum of ${threads} micro-batches each (simulated: ${designK / threads} tasks of ${threads}× the examples)`,
      cmp,
    );
  }

  const obs = all.map((row) => {
    const r = row.runs[0] as RunResult;
    return { connections: r.spec.connections, gradients: r.spec.microBatches, frameMB: arrayFrameBytes(r.modelSize) / 1e6, cpuMs: median(row.runs.map((x) => x.cpuMsPerStep)) };
  });
  if (obs.length >= 3) {
    const m = fitCostModel(obs);
    printModel(m, obs.length, yardstick);
    printFit(m, all);
    printSaturation(m, models, threads, computeMs);
    printBeyond(m, models, threads, computeMs);
  }
  if (skipped.length) console.log(`\nSkipped after --budget-min ${values['budget-min']}: ${skipped.join(', ')}`);
  const jsonFile = values.json ?? join(work, 'scale.json');
  writeFileSync(jsonFile, JSON.stringify([...rows.values()], null, 1));
  console.log(
    `\nRaw results: ${jsonFile}; ${fmt((Date.now() - t0) / 60_000, 1)} min; load ${fmt(loadavg()[0] as number, 1)} at the end; ` +
      `one reduction pass ${sig(yardstickMsPerMB())} CPU ms/MB at the end (${sig(yardstick)} at the start)`,
  );
  if (!values.json) await rm(join(work, 'runs'), { recursive: true, force: true });
}

await runMain(main);
