/**
 * V8 heap growth for a process that streams frames: the ws coordinator.
 *
 * Each step, Node hands every socket read to JavaScript in a fresh
 * ArrayBuffer and ws reassembles a frame spread over several reads into
 * another, about 0.3 MB a step for `net` with 2 workers (60 MB for `fc`).
 * All of it dies young. V8 counts external memory allocated since the last
 * mark-compact towards the old generation's limit, and a coordinator that is
 * mostly waiting looks to V8's heuristics like a process that should grow
 * its heap slowly (factor 1.1-1.6 over a live heap of about 25 MB, mostly
 * tfjs). The result was a full mark-compact every 20-30 steps, with
 * incremental marking, concurrent marking threads and a pause on the step's
 * critical path: 14-17 of them in 500 steps, on a 2-core machine where those
 * threads take the CPU from the workers.
 *
 * With the limit at 3x the live heap, the scavenges that young external
 * memory triggers anyway free the buffers before the limit is reached: 2
 * mark-compacts in the same run, both at start-up. Measured with 2 ws worker
 * processes (bench children run alternately, 5 rounds): median 7,388 vs
 * 6,778 images/s, and 2 threads 7,565.
 *
 * V8 reads `--heap-growing-percent` each time it computes a new limit, so
 * setting it at run time takes effect from the next garbage collection.
 * TRAINER_GC_TUNING=0 leaves V8's own heuristics alone, and a
 * `--heap-growing-percent` given to node wins.
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to (1 + this / 100) times its live size before a mark-compact. */
export const HEAP_GROWING_PERCENT = 200;

let applied = false;

/** Applies the setting once per process; returns whether it is in force. */
export function tuneHeapGrowthForStreaming(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): boolean {
  if (applied) return true;
  if (env.TRAINER_GC_TUNING === '0' || execArgv.some((a) => a.replace(/_/g, '-').startsWith('--heap-growing-percent'))) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  applied = true;
  return true;
}
