/**
 * Worker-thread entry (piscina). Loads its backend and builds its model once,
 * at module load; then each task computes one micro-batch gradient (into its
 * shared slot) or one evaluation chunk, reading dataset and weights from
 * shared memory.
 */
import { threadId } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { workerData } from 'piscina';
import { selectBackend } from '../../worker/backend.js';
import { MicroBatchComputer } from '../../worker/gradient.js';
import { getModel } from '../../worker/model.js';
import type { ThreadInit, ThreadResult, ThreadTask } from './messages.js';

const init = workerData as ThreadInit;
const selected = await selectBackend(init.backend, init.gpu);
const model = getModel(init.model);
const computer = new MicroBatchComputer(model, init.normalization, init.maxBatch);
// The weights are copied out of shared memory once per version, so a
// coordinator that publishes early can never hand a task torn weights.
const weights = new Float32Array(model.size);
let weightsVersion = -1;

function loadWeights(version: number): void {
  if (weightsVersion === version) return;
  const published = Atomics.load(init.publishedVersion, 0);
  if (published !== version) throw new Error(`task wants weights version ${version}, version ${published} is published`);
  weights.set(init.weights);
  weightsVersion = version;
}

function injectFault(fault: string): void {
  if (fault === 'exit') process.exit(1); // ends this thread only
  if (fault === 'throw') throw new Error('injected fault');
  if (fault === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // blocks until terminated
}

/** Loads the examples of the task expected next; a hint only, so one that cannot be loaded is dropped. */
function prefetch(at: { offset: number; length: number }): void {
  try {
    computer.stage(init.train, init.indices.subarray(at.offset, at.offset + at.length));
  } catch {
    // stage() staged nothing; the task will prepare its input itself.
  }
}

export default async function run(task: ThreadTask): Promise<ThreadResult> {
  const t0 = performance.now();
  let stats = { lossSum: 0, correct: 0, count: 0 };
  switch (task.kind) {
    case 'gradient': {
      init.startedAtMs[task.slot] = performance.timeOrigin + t0;
      Atomics.store(init.started, task.slot, task.ticket);
      loadWeights(task.step);
      if (task.fault) injectFault(task.fault);
      const indices = init.indices.subarray(task.offset, task.offset + task.length);
      const out = init.slots.subarray(task.slot * model.size, (task.slot + 1) * model.size);
      stats = await computer.gradientAsync(weights, init.train, indices, out);
      const next = task.next;
      // After the result is posted: the coordinator is reducing, this thread would only wait.
      if (next) setImmediate(() => prefetch(next));
      break;
    }
    case 'evaluate': {
      loadWeights(task.version);
      const indices = new Int32Array(task.length);
      for (let i = 0; i < task.length; i++) indices[i] = task.start + i;
      stats = await computer.evaluateAsync(weights, task.split === 'train' ? init.train : init.val, indices);
      break;
    }
    case 'ping':
      break;
    default: {
      const never: never = task;
      throw new Error(`unknown task ${JSON.stringify(never)}`);
    }
  }
  const t1 = performance.now();
  return {
    thread: threadId,
    ...stats,
    computeMs: t1 - t0,
    startedAtMs: performance.timeOrigin + t0,
    endedAtMs: performance.timeOrigin + t1,
    backend: selected.kind,
    numTensors: tf.memory().numTensors,
    staging: { ...computer.staging },
  };
}
