/**
 * `trainer train --trace FILE`: a Chrome trace (the Trace Event Format that
 * Perfetto and chrome://tracing open; trace-file.ts writes it) of where the time goes. The coordinator's
 * track has one `step` span per step, split into plan, dispatch-wait, reduce,
 * update and publish. Each worker has a track with, per micro-batch, a
 * `compute` span, then a `wait` span until the step's last result came back,
 * and a track of its transfers: a `transfer` span to the worker (handed over,
 * until it starts computing) and one back.
 *
 * Spans on one track must nest or follow each other: viewers draw partly
 * overlapping ones garbled. A worker holding two micro-batches has the second
 * handed over while the first computes, and a remote worker's compute spans
 * are estimates that may overlap, so spans go to the first track of their
 * worker and kind (compute or transfer) where they fit after the last one, and
 * a further track (`worker W transfers (2)`) opens only when none does.
 *
 * Worker threads report when they started and ended. A remote worker reports
 * when it started by its own clock and how long it computed: its span sits
 * there when that fits the round trip (a worker on this machine, or one whose
 * clock agrees), otherwise in the middle of the round trip. A pool that gives
 * no timing gets one compute span per worker and step, drawn from the moment
 * the step was dispatched.
 *
 * Each event goes to its sink as soon as it is placed (a TraceFile writes it as the run goes):
 * the recorder keeps only its tracks, a few per worker, however long the run.
 */
import { open, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fsFaultText } from '../shared/atomic-file.js';
import { TrainerError } from '../shared/errors.js';
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

/** Where a recorder's events go, in the order it places them. */
export interface TraceSink {
  append(event: TraceEvent): void;
}

/** The coordinator's phases of a step, between consecutive StepTiming marks ('update': the reduction's last pass with the SGD update). */
export const STEP_PHASES = ['plan', 'dispatch-wait', 'update', 'publish'] as const;

const PID = 1;
const COORDINATOR_TID = 0;

export class TraceRecorder {
  /** Per worker and kind, its tracks and where each one's last span ends. */
  private readonly lanes = new Map<string, { tid: number; lastEnd: number }[]>();
  private nextTid = 1;
  private readonly last = new Map<string, WorkerStats>();
  private origin: number | null = null;
  private lastStepEnd: number | null = null;

  constructor(
    private readonly sink: TraceSink,
    private readonly now: () => number = () => performance.now(),
  ) {
    sink.append({ name: 'process_name', ph: 'M', pid: PID, tid: COORDINATOR_TID, ts: 0, args: { name: 'trainer' } });
    sink.append({ name: 'thread_name', ph: 'M', pid: PID, tid: COORDINATOR_TID, ts: 0, args: { name: 'coordinator' } });
  }

  /** Workers' tracks and workers it keeps for the next step's spans: what it holds, whatever the run's length. */
  held(): { tracks: number; workers: number } {
    let tracks = 0;
    for (const l of this.lanes.values()) tracks += l.length;
    return { tracks, workers: this.last.size };
  }

  private span(name: string, tid: number, fromMs: number, toMs: number, args?: Record<string, unknown>): void {
    const ts = (fromMs - (this.origin ?? fromMs)) * 1000;
    this.sink.append({ name, ph: 'X', pid: PID, tid, ts, dur: Math.max(0, (toMs - fromMs) * 1000), ...(args ? { args } : {}) });
  }

  /** A span on the first of `worker`'s tracks of `kind` where it fits after the last one, opening a track if none does. */
  private workerSpan(worker: string, kind: 'compute' | 'transfer', name: string, fromMs: number, toMs: number, args?: Record<string, unknown>): void {
    const key = `${kind} ${worker}`;
    const lanes = this.lanes.get(key) ?? [];
    this.lanes.set(key, lanes);
    const end = Math.max(fromMs, toMs);
    let lane = lanes.find((l) => l.lastEnd <= fromMs);
    if (!lane) {
      lane = { tid: this.nextTid++, lastEnd: -Infinity };
      lanes.push(lane);
      const base = kind === 'compute' ? `worker ${worker}` : `worker ${worker} transfers`;
      this.sink.append({ name: 'thread_name', ph: 'M', pid: PID, tid: lane.tid, ts: 0, args: { name: lanes.length === 1 ? base : `${base} (${lanes.length})` } });
    }
    lane.lastEnd = end;
    this.span(name, lane.tid, fromMs, end, args);
  }

  readonly onStepTiming = (t: StepTiming): void => {
    const [start, , dispatched, , end] = t.marks;
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
      const computeMs = Math.max(0, w.computeMs - (before?.computeMs ?? 0));
      const computeEnd = Math.min(dispatched, sent + computeMs);
      const args = { step: t.step, microBatches, examples: w.examples - (before?.examples ?? 0), computeMs };
      this.workerSpan(w.worker, 'compute', 'compute', sent, computeEnd, args);
      if (computeEnd < dispatched) this.workerSpan(w.worker, 'compute', 'wait', computeEnd, dispatched, { step: t.step });
    }
    this.lastStepEnd = end;
  };

  /** Per micro-batch spans from the results' own timing, placed in time order. */
  private timedResults(t: StepTiming, dispatched: number): void {
    type Span = { worker: string; kind: 'compute' | 'transfer'; name: string; from: number; to: number; args: Record<string, unknown> };
    const spans: Span[] = [];
    const lastBack = new Map<string, number>();
    for (const r of t.results) {
      const timing = r.timing;
      if (!timing) continue;
      const w = r.worker;
      spans.push(
        { worker: w, kind: 'transfer', name: 'transfer', from: timing.sentMs, to: timing.startMs, args: { step: t.step, direction: 'to worker' } },
        { worker: w, kind: 'compute', name: 'compute', from: timing.startMs, to: timing.endMs, args: { step: t.step, microBatches: 1, examples: r.count } },
        { worker: w, kind: 'transfer', name: 'transfer', from: timing.endMs, to: timing.receivedMs, args: { step: t.step, direction: 'to coordinator' } },
      );
      lastBack.set(w, Math.max(lastBack.get(w) ?? 0, timing.receivedMs));
    }
    for (const [w, end] of lastBack) if (end < dispatched) spans.push({ worker: w, kind: 'compute', name: 'wait', from: end, to: dispatched, args: { step: t.step } });
    spans.sort((a, b) => a.from - b.from || a.to - b.to);
    for (const s of spans) this.workerSpan(s.worker, s.kind, s.name, s.from, s.to, s.args);
    for (const w of t.workers) this.last.set(w.worker, { ...w });
    this.lastStepEnd = t.marks[4];
  }

  /** Marks the epoch end; the time since the last step is evaluation and metrics. */
  readonly onEpoch = (m: EpochMetrics): void => {
    const t = this.now();
    if (this.lastStepEnd !== null) this.span('evaluate', COORDINATOR_TID, this.lastStepEnd, t, { epoch: m.epoch });
    this.sink.append({
      name: `epoch ${m.epoch}`,
      ph: 'i',
      s: 'g',
      pid: PID,
      tid: COORDINATOR_TID,
      ts: (t - (this.origin ?? t)) * 1000,
      args: { ...m },
    });
  };
}

/**
 * `--trace FILE` checked before training, so that a mistyped path does not surface only after
 * the data loaded: FILE is no folder, nor a FIFO, socket or device (the trace is written as the
 * run goes: opening a FIFO waited for ever for a reader), and a file can be created beside it
 * (tried: permission bits do not tell, e.g. under /proc or on a read-only mount for root). An
 * existing file is replaced only when it is a trace (isTraceHead): `--trace config.yaml`, a slip
 * of the shell's completion, emptied the config the run was about to read.
 * Returns its absolute path; the file itself is replaced once the run's folder is claimed.
 */
export async function checkTraceFile(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const target = resolve(file);
  const st = await stat(target).catch(() => null);
  if (st?.isDirectory()) throw new TrainerError('E_USAGE', `--trace ${file}: is a folder; name a file`);
  if (st && !st.isFile()) {
    const what = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device';
    throw new TrainerError('E_USAGE', `--trace ${file}: is ${what}, not a file; name a file`);
  }
  if (st && st.size > 0 && !isTraceHead(await readHead(target))) {
    throw new TrainerError('E_USAGE', `--trace ${file}: exists and is not a trace: a trace does not replace it (name another file)`);
  }
  const probe = join(dirname(target), `.${basename(target)}.${process.pid}.probe`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (err) {
    throw new TrainerError('E_USAGE', `--trace ${file}: cannot write it: ${fsFaultText(err)}`);
  }
  await unlink(probe).catch(() => {});
  return target;
}

/** The first bytes of `file`, as text ('' when it cannot be read: the probe or the write says why). */
async function readHead(file: string): Promise<string> {
  const fh = await open(file, 'r').catch(() => null);
  if (!fh) return '';
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.toString('utf8', 0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Whether a file starting with `head` is a trace: the Trace Event Format's array form (trace-file.ts
 * writes `[` then events, or `]`; a run killed mid-write leaves the events without it), its first
 * event within the head (every event has a "ph"), or its object form (`{"traceEvents": ...`, which
 * other tools and earlier versions wrote). A config, a checkpoint, a source file or a JSON list of
 * something else starts otherwise.
 */
export function isTraceHead(head: string): boolean {
  if (head === '' || /^\s*\[\s*(\]|$)/.test(head) || /^\s*\{\s*"traceEvents"\s*:/.test(head)) return true;
  return /^\s*\[\s*\{/.test(head) && /"ph"\s*:/.test(head);
}
