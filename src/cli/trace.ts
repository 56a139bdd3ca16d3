/**
 * `trainer train --trace FILE`: a Chrome trace (the JSON object format that
 * Perfetto and chrome://tracing open) of where the time goes. The coordinator's
 * track has one `step` span per step, split into plan, dispatch-wait, reduce,
 * update and publish; each worker has a track with, per micro-batch, a
 * `transfer` span (handed over, until it starts), a `compute` span and a
 * `transfer` span back, then a `wait` span until the step's last result came
 * back.
 *
 * Worker threads report when they started and ended. A remote worker reports
 * how long it computed, so its compute span sits in the middle of the round
 * trip. A pool that gives no timing gets one compute span per worker and step,
 * drawn from the moment the step was dispatched.
 */
import { writeFile } from 'node:fs/promises';
import type { WorkerStats } from '../transports/pool.js';
import type { EpochMetrics } from '../coordinator/run-folder.js';
import type { StepTiming } from '../coordinator/train-loop.js';

export interface TraceEvent {
  name: string;
  ph: 'X' | 'M' | 'i';
  pid: number;
  tid: number;
  /** Microseconds from the start of the trace. */
  ts: number;
  dur?: number;
  cat?: string;
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
}

/** The coordinator's phases of a step, between consecutive StepTiming marks. */
export const STEP_PHASES = ['plan', 'dispatch-wait', 'reduce', 'update', 'publish'] as const;

const PID = 1;
const COORDINATOR_TID = 0;

export class TraceRecorder {
  private readonly events: TraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: PID, tid: COORDINATOR_TID, ts: 0, args: { name: 'trainer' } },
    { name: 'thread_name', ph: 'M', pid: PID, tid: COORDINATOR_TID, ts: 0, args: { name: 'coordinator' } },
  ];
  private readonly tids = new Map<string, number>();
  private readonly last = new Map<string, WorkerStats>();
  private origin: number | null = null;
  private lastStepEnd: number | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {}


  private span(name: string, tid: number, fromMs: number, toMs: number, args?: Record<string, unknown>): void {
    const ts = (fromMs - (this.origin ?? fromMs)) * 1000;
    this.events.push({ name, ph: 'X', pid: PID, tid, ts, dur: Math.max(0, (toMs - fromMs) * 1000), ...(args ? { args } : {}) });
  }

  private tidOf(worker: string): number {
    let tid = this.tids.get(worker);
    if (tid === undefined) {
      tid = this.tids.size + 1;
      this.tids.set(worker, tid);
      this.events.push({ name: 'thread_name', ph: 'M', pid: PID, tid, ts: 0, args: { name: `worker ${worker}` } });
    }
    return tid;
  }

  readonly onStepTiming = (t: StepTiming): void => {
    const [start, , dispatched, , , end] = t.marks;
    this.origin ??= start;
    this.span('step', COORDINATOR_TID, start, end, { epoch: t.epoch + 1, step: t.step });
    STEP_PHASES.forEach((name, i) => this.span(name, COORDINATOR_TID, t.marks[i] as number, t.marks[i + 1] as number));
    const sent = t.marks[1];
    if (t.results.length > 0 && t.results.every((r) => r.timing)) {
      this.timedResults(t, dispatched);
      return;
    }
    for (const w of t.workers) {
      const before = this.last.get(w.worker);
      this.last.set(w.worker, { ...w });
      const microBatches = w.microBatches - (before?.microBatches ?? 0);
      if (microBatches <= 0) continue;
      const tid = this.tidOf(w.worker);
      const computeMs = Math.max(0, w.computeMs - (before?.computeMs ?? 0));
      const computeEnd = Math.min(dispatched, sent + computeMs);
      const args = { step: t.step, microBatches, examples: w.examples - (before?.examples ?? 0), computeMs };
      this.span('compute', tid, sent, computeEnd, args);
      if (computeEnd < dispatched) this.span('wait', tid, computeEnd, dispatched, { step: t.step });
    }
    this.lastStepEnd = end;
  };

  /** Per micro-batch spans from the results' own timing. */
  private timedResults(t: StepTiming, dispatched: number): void {
    const lastEnd = new Map<number, number>();
    for (const r of t.results) {
      const timing = r.timing;
      if (!timing) continue;
      const tid = this.tidOf(r.worker);
      const args = { step: t.step, microBatches: 1, examples: r.count };
      this.span('transfer', tid, timing.sentMs, timing.startMs, { step: t.step, direction: 'to worker' });
      this.span('compute', tid, timing.startMs, timing.endMs, args);
      this.span('transfer', tid, timing.endMs, timing.receivedMs, { step: t.step, direction: 'to coordinator' });
      lastEnd.set(tid, Math.max(lastEnd.get(tid) ?? 0, timing.receivedMs));
    }
    for (const [tid, end] of lastEnd) if (end < dispatched) this.span('wait', tid, end, dispatched, { step: t.step });
    for (const w of t.workers) this.last.set(w.worker, { ...w });
    this.lastStepEnd = t.marks[5];
  }

  /** Marks the epoch end; the time since the last step is evaluation and metrics. */
  readonly onEpoch = (m: EpochMetrics): void => {
    const t = this.now();
    if (this.lastStepEnd !== null) this.span('evaluate', COORDINATOR_TID, this.lastStepEnd, t, { epoch: m.epoch });
    this.events.push({
      name: `epoch ${m.epoch}`,
      ph: 'i',
      s: 'g',
      pid: PID,
      tid: COORDINATOR_TID,
      ts: (t - (this.origin ?? t)) * 1000,
      args: { ...m },
    });
  };

  toJSON(): ChromeTrace {
    return { traceEvents: [...this.events], displayTimeUnit: 'ms' };
  }

  async write(file: string): Promise<void> {
    await writeFile(file, `${JSON.stringify(this.toJSON())}\n`);
  }
}
