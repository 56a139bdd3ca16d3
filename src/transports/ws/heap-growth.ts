/**
 * V8 heap growth for the processes that stream frames: the ws coordinator
 * and ws workers.
 *
 * Each step, Node hands every socket read to JavaScript in a fresh
 * ArrayBuffer and ws reassembles a frame spread over several reads into
 * another: at the coordinator about 0.3 MB a step for `net` with 2 workers
 * (60 MB for `fc`), at a worker twice its weights frame. Nearly all of it
 * dies young. V8 counts external memory allocated since the last
 * mark-compact towards the old generation's limit, and a process that is
 * mostly waiting looks to V8's heuristics like one that should grow its heap
 * slowly (factor 1.1-1.6 over the coordinator's live heap of about 25 MB,
 * mostly tfjs). The result was a full mark-compact every 20-30 steps at the
 * coordinator, and every 1-3 steps at an `fc` worker, with incremental
 * marking, concurrent marking threads and pauses on the step's critical
 * path, on a 2-core machine where those threads take the CPU from the
 * workers.
 *
 * With the limit at 3x the live heap, the scavenges that young external
 * memory triggers anyway free the buffers before the limit is reached.
 * Measured, bench children run alternately:
 *   - coordinator, `net`, 2 ws workers: 2 mark-compacts in 500 steps, both at
 *     start-up, instead of 14-17; median 7,341 vs 6,966 images/s over 5
 *     rounds (2 threads: 7,461);
 *   - workers with `fc` (15 MB frames): 19 instead of 41-60 mark-compacts
 *     per worker in 60 steps; 479-507 vs 439-479 images/s over 3 rounds.
 *     With `net` (73 kB frames) a worker runs only about 3 mark-compacts a
 *     run anyway, and tuning it lost 1-4 % (medians over 20 alternating
 *     pairs), so a worker tunes only for weights of LARGE_FRAME_BYTES or more.
 *
 * V8 reads `--heap-growing-percent` each time it computes a new limit, so
 * setting it at run time takes effect from the next garbage collection.
 * TRAINER_GC_TUNING=0 leaves V8's own heuristics alone, and a
 * `--heap-growing-percent` given to node wins.
 */
import { setFlagsFromString } from 'node:v8';

/** A worker whose weights frames are at least this large tunes its heap growth too. */
export const LARGE_FRAME_BYTES = 1 << 20;

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
