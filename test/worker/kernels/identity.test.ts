import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
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

describe('tensors saved for the backward pass on wasm (shortcutSavedTensors)', () => {
  it('give the gradients of tfjs clones, bit for bit, without tfjs cloning them, and leave no tensor behind', async () => {
    await useBackend('wasm');
    const { MicroBatchComputer } = await import('../../../src/worker/gradient.js');
    const { getModel, initParams } = await import('../../../src/worker/model.js');
    const { restoreSavedTensors, shortcutSavedTensors } = await import('../../../src/worker/kernels/identity.js');
    const { NORMALIZATIONS, everyByteDataset, firstBitDifference, oddIndices } = await import('../input-fixtures.js');
    // tfjs's own saving, counted: the tensors it clones (through an Identity kernel call each).
    type Saving = { saveTensorsForBackwardMode(ts: tf.Tensor[]): tf.Tensor[] };
    const proto = Object.getPrototypeOf(tf.engine()) as Saving;
    const tfjsSave = proto.saveTensorsForBackwardMode;
    let cloned = 0;
    proto.saveTensorsForBackwardMode = function (this: Saving, ts: tf.Tensor[]) {
      cloned += ts.length;
      return tfjsSave.call(this, ts);
    };
    try {
      const data = everyByteDataset(30);
      for (const name of ['net', 'fc'] as const) {
        const model = getModel(name);
        const flat = initParams(model, 2);
        const c = new MicroBatchComputer(model, NORMALIZATIONS[0]!);
        const indices = oddIndices(data.count, 12);
        const gradient = () => {
          const out = new Float32Array(model.size);
          const stats = c.gradient(flat, data, indices, out);
          return { out, stats };
        };
        const before = tf.memory().numTensors;
        restoreSavedTensors();
        cloned = 0;
        const viaClones = gradient();
        assert.ok(cloned >= 6, `${name}: tfjs cloned ${cloned} tensors`);
        shortcutSavedTensors();
        cloned = 0;
        const shared = gradient();
        assert.equal(cloned, 0, `${name}: nothing cloned with the shortcut`);
        assert.equal(firstBitDifference(shared.out, viaClones.out), -1, `${name}: gradient bits`);
        assert.deepEqual(shared.stats, viaClones.stats);
        assert.equal(tf.memory().numTensors, before, `${name}: tensors left`);
      }
    } finally {
      proto.saveTensorsForBackwardMode = tfjsSave;
      shortcutSavedTensors();
    }
  });
});
