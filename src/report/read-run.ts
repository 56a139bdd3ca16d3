/**
 * What a run folder says about a run, for the report: the resolved config,
 * one metrics line per finished epoch, the per-step lines, the per-worker
 * counters that the step loop writes at each epoch end, and whether it diverged.
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
  /** The E_DIVERGED message the run stopped with (diverged.txt); null when it did not diverge, or has written a model since. */
  diverged: string | null;
}

export async function readRun(dir: string): Promise<RunRecord> {
  const folder = new RunFolder(dir);
  const config = await folder.readConfig();
  return {
    dir,
    config,
    metrics: await folder.readMetrics(),
    steps: await folder.readSteps(),
    workers: await folder.readWorkers(),
    diverged: await folder.readDiverged(),
  };
}

/**
 * How far the run got: its last steps.jsonl line when that is past the last finished epoch (a
 * run stopped mid-epoch), else the last epoch line; null before any step. The last epoch line
 * alone said "0 steps" for a run stopped at step 4, and step 32 for one that ran to step 54.
 */
export function progress(run: RunRecord): { step: number; elapsedSec: number } | null {
  const [epoch, step] = [run.metrics.at(-1), run.steps.at(-1)];
  const last = step && (!epoch || step.step > epoch.step) ? step : epoch;
  return last ? { step: last.step, elapsedSec: last.elapsedSec } : null;
}
