import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../../../src/worker/kernels/index.js';
import { TANH_GRAD } from '../../../src/worker/kernels/tanh-grad.js';
import { bitIdentical, randomValues, relativeError, useBackend } from './reference.js';

const SHAPES: number[][] = [[3, 3, 3, 16], [16], [3, 3, 16, 8], [8], [512, 32], [32], [32, 10], [10]];
const BATCH = 4;

/** Gradients of the brief's model (conv-tanh-pool x2, dense-tanh, dense, softmax CE), flattened. */
async function modelGrads(backend: 'cpu' | 'wasm'): Promise<Float32Array[]> {
  await useBackend(backend);
  return gradsWithKernelsAsRegistered();
}

function gradsWithKernelsAsRegistered(): Float32Array[] {
  const vars = SHAPES.map((s, i) => tf.variable(tf.tensor(randomValues(tf.util.sizeFromShape(s), i + 1, 0.3), s)));
  const [w1, b1, w2, b2, w3, b3, w4, b4] = vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const x = tf.tensor(randomValues(BATCH * 32 * 32 * 3, 99), [BATCH, 32, 32, 3]) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([1, 3, 5, 7], 'int32'), 10);
  const { grads } = tf.variableGrads(() => {
    let h = tf.tanh(tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'), b1)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.tanh(tf.add(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'same'), b2)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    const f = tf.tanh(tf.add(tf.matMul(tf.reshape(h, [BATCH, 512]), w3), b3));
    return tf.losses.softmaxCrossEntropy(labels, tf.add(tf.matMul(f, w4), b4));
  }, vars);
  const out = vars.map((v) => new Float32Array(grads[v.name]!.dataSync()));
  tf.dispose([...vars, x, labels, ...Object.values(grads)]);
  return out;
}

describe('a training step of the model on wasm', () => {
  it('gives the cpu backend gradients for every weight', async () => {
    const expected = await modelGrads('cpu');
    const actual = await modelGrads('wasm');
    expected.forEach((e, i) => {
      const err = relativeError(actual[i]!, e);
      assert.ok(err < 1e-4, `gradient of weight ${i} (${SHAPES[i]!.join('x')}): relative error ${err}`);
    });
  });

  it('gives bit-identical gradients when run again', async () => {
    const first = await modelGrads('wasm');
    const second = await modelGrads('wasm');
    first.forEach((g, i) => assert.ok(bitIdentical(g, second[i]!), `weight ${i}`));
  });

  it("gives the same bits with the fused Tanh gradient as with tfjs's three ops", async () => {
    const fused = await modelGrads('wasm');
    unregisterWasmTrainingKernels([TANH_GRAD]);
    let threeOps: Float32Array[];
    try {
      threeOps = gradsWithKernelsAsRegistered();
    } finally {
      registerWasmTrainingKernels();
    }
    fused.forEach((g, i) => assert.ok(bitIdentical(g, threeOps[i]!), `weight ${i}`));
  });
});
