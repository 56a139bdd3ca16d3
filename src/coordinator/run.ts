/**
 * One training run from a resolved config: the run folder, data, model,
 * worker pool, the step loop, and the exported model at the end.
 */
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../shared/config.js';
import { loadDatasets, type LoadedData } from '../data/dataset.js';
import { ARTICLE_NORMALIZATION, resolveNormalization as resolveDataNormalization, type Normalization } from '../data/normalize.js';
import { TrainerError } from '../shared/errors.js';
import { getModel, initParams, type ModelSpec } from '../worker/model.js';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { CHECKPOINT_FILE, loadCheckpoint } from './checkpoint.js';
import { exportLayersModel } from './export.js';
import type { WorkerPool } from '../transports/pool.js';
import { trainLoop, type EpochMetrics, type StepInfo, type StepTiming, type TrainOutcome, type TrainState } from './train-loop.js';

export interface PoolContext {
  config: Config;
  model: ModelSpec;
  data: LoadedData;
  normalization: Normalization;
  log: (line: string) => void;
}

export type PoolFactory = (ctx: PoolContext) => Promise<WorkerPool>;

export interface RunOptions {
  config: Config;
  resume: boolean;
  createPool: PoolFactory;
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

export function runDirOf(config: Config): string {
  return resolve(config.run.dir, config.run.name);
}

/** The run's normalisation: the article's figures, the training set's statistics, or as given (checked). */
export function resolveNormalization(setting: Config['data']['normalize'], data: LoadedData): Normalization {
  return resolveDataNormalization(setting === 'article' ? ARTICLE_NORMALIZATION : setting, data.train);
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
  const runDir = runDirOf(config);
  const model = getModel(config.model.name);
  let state: TrainState;
  if (o.resume) {
    const ck = await loadCheckpoint(runDir);
    const diff = firstDifference(identity(ck.config), identity(config));
    if (diff) {
      throw new TrainerError('E_CHECKPOINT', `cannot resume ${runDir}: ${diff} differs from the checkpoint's config`);
    }
    if (ck.params.length !== model.size) throw new TrainerError('E_CHECKPOINT', `checkpoint does not fit model ${model.name}`);
    state = { ...ck, sgd: { momentum: ck.momentum } };
    o.log(`resuming ${runDir} at epoch ${ck.epoch + 1}, step ${ck.globalStep}`);
  } else {
    const exists = await access(join(runDir, CHECKPOINT_FILE)).then(
      () => true,
      () => false,
    );
    if (exists) {
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
  await mkdir(runDir, { recursive: true });
  await writeFileAtomic(join(runDir, 'config.json'), Buffer.from(`${JSON.stringify(config, null, 2)}\n`));
  await trimMetrics(runDir, o.resume ? state.epoch : 0);

  const data = await loadRunData(config, o.onDownloadProgress);
  const normalization = resolveNormalization(config.data.normalize, data);
  o.log(
    `data: ${data.train.count} training and ${data.val.count} validation images, classes ${data.classNames.join(', ')}` +
      ` (from ${data.sourceDir})`,
  );
  o.log(`model ${model.name}: ${model.size} parameters; batch ${config.train.batchSize} in ${config.train.microBatches} micro-batches`);

  const pool = await o.createPool({ config, model, data, normalization, log: o.log });
  let outcome: TrainOutcome;
  try {
    outcome = await trainLoop({
      config,
      model,
      data,
      pool,
      runDir,
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
  const modelDir = join(runDir, 'model');
  await exportLayersModel(modelDir, model, state.params, { normalization, classNames: data.classNames });
  const sha = createHash('sha256').update(await readFile(join(modelDir, 'weights.bin'))).digest('hex');
  o.log(`model saved to ${modelDir} (weights sha256 ${sha})`);
  return { runDir, outcome, weightsSha256: sha };
}

/** After a resume, forget metric lines of epochs the checkpoint had not reached. */
async function trimMetrics(runDir: string, completedEpochs: number): Promise<void> {
  const file = join(runDir, 'metrics.jsonl');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return;
  }
  const kept = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => {
      try {
        return (JSON.parse(l) as { epoch: number }).epoch <= completedEpochs;
      } catch {
        return false;
      }
    });
  await writeFile(file, kept.map((l) => `${l}\n`).join(''));
}
