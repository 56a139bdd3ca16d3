/**
 * What a run folder says about a run, for the report: the resolved config,
 * one metrics line per finished epoch, and the per-worker counters that the
 * step loop writes to workers.json at each epoch end.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkerStats } from '../transports/pool.js';
import type { EpochMetrics } from '../coordinator/train-loop.js';
import { TrainerError } from '../shared/errors.js';

export interface RunRecord {
  dir: string;
  /** config.json as stored (the resolved config of the run). */
  config: Record<string, unknown>;
  metrics: EpochMetrics[];
  /** Empty when the run predates workers.json. */
  workers: WorkerStats[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown) => v === null || num(v);

function isEpochMetrics(v: unknown): v is EpochMetrics {
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

function isWorkerStats(v: unknown): v is WorkerStats {
  return isObject(v) && typeof v.worker === 'string' && num(v.microBatches) && num(v.examples) && num(v.computeMs);
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
    if (isEpochMetrics(v)) out.push(v);
  }
  return out.sort((a, b) => a.epoch - b.epoch);
}

export async function readRun(dir: string): Promise<RunRecord> {
  let config: unknown;
  try {
    config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  } catch {
    throw new TrainerError('E_USAGE', `${dir} is not a run folder (no readable config.json)`);
  }
  if (!isObject(config)) throw new TrainerError('E_USAGE', `${dir}/config.json is not a trainer config`);
  let metrics: EpochMetrics[] = [];
  try {
    metrics = parseMetrics(await readFile(join(dir, 'metrics.jsonl'), 'utf8'));
  } catch {
    // no epoch finished yet: the report says so
  }
  let workers: WorkerStats[] = [];
  try {
    const w: unknown = JSON.parse(await readFile(join(dir, 'workers.json'), 'utf8'));
    if (Array.isArray(w)) workers = w.filter(isWorkerStats);
  } catch {
    // runs from before workers.json existed
  }
  return { dir, config, metrics, workers };
}
