/**
 * The training loop, top to bottom: trainLoop runs epochs of steps; trainStep
 * is one SGD step (the pool computes the micro-batches, each gradient is
 * added in micro-batch order as it arrives, SGD updates the flat parameters,
 * the new weights are published); endEpoch evaluates when due, records the
 * metrics, moves on and checkpoints when due. One process is just a pool of
 * size 1 on the same path. Stopping (Ctrl-C) or a pool that cannot finish a
 * step leaves a checkpoint at the last step boundary: nothing computed is lost.
 */
import type { DataIdentity, LoadedData } from '../data/dataset.js';
import type { Config } from '../shared/config.js';
import { TrainerError, isTrainerError } from '../shared/errors.js';
import type { MicroBatchResult, WorkerPool, WorkerStats } from '../transports/pool.js';
import { chunks, type BatchStats } from '../worker/gradient.js';
import type { ModelSpec } from '../worker/model.js';
import { divergedError } from './diverged.js';
import { progressOf, saveCheckpoint, type BackendHistory, type Progress } from './checkpoint.js';
import { OrderedReduction, type SgdState } from './optimizer.js';
import { planEpoch, splitMicroBatches, type EpochPlan } from './plan.js';
import type { EpochMetrics, RunFolder } from './run-folder.js';

export interface TrainState extends Progress {
  params: Float32Array;
  sgd: SgdState;
  /** The kinds that computed the run before this process (from its checkpoint); absent for a new run or an older checkpoint. */
  backends?: BackendHistory;
}

/** A step's global batch, as the pool gets it. */
export interface PlannedStep {
  /** Examples in the global batch (the divisor of the summed gradient). */
  size: number;
  micro: Int32Array[];
}

/** Where one step's time went, for `trainer train --trace` and the dashboard. */
export interface StepTiming {
  epoch: number;
  /** The step's index (0-based, global). */
  step: number;
  /** performance.now() in ms at: start, micro-batches planned, results back, reduced and updated (one pass), published. */
  marks: [number, number, number, number, number];
  /** pool.stats() after the step (cumulative per worker; the tracer takes differences). */
  workers: WorkerStats[];
  /** Each micro-batch's worker and, where the pool knows it, its timing. */
  results: Pick<MicroBatchResult, 'worker' | 'timing' | 'count'>[];
}

export interface StepContext {
  config: Config;
  pool: WorkerPool;
  state: TrainState;
  /** The step gradient, reused from step to step. */
  grad: Float32Array;
  /** Called after every step with its timing; costs nothing when unset. */
  onStepTiming?: (t: StepTiming) => void;
}

export interface StepInfo {
  epoch: number;
  stepInEpoch: number;
  stepsInEpoch: number;
  globalStep: number;
  examples: number;
  lossSum: number;
  imagesPerSec: number;
  workers: number;
  /** This step alone: its mean loss, its examples and its duration in seconds. */
  stepLoss: number;
  stepExamples: number;
  stepSec: number;
  /** Run seconds so far (training and evaluation, continued across a resume). */
  elapsedSec: number;
}

export interface TrainLoopOptions {
  config: Config;
  model: ModelSpec;
  data: LoadedData;
  /** `data`'s identity, stored in each checkpoint. */
  dataIdentity: DataIdentity;
  pool: WorkerPool;
  folder: RunFolder;
  state: TrainState;
  log: (line: string) => void;
  /** Where the epoch lines go (results, stdout); default `log`. */
  result?: (line: string) => void;
  /** Stop at the next step boundary, with a checkpoint. */
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void;
  /** Awaited before each checkpoint is written (the step log's lines up to it). */
  beforeCheckpoint?: () => Promise<void>;
  onEpoch?: (m: EpochMetrics) => void;
  /** Called after every step with its timing; costs nothing when unset. */
  onStepTiming?: (t: StepTiming) => void;
  /**
   * The line of the run's final epoch, written without an evaluation (a resume with train.epochs
   * lowered to where its checkpoint is, an epoch eval.every skipped): evaluated now and replaced.
   */
  unevaluated?: EpochMetrics;
}

/** `not-started`: stopped before this process took a step (nothing to checkpoint: the state is the one it started from). */
export type TrainOutcome = 'finished' | 'stopped' | 'not-started';

export async function trainLoop(o: TrainLoopOptions): Promise<TrainOutcome> {
  const { config, pool, state } = o;
  const ctx: StepContext = { config, pool, state, grad: new Float32Array(o.model.size), ...(o.onStepTiming ? { onStepTiming: o.onStepTiming } : {}) };
  if (pool.paramsStorage) state.params = pool.paramsStorage(state.params);
  await pool.publish(state.globalStep, state.params);
  if (o.unevaluated) await evaluateFinished(o, o.unevaluated);
  const firstStep = state.globalStep;
  const mixed = new MixedBackendsNote(state.backends?.run ?? [], o.log);
  while (state.epoch < config.train.epochs) {
    const clock = new EpochClock(state);
    const plan = planEpoch(config.run.seed, state.epoch, o.data.train.count, config.train.batchSize);
    // Each step's micro-batches are planned one step ahead, as the pool's hint for the next step.
    for (let batch = planStep(plan, state.stepInEpoch, config.train.microBatches); batch !== null; ) {
      if (o.signal?.aborted) {
        // A stop just before the first step wrote a checkpoint of step 0 and kept a new run's folder.
        if (state.globalStep === firstStep) return 'not-started';
        await checkpoint(o, clock);
        return 'stopped';
      }
      const t0 = performance.now();
      const next = planStep(plan, state.stepInEpoch + 1, config.train.microBatches);
      const before = { lossSum: state.epochLossSum, examples: state.epochExamples };
      const stepped = await trainStep(ctx, batch, next, [t0, performance.now()]).then(() => true, stopOrThrow(o, clock, firstStep));
      if (!stepped) return state.globalStep === firstStep ? 'not-started' : 'stopped';
      if (state.globalStep === firstStep + 1) mixed.check(pool.stats());
      batch = next;
      o.onStep?.({
        epoch: state.epoch,
        stepInEpoch: state.stepInEpoch,
        stepsInEpoch: plan.steps,
        globalStep: state.globalStep,
        examples: state.epochExamples,
        lossSum: state.epochLossSum,
        imagesPerSec: state.epochExamples / clock.trainSec(),
        workers: pool.size,
        stepLoss: (state.epochLossSum - before.lossSum) / (state.epochExamples - before.examples),
        stepExamples: state.epochExamples - before.examples,
        stepSec: (performance.now() - t0) / 1000,
        elapsedSec: clock.elapsedBase + clock.trainSec(),
      });
    }
    if (!(await endEpoch(o, clock))) return 'stopped';
    mixed.check(pool.stats());
  }
  return 'finished';
}

/** Step `step` of an epoch's plan, split into train.microBatches; null past the epoch's end. */
export function planStep(plan: EpochPlan, step: number, microBatches: number): PlannedStep | null {
  if (step >= plan.steps) return null;
  const batch = plan.batch(step);
  return { size: batch.length, micro: splitMicroBatches(batch, microBatches) };
}

/**
 * Runs `batch` as step state.globalStep and advances the state past it. `next`,
 * the step after it when known, is a hint that lets workers load its examples
 * early. `marks` are the times the step started and was planned.
 */
export async function trainStep(o: StepContext, batch: PlannedStep, next: PlannedStep | null, marks: [number, number]): Promise<void> {
  const { pool, state } = o;
  const reduction = new OrderedReduction(o.grad, batch.micro.length, batch.size, { eager: !pool.sharesCores });
  const results = await pool.runStep(state.globalStep, batch.micro, {
    onResult: (m, r) => reduction.add(m, r.gradient),
    ...(next ? { next: next.micro } : {}),
  });
  const t2 = performance.now();
  const loss = results.reduce((sum, r) => sum + r.lossSum, 0);
  // Steps counted as steps.jsonl and "stopped at ..., step N" count them: the first is step 1.
  if (!Number.isFinite(loss)) throw divergedError(`the training loss of step ${state.globalStep + 1} is ${loss}`, o.config.train);
  // The rest of the reduction and the update, in one pass over the parameters: by the workers
  // where they can (the pool's own storage then holds the new parameters), else here.
  const inPool = pool.sharesCores && pool.finishStep ? await pool.finishStep(state.globalStep, state.params, batch.size, o.config.train) : null;
  if (!(inPool ? inPool.finite : reduction.finishStep(state.params, state.sgd, o.config.train))) {
    const decay = o.config.train.weightDecay > 0 ? `, train.weightDecay ${o.config.train.weightDecay}` : '';
    throw divergedError(`the update of step ${state.globalStep + 1} makes weights non-finite (train.lr ${o.config.train.lr}${decay})`, o.config.train);
  }
  if (inPool) state.params = inPool.params;
  const t3 = performance.now();
  for (const r of results) {
    state.epochLossSum += r.lossSum;
    state.epochCorrect += r.correct;
  }
  state.epochExamples += batch.size;
  state.stepInEpoch++;
  state.globalStep++;
  await pool.publish(state.globalStep, state.params);
  o.onStepTiming?.({ epoch: state.epoch, step: state.globalStep - 1, marks: [...marks, t2, t3, performance.now()], workers: pool.stats(), results });
}

/**
 * The epoch's end: evaluation when due (every eval.every epochs and after the
 * last), the metrics line, then the state moves to the next epoch, so the
 * checkpoint (when due) records the epoch to continue with. False: stopped
 * during the evaluation (see stopOrThrow), checkpoint written.
 */
async function endEpoch(o: TrainLoopOptions, clock: EpochClock): Promise<boolean> {
  const { config, state, pool } = o;
  clock.endTraining();
  const trainSec = clock.trainSec();
  const last = state.epoch + 1 === config.train.epochs;
  const due = last || (state.epoch + 1) % config.eval.every === 0;
  // Every step of the epoch is done: after a failed evaluation, a resume evaluates and goes on.
  const evaluated = due ? await evaluate(o).catch(stopOrThrow(o, clock)) : null;
  if (evaluated === false) return false;
  const metrics: EpochMetrics = {
    epoch: state.epoch + 1,
    step: state.globalStep,
    trainLoss: state.epochLossSum / state.epochExamples,
    runningAcc: state.epochCorrect / state.epochExamples,
    trainAcc: evaluated?.train.acc ?? null,
    valAcc: evaluated?.val.acc ?? null,
    valLoss: evaluated?.val.loss ?? null,
    imagesPerSec: state.epochExamples / trainSec,
    elapsedSec: clock.elapsedBase + trainSec + (evaluated?.seconds ?? 0),
    workers: pool.size,
    // With the kinds of the epoch's steps before a resume (none when it resumed at its start).
    backends: union(state.backends?.epoch ?? [], backendKinds(pool.stats())),
  };
  // Still this process's run (its lock not taken over while it was stopped): its line, its checkpoint.
  await o.folder.confirmClaim();
  await o.folder.appendMetrics(metrics);
  await o.folder.writeWorkers(pool.stats());
  (o.result ?? o.log)(epochLine(metrics));
  o.onEpoch?.(metrics);

  state.backends = { run: union(state.backends?.run ?? [], metrics.backends), epoch: [] };
  Object.assign(state, { epoch: state.epoch + 1, stepInEpoch: 0, epochLossSum: 0, epochCorrect: 0, epochExamples: 0, epochTrainSec: 0, elapsedSec: metrics.elapsedSec });
  if (last || state.epoch % config.checkpoint.every === 0) {
    // Again: onEpoch and the workers' file came between (the checkpoint was written after a takeover).
    await o.folder.confirmClaim();
    await o.beforeCheckpoint?.();
    await saveCheckpoint(o.folder.checkpointFile, checkpointState(o));
  }
  return true;
}

/** The evaluation the last epoch's line lacks (see TrainLoopOptions.unevaluated), its time added to the run's. */
async function evaluateFinished(o: TrainLoopOptions, line: EpochMetrics): Promise<void> {
  const evaluated = await evaluate(o);
  const metrics: EpochMetrics = {
    ...line,
    trainAcc: evaluated.train.acc,
    valAcc: evaluated.val.acc,
    valLoss: evaluated.val.loss,
    elapsedSec: line.elapsedSec + evaluated.seconds,
  };
  await o.folder.confirmClaim();
  await o.folder.replaceMetrics(metrics);
  (o.result ?? o.log)(epochLine(metrics));
  o.onEpoch?.(metrics);
}

/** Training time of the epoch in progress, continued across a resume. */
class EpochClock {
  private readonly startMs: number;
  /** When the epoch's last step ended; null while it has steps to do. */
  private trainEndMs: number | null = null;
  /** Run seconds before this epoch (and any time of it that was not training, such as an evaluation cut short). */
  readonly elapsedBase: number;

  constructor(state: TrainState) {
    this.startMs = performance.now() - state.epochTrainSec * 1000;
    this.elapsedBase = state.elapsedSec - state.epochTrainSec;
  }

  /**
   * Every step of the epoch is done: its training time stops here. An evaluation that a stop or a
   * lost pool cuts short is checkpointed as run time, not training time: counted as training, it
   * lowered the epoch's images/s after the resume (by a tenth for a --procs 2 demo stopped mid-way).
   */
  endTraining(): void {
    this.trainEndMs ??= performance.now();
  }

  trainSec(): number {
    return ((this.trainEndMs ?? performance.now()) - this.startMs) / 1000;
  }

  /** Run seconds so far: the epochs before this one and all of this one's time, training or not. */
  elapsedSec(): number {
    return this.elapsedBase + (performance.now() - this.startMs) / 1000;
  }
}

/** A checkpoint at the current step boundary, mid-epoch. */
async function checkpoint(o: TrainLoopOptions, clock: EpochClock): Promise<void> {
  o.state.epochTrainSec = clock.trainSec();
  o.state.elapsedSec = clock.elapsedSec();
  await o.folder.confirmClaim();
  await o.beforeCheckpoint?.();
  await saveCheckpoint(o.folder.checkpointFile, checkpointState(o));
}

/**
 * For a failure mid-epoch: the checkpoint at the last step boundary, then the
 * error; except when the state itself is not to be trusted (E_DIVERGED: the
 * weights are not finite; E_VERIFY: results of a worker caught lying may be in
 * them), where the last checkpoint written is kept as it is.
 */
function checkpointThenThrow(o: TrainLoopOptions, clock: EpochClock) {
  return async (err: unknown): Promise<never> => {
    if (isTrainerError(err, 'E_DIVERGED') || isTrainerError(err, 'E_VERIFY')) throw err;
    await checkpoint(o, clock);
    // Said with the error: "no worker joined within ..." alone did not tell that nothing was lost.
    if (isTrainerError(err)) {
      throw new TrainerError(err.code, `${err.message}; checkpoint at step ${o.state.globalStep} written in ${o.folder.dir}, continue with --resume`, { cause: err });
    }
    throw err;
  };
}

/**
 * As checkpointThenThrow, except for a pool that lost its workers after the stop was asked for
 * (a scheduler signals every process of a job, local worker processes too; they left mid-step):
 * that is the stop, at the last step boundary. False once that checkpoint is written (none while
 * the state is still `firstStep`'s, where this process started: 'not-started'). It was
 * E_NO_WORKERS, exit 1.
 */
function stopOrThrow(o: TrainLoopOptions, clock: EpochClock, firstStep: number | null = null) {
  const orThrow = checkpointThenThrow(o, clock);
  return async (err: unknown): Promise<false> => {
    if (!(o.signal?.aborted && (isTrainerError(err, 'E_NO_WORKERS') || isTrainerError(err, 'E_WORKER_LOST')))) return orThrow(err);
    if (o.state.globalStep !== firstStep) await checkpoint(o, clock);
    return false;
  };
}

function checkpointState(o: TrainLoopOptions) {
  const s = o.state;
  return { model: o.model.name, seed: o.config.run.seed, params: s.params, momentum: s.sgd.momentum, config: o.config, data: o.dataIdentity, backends: backendHistory(o), ...progressOf(s) };
}

/**
 * The kinds that have computed the run, this process's workers added (they count from its start):
 * the epoch's none at an epoch boundary, as no step of it is done.
 */
function backendHistory(o: TrainLoopOptions): BackendHistory {
  const now = backendKinds(o.pool.stats());
  const before = o.state.backends ?? { run: [], epoch: [] };
  return { run: union(before.run, now), epoch: o.state.stepInEpoch === 0 ? [] : union(before.epoch, now) };
}

/**
 * Says once, as the ws pool does when a worker of another kind joins, that a resumed run computes
 * on another backend kind than before: its weights hash will match no run on one backend.
 */
class MixedBackendsNote {
  private said = false;

  constructor(
    private readonly before: readonly string[],
    private readonly log: (line: string) => void,
  ) {}

  check(stats: readonly WorkerStats[]): void {
    if (this.said || this.before.length === 0) return;
    const now = backendKinds(stats);
    if (!now.some((k) => !this.before.includes(k))) return;
    this.said = true;
    this.log(
      `parity: mixed backends (${union(this.before, now).join(', ')}): this run computed on ${this.before.join(', ')} before it was resumed on ${now.join(', ')}; ` +
        'the weights hash will not match a run on one backend',
    );
  }
}

/** The kinds of both lists, once each, sorted. */
function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

interface Evaluation {
  train: { acc: number; loss: number };
  val: { acc: number; loss: number };
  seconds: number;
}

async function evaluate(o: TrainLoopOptions): Promise<Evaluation> {
  const t0 = performance.now();
  const size = o.config.eval.batchSize;
  const v = o.state.globalStep;
  const sum = (parts: BatchStats[]) => {
    let lossSum = 0, correct = 0, count = 0;
    for (const p of parts) {
      lossSum += p.lossSum;
      correct += p.correct;
      count += p.count;
    }
    return { acc: count ? correct / count : 0, loss: count ? lossSum / count : 0 };
  };
  const train = sum(await o.pool.evaluate(v, 'train', chunks(o.data.train.count, size)));
  const val = sum(await o.pool.evaluate(v, 'val', chunks(o.data.val.count, size)));
  return { train, val, seconds: (performance.now() - t0) / 1000 };
}

/** The distinct backend kinds of the workers that have computed. */
function backendKinds(stats: readonly WorkerStats[]): string[] {
  return [...new Set(stats.filter((s) => s.microBatches > 0).map((s) => s.backend))].sort();
}

/**
 * The article's per-epoch line, plus throughput and, when evaluated, accuracy; and a warning when backends were mixed.
 * Stamped in local time, as the article's datetime.now() and the shell's `date`: the line names no zone, and its UTC
 * read as a clock hours off anywhere else.
 */
export function epochLine(m: EpochMetrics, now = new Date()): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())} ${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
  let line = `${stamp} Epoch ${m.epoch}, Training loss ${m.trainLoss.toFixed(4)}, ${Math.round(m.imagesPerSec)} images/s`;
  if (m.trainAcc !== null && m.valAcc !== null) line += `, train acc ${m.trainAcc.toFixed(3)}, val acc ${m.valAcc.toFixed(3)}`;
  if (m.backends.length > 1) line += `, parity: mixed backends (${m.backends.join(', ')})`;
  return line;
}
