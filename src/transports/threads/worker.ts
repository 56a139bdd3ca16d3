/**
 * Compute-thread entry. Loads its backend and builds its model once, says it
 * is ready, then loops: claim a pending entry of the task board, compute it
 * (a micro-batch gradient into the entry's shared slot, or an evaluation
 * chunk), settle it, and when nothing is pending, load the examples of the
 * task it expects next and sleep in Atomics.wait until tasks are posted.
 *
 * Why Atomics.wait and not messages: a thread that blocks is woken by the
 * kernel the moment a task is posted, without going through an event loop
 * (a message is a task on the receiving loop, queued behind whatever else
 * runs there), and it never competes for a core while it waits. The event
 * loop still runs while a task computes asynchronously (webgpu's readback).
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import * as tf from '../../worker/tf.js';
import { selectBackend } from '../../worker/backend.js';
import { releaseWebGpu } from '../../worker/webgpu.js';
import { MicroBatchComputer } from '../../worker/gradient.js';
import { getModel } from '../../worker/model.js';
import { refuseOversizeTasks } from '../../worker/webgpu-errors.js';
import { warmUp } from '../../worker/warm-up.js';
import { pinThisThread } from './pin.js';
import { envVar } from '../../worker/kernels/wasm-heap.js';
import { adoptStepMemory } from './shared-data.js';
import { plainStepEnd } from '../../coordinator/optimizer.js';
import { CTRL, E, ENTRY_INTS, ERROR_BYTES, FAULT_CODE, H, HINT_INTS, KIND, R, RESULT_FLOATS, S, STAT_STRIDE, STATE, type ThreadMessage, type ThreadStart } from './messages.js';

const { init, position, id } = workerData as ThreadStart;
// As the CLI's main thread: no debug checks, no console banners (the cpu backend advertised
// tfjs-node on stderr, once per thread).
tf.enableProdMode();
adoptStepMemory(init);
const { ctrl, entries, results, errors, hints, stats } = init.board;
const post = (m: ThreadMessage) => parentPort?.postMessage(m);
let computer: MicroBatchComputer;
let backendKind: string;
let onGpu: boolean;
let warmedUp: boolean;
try {
  const selected = await selectBackend(init.backend, init.gpu);
  backendKind = selected.kind;
  onGpu = selected.gpu;
  // The largest micro-batch is the largest size warmed up with (warm-up.ts microBatchSizes).
  refuseOversizeTasks(getModel(init.model), { microBatch: Math.max(0, ...init.warmUpSizes), maxBatch: init.maxBatch });
  computer = new MicroBatchComputer(getModel(init.model), init.normalization, init.maxBatch);
  warmedUp = warmUp(computer, init.train, init.warmUpSizes, init.maxBatch) > 0;
} catch (err) {
  const code = (err as { code?: unknown }).code;
  post({ kind: 'failed', code: typeof code === 'string' ? code : null, message: (err as Error).message ?? String(err) });
  throw err;
}
const model = computer.model;
const claimed = STATE.CLAIMED + id;
const encoder = new TextEncoder();
/** The hint serial last staged, and a private copy of its indices (the shared ones may be rewritten meanwhile). */
let stagedHint = 0;
const hintIndices = new Int32Array(init.maxBatch);
const pauseCell = new Int32Array(new SharedArrayBuffer(4));
/** The longest a thread spins while the others finish a step (spinWhileOthersCompute): a hung one is not waited for on a busy core. */
const BARRIER_SPIN_MS = 10;

stats[position * STAT_STRIDE + S.THREAD] = threadId;
const core = init.pinCores?.[position] ?? null;
const pinned = core !== null && pinThisThread(core);
/** Whether this thread spins while the others finish a step (spinWhileOthersCompute): only on a core of its own. */
const spinAtBarrier = pinned && envVar('TRAINER_BARRIER_SPIN') !== '0';
post({ kind: 'ready', backend: backendKind, gpu: onGpu, core: pinned ? core : null, warmedUp });
await loop();
// Stopped (ThreadBoard.close): the Dawn device goes before the thread does, and the thread ends by
// itself. Terminated with its device alive, a thread crashed the process on NVIDIA's driver after
// the model was saved (SIGSEGV, exit 139, --threads 2 on an H200).
if (backendKind.startsWith('webgpu')) {
  releaseWebGpu();
  stats[position * STAT_STRIDE + S.RELEASED] = 1;
}

async function loop(): Promise<void> {
  for (;;) {
    // Read before looking for work: a post after the look changes it, and the wait returns at once.
    const seq = Atomics.load(ctrl, CTRL.SEQ);
    if (Atomics.load(ctrl, CTRL.STOP) === 1) return;
    const e = claim();
    if (e >= 0) {
      const version = await run(e);
      // Nothing left of this step for anyone to take: load the next step's examples now, before
      // claiming any of its tasks (the coordinator may have posted them already: the input is
      // prepared once either way, and the task that prefers this thread takes it).
      if (!pendingAt(version)) prefetch(version + 1);
      continue;
    }
    if (init.idlePauseMs !== undefined) Atomics.wait(pauseCell, 0, 0, init.idlePauseMs);
    if (prefetch(null)) continue;
    if (spinAtBarrier && spinWhileOthersCompute(seq)) continue;
    Atomics.wait(ctrl, CTRL.SEQ, seq);
  }
}

/** A pending entry, now claimed by this thread: one that prefers this position first, then the lowest; -1 if none. */
function claim(): number {
  let other = -1;
  for (let e = 0; e < init.board.capacity; e++) {
    const at = e * ENTRY_INTS;
    if (Atomics.load(entries, at + E.STATE) !== STATE.PENDING) continue;
    if (entries[at + E.PREFER] === position || entries[at + E.PREFER] === -1) {
      if (Atomics.compareExchange(entries, at + E.STATE, STATE.PENDING, claimed) === STATE.PENDING) return e;
    } else if (other < 0) {
      other = e;
    }
  }
  // Another position's task, still pending after a full pass over the board: its thread is busy or gone.
  for (let e = Math.max(other, 0); other >= 0 && e < init.board.capacity; e++) {
    if (Atomics.compareExchange(entries, e * ENTRY_INTS + E.STATE, STATE.PENDING, claimed) === STATE.PENDING) return e;
  }
  return -1;
}

/** Whether a task at weights `version` (null: any) is still pending. */
function pendingAt(version: number | null): boolean {
  for (let e = 0; e < init.board.capacity; e++) {
    const at = e * ENTRY_INTS;
    if (Atomics.load(entries, at + E.STATE) === STATE.PENDING && (version === null || entries[at + E.VERSION] === version)) return true;
  }
  return false;
}

/** Computes entry `e` and settles it; returns its weights version. */
async function run(e: number): Promise<number> {
  const at = e * ENTRY_INTS;
  const r = e * RESULT_FLOATS;
  const t0 = performance.now();
  results[r + R.START] = performance.timeOrigin + t0;
  results[r + R.THREAD] = threadId;
  let settled: number = STATE.DONE;
  const version = entries[at + E.VERSION] as number;
  // Read now: once settled, the entry may hold the feeder's next task.
  const fault = entries[at + E.FAULT] as number;
  try {
    if (fault !== 0) injectFault(fault);
    const publishedVersion = Atomics.load(ctrl, CTRL.VERSION);
    if (publishedVersion !== version) throw new Error(`task wants weights version ${version}, version ${publishedVersion} is published`);
    const published = init.weights[Atomics.load(ctrl, CTRL.WEIGHTS)] as Float32Array;
    const weights = { version, flat: published };
    const offset = entries[at + E.OFFSET] as number;
    const length = entries[at + E.LENGTH] as number;
    let s;
    if (entries[at + E.KIND] === KIND.STEP_END) {
      s = stepEnd(published, offset, length);
    } else if (entries[at + E.KIND] === KIND.GRADIENT) {
      if (e >= init.slotCount) throw new Error(`entry ${e} has no gradient slot`);
      const out = init.slots.subarray(e * model.size, (e + 1) * model.size);
      s = await computer.gradientAsync(weights, init.train, init.indices.subarray(offset, offset + length), out);
    } else {
      const indices = new Int32Array(length);
      for (let i = 0; i < length; i++) indices[i] = offset + i;
      s = await computer.evaluateAsync(weights, entries[at + E.SPLIT] === 1 ? init.val : init.train, indices);
    }
    results[r + R.LOSS] = s.lossSum;
    results[r + R.CORRECT] = s.correct;
    results[r + R.COUNT] = s.count;
  } catch (err) {
    settled = STATE.FAILED;
    const text = errors.subarray(e * ERROR_BYTES, (e + 1) * ERROR_BYTES);
    text.fill(0);
    const code = (err as { code?: unknown }).code;
    const line = ((err as Error).message ?? String(err)).split('\n')[0] ?? '';
    encoder.encodeInto(typeof code === 'string' && /^E_[A-Z_]+$/.test(code) ? `${code}: ${line}` : line, text);
  }
  results[r + R.END] = performance.timeOrigin + performance.now();
  if (settled === STATE.DONE) stats[position * STAT_STRIDE + S.DONE] = (stats[position * STAT_STRIDE + S.DONE] as number) + 1;
  report(true);
  // Lost when the feeder has failed the entry meanwhile (past its deadline): the result is dropped.
  Atomics.compareExchange(entries, at + E.STATE, claimed, settled);
  Atomics.add(ctrl, CTRL.EVENTS, 1);
  // Of threads finishing at once, the last to settle sees nothing in flight: someone wakes the feeder.
  if (settled === STATE.FAILED || Atomics.load(ctrl, CTRL.NOTIFY_EACH) === 1 || !inFlight()) Atomics.notify(ctrl, CTRL.EVENTS);
  if (fault === FAULT_CODE.exitAfter) process.exit(1);
  return version;
}

/**
 * Parameters [offset, offset + length) of the next version, from the published ones and the
 * step's micro-batch gradients (ThreadInit.stepEnd), into the other weights buffer.
 */
function stepEnd(published: Float32Array, offset: number, length: number): { lossSum: number; correct: number; count: number } {
  const { ints, lr } = init.stepEnd;
  const parts = Array.from(ints.subarray(2, 2 + (ints[0] as number)), (slot) => init.slots.subarray(slot * model.size, (slot + 1) * model.size));
  const next = init.weights[published === init.weights[0] ? 1 : 0] as Float32Array;
  const finite = plainStepEnd(parts, ints[1] as number, lr[0] as number, published, next, offset, offset + length);
  return { lossSum: 0, correct: finite ? 1 : 0, count: length };
}

/**
 * A thread that has finished its share of a step while another still computes spins until the
 * step's last task is settled (or tasks are posted), at most BARRIER_SPIN_MS, instead of sleeping
 * at once; true when tasks were posted meanwhile (look again), false to sleep. Only pinned threads
 * spin: each then has a core of its own, which would idle anyway, and the coordinator's thread needs
 * a core only once the step's last task is settled. A sleeping thread's virtual CPU halts, and on the
 * 2-core machine a step's compute ran slower after it: 2 threads, configs/cifar10.yaml, 22
 * alternating pairs of 5 s of steady state (2026-12-04 16:5x-17:1x), spinning faster in 16, +6 % at
 * the median (-22 to +35 %: this machine's swings); in `npm run bench:barrier` two threads meeting
 * at a barrier made 0.88 of their free rate spinning, 0.80 sleeping. TRAINER_BARRIER_SPIN=0 turns
 * it off. Counted in S.SPUN.
 */
function spinWhileOthersCompute(seq: number): boolean {
  if (!inFlight()) return false;
  const until = performance.now() + BARRIER_SPIN_MS;
  let posted = false;
  while (!(posted = Atomics.load(ctrl, CTRL.SEQ) !== seq) && inFlight() && performance.now() < until);
  stats[position * STAT_STRIDE + S.SPUN] = (stats[position * STAT_STRIDE + S.SPUN] as number) + 1;
  return posted;
}

/** Whether an entry is pending or claimed. */
function inFlight(): boolean {
  for (let e = 0; e < init.board.capacity; e++) {
    const state = Atomics.load(entries, e * ENTRY_INTS + E.STATE);
    if (state === STATE.PENDING || state >= STATE.CLAIMED) return true;
  }
  return false;
}

/**
 * Stages the examples of this position's hint for step `version` (null: its newest hint), once
 * per hint; whether it did.
 */
function prefetch(version: number | null): boolean {
  const at = (parity: number) => (position * 2 + parity) * HINT_INTS;
  const h = version !== null ? at(version % 2) : Atomics.load(hints, at(1) + H.SERIAL) > Atomics.load(hints, at(0) + H.SERIAL) ? at(1) : at(0);
  const serial = Atomics.load(hints, h + H.SERIAL);
  if (serial <= stagedHint || (version !== null && hints[h + H.VERSION] !== version)) return false;
  // Idle: the pool writes a step's hints after posting its tasks, so a task seen pending now may be
  // this step's, to claim before staging the next one's input (which its input() would then drop).
  if (version === null && pendingAt(null)) return false;
  stagedHint = serial;
  const offset = hints[h + H.OFFSET] as number;
  const length = Math.min(hints[h + H.LENGTH] as number, hintIndices.length);
  if (length <= 0) return false;
  hintIndices.set(init.indices.subarray(offset, offset + length));
  try {
    computer.stage(init.train, hintIndices.subarray(0, length));
  } catch {
    // A hint only: stage() staged nothing, and the task prepares its input itself.
  }
  report(false);
  return true;
}

/** This thread's figures, for the pool's tensorCounts() (after a task only: staged inputs hold tensors) and staging(). */
function report(afterTask: boolean): void {
  const at = position * STAT_STRIDE;
  if (afterTask) stats[at + S.TENSORS] = tf.memory().numTensors;
  stats[at + S.USED] = computer.staging.used;
  stats[at + S.DROPPED] = computer.staging.dropped;
}

function injectFault(code: number): void {
  if (code === FAULT_CODE.exit) process.exit(1); // ends this thread only
  if (code === FAULT_CODE.throw) throw new Error('injected fault');
  if (code === FAULT_CODE.hang) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // blocks until terminated
}
