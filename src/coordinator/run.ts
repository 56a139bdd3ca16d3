/**
 * One training run from a resolved config: the run folder, data, model,
 * worker pool, the step loop, and the exported model at the end.
 */
import { mkdir } from 'node:fs/promises';
import { loadDatasets, type LoadedData } from '../data/dataset.js';
import { resolveNormalization } from '../data/normalize.js';
import { ioError } from '../shared/atomic-file.js';
import type { Config } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { createPool, type PoolLaunch } from '../transports/create-pool.js';
import type { PoolFactory } from '../transports/pool.js';
import { getModel, initParams } from '../worker/model.js';
import { loadCheckpoint } from './checkpoint.js';
import { exportLayersModel } from './export.js';
import { RunFolder, type EpochMetrics } from './run-folder.js';
import { trainLoop, type StepInfo, type StepTiming, type TrainOutcome, type TrainState } from './train-loop.js';

export interface RunOptions {
  config: Config;
  resume: boolean;
  /** How the transport starts (stop signal, ws address and token, dashboard hook). */
  launch?: PoolLaunch;
  /** Another pool than cluster.transport's (tests: injected faults, captured pools). */
  createPool?: PoolFactory;
  log: (line: string) => void;
  signal?: AbortSignal;
  onDownloadProgress?: (received: number, total: number | null) => void;
  onStep?: (info: StepInfo) => void;
  onEpoch?: (m: EpochMetrics) => void;
  onStepTiming?: (t: StepTiming) => void;
}

export interface RunResult {
  runDir: string;
  outcome: TrainOutcome;
  /** sha256 of model/weights.bin (the trained parameter vector), when finished. */
  weightsSha256: string | null;
}

/** Keys whose change would make a resumed run a different run. */
function identity(c: Config): unknown {
  return { seed: c.run.seed, data: c.data, model: c.model, train: { ...c.train, epochs: undefined } };
}

function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? null : path;
}

export async function loadRunData(config: Config, onProgress?: RunOptions['onDownloadProgress']): Promise<LoadedData> {
  const d = config.data;
  return loadDatasets({
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
  });
}

export async function runTraining(o: RunOptions): Promise<RunResult> {
  const { config } = o;
  const folder = RunFolder.of(config);
  const runDir = folder.dir;
  const model = getModel(config.model.name);
  let state: TrainState;
  if (o.resume) {
    const ck = await loadCheckpoint(folder.checkpointFile);
    const diff = firstDifference(identity(ck.config), identity(config));
    if (diff) {
      throw new TrainerError('E_CHECKPOINT', `cannot resume ${runDir}: ${diff} differs from the checkpoint's config`);
    }
    if (ck.params.length !== model.size) throw new TrainerError('E_CHECKPOINT', `checkpoint does not fit model ${model.name}`);
    state = { ...ck, sgd: { momentum: ck.momentum } };
    o.log(`resuming ${runDir} at epoch ${ck.epoch + 1}, step ${ck.globalStep}`);
  } else {
    if (await folder.hasCheckpoint()) {
      throw new TrainerError(
        'E_CONFIG',
        `run folder ${runDir} already holds a run; pass --resume to continue it or choose another --run.name`,
      );
    }
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
  await mkdir(runDir, { recursive: true }).catch((err: unknown) => {
    throw ioError(runDir, err);
  });
  const orphans = await folder.removeOrphanTemps();
  if (orphans.length > 0) o.log(`removed ${orphans.length} temporary file(s) of an interrupted write: ${orphans.join(', ')}`);
  await folder.writeConfig(config);
  await folder.keepMetricsThrough(o.resume ? state.epoch : 0);

  const data = await loadRunData(config, o.onDownloadProgress);
  const normalization = resolveNormalization(config.data.normalize, data.train);
  o.log(
    `data: ${data.train.count} training and ${data.val.count} validation images, classes ${data.classNames.join(', ')}` +
      ` (from ${data.sourceDir})`,
  );
  o.log(`model ${model.name}: ${model.size} parameters; batch ${config.train.batchSize} in ${config.train.microBatches} micro-batches`);

  const ctx = { config, model, data, normalization, log: o.log };
  const pool = o.createPool ? await o.createPool(ctx) : await createPool(ctx, o.launch);
  let outcome: TrainOutcome;
  try {
    outcome = await trainLoop({
      config,
      model,
      data,
      pool,
      folder,
      state,
      log: o.log,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onStep ? { onStep: o.onStep } : {}),
      ...(o.onEpoch ? { onEpoch: o.onEpoch } : {}),
      ...(o.onStepTiming ? { onStepTiming: o.onStepTiming } : {}),
    });
  } finally {
    await pool.close();
  }
  if (outcome === 'stopped') {
    o.log(`stopped at epoch ${state.epoch + 1}, step ${state.globalStep}; checkpoint written, continue with --resume`);
    return { runDir, outcome, weightsSha256: null };
  }
  const sha = await exportLayersModel(folder.modelDir, model, state.params, { normalization, classNames: data.classNames });
  o.log(`model saved to ${folder.modelDir} (weights sha256 ${sha})`);
  return { runDir, outcome, weightsSha256: sha };
}
