/**
 * What the live dashboard shows, kept up to date from the step loop's
 * callbacks (onStep, onEpoch, onStepTiming): no access to the pool needed, so
 * any coordinator (in-process, threads, processes, WebSocket) can feed it.
 * The pool can also be named as the source of the worker table: a WebSocket
 * pool (`setWorkerSource`) adds each worker's address, backend and last
 * heartbeat and lists workers as soon as they are ready, before their first
 * micro-batch; any other pool (`setStatsSource`) lists its threads as soon as
 * they started.
 *
 * The loss curve is each step's own loss (not the epoch's running mean, which
 * restarts at every epoch and draws a sawtooth), each point the mean of the
 * same number of steps: 1, then 2, 4... as the run grows past
 * MAX_LOSS_POINTS, so it always covers the whole run at one resolution.
 *
 * Read-only by construction: a snapshot is a copy, and nothing in it comes
 * from the config (so never the token).
 */
import { workerImagesPerSec, type WorkerStats } from '../transports/pool.js';
import type { StepInfo, StepTiming } from '../coordinator/train-loop.js';
import type { EpochMetrics } from '../coordinator/run-folder.js';
import type { RunEnd, RunHistory } from '../coordinator/run.js';
import type { WorkerInfo } from '../transports/ws/pool.js';
import { smooth, stepWidths } from '../report/smooth.js';
import { MAX_STEP_POINTS } from '../report/step-points.js';

export interface WorkerStatus extends WorkerStats {
  /** Images per second while computing, all the worker's threads at once (workerImagesPerSec). */
  imagesPerSec: number;
  /** ms since the worker last finished a micro-batch; null if it never did. */
  lastWorkMsAgo: number | null;
  /** Remote address:port (WebSocket workers), else null. */
  address: string | null;
  /** ms since the last frame from the worker, heartbeats included (WebSocket workers), else null. */
  lastHeartbeatMsAgo: number | null;
}

export interface DashboardStatus {
  run: string;
  epoch: number;
  epochs: number;
  step: number;
  stepInEpoch: number;
  stepsInEpoch: number;
  workersAlive: number;
  /** Workers the run is set up for (cluster.workers). */
  workersWanted: number;
  imagesPerSec: number;
  /** Running loss of the epoch so far. */
  loss: number | null;
  /** The per-step loss, smoothed across epochs (the curve's last value). */
  smoothedLoss: number | null;
  /** [global step, that step's loss] (neighbours averaged once past MAX_LOSS_POINTS), in step order. */
  lossCurve: [number, number][];
  epochsDone: Pick<EpochMetrics, 'epoch' | 'step' | 'trainLoss' | 'runningAcc' | 'valLoss' | 'trainAcc' | 'valAcc' | 'imagesPerSec'>[];
  /**
   * Seconds to the end of the run at the pace so far (evaluation included); null until two steps are
   * done. During the final evaluation (`evaluating`): what is left of it if an earlier evaluation was
   * timed, else null.
   */
  etaSec: number | null;
  /** Every step is done and the run's final evaluation (and checkpoint) is under way. */
  evaluating: boolean;
  workers: WorkerStatus[];
  /** The backend kinds of the workers listed; more than one: the weights hash will not match a one-backend run. */
  backends: string[];
  finished: boolean;
  /** How the run ended, once it has (the page says so, and the server closes soon after); null while it runs. */
  ended: RunEnd | null;
  uptimeSec: number;
}

/** A page that asked for its status this recently is open (it asks once a second). */
const PAGE_OPEN_MS = 2_500;

/** The per-step chart's own bound (step-points.ts), so that the chart draws this curve as it is. */
export const MAX_LOSS_POINTS = MAX_STEP_POINTS;

export class DashboardState {
  private last: StepInfo | null = null;
  /** [last step, mean loss] of `width` steps each. */
  private curve: [number, number][] = [];
  private width = 1;
  private pending = { step: 0, lossSum: 0, steps: 0 };
  private firstStep: { at: number; step: number } | null = null;
  /** When the last step of an epoch ended, and how long the latest evaluated epoch's end (evaluation, checkpoint) took. */
  private epochEndAt: number | null = null;
  private evalSec: number | null = null;
  private statsSource: (() => WorkerStats[]) | null = null;
  private readonly epochsDone: DashboardStatus['epochsDone'] = [];
  private workers: WorkerStats[] = [];
  private readonly lastWork = new Map<string, { microBatches: number; at: number }>();
  private readonly started: number;
  private workerSource: (() => WorkerInfo[]) | null = null;
  /** Where a resumed run starts, until its first step. */
  private resumedAt: { epoch: number; step: number } | null = null;
  finished = false;
  ended: RunEnd | null = null;
  /** When a page last asked for its status; whether one has been sent the end's status, then its charts. */
  private pageAskedAt = -Infinity;
  private endShown: 'no' | 'status' | 'charts' = 'no';
  private onEndShown: (() => void)[] = [];

  constructor(
    readonly run: string,
    readonly epochs: number,
    private readonly now: () => number = () => performance.now(),
    readonly workersWanted = 1,
  ) {
    this.started = now();
  }

  readonly onStep = (s: StepInfo): void => {
    this.last = s;
    this.firstStep ??= { at: this.now(), step: s.globalStep };
    this.epochEndAt = s.stepInEpoch === s.stepsInEpoch ? this.now() : null;
    this.addLoss(s.globalStep, s.stepLoss);
  };

  /** One loss point (a step's, or a line of steps.jsonl: the mean of `steps` steps) into the curve of `width` steps a point. */
  private addLoss(step: number, loss: number, steps = 1): void {
    if (!Number.isFinite(loss)) return;
    const p = this.pending;
    Object.assign(p, { step, lossSum: p.lossSum + loss * steps, steps: p.steps + steps });
    if (p.steps < this.width) return;
    this.curve.push([p.step, p.lossSum / p.steps]);
    Object.assign(p, { lossSum: 0, steps: 0 });
    if (this.curve.length >= MAX_LOSS_POINTS) {
      this.curve = halve(this.curve);
      this.width *= 2;
    }
  }

  /**
   * A resumed run's past (run.ts onHistory): its epochs and loss lines, and where it resumes, so the
   * page shows the whole run, not only what this process trained (and not "epoch 0, step 0" until
   * the first step).
   */
  readonly onHistory = (h: RunHistory): void => {
    for (const m of h.epochs) this.onEpoch(m);
    // Each line is the mean of the steps since the line before (log.everySteps, fewer at a
    // checkpoint or a stop): it counts as that many, and the curve's points, the resumed steps'
    // too, are as wide as the widest line. Counted as one step each, the curve mixed 10-step means
    // with single steps, and its halving past MAX_LOSS_POINTS counted points, not steps.
    let before = 0;
    const lines = h.steps.map((line) => {
      const steps = Math.max(1, line.step - before);
      before = line.step;
      return { ...line, steps };
    });
    // (a loop, not Math.max(...lines): a spread of ~100,000 lines overflowed the call stack)
    for (const line of lines) this.width = Math.max(this.width, line.steps);
    for (const line of lines) this.addLoss(line.step, line.loss, line.steps);
    this.resumedAt = { epoch: h.epoch, step: h.globalStep };
  };

  readonly onEpoch = (m: EpochMetrics): void => {
    const { epoch, step, trainLoss, runningAcc, valLoss, trainAcc, valAcc, imagesPerSec } = m;
    this.epochsDone.push({ epoch, step, trainLoss, runningAcc, valLoss, trainAcc, valAcc, imagesPerSec });
    if (valAcc !== null && this.epochEndAt !== null) this.evalSec = (this.now() - this.epochEndAt) / 1000;
    this.epochEndAt = null;
    if (m.epoch === this.epochs) this.finished = true;
  };

  /** The run is over: the page says how from its next poll. */
  end(how: RunEnd): void {
    this.ended ??= how;
  }

  /** The handler served `path` (the page's /status.json or /charts). */
  served(path: string): void {
    if (path === '/status.json') {
      this.pageAskedAt = this.now();
      if (this.ended !== null && this.endShown === 'no') this.endShown = 'status';
    } else if (path === '/charts' && this.endShown === 'status') {
      this.endShown = 'charts';
      for (const wake of this.onEndShown.splice(0)) wake();
    }
  }

  /**
   * Resolves once an open page has been shown the end (its status, then its charts), after at most
   * `capMs`, and at once when no page is open: the server closes after it. It closed 0.1–0.5 s after
   * the end, and a page that polls once a second froze on its last poll, then said "unreachable".
   */
  async shown(capMs = PAGE_OPEN_MS): Promise<void> {
    if (this.ended === null || this.endShown === 'charts' || this.now() - this.pageAskedAt > PAGE_OPEN_MS) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => this.onEndShown.push(resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, capMs)))]);
    clearTimeout(timer);
  }

  readonly onStepTiming = (t: StepTiming): void => {
    const at = this.now();
    for (const w of t.workers) {
      const prev = this.lastWork.get(w.worker);
      if (!prev || prev.microBatches !== w.microBatches) this.lastWork.set(w.worker, { microBatches: w.microBatches, at });
    }
    this.workers = t.workers.map((w) => ({ ...w }));
  };

  /** Takes the worker table from a live WebSocket pool from now on. */
  setWorkerSource(source: () => WorkerInfo[]): void {
    this.workerSource = source;
  }

  /** Takes the worker table from a pool's own counters (threads, in-process), which list workers before their first step. */
  setStatsSource(source: () => WorkerStats[]): void {
    this.statsSource = source;
  }

  /** Every step of the run is done, and its last epoch's end (the final evaluation) is not. */
  private evaluating(s: StepInfo | null): boolean {
    return !this.finished && this.ended === null && s !== null && s.epoch + 1 === this.epochs && s.stepInEpoch === s.stepsInEpoch;
  }

  private etaSec(s: StepInfo | null, now: number): number | null {
    // No steps are left: the pace of steps said 0:00 for the whole final evaluation.
    if (this.evaluating(s)) return this.evalSec === null || this.epochEndAt === null ? null : Math.max(0, this.evalSec - (now - this.epochEndAt) / 1000);
    const first = this.firstStep;
    if (!s || !first || s.globalStep - first.step < 1 || this.finished) return this.finished ? 0 : null;
    const perStep = (now - first.at) / 1000 / (s.globalStep - first.step);
    return Math.max(0, this.epochs * s.stepsInEpoch - s.globalStep) * perStep;
  }

  snapshot(): DashboardStatus {
    const s = this.last;
    const now = this.now();
    const live = this.workerSource?.() ?? null;
    const { pending } = this;
    const curve: [number, number][] = [...this.curve.map(([step, loss]): [number, number] => [step, loss])];
    if (pending.steps > 0) curve.push([pending.step, pending.lossSum / pending.steps]);
    const workers = this.workerRows(live, now);
    return {
      run: this.run,
      epoch: s ? s.epoch + 1 : this.resumedAt ? Math.min(this.resumedAt.epoch + 1, this.epochs) : 0,
      epochs: this.epochs,
      step: s?.globalStep ?? this.resumedAt?.step ?? 0,
      stepInEpoch: s?.stepInEpoch ?? 0,
      stepsInEpoch: s?.stepsInEpoch ?? 0,
      workersAlive: live ? live.length : this.statsSource ? this.statsSource().length : (s?.workers ?? 0),
      workersWanted: this.workersWanted,
      imagesPerSec: s?.imagesPerSec ?? 0,
      loss: s && s.examples > 0 ? s.lossSum / s.examples : null,
      smoothedLoss: smooth(curve.map((p) => p[1]), undefined, stepWidths(curve.map((p) => p[0]))).at(-1) ?? null,
      lossCurve: curve,
      epochsDone: [...this.epochsDone],
      etaSec: this.etaSec(s, now),
      evaluating: this.evaluating(s),
      workers,
      backends: [...new Set(workers.map((w) => w.backend).filter((b) => b !== '?'))].sort(),
      finished: this.finished,
      ended: this.ended,
      uptimeSec: (now - this.started) / 1000,
    };
  }

  /** The workers' rows: from the ws pool when it has one, else from the threads' or in-process statistics. */
  private workerRows(live: WorkerInfo[] | null, now: number): WorkerStatus[] {
    if (live) {
      return live.map((w) => ({
        worker: w.worker,
        microBatches: w.microBatches,
        examples: w.examples,
        computeMs: w.computeMs,
        threads: w.threads,
        imagesPerSec: workerImagesPerSec(w),
        lastWorkMsAgo: w.lastResultMsAgo,
        address: w.address,
        backend: w.backend,
        lastHeartbeatMsAgo: w.lastHeardMsAgo,
      }));
    }
    return (this.statsSource?.() ?? this.workers).map((w) => {
      const seen = this.lastWork.get(w.worker);
      return {
        ...w,
        imagesPerSec: workerImagesPerSec(w),
        lastWorkMsAgo: seen && w.microBatches > 0 ? Math.round(now - seen.at) : null,
        address: null,
        lastHeartbeatMsAgo: null,
      };
    });
  }
}

/** Neighbours averaged in pairs, at the later step (MAX_LOSS_POINTS is even: every point has a partner). */
function halve(curve: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < curve.length; i += 2) {
    const a = curve[i] as [number, number];
    const b = curve[i + 1];
    out.push(b ? [b[0], (a[1] + b[1]) / 2] : a);
  }
  return out;
}

const escapeLabel = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** The Prometheus text exposition format (version 0.0.4). */
export function prometheusText(st: DashboardStatus): string {
  const out: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${Number.isFinite(v) ? v : 'NaN'}`);
  };
  metric('trainer_steps_total', 'counter', 'SGD steps done.', [['', st.step]]);
  metric('trainer_epoch', 'gauge', 'Epoch in progress (1-based).', [['', st.epoch]]);
  metric('trainer_workers', 'gauge', 'Workers computing now.', [['', st.workersAlive]]);
  metric('trainer_workers_wanted', 'gauge', 'Workers the run is set up for (cluster.workers, or the coordinator\'s --min-workers if more).', [['', st.workersWanted]]);
  metric('trainer_images_per_second', 'gauge', 'Training throughput of the epoch so far.', [['', st.imagesPerSec]]);
  metric('trainer_train_loss', 'gauge', 'Running training loss of the epoch so far.', [['', st.loss ?? Number.NaN]]);
  metric('trainer_eta_seconds', 'gauge', 'Seconds to the end of the run at the pace so far.', [['', st.etaSec ?? Number.NaN]]);
  const per = (f: (w: WorkerStatus) => number): [string, number][] => st.workers.map((w) => [`{worker="${escapeLabel(w.worker)}"}`, f(w)]);
  metric('trainer_worker_micro_batches_total', 'counter', 'Micro-batches computed, per worker.', per((w) => w.microBatches));
  metric('trainer_worker_examples_total', 'counter', 'Examples computed, per worker.', per((w) => w.examples));
  metric('trainer_worker_compute_seconds_total', 'counter', 'Compute time, per worker, summed over its compute threads (passes wall time for a worker with several).', per((w) => w.computeMs / 1000));
  metric('trainer_worker_threads', 'gauge', 'Compute threads of the worker (trainer worker --threads N), which compute at once.', per((w) => w.threads));
  const heard = st.workers.filter((w) => w.lastHeartbeatMsAgo !== null);
  if (heard.length > 0) {
    metric('trainer_worker_last_heard_seconds', 'gauge', 'Seconds since the last frame from a WebSocket worker.',
      heard.map((w) => [`{worker="${escapeLabel(w.worker)}"}`, (w.lastHeartbeatMsAgo as number) / 1000]));
  }
  return `${out.join('\n')}\n`;
}
