/**
 * `trainer train --trace FILE`: a Chrome trace (the JSON object format that
 * Perfetto and chrome://tracing open) of where the time goes. The coordinator's
 * track has one `step` span per step, split into plan, dispatch-wait, reduce,
 * update and publish; each worker has a track with a `compute` span per step
 * (its compute time in that step, from the pool's per-worker counters) and a
 * `wait` span until the step's last result came back.
 *
 * Workers report how long they computed, not when they started, so a worker's
 * compute span is drawn from the moment the step was dispatched: exact for its
 * length, approximate for its position.
 */
import { writeFile } from 'node:fs/promises';
import type { WorkerStats } from '../coordinator/pool.js';
import type { EpochMetrics, StepTiming } from '../coordinator/train-loop.js';

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
