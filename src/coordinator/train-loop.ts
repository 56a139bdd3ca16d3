/**
 * The step loop. One process is just a pool of size 1 on the same path:
 * plan the global batch, have the pool compute its micro-batches, reduce in
 * micro-batch order, SGD on the flat vector, publish the new weights; at epoch
 * ends evaluate, log, checkpoint.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../shared/config.js';
import type { LoadedData } from '../data/dataset.js';
import { chunks, type BatchStats } from '../worker/gradient.js';
import type { ModelSpec } from '../worker/model.js';
import { progressOf, saveCheckpoint, type Progress } from './checkpoint.js';
import { OrderedReduction, sgdStep, type SgdState } from './optimizer.js';
import { planEpoch, splitMicroBatches } from './plan.js';
import type { MicroBatchResult, WorkerPool, WorkerStats } from '../transports/pool.js';
import { writeFileAtomic } from '../shared/atomic-file.js';

export interface EpochMetrics {
  epoch: number;
  step: number;
  trainLoss: number;
  /** Accuracy over the training steps of this epoch, as the weights moved. */
  runningAcc: number;
  trainAcc: number | null;
  valAcc: number | null;
  valLoss: number | null;
  imagesPerSec: number;
  elapsedSec: number;
  workers: number;
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
}

/** Where one step's time went, for `trainer train --trace`. */
export interface StepTiming {
  epoch: number;
  /** The step's index (0-based, global). */
  step: number;
  /** performance.now() in ms at: start, micro-batches planned, results back, reduced, updated, published. */
  marks: [number, number, number, number, number, number];
  /** pool.stats() after the step (cumulative per worker; the tracer takes differences). */
  workers: WorkerStats[];
  /** Each micro-batch's worker and, where the pool knows it, its timing. */
  results: Pick<MicroBatchResult, 'worker' | 'timing' | 'count'>[];
}

export interface TrainState extends Progress {
  params: Float32Array;
  sgd: SgdState;
}

export interface TrainLoopOptions {
  config: Config;
  model: ModelSpec;
  data: LoadedData;
  pool: WorkerPool;
  runDir: string;
  state: TrainState;
  log: (line: string) => void;
  /** Stop at the next step boundary, with a checkpoint. */
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void;
  onEpoch?: (m: EpochMetrics) => void;
  /** Called after every step with its timing; costs nothing when unset. */
  onStepTiming?: (t: StepTiming) => void;
}

export type TrainOutcome = 'finished' | 'stopped';

export async function trainLoop(o: TrainLoopOptions): Promise<TrainOutcome> {
  const { config, model, data, pool, state } = o;
  const { batchSize, microBatches, epochs } = config.train;
  const grad = new Float32Array(model.size);
  const n = data.train.count;
  let elapsedBase = state.elapsedSec - state.epochTrainSec;
  await pool.publish(state.globalStep, state.params);

  for (; state.epoch < epochs; state.epoch++) {
    const plan = planEpoch(config.run.seed, state.epoch, n, batchSize);
    const epochStart = performance.now() - state.epochTrainSec * 1000;
    // Stopping, or a pool that cannot finish a step, leaves a checkpoint at
    // the last step boundary: nothing already computed is lost.
    const checkpointHere = async () => {
      state.epochTrainSec = (performance.now() - epochStart) / 1000;
      state.elapsedSec = elapsedBase + state.epochTrainSec;
      await checkpoint(o);
    };
    const planned = (step: number) => {
      const batch = plan.batch(step);
      return { size: batch.length, micro: splitMicroBatches(batch, microBatches) };
    };
    // Each step's micro-batches are planned one step ahead, as the pool's hint for the next step.
    let upcoming = state.stepInEpoch < plan.steps ? planned(state.stepInEpoch) : null;
    for (; state.stepInEpoch < plan.steps; state.stepInEpoch++) {
      if (o.signal?.aborted) {
        await checkpointHere();
        return 'stopped';
      }
      const t0 = performance.now();
      const { size, micro } = upcoming as { size: number; micro: Int32Array[] };
      upcoming = state.stepInEpoch + 1 < plan.steps ? planned(state.stepInEpoch + 1) : null;
      const next = upcoming?.micro;
      const t1 = performance.now();
      const reduction = new OrderedReduction(grad, micro.length, size);
      const results = await pool
        .runStep(state.globalStep, state.globalStep, micro, { onResult: (m, r) => reduction.add(m, r.gradient), ...(next ? { next } : {}) })
        .catch(async (err: unknown) => {
          await checkpointHere();
          throw err;
        });
      const t2 = performance.now();
      results.forEach((r, m) => reduction.add(m, r.gradient)); // whatever the pool did not report early
      reduction.finish();
      const t3 = performance.now();
      sgdStep(state.params, grad, state.sgd, config.train);
      const t4 = performance.now();
      for (const r of results) {
        state.epochLossSum += r.lossSum;
        state.epochCorrect += r.correct;
      }
      state.epochExamples += size;
      state.globalStep++;
      await pool.publish(state.globalStep, state.params);
      o.onStepTiming?.({ epoch: state.epoch, step: state.globalStep - 1, marks: [t0, t1, t2, t3, t4, performance.now()], workers: pool.stats(), results });
      o.onStep?.({
        epoch: state.epoch,
        stepInEpoch: state.stepInEpoch + 1,
        stepsInEpoch: plan.steps,
        globalStep: state.globalStep,
        examples: state.epochExamples,
        lossSum: state.epochLossSum,
        imagesPerSec: state.epochExamples / ((performance.now() - epochStart) / 1000),
        workers: pool.size,
      });
    }
    const trainSec = (performance.now() - epochStart) / 1000;

    const last = state.epoch + 1 === epochs;
    const due = last || (state.epoch + 1) % config.eval.every === 0;
    const evaluated = due
      ? await evaluate(o).catch(async (err: unknown) => {
          await checkpointHere(); // every step of the epoch is done; a resume evaluates and goes on
          throw err;
        })
      : null;
    const metrics: EpochMetrics = {
      epoch: state.epoch + 1,
      step: state.globalStep,
      trainLoss: state.epochLossSum / state.epochExamples,
      runningAcc: state.epochCorrect / state.epochExamples,
      trainAcc: evaluated?.train.acc ?? null,
      valAcc: evaluated?.val.acc ?? null,
      valLoss: evaluated?.val.loss ?? null,
      imagesPerSec: state.epochExamples / trainSec,
      elapsedSec: elapsedBase + trainSec + (evaluated?.seconds ?? 0),
      workers: pool.size,
    };
    elapsedBase = metrics.elapsedSec;
    await appendFile(join(o.runDir, 'metrics.jsonl'), `${JSON.stringify(metrics)}\n`);
    // Per-worker share and speed, for `trainer report` (counted since this process started).
    await writeFileAtomic(join(o.runDir, 'workers.json'), Buffer.from(`${JSON.stringify(pool.stats())}\n`));
    o.log(epochLine(metrics));
    o.onEpoch?.(metrics);

    Object.assign(state, { stepInEpoch: 0, epochLossSum: 0, epochCorrect: 0, epochExamples: 0, epochTrainSec: 0 });
    state.elapsedSec = elapsedBase;
    if (last || (state.epoch + 1) % config.checkpoint.every === 0) {
      state.epoch++; // the checkpoint records the epoch to continue with
      await checkpoint(o);
      state.epoch--;
    }
  }
  return 'finished';
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

async function checkpoint(o: TrainLoopOptions): Promise<void> {
  const s = o.state;
  await saveCheckpoint(o.runDir, {
    model: o.model.name,
    seed: o.config.run.seed,
    params: s.params,
    momentum: s.sgd.momentum,
    config: o.config,
    ...progressOf(s),
  });
}

/** The article's per-epoch line, plus throughput and, when evaluated, accuracy. */
export function epochLine(m: EpochMetrics, now = new Date()): string {
  const stamp = now.toISOString().replace('T', ' ').slice(0, 19);
  let line = `${stamp} Epoch ${m.epoch}, Training loss ${m.trainLoss.toFixed(4)}, ${Math.round(m.imagesPerSec)} images/s`;
  if (m.trainAcc !== null && m.valAcc !== null) line += `, train acc ${m.trainAcc.toFixed(3)}, val acc ${m.valAcc.toFixed(3)}`;
  return line;
}
