import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { randomValues, useBackend } from './reference.js';

describe('Identity on wasm', () => {
  it('gives a clone that outlives its source and frees the data once both are disposed', async () => {
    await useBackend('wasm');
    const before = tf.engine().backend.numDataIds();
    const values = randomValues(4 * 8 * 8 * 4, 3);
    const x = tf.tensor(values, [4, 8, 8, 4]);
    const y = tf.clone(x);
    x.dispose();
    assert.deepEqual(y.dataSync(), values);
    assert.equal(tf.engine().backend.numDataIds(), before + 1);
    y.dispose();
    assert.equal(tf.engine().backend.numDataIds(), before);
  });

  it('keeps tensors saved for the backward pass valid after the forward tensors are disposed', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const x = tf.tensor(randomValues(64, 4), [4, 16]);
    const init = tf.tensor(randomValues(16 * 4, 5), [16, 4]);
    const w = tf.variable(init);
    init.dispose();
    const { value, grads } = tf.variableGrads(() => tf.tanh(tf.matMul(x, w)).square().sum());
    const dw = grads[w.name]!;
    assert.equal(dw.shape.join(','), '16,4');
    assert.ok(Number.isFinite(value.dataSync()[0]!) && dw.dataSync().every(Number.isFinite));
    tf.dispose([x, w, value, dw]);
    assert.equal(tf.memory().numTensors, before);
  });
});
