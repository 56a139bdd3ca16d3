import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import * as tf from '../../src/worker/tf.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { microBatchSizes, warmUp } from '../../src/worker/warm-up.js';
import { NORMALIZATIONS, everyByteDataset, oddIndices } from './input-fixtures.js';
import { useBackend } from './kernels/reference.js';

const model = getModel('net');
const data = everyByteDataset(40);

describe('warm-up', () => {
  afterEach(() => {
    delete process.env['TRAINER_WARMUP_STEPS'];
  });

  it('warms up with the sizes a step is split into, never above the largest task', () => {
    assert.deepEqual(microBatchSizes(64, 4, 16), [16]);
    assert.deepEqual(microBatchSizes(50, 4, 13), [12, 13]);
    assert.deepEqual(microBatchSizes(64, 4, 8), [], 'micro-batches larger than a task are not guessed at');
    assert.deepEqual(microBatchSizes(64, 0, 16), [], 'unknown split: no warm-up');
  });

  it('computes TRAINER_WARMUP_STEPS gradients, leaves no tensor behind and changes no bit of the next gradient', async () => {
    await useBackend('wasm');
    const weights = initParams(model, 3);
    const indices = oddIndices(data.count, 12);
    const expected = new Float32Array(model.size);
    new MicroBatchComputer(model, NORMALIZATIONS[0]!, 16).gradient(weights, data, indices, expected);

    process.env['TRAINER_WARMUP_STEPS'] = '5';
    const c = new MicroBatchComputer(model, NORMALIZATIONS[0]!, 16);
    const before = tf.memory().numTensors;
    assert.equal(warmUp(c, data, [12, 13]), 5);
    assert.equal(tf.memory().numTensors, before);
    const got = new Float32Array(model.size);
    c.gradient(weights, data, indices, got);
    assert.deepEqual(got, expected);
  });

  it('evaluates chunks of the evaluation size first, so the run\'s first evaluation replays a plan, with the same results', async () => {
    await useBackend('wasm');
    const weights = initParams(model, 3);
    const chunk = Int32Array.from({ length: 20 }, (_, i) => i);
    const expected = new MicroBatchComputer(model, NORMALIZATIONS[0]!, 20).evaluate(weights, data, chunk);
    process.env['TRAINER_WARMUP_STEPS'] = '3';
    const c = new MicroBatchComputer(model, NORMALIZATIONS[0]!, 20);
    const before = tf.memory().numTensors;
    assert.equal(warmUp(c, data, [16], 20), 3);
    assert.equal(tf.memory().numTensors, before);
    const recorded = c.planning.recorded;
    assert.deepEqual(c.evaluate(weights, data, chunk), expected);
    assert.equal(c.planning.recorded, recorded, 'its plan was recorded by the warm-up');
  });

  it('a warm-up of fewer gradients than its evaluation passes evaluates as many times as it computes gradients (the passes were most of a short warm-up)', async () => {
    await useBackend('wasm');
    const weights = initParams(model, 3);
    const chunk = Int32Array.from({ length: 20 }, (_, i) => i);
    for (const [steps, passes] of [['1', 1], ['2', 2], ['5', 3]] as const) {
      process.env['TRAINER_WARMUP_STEPS'] = steps;
      const c = new MicroBatchComputer(model, NORMALIZATIONS[0]!, 20);
      let evaluations = 0;
      const evaluate = c.evaluate.bind(c);
      c.evaluate = (...args) => (evaluations++, evaluate(...args));
      assert.equal(warmUp(c, data, [16], 20), Number(steps));
      assert.equal(evaluations, passes, `TRAINER_WARMUP_STEPS=${steps}`);
      const recorded = c.planning.recorded;
      c.evaluate(weights, data, chunk);
      assert.equal(c.planning.recorded, recorded, 'one pass records the plan the run replays');
    }
  });

  it('only the wasm backend warms up', async () => {
    await useBackend('cpu');
    assert.equal(warmUp(new MicroBatchComputer(model, NORMALIZATIONS[0]!, 16), data, [16]), 0);
  });

  it('TRAINER_WARMUP_STEPS=0 turns it off', async () => {
    await useBackend('wasm');
    process.env['TRAINER_WARMUP_STEPS'] = '0';
    assert.equal(warmUp(new MicroBatchComputer(model, NORMALIZATIONS[0]!, 16), data, [16]), 0);
  });
});
