// How the workers of a traced run shared its steps, and what finer sharing could still win: the
// figures behind docs/performance.md's "The barrier and the machine's noise", from any trace that
// `trainer train --trace FILE` (or `trainer coordinator --trace FILE`) wrote.
//   node dist/scripts/trace-balance.js TRACE.json [--from-step 200]
//
// Per step (from --from-step, to leave out V8's warm-up): how its micro-batches split between the
// workers; its compute span (first compute start to last compute end); the barrier's wait (how far
// apart the workers' last results came: the worker that finished first idles that long); the step
// boundary (a step's last compute end to the next step's first compute start: every worker idles);
// and the span the step's compute would take were it divisible without limit, each worker going at
// the speed it had in that step. The last is the most any finer sharing could win (more micro-batches,
// or a finished worker helping with another's: intra-op parallelism), before its own costs.
import { readFileSync } from 'node:fs';
import type { TraceEvent } from '../src/cli/trace.js';
import { mean, median, quantile } from './stats.js';

export interface Balance {
  steps: number;
  /** How many steps split their micro-batches how, e.g. "2/2" (per worker, most first). */
  splits: Record<string, number>;
  spanMs: number;
  /** The span of divisible work at each worker's own speed, mean over steps. */
  divisibleMs: number;
  /** How far apart the workers' last results of a step came: mean, median, 90th percentile. */
  waitMs: { mean: number; median: number; p90: number };
  /** A step's last compute end to the next step's first compute start: mean and median. */
  boundaryMs: { mean: number; median: number };
  /** One micro-batch's compute: 10th percentile, median, 90th percentile. */
  microBatchMs: { p10: number; median: number; p90: number };
}

/** The trace's events; a trace whose run was killed has no closing bracket yet (trace-file.ts). */
export function readTrace(text: string): TraceEvent[] {
  const body = text.trim();
  const parsed = JSON.parse(body.endsWith(']') ? body : `${body.replace(/,\s*$/, '')}]`) as TraceEvent[] | { traceEvents: TraceEvent[] };
  return Array.isArray(parsed) ? parsed : parsed.traceEvents;
}

/** The worker a track belongs to: its name without " (2)", a further track of the same worker. */
function workersByTrack(events: readonly TraceEvent[]): Map<number, string> {
  const names = new Map<number, string>();
  for (const e of events) {
    const name = e.args?.['name'];
    if (e.name === 'thread_name' && typeof name === 'string') names.set(e.tid, name.replace(/ \(\d+\)$/, ''));
  }
  return names;
}

export function balanceOf(events: readonly TraceEvent[], fromStep: number): Balance | null {
  const worker = workersByTrack(events);
  const byStep = new Map<number, Map<string, { start: number; end: number; computeUs: number; count: number }>>();
  const microBatches: number[] = [];
  for (const e of events) {
    const step = e.args?.['step'];
    if (e.name !== 'compute' || e.ph !== 'X' || typeof step !== 'number' || step < fromStep || e.dur === undefined) continue;
    const w = worker.get(e.tid) ?? String(e.tid);
    const perWorker = byStep.get(step) ?? new Map();
    byStep.set(step, perWorker);
    const own = perWorker.get(w) ?? { start: Infinity, end: -Infinity, computeUs: 0, count: 0 };
    perWorker.set(w, own);
    own.start = Math.min(own.start, e.ts);
    own.end = Math.max(own.end, e.ts + e.dur);
    own.computeUs += e.dur;
    own.count += Number(e.args?.['microBatches'] ?? 1);
    microBatches.push(e.dur / 1000);
  }
  if (byStep.size === 0) return null;
  const splits: Record<string, number> = {};
  const spans: number[] = [];
  const divisible: number[] = [];
  const waits: number[] = [];
  const boundaries: number[] = [];
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  let previous: { step: number; end: number } | null = null;
  for (const step of steps) {
    const parts = [...(byStep.get(step) as Map<string, { start: number; end: number; computeUs: number; count: number }>).values()];
    const split = parts.map((p) => p.count).sort((a, b) => b - a).join('/');
    splits[split] = (splits[split] ?? 0) + 1;
    const start = Math.min(...parts.map((p) => p.start));
    const ends = parts.map((p) => p.end);
    const end = Math.max(...ends);
    spans.push((end - start) / 1000);
    waits.push((end - Math.min(...ends)) / 1000);
    const total = parts.reduce((a, p) => a + p.count, 0);
    const perUs = parts.reduce((a, p) => a + p.count / p.computeUs, 0);
    divisible.push(total / perUs / 1000);
    if (previous !== null && previous.step === step - 1) boundaries.push((start - previous.end) / 1000);
    previous = { step, end };
  }
  return {
    steps: steps.length,
    splits,
    spanMs: mean(spans),
    divisibleMs: mean(divisible),
    waitMs: { mean: mean(waits), median: median(waits), p90: quantile(waits, 0.9) },
    boundaryMs: { mean: boundaries.length ? mean(boundaries) : NaN, median: boundaries.length ? median(boundaries) : NaN },
    microBatchMs: { p10: quantile(microBatches, 0.1), median: median(microBatches), p90: quantile(microBatches, 0.9) },
  };
}

export function balanceReport(b: Balance, fromStep: number): string {
  const ms = (x: number) => x.toFixed(3);
  const splits = Object.entries(b.splits)
    .sort((x, y) => y[1] - x[1])
    .map(([s, n]) => `${s} in ${n}`)
    .join(', ');
  const finer = b.spanMs / b.divisibleMs - 1;
  return [
    `steps from ${fromStep}: ${b.steps}; micro-batches per worker: ${splits}`,
    `a step's compute span: ${ms(b.spanMs)} ms on average`,
    `the workers' last results apart (the first to finish waits): mean ${ms(b.waitMs.mean)} ms, median ${ms(b.waitMs.median)}, 90th percentile ${ms(b.waitMs.p90)}`,
    `a step's last compute end to the next step's first compute start: mean ${ms(b.boundaryMs.mean)} ms, median ${ms(b.boundaryMs.median)}`,
    `a micro-batch's compute: 10th percentile ${ms(b.microBatchMs.p10)} ms, median ${ms(b.microBatchMs.median)}, 90th percentile ${ms(b.microBatchMs.p90)}`,
    `the span were each step's compute divisible without limit, each worker at its own speed in that step: ${ms(b.divisibleMs)} ms (finer sharing could win at most ${(finer * 100).toFixed(1)} % of the span)`,
  ].join('\n');
}

function main(argv: readonly string[]): void {
  const file = argv[0];
  const at = argv.indexOf('--from-step');
  const fromStep = at >= 0 ? Number(argv[at + 1]) : 200;
  if (file === undefined || file.startsWith('--') || !Number.isInteger(fromStep) || fromStep < 0) {
    console.error('usage: node dist/scripts/trace-balance.js TRACE.json [--from-step N (a whole number, 200 unless given)]');
    process.exit(2);
  }
  const balance = balanceOf(readTrace(readFileSync(file, 'utf8')), fromStep);
  if (balance === null) {
    console.error(`${file}: no compute spans from step ${fromStep} on (a shorter run? try --from-step 0)`);
    process.exit(1);
  }
  console.log(balanceReport(balance, fromStep));
}

if (process.argv[1]?.endsWith('trace-balance.js')) main(process.argv.slice(2));
