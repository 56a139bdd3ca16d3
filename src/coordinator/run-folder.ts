/**
 * The run folder, `<run.dir>/<run.name>/`: what the run is (config.json), what
 * it did (metrics.jsonl, workers.json), where it continues from
 * (checkpoint/state.ckpt) and what it made (model/, report.html). Its layout
 * is spelled here and nowhere else: the loop writes through it, and run,
 * report, eval and predict read through it.
 */
import { access, appendFile, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../shared/config.js';
import { ioError, removeOrphanTemps, writeFileAtomic } from '../shared/atomic-file.js';
import { TrainerError } from '../shared/errors.js';
import type { WorkerStats } from '../transports/pool.js';

/** One line of metrics.jsonl: an epoch's results. */
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
  /**
   * The backend kinds that have computed so far (SelectedBackend.kind). More
   * than one: parity with a one-backend run's weights hash does not hold.
   * Empty in lines written before it existed.
   */
  backends: string[];
}

export class RunFolder {
  readonly configFile: string;
  readonly metricsFile: string;
  readonly workersFile: string;
  readonly checkpointFile: string;
  /** The exported layers model: model.json and weights.bin. */
  readonly modelDir: string;
  readonly reportFile: string;

  constructor(readonly dir: string) {
    this.configFile = join(dir, 'config.json');
    this.metricsFile = join(dir, 'metrics.jsonl');
    this.workersFile = join(dir, 'workers.json');
    this.checkpointFile = join(dir, 'checkpoint', 'state.ckpt');
    this.modelDir = join(dir, 'model');
    this.reportFile = join(dir, 'report.html');
  }

  /** The folder of the run a config describes. */
  static of(config: Pick<Config, 'run'>): RunFolder {
    return new RunFolder(resolve(config.run.dir, config.run.name));
  }

  async hasCheckpoint(): Promise<boolean> {
    return access(this.checkpointFile).then(
      () => true,
      () => false,
    );
  }

  /** The resolved config, stored with the run (never the token: callers blank it). */
  async writeConfig(config: Config): Promise<void> {
    await writeFileAtomic(this.configFile, Buffer.from(`${JSON.stringify(config, null, 2)}\n`));
  }

  /** config.json as stored; E_USAGE when the folder holds none. */
  async readConfig(): Promise<Record<string, unknown>> {
    let config: unknown;
    try {
      config = JSON.parse(await readFile(this.configFile, 'utf8'));
    } catch {
      throw new TrainerError('E_USAGE', `${this.dir} is not a run folder (no readable config.json)`);
    }
    if (!isObject(config)) throw new TrainerError('E_USAGE', `${this.configFile} is not a trainer config`);
    return config;
  }

  async appendMetrics(m: EpochMetrics): Promise<void> {
    await appendFile(this.metricsFile, `${JSON.stringify(m)}\n`).catch((err: unknown) => {
      throw ioError(this.metricsFile, err);
    });
  }

  /** Metric lines in epoch order, none when no epoch finished; a torn or foreign line is skipped. */
  async readMetrics(): Promise<EpochMetrics[]> {
    try {
      return parseMetrics(await readFile(this.metricsFile, 'utf8'));
    } catch {
      return [];
    }
  }

  /** After a resume: forgets the lines of epochs past `completedEpochs` (the checkpoint had not reached them). */
  async keepMetricsThrough(completedEpochs: number): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.metricsFile, 'utf8');
    } catch {
      return;
    }
    const kept = parseMetrics(text).filter((m) => m.epoch <= completedEpochs);
    await writeFileAtomic(this.metricsFile, Buffer.from(kept.map((m) => `${JSON.stringify(m)}\n`).join('')));
  }

  /** Temporary files of writes a killed process never finished (the run's own files only); returns their names. */
  async removeOrphanTemps(): Promise<string[]> {
    const dirs = [this.dir, dirname(this.checkpointFile), this.modelDir];
    return (await Promise.all(dirs.map((d) => removeOrphanTemps(d)))).flat();
  }

  /** Per-worker share and speed, counted since the training process started. */
  async writeWorkers(stats: WorkerStats[]): Promise<void> {
    await writeFileAtomic(this.workersFile, Buffer.from(`${JSON.stringify(stats)}\n`));
  }

  /** workers.json's rows; none for runs from before it existed. */
  async readWorkers(): Promise<WorkerStats[]> {
    try {
      const w: unknown = JSON.parse(await readFile(this.workersFile, 'utf8'));
      return Array.isArray(w) ? w.filter(isWorkerStats).map((s) => ({ ...s, backend: s.backend ?? '?' })) : [];
    } catch {
      return [];
    }
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown) => v === null || num(v);

function isEpochMetrics(v: unknown): v is Omit<EpochMetrics, 'backends'> & { backends?: unknown } {
  return (
    isObject(v) &&
    num(v.epoch) &&
    num(v.step) &&
    num(v.trainLoss) &&
    num(v.runningAcc) &&
    numOrNull(v.trainAcc) &&
    numOrNull(v.valAcc) &&
    numOrNull(v.valLoss) &&
    num(v.imagesPerSec) &&
    num(v.elapsedSec) &&
    num(v.workers)
  );
}

/** A workers.json row; rows written before `backend` existed read as backend '?'. */
function isWorkerStats(v: unknown): v is WorkerStats {
  return isObject(v) && typeof v.worker === 'string' && num(v.microBatches) && num(v.examples) && num(v.computeMs) && (v.backend === undefined || typeof v.backend === 'string');
}

/** Metric lines in epoch order; a torn or foreign line (e.g. a crash mid-append) is skipped. */
export function parseMetrics(text: string): EpochMetrics[] {
  const out: EpochMetrics[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      continue;
    }
    if (isEpochMetrics(v)) out.push({ ...v, backends: Array.isArray(v.backends) ? v.backends.filter((b) => typeof b === 'string') : [] });
  }
  return out.sort((a, b) => a.epoch - b.epoch);
}
