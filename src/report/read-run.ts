/**
 * What a run folder says about a run, for the report: the resolved config,
 * one metrics line per finished epoch, the per-step lines, and the per-worker
 * counters that the step loop writes at each epoch end.
 */
import { RunFolder, type EpochMetrics, type StepMetrics } from '../coordinator/run-folder.js';
import type { WorkerStats } from '../transports/pool.js';

export interface RunRecord {
  dir: string;
  /** config.json as stored (the resolved config of the run). */
  config: Record<string, unknown>;
  metrics: EpochMetrics[];
  /** steps.jsonl's lines; empty for runs from before it existed. */
  steps: StepMetrics[];
  /** Empty when the run predates workers.json. */
  workers: WorkerStats[];
}

export async function readRun(dir: string): Promise<RunRecord> {
  const folder = new RunFolder(dir);
  const config = await folder.readConfig();
  return { dir, config, metrics: await folder.readMetrics(), steps: await folder.readSteps(), workers: await folder.readWorkers() };
}
