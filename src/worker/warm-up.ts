/**
 * Throw-away gradients before a worker's first task, so that V8 has compiled the hot JavaScript
 * (tfjs's engine and tape, our kernels' glue) and tiered up the wasm with its optimising compiler
 * before the first step: otherwise the first few hundred micro-batches of every run are slow.
 * Measured with 2 threads, 6,400 images, batch 64 in 4 micro-batches: the first epoch at 0.75 of
 * the steady state without, 0.93 with 100 gradients, 0.92 with 200, 0.99 with 400 (the whole run
 * no longer at 100, +1.4 s at 400). Since gradients replay kernel plans (a micro-batch 12 % faster,
 * the first one records) and wasm is optimised when it compiles (v8-wasm-flags.ts), 3 alternating
 * rounds of 5 epochs: first epoch / steady state 0.85-0.88 with 150, 0.86-0.93 with 200, 0.93-1.01
 * with 300, whole runs 7.5-8.1 s, 7.5-7.9 s and 8.0-8.6 s. With the direct Conv2D and fused
 * kernels (a micro-batch 2.3 ms) and JavaScript optimised sooner (v8-wasm-flags.ts), which moves V8's
 * compilations into the first epoch, 3 rounds: first epoch / steady state 0.77-0.79 with 200,
 * 0.86-0.88 with 400 (start-up about 0.4 s longer). The warm-up calls the computer the way a
 * thread does (weights by version, two gradients a version, the first one's input staged): with
 * plain vectors, the functions that take the weights were optimised for them and thrown back to
 * the interpreter by the first real step ("wrong map"), then compiled again during epochs 2-3 on
 * V8's helper threads, which take a core from the compute threads; 5 alternating pairs, 2 threads,
 * steady state +0.8 to +3.8 % (median +2.7), 1 thread the same. Only the wasm backend needs it;
 * TRAINER_WARMUP_STEPS overrides the count (0: none).
 */
import * as tf from './tf.js';
import type { Dataset } from '../data/cifar-format.js';
import type { MicroBatchComputer } from './gradient.js';
import { initParams } from './model.js';

const WARM_UP_STEPS = 400;
const WARM_UP_MAX_MS = 3000;
/**
 * Evaluations of one chunk: the first records its kernel plan, the others replay it. Fewer when
 * TRAINER_WARMUP_STEPS asks for fewer gradients than this (a short warm-up is short: the passes were
 * most of a 2-gradient warm-up's time, an evaluation chunk being tens of micro-batches).
 */
const EVAL_PASSES = 3;

/** The micro-batch sizes of a step of `batchSize` examples in `microBatches` parts, at most `maxBatch`. */
export function microBatchSizes(batchSize: number, microBatches: number, maxBatch: number): number[] {
  if (microBatches <= 0) return [];
  const sizes = new Set([Math.floor(batchSize / microBatches), Math.ceil(batchSize / microBatches)]);
  return [...sizes].filter((n) => n > 0 && n <= maxBatch);
}

/**
 * On the wasm backend, evaluates `data`'s first `evalSize` examples (the largest task, an
 * evaluation chunk) EVAL_PASSES times (at most as many times as gradients), then computes up to TRAINER_WARMUP_STEPS (default 400)
 * gradients of the given sizes, in turn, on `data`'s first examples, for at most 3 s in all
 * (one gradient at the least); returns how many gradients it computed.
 */
export function warmUp(c: MicroBatchComputer, data: Dataset, sizes: readonly number[], evalSize = 0): number {
  const steps = Number(process.env['TRAINER_WARMUP_STEPS'] ?? WARM_UP_STEPS);
  const count = Math.min(data.count, Math.max(0, ...sizes));
  if (tf.getBackend() !== 'wasm' || !(steps > 0) || sizes.length === 0 || count === 0) return 0;
  const t0 = performance.now();
  // The way a thread computes: weights by version, two gradients a version, the first one's input staged before.
  const flats = [initParams(c.model, 0), initParams(c.model, 1)];
  const out = new Float32Array(c.model.size);
  const indicesOf = (k: number) => {
    const n = Math.min(sizes[k % sizes.length] as number, count);
    const indices = new Int32Array(n);
    for (let i = 0; i < n; i++) indices[i] = (k * n + i) % count;
    return indices;
  };
  // Evaluation first, at its chunk size: its calls give the kernels' JavaScript other shapes and
  // objects, and once that code is optimised for training alone, the run's first evaluation threw
  // it away and V8 optimised it again over the next two epochs (2 threads, evaluation every epoch:
  // epochs 2-3 at 10,400-10,800 images/s against 13,000 before; with this, 12,300-13,400).
  const evalIndices = Int32Array.from({ length: Math.min(data.count, evalSize) }, (_, i) => i);
  for (let k = 0; k < Math.min(EVAL_PASSES, steps) && evalIndices.length > 0; k++) c.evaluate({ version: -1, flat: flats[0] as Float32Array }, data, evalIndices);
  let done = 0;
  // One gradient at the least, whatever the evaluation passes took: on a loaded machine they
  // could use the whole budget, and the run's first step then compiled the kernels for its size.
  for (; done < steps && (done === 0 || performance.now() - t0 < WARM_UP_MAX_MS); done++) {
    const version = done >> 1;
    const indices = indicesOf(done);
    if (done % 2 === 0) c.stage(data, indices);
    c.gradient({ version, flat: flats[version % 2] as Float32Array }, data, indices, out);
  }
  c.dropWeights();
  c.discardStaged();
  c.staging.used = 0;
  c.staging.dropped = 0;
  return done;
}
