import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import * as tf from '../../src/worker/tf.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { NORMALIZATIONS, everyByteDataset, oddIndices } from './input-fixtures.js';
import { useBackend } from './kernels/reference.js';
import { readKernelSwitches } from '../../src/worker/kernels/wasm-heap.js';

const model = getModel('net');
const weights = initParams(model, 2);
const data = everyByteDataset(30);
const other = everyByteDataset(30);
const out = new Float32Array(model.size);

describe('MicroBatchComputer staging leaves no tensor behind', () => {
  afterEach(() => {
    delete process.env['TRAINER_WASM_SIMD'];
    readKernelSwitches();
  });

  for (const [backend, simd] of [['wasm', '1'], ['wasm', '0'], ['cpu', '1']] as const) {
    it(`staged and used, staged and dropped, never staged (${backend}, TRAINER_WASM_SIMD=${simd})`, async () => {
      await useBackend(backend);
      if (simd === '0') process.env['TRAINER_WASM_SIMD'] = '0';
      readKernelSwitches();
      const c = new MicroBatchComputer(model, NORMALIZATIONS[0]!, 8);
      c.gradient(weights, data, [0, 1], out); // warm-up: kernels set up their own state once
      const before = tf.memory().numTensors;
      // One round on cpu (each path once; 4 s a round there), ten on wasm.
      const rounds = backend === 'cpu' ? 1 : 10;
      for (let r = 0; r < rounds; r++) {
        const a = oddIndices(data.count, 5 + r);
        const b = oddIndices(data.count, 4 + r);
        c.stage(data, a);
        assert.equal(tf.memory().numTensors, before + 2, 'a staged input is two tensors');
        c.gradient(weights, data, a, out); // used
        c.stage(data, a);
        c.gradient(weights, data, b, out); // dropped: other indices
        c.stage(data, a);
        c.evaluate(weights, other, a); // dropped: other dataset
        c.stage(data, a);
        c.evaluate(weights, data, a); // used
        c.stage(data, a);
        c.stage(data, b); // replaced
        c.gradient(weights, data, [], out); // dropped: empty batch
        c.stage(data, b);
        c.logits(weights, new Float32Array(3072), 1); // dropped
        c.stage(data, a);
        c.discardStaged();
        c.stage(data, []); // stages nothing
        c.gradient(weights, data, b, out); // never staged
        assert.equal(tf.memory().numTensors, before, `round ${r}`);
      }
      // A bad index stages nothing and leaks nothing.
      c.stage(data, oddIndices(data.count, 3));
      assert.throws(() => c.stage(data, [0, data.count]), (err) => isTrainerError(err, 'E_INTERNAL'));
      assert.equal(tf.memory().numTensors, before);
      assert.throws(() => c.gradient(weights, data, [-1], out), (err) => isTrainerError(err, 'E_INTERNAL'));
      assert.equal(tf.memory().numTensors, before);
    });
  }

  it('a stage() inside tf.tidy keeps its tensors for the call that uses them', async () => {
    await useBackend('wasm');
    const c = new MicroBatchComputer(model, NORMALIZATIONS[0]!, 8);
    const a = oddIndices(data.count, 6);
    const expected = c.gradient(weights, data, a, out);
    const before = tf.memory().numTensors;
    tf.tidy(() => c.stage(data, a));
    assert.equal(tf.memory().numTensors, before + 2);
    assert.deepEqual(c.gradient(weights, data, a, out), expected);
    assert.equal(tf.memory().numTensors, before);
  });
});
