/**
 * One training run from a resolved config: the run folder, data, model,
 * worker pool, the step loop, and the exported model at the end.
 */
import { dataIdentity, loadDatasets, sameData, showData, type DataIdentity, type LoadedData } from '../data/dataset.js';
import { resolveNormalization } from '../data/normalize.js';
import type { DownloadProgress } from '../data/download.js';
import type { Config } from '../shared/config.js';
import { TrainerError, isTrainerError } from '../shared/errors.js';
import { createPool, type PoolLaunch } from '../transports/create-pool.js';
import type { PoolFactory, WorkerPool } from '../transports/pool.js';
import { getModel, initParams, type ModelSpec } from '../worker/model.js';
import { loadCheckpoint } from './checkpoint.js';
import { atStep, divergedRun, lowerToConverge } from './diverged.js';
import { exportLayersModel } from './export.js';
import { checkResumable, claimRun, firstDifference, identity } from './run-config.js';
import { RunFolder, type EpochMetrics, type StepMetrics } from './run-folder.js';
import { StepLog } from './step-log.js';
import { trainLoop, type StepInfo, type StepTiming, type TrainOutcome, type TrainState } from './train-loop.js';
import { plural } from '../shared/plural.js';

export interface RunOptions {
  config: Config;
  resume: boolean;
  /** How the transport starts (stop signal, ws address and token, dashboard hook). */
  launch?: PoolLaunch;
  /** Another pool than cluster.transport's (tests: injected faults, captured pools). */
  createPool?: PoolFactory;
  /** Called with the pool once it is built, before the first step (the dashboard lists its workers). */
  onPool?: (pool: WorkerPool) => void;
  /** Progress and diagnostics, for people (stderr). */
  log: (line: string) => void;
  /** Results: the epoch lines, the end of the run, the model's path (stdout); default `log`. */
  result?: (line: string) => void;
  signal?: AbortSignal;
  onDownloadProgress?: DownloadProgress;
  onStep?: (info: StepInfo) => void;
  onEpoch?: (m: EpochMetrics) => void;
  /**
   * The run is over (its model saved, or stopped): called at once, with nothing awaited after the
   * outcome's line, so that a signal from then on cannot make it look interrupted (the folder's lock
   * is released after). A finished run's line comes before its pool closes, with beforePoolClose.
   */
  onOver?: (outcome: RunResult['outcome']) => void;
  /**
   * Training is over (the pool still open: a dashboard on the workers' port is still served):
   * awaited before the pool closes, so the dashboard can show how it ended. `finished`: the model
   * is saved (its line written); closing may still wait seconds for workers to read the end.
   */
  beforePoolClose?: (how: RunEnd) => Promise<void>;
  /** A resumed run's past, once, before its first step: the epochs and loss lines it has, and where it resumes. */
  onHistory?: (h: RunHistory) => void;
  onStepTiming?: (t: StepTiming) => void;
  /** Awaited before each checkpoint is written, after the step log's lines up to it (--trace: its events). */
  beforeCheckpoint?: () => Promise<void>;
}

/** How a run's training ended, as the dashboard says it. */
export type RunEnd = 'finished' | 'stopped' | 'diverged' | 'failed';

export interface RunHistory {
  epochs: EpochMetrics[];
  steps: StepMetrics[];
  /** Epochs done and steps done at the checkpoint resumed from. */
  epoch: number;
  globalStep: number;
}

export interface RunResult {
  runDir: string;
  /**
   * `already-finished`: resumed with nothing left to train. `not-started`: stopped (signal) while
   * the data loaded or the workers started, before a first step; nothing written.
   */
  outcome: TrainOutcome | 'already-finished' | 'not-started';
  /** sha256 of model/weights.bin (the trained parameter vector), when finished. */
  weightsSha256: string | null;
}

export interface RunDataOptions {
  onProgress?: RunOptions['onDownloadProgress'];
  signal?: AbortSignal;
  /** The run's own data (eval, a resumed run): a message suggests no other source. */
  fixedSource?: boolean;
}

export async function loadRunData(config: Config, o: RunDataOptions = {}): Promise<LoadedData> {
  const { onProgress, signal } = o;
  const d = config.data;
  const data = await loadDatasets({
    source: d.source,
    path: d.path,
    download: d.download,
    url: d.url,
    md5: d.md5,
    classes: d.classes,
    limitTrain: d.limitTrain,
    limitVal: d.limitVal,
    synthetic: d.synthetic,
    ...(onProgress ? { onProgress } : {}),
    ...(signal ? { signal } : {}),
    ...(o.fixedSource ? { fixedSource: true } : {}),
  });
  // None of the selected classes in the files (a 3-class subset of a small synthetic set, other
  // files than CIFAR-10's): training on nothing "finished" with loss NaN and accuracy 0.
  for (const [which, set] of [['training', data.train], ['validation', data.val]] as const) {
    if (set.count === 0) {
      const classes = d.classes === null ? '' : ` of data.classes [${d.classes.join(', ')}]`;
      throw new TrainerError('E_DATA', `no ${which} images${classes} in ${data.sourceDir}`);
    }
  }
  return data;
}

/** E_CHECKPOINT unless a resumed run reads the images it trained on. */
function checkSameData(stored: DataIdentity, now: DataIdentity, runDir: string, sourceDir: string): void {
  if (sameData(stored, now)) return;
  throw new TrainerError(
    'E_CHECKPOINT',
    `cannot resume ${runDir}: the data read from ${sourceDir} (${showData(now)}) is not the data it trained on (${showData(stored)}); ` +
      'point data.path at the run\'s data, or start a new run',
  );
}

/**
 * What a new run's folder holds of an earlier run that left no checkpoint and no model, said as the
 * new run takes it ("… so this run starts it again there"); null for a folder no run started in.
 */
async function earlierRun(folder: RunFolder, config: Config): Promise<string | null> {
  const again = 'nothing to resume, so this run starts it again there';
  // A run that diverged was said to have been "killed in its first epoch", and a user who reused its
  // name with the same config learnt nothing of why it ended, nor that it will end so again.
  const diverged = await folder.readDiverged();
  if (diverged !== null) return divergedEarlier(folder, config, diverged, again);
  const past = await folder.recordsPastCheckpoint();
  if (past !== null) return `has no checkpoint and no model, though ${past}: ${again}`;
  const leftover = (await folder.readMetrics()).length;
  if (leftover > 0) return `holds ${leftover} epoch(s) of a run killed before its first checkpoint: ${again}`;
  if (await folder.hasConfig()) return `holds a run killed in its first epoch: ${again}`;
  return null;
}

/** The earlier run that diverged (`message`, its diverged.txt), and what to do when this one is that run again. */
async function divergedEarlier(folder: RunFolder, config: Config, message: string, again: string): Promise<string> {
  const at = atStep(message);
  const said = `holds ${divergedRun(message)} before its first checkpoint: ${again}`;
  const stored = await folder.readConfig().catch(() => null);
  // A run's steps are determined by its data, model and optimisation: the same ones diverge again.
  if (stored === null || firstDifference(identity(stored as unknown as Config), identity(config)) !== null) return said;
  return `${said}, with that run's data, model and optimisation, so it diverges again${at}: stop it and start it with a lower ${lowerToConverge(config.train)}`;
}

export async function runTraining(o: RunOptions): Promise<RunResult> {
  const folder = RunFolder.of(o.config);
  const model = getModel(o.config.model.name);
  // One process trains a run at a time: held until the run ends here, or the process does
  // (claimRunFolder may hold it already). Claiming makes the folder.
  await claimRun(folder);
  try {
    const result = await train(o, folder, model);
    o.onOver?.(result.outcome);
    return result;
  } finally {
    await folder.release();
  }
}

async function train(o: RunOptions, folder: RunFolder, model: ModelSpec): Promise<RunResult> {
  const { config } = o;
  const result = o.result ?? o.log;
  const runDir = folder.dir;
  let state: TrainState;
  /** What the checkpoint says the run trained on (resume only). */
  let stored: DataIdentity | undefined;
  /** The final epoch's line, when it lacks the evaluation every run's last epoch gets. */
  let unevaluated: EpochMetrics | undefined;
  if (o.resume) {
    const ck = await loadCheckpoint(folder.checkpointFile);
    stored = ck.data;
    checkResumable(ck.config, config, runDir);
    if (ck.params.length !== model.size) throw new TrainerError('E_CHECKPOINT', `checkpoint does not fit model ${model.name}`);
    const epochs = config.train.epochs;
    if (ck.epoch > epochs || (ck.epoch === epochs && ck.stepInEpoch > 0)) {
      throw new TrainerError('E_CHECKPOINT', `cannot resume ${runDir} with train.epochs ${epochs}: it has trained into epoch ${ck.epoch + (ck.stepInEpoch > 0 ? 1 : 0)}`);
    }
    if (ck.epoch === epochs && (await folder.modelHolds(ck.params))) {
      result(`${runDir} already finished its ${plural(epochs, 'epoch')} (model in ${folder.modelDir}); --train.epochs N with N > ${epochs} trains it on`);
      return { runDir, outcome: 'already-finished', weightsSha256: null };
    }
    state = { ...ck, sgd: { momentum: ck.momentum } };
    const past = (await folder.readMetrics()).filter((m) => m.epoch <= ck.epoch);
    const lost = Array.from({ length: ck.epoch }, (_, i) => i + 1).filter((e) => !past.some((m) => m.epoch === e));
    if (lost.length > 0) {
      o.log(`note: ${folder.metricsFile} lacks the line of epoch(s) ${lost.join(', ')} (torn or lost: a crash, a full disk); the checkpoint has their training, their figures are gone`);
    }
    // The dashboard's past, at once: loading the data and waiting for workers may take minutes, and
    // it showed "epoch 0, step 0" meanwhile. (Lines past the checkpoint are dropped below, before
    // the first step: not shown.)
    if (o.onHistory && ck.epoch < epochs) {
      o.onHistory({
        epochs: past,
        steps: (await folder.readSteps()).filter((s) => s.step <= ck.globalStep),
        epoch: ck.epoch,
        globalStep: ck.globalStep,
      });
    }
    if (ck.epoch === epochs) {
      // Finished, but the model is not there (deleted, or the disk was full when it was written):
      // the final checkpoint holds the final weights, so they are exported again, nothing trained.
      // A run resumed with train.epochs lowered to its checkpoint's epoch ends there too, and that
      // epoch is evaluated first if eval.every skipped it (the last epoch of every run is).
      unevaluated = past.find((m) => m.epoch === epochs && m.trainAcc === null);
      const evaluating = unevaluated ? ', after evaluating its last epoch' : '';
      const model = (await folder.hasModel()) ? `its model in ${folder.modelDir} is of an earlier end` : `has no model in ${folder.modelDir}`;
      o.log(`${runDir} finished its ${plural(epochs, 'epoch')} but ${model}: writing it from the final checkpoint${evaluating}`);
    } else {
      o.log(`resuming ${runDir} at epoch ${ck.epoch + 1} of ${epochs}, step ${ck.globalStep}`);
    }
  } else {
    if (await folder.holdsRun()) {
      throw new TrainerError(
        'E_CONFIG',
        `run folder ${runDir} already holds a run; pass --resume to continue it or choose another --run.name`,
      );
    }
    const earlier = await earlierRun(folder, config);
    if (earlier !== null) o.log(`${runDir} ${earlier}`);
    state = {
      params: initParams(model, config.run.seed),
      sgd: { momentum: null },
      epoch: 0,
      stepInEpoch: 0,
      globalStep: 0,
      epochLossSum: 0,
      epochCorrect: 0,
      epochExamples: 0,
      epochTrainSec: 0,
      elapsedSec: 0,
    };
  }
  const orphans = await folder.removeOrphanTemps();
  if (orphans.length > 0) o.log(`removed ${orphans.length} temporary file(s) of an interrupted write: ${orphans.join(', ')}`);
  // A stop before the first step ends here: nothing to checkpoint (a resumed run's checkpoint stays as it was).
  const notStarted = (when: string): RunResult => {
    result(o.resume ? `stopped ${when}; checkpoint in ${runDir}, continue with --resume` : `stopped ${when}; nothing trained yet, no checkpoint written`);
    return { runDir, outcome: 'not-started', weightsSha256: null };
  };
  let data: LoadedData;
  try {
    // A resumed run keeps its data.source: "or use --data.source synthetic" named a flag it refuses.
    data = await loadRunData(config, {
      ...(o.onDownloadProgress ? { onProgress: o.onDownloadProgress } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.resume ? { fixedSource: true } : {}),
    });
  } catch (err) {
    if (o.signal?.aborted && isTrainerError(err, 'E_DOWNLOAD')) return notStarted('while downloading the data');
    throw err;
  }
  if (o.signal?.aborted) return notStarted('before the first step');
  const dataId = dataIdentity(data);
  if (stored) checkSameData(stored, dataId, runDir, data.sourceDir);
  const normalization = resolveNormalization(config.data.normalize, data.train);
  o.log(
    `data: ${data.train.count} training and ${data.val.count} validation images, classes ${data.classNames.join(', ')}` +
      ` (from ${data.sourceDir})`,
  );
  o.log(`model ${model.name}: ${model.size} parameters; batch ${config.train.batchSize} in ${config.train.microBatches} micro-batches`);
  const exportModel = async (params: Float32Array): Promise<RunResult> => {
    const sha = await exportLayersModel(folder.modelDir, model, params, { normalization, classNames: data.classNames });
    await folder.forgetDiverged();
    result(`model saved to ${folder.modelDir} (weights sha256 ${sha})`);
    return { runDir, outcome: 'finished', weightsSha256: sha };
  };

  if (state.epoch === config.train.epochs && !unevaluated) {
    await folder.writeConfig(config);
    // Ended at its checkpoint (train.epochs lowered to it, after a kill or E_DIVERGED past it): the
    // lines past the checkpoint are of a training this model never had, and `trainer report` drew
    // them ("1 of 1 epochs · 26 steps", a diverged epoch 2's losses), as a resume that trains drops them.
    await folder.keepMetricsThrough(state.epoch);
    await folder.keepStepsThrough(state.globalStep);
    return exportModel(state.params);
  }

  const ctx = { config, model, data, normalization, log: o.log };
  let pool: WorkerPool;
  try {
    pool = o.createPool ? await o.createPool(ctx) : await createPool(ctx, o.launch);
  } catch (err) {
    if (o.signal?.aborted && isTrainerError(err, 'E_NO_WORKERS')) return notStarted('while waiting for workers');
    throw err;
  }
  if (o.signal?.aborted) {
    await pool.close(o.resume ? 'stopped' : 'not-started');
    return notStarted('before the first step');
  }
  // The run's files are written once it can train: a fresh run that fails or is stopped before (bad
  // data, no backend, no workers, Ctrl-C) leaves its folder empty, and the claim removes it.
  try {
    // Before this run's config.json: a reader never sees it with the earlier run's files.
    if (!o.resume) await folder.forgetEarlierRun();
    await folder.writeConfig(config);
    await folder.keepMetricsThrough(o.resume ? state.epoch : 0);
    await folder.keepStepsThrough(o.resume ? state.globalStep : 0);
  } catch (err) {
    await pool.close();
    throw err;
  }
  o.onPool?.(pool);
  const steps = new StepLog(folder, config.log.everySteps, config.train.lr);
  const onStep = o.onStep;
  let outcome: TrainOutcome | null = null;
  // Whether the run is over for its workers: done (its model written or not: a resume writes it
  // without them), or diverged (a resume would diverge again). A stop or any other failure may be
  // resumed, and remote workers wait for that.
  let over = false;
  let how: RunEnd = 'failed';
  let exported: RunResult | null = null;
  try {
    outcome = await trainLoop({
      config,
      model,
      data,
      dataIdentity: dataId,
      pool,
      folder,
      state,
      log: o.log,
      result,
      ...(o.signal ? { signal: o.signal } : {}),
      onStep: onStep
        ? (s) => {
            steps.onStep(s);
            onStep(s);
          }
        : steps.onStep,
      beforeCheckpoint: async () => {
        await steps.flush();
        await o.beforeCheckpoint?.();
      },
      ...(unevaluated ? { unevaluated } : {}),
      ...(o.onEpoch ? { onEpoch: o.onEpoch } : {}),
      ...(o.onStepTiming ? { onStepTiming: o.onStepTiming } : {}),
    });
    over = outcome === 'finished';
    // Before the pool closes: a ws pool then waits up to 7.25 s for workers to read that the run is
    // over, and a coordinator killed in that wait (SIGKILL, Slurm, the machine) left a run that had
    // trained every epoch without its model.
    if (over) {
      pool.tellHeldLines?.();
      exported = await exportModel(state.params);
    }
    how = over ? 'finished' : 'stopped';
  } catch (err) {
    const diverged = isTrainerError(err, 'E_DIVERGED');
    over ||= diverged; // a failed export leaves the run over: its resume needs no workers
    await steps.close().catch(() => {}); // this error is the one to report
    if (diverged) {
      how = 'diverged';
      await folder.markDiverged((err as Error).message).catch(() => {});
    }
    throw err;
  } finally {
    await o.beforePoolClose?.(how);
    // A new run stopped before its first step leaves nothing (below): its workers have nothing to wait for.
    await pool.close(over ? 'finished' : outcome === 'not-started' && !o.resume ? 'not-started' : 'stopped');
  }
  await steps.close();
  if (exported) return exported;
  if (outcome === 'not-started') {
    // What a new run wrote before its first step goes, so that the claim leaves no folder.
    if (!o.resume) await folder.forgetUnstarted();
    return notStarted('before the first step');
  }
  result(`stopped at epoch ${state.epoch + 1}, step ${state.globalStep}; checkpoint written, continue with --resume`);
  return { runDir, outcome: 'stopped', weightsSha256: null };
}
