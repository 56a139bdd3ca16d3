/**
 * Which examples a step trains on. The global batch of a step depends only on
 * (seed, epoch, step), and its split into micro-batches only on
 * train.microBatches: never on the number of workers, their speed or who is alive.
 */
import { epochPermutation } from '../shared/rng.js';

export function stepsPerEpoch(examples: number, batchSize: number): number {
  return Math.ceil(examples / batchSize);
}

export interface EpochPlan {
  epoch: number;
  steps: number;
  /** Indices of the global batch of `step` (the last one may be smaller). */
  batch(step: number): Int32Array;
}

export function planEpoch(seed: number, epoch: number, examples: number, batchSize: number): EpochPlan {
  const order = epochPermutation(seed, epoch, examples);
  return {
    epoch,
    steps: stepsPerEpoch(examples, batchSize),
    batch: (step) => order.subarray(step * batchSize, Math.min(examples, (step + 1) * batchSize)),
  };
}

/**
 * Splits a batch into `count` contiguous micro-batches whose sizes differ by at
 * most one (the first `length % count` get one more). With fewer examples than
 * micro-batches the tail ones are empty and contribute nothing.
 */
export function splitMicroBatches(batch: Int32Array, count: number): Int32Array[] {
  const base = Math.floor(batch.length / count);
  const extra = batch.length % count;
  const out: Int32Array[] = [];
  let start = 0;
  for (let m = 0; m < count; m++) {
    const size = base + (m < extra ? 1 : 0);
    out.push(batch.subarray(start, start + size));
    start += size;
  }
  return out;
}
