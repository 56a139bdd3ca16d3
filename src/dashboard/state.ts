/**
 * What the live dashboard shows, kept up to date from the step loop's
 * callbacks (onStep, onEpoch, onStepTiming): no access to the pool needed, so
 * any coordinator (threads, processes, WebSocket) can feed it. A WebSocket
 * pool can also be named as the source of the worker table (`setWorkerSource`),
 * which adds each worker's address, backend and last heartbeat and lists
 * workers as soon as they are ready, before their first micro-batch.
 *
 * Read-only by construction: a snapshot is a copy, and nothing in it comes
 * from the config (so never the token).
 */
import type { WorkerStats } from '../transports/pool.js';
import type { StepInfo, StepTiming } from '../coordinator/train-loop.js';
import type { EpochMetrics } from '../coordinator/run-folder.js';
import type { WorkerInfo } from '../transports/ws/pool.js';

export interface WorkerStatus extends WorkerStats {
  /** Examples per second of compute time. */
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
  imagesPerSec: number;
  /** Running loss of the epoch so far. */
  loss: number | null;
  /** [global step, running loss] samples, at most MAX_LOSS_POINTS. */
  lossCurve: [number, number][];
  epochsDone: Pick<EpochMetrics, 'epoch' | 'trainLoss' | 'valLoss' | 'trainAcc' | 'valAcc'>[];
  workers: WorkerStatus[];
  finished: boolean;
  uptimeSec: number;
}

export const MAX_LOSS_POINTS = 400;

export class DashboardState {
  private last: StepInfo | null = null;
  private curve: [number, number][] = [];
  private readonly epochsDone: DashboardStatus['epochsDone'] = [];
  private workers: WorkerStats[] = [];
  private readonly lastWork = new Map<string, { microBatches: number; at: number }>();
  private readonly started: number;
  private workerSource: (() => WorkerInfo[]) | null = null;
  finished = false;

  constructor(
    readonly run: string,
    readonly epochs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  readonly onStep = (s: StepInfo): void => {
    this.last = s;
    this.curve.push([s.globalStep, s.lossSum / Math.max(1, s.examples)]);
    // Keep every other point when full: the curve stays a fair picture of the whole run.
    if (this.curve.length > MAX_LOSS_POINTS) this.curve = this.curve.filter((_, i) => i % 2 === 1);
  };

  readonly onEpoch = (m: EpochMetrics): void => {
    this.epochsDone.push({ epoch: m.epoch, trainLoss: m.trainLoss, valLoss: m.valLoss, trainAcc: m.trainAcc, valAcc: m.valAcc });
    if (m.epoch === this.epochs) this.finished = true;
  };

  readonly onStepTiming = (t: StepTiming): void => {
    const at = this.now();
    for (const w of t.workers) {
      const prev = this.lastWork.get(w.worker);
      if (!prev || prev.microBatches !== w.microBatches) this.lastWork.set(w.worker, { microBatches: w.microBatches, at });
    }
    this.workers = t.workers.map((w) => ({ ...w }));
  };

  /** Takes the worker table from a live pool from now on. */
  setWorkerSource(source: () => WorkerInfo[]): void {
    this.workerSource = source;
  }

  snapshot(): DashboardStatus {
    const s = this.last;
    const now = this.now();
    const live = this.workerSource?.() ?? null;
    return {
      run: this.run,
      epoch: s ? s.epoch + 1 : 0,
      epochs: this.epochs,
      step: s?.globalStep ?? 0,
      stepInEpoch: s?.stepInEpoch ?? 0,
      stepsInEpoch: s?.stepsInEpoch ?? 0,
      workersAlive: live ? live.length : (s?.workers ?? 0),
      imagesPerSec: s?.imagesPerSec ?? 0,
      loss: s && s.examples > 0 ? s.lossSum / s.examples : null,
      lossCurve: [...this.curve],
      epochsDone: [...this.epochsDone],
      workers: live
        ? live.map((w) => ({
            worker: w.worker,
            microBatches: w.microBatches,
            examples: w.examples,
            computeMs: w.computeMs,
            imagesPerSec: speed(w),
            lastWorkMsAgo: w.lastResultMsAgo,
            address: w.address,
            backend: w.backend,
            lastHeartbeatMsAgo: w.lastHeardMsAgo,
          }))
        : this.workers.map((w) => {
            const seen = this.lastWork.get(w.worker);
            return {
              ...w,
              imagesPerSec: speed(w),
              lastWorkMsAgo: seen && w.microBatches > 0 ? Math.round(now - seen.at) : null,
              address: null,
              lastHeartbeatMsAgo: null,
            };
          }),
      finished: this.finished,
      uptimeSec: (now - this.started) / 1000,
    };
  }
}

/** Examples per second of compute time. */
const speed = (w: WorkerStats) => (w.computeMs > 0 ? (w.examples / w.computeMs) * 1000 : 0);

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
  metric('trainer_images_per_second', 'gauge', 'Training throughput of the epoch so far.', [['', st.imagesPerSec]]);
  metric('trainer_train_loss', 'gauge', 'Running training loss of the epoch so far.', [['', st.loss ?? Number.NaN]]);
  const per = (f: (w: WorkerStatus) => number): [string, number][] => st.workers.map((w) => [`{worker="${escapeLabel(w.worker)}"}`, f(w)]);
  metric('trainer_worker_micro_batches_total', 'counter', 'Micro-batches computed, per worker.', per((w) => w.microBatches));
  metric('trainer_worker_examples_total', 'counter', 'Examples computed, per worker.', per((w) => w.examples));
  metric('trainer_worker_compute_seconds_total', 'counter', 'Compute time, per worker.', per((w) => w.computeMs / 1000));
  const heard = st.workers.filter((w) => w.lastHeartbeatMsAgo !== null);
  if (heard.length > 0) {
    metric('trainer_worker_last_heard_seconds', 'gauge', 'Seconds since the last frame from a WebSocket worker.',
      heard.map((w) => [`{worker="${escapeLabel(w.worker)}"}`, (w.lastHeartbeatMsAgo as number) / 1000]));
  }
  return `${out.join('\n')}\n`;
}
