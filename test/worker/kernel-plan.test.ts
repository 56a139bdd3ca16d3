import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import * as tf from '../../src/worker/tf.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { KernelPlan, sameData } from '../../src/worker/kernel-plan.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { NORMALIZATIONS, everyByteDataset, firstBitDifference, oddIndices } from './input-fixtures.js';
import { randomValues, useBackend } from './kernels/reference.js';

const data = everyByteDataset(40);
const dataIds = () => tf.backend().numDataIds();

/** Gradients of the same micro-batches by two computers, one through tfjs's engine every time, one replaying plans. */
function compare(name: 'net' | 'fc', sizes: number[]): { planned: MicroBatchComputer } {
  const model = getModel(name);
  const engine = new MicroBatchComputer(model, NORMALIZATIONS[1]!, 16);
  engine.usePlans = false;
  const planned = new MicroBatchComputer(model, NORMALIZATIONS[1]!, 16);
  const a = new Float32Array(model.size);
  const b = new Float32Array(model.size);
  sizes.forEach((n, k) => {
    // A new weights version every other micro-batch, some as a bare vector; staged or not.
    const flat = initParams(model, 10 + (k >> 1));
    const weights = k % 3 === 2 ? flat : { version: k >> 1, flat };
    const indices = oddIndices(data.count, n).map((i) => (i + 7 * k) % data.count);
    if (k % 2 === 1) planned.stage(data, indices);
    const s = engine.gradient(weights, data, indices, a);
    const t = planned.gradient(weights, data, indices, b);
    assert.equal(firstBitDifference(b, a), -1, `${name}, micro-batch ${k} of ${n}: gradient bits`);
    assert.deepEqual(t, s, `${name}, micro-batch ${k}: loss sum and correct count`);
    assert.deepEqual(planned.evaluate(weights, data, indices), engine.evaluate(weights, data, indices), `${name}, evaluation ${k}`);
  });
  assert.deepEqual(engine.planning, { replays: 0, recorded: 0, refused: [] });
  return { planned };
}

describe('kernel plans: the gradient as recorded kernel calls, replayed without the engine', () => {
  afterEach(() => {
    delete process.env['TRAINER_KERNEL_PLAN'];
  });

  it('give the CNN the bits of tfjs\'s engine, gradients and evaluations, at every batch size, weights version and staging', async () => {
    await useBackend('wasm');
    const { planned } = compare('net', [16, 16, 5, 16, 5, 1, 16, 1]);
    assert.equal(planned.planning.recorded, 6, 'one plan per size, for the gradient and for evaluation');
    assert.equal(planned.planning.replays, 10);
    assert.deepEqual(planned.planning.refused, []);
  });

  it('give the fc model (its first weight outside the plan) the bits of the engine', async () => {
    await useBackend('wasm');
    const { planned } = compare('fc', [16, 3, 16, 3, 16]);
    assert.equal(planned.planning.recorded, 4);
    assert.equal(planned.planning.replays, 6);
  });

  it('leave no data behind on the backend, and no tensor', async () => {
    await useBackend('wasm');
    const model = getModel('net');
    const c = new MicroBatchComputer(model, NORMALIZATIONS[0]!, 8);
    const out = new Float32Array(model.size);
    const flat = initParams(model, 3);
    c.gradient({ version: 1, flat }, data, oddIndices(data.count, 8), out); // records; kernels set up their state
    const [ids, tensors] = [dataIds(), tf.memory().numTensors];
    for (let k = 0; k < 6; k++) c.gradient({ version: 1, flat }, data, oddIndices(data.count, 8).map((i) => (i + k) % data.count), out);
    assert.equal(c.planning.replays, 6);
    assert.equal(dataIds(), ids, 'backend data');
    assert.equal(tf.memory().numTensors, tensors, 'engine tensors');
    c.dropWeights();
    c.dropPlans();
    assert.ok(dataIds() < ids, 'the plan frees its constants');
  });

  it('are off with TRAINER_KERNEL_PLAN=0, and on no backend but wasm', async () => {
    await useBackend('wasm');
    process.env['TRAINER_KERNEL_PLAN'] = '0';
    const model = getModel('net');
    const off = new MicroBatchComputer(model, NORMALIZATIONS[0]!, 8);
    const out = new Float32Array(model.size);
    for (let k = 0; k < 2; k++) off.gradient(initParams(model, 1), data, [1, 2, 3], out);
    assert.deepEqual(off.planning, { replays: 0, recorded: 0, refused: [] });
    delete process.env['TRAINER_KERNEL_PLAN'];
    await useBackend('cpu');
    const cpu = new MicroBatchComputer(model, NORMALIZATIONS[0]!, 8);
    for (let k = 0; k < 2; k++) cpu.gradient(initParams(model, 1), data, [1, 2, 3], out);
    assert.deepEqual(cpu.planning, { replays: 0, recorded: 0, refused: [] });
  });
});

describe('KernelPlan', () => {
  it('replays on new values (constants made while recording included), not the recorded ones', async () => {
    await useBackend('wasm');
    const a = tf.tensor2d(randomValues(12, 1), [3, 4]);
    const b = tf.tensor2d(randomValues(12, 2), [3, 4]);
    const f = (x: tf.Tensor, y: tf.Tensor) => [tf.tidy(() => tf.sum(tf.mul(tf.add(x, y), tf.scalar(3)), 1))];
    const { outputs, plan } = KernelPlan.record([a, b], () => f(a, b));
    assert.ok(plan !== null);
    const c = tf.tensor2d(randomValues(12, 3), [3, 4]);
    const expected = f(c, b);
    const r = plan.replay([c, b]);
    assert.ok(sameData(r.outputs[0]!, expected[0]!), 'replay on new data has the bits of the ops');
    assert.ok(!sameData(r.outputs[0]!, outputs[0]!), 'and not those of the recorded call');
    r.release();
    assert.throws(() => plan.replay([tf.zeros([4, 3]), b]), /recorded for \[3,4\] \[3,4\]/);
    plan.dispose();
    tf.dispose([a, b, c, ...outputs, ...expected]);
  });

  it('refuses what it could not replay: values read back, or data from outside the recorded calls', async () => {
    await useBackend('wasm');
    const a = tf.tensor1d([1, 2, 3]);
    const outside = tf.tensor1d([4, 5, 6]);
    const ids = dataIds();
    const read = KernelPlan.record([a], () => [tf.tidy(() => tf.mul(a, tf.scalar(tf.max(a).dataSync()[0] as number)))]);
    assert.equal(read.plan, null);
    assert.match(read.reason ?? '', /read back/);
    const other = KernelPlan.record([a], () => [tf.add(a, outside)]);
    assert.equal(other.plan, null);
    assert.match(other.reason ?? '', /comes from outside/);
    tf.dispose([...read.outputs, ...other.outputs]);
    assert.equal(dataIds(), ids, 'nothing kept by a refused plan');
    // Recording leaves the kernels and the backend as they were.
    assert.equal(tf.add(a, outside).dataSync()[2], 9);
    assert.ok(!Object.prototype.hasOwnProperty.call(tf.backend(), 'write'));
    tf.dispose([a, outside]);
  });
});
