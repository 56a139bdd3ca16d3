import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../../../src/worker/kernels/index.js';
import { TANH_GRAD, tanhGradientConfig } from '../../../src/worker/kernels/tanh-grad.js';
import { bitIdentical, randomValues, runOn, useBackend } from './reference.js';
import { readKernelSwitches } from '../../../src/worker/kernels/wasm-heap.js';

/** Saturated and nearly saturated outputs, zeros, subnormals; then tanh of random values. */
function ys(n: number): Float32Array {
  const special = [1, -1, 0, -0, 0.99999994, -0.99999994, 0.9999999, 0.5, -0.5, 1e-20, -1e-20, 1e-40, -1e-40, 2e-38];
  const out = new Float32Array(n);
  const r = randomValues(n, 11, 9);
  for (let i = 0; i < n; i++) out[i] = i < special.length ? special[i]! : Math.tanh(r[i]!);
  return out;
}

/** Gradients of all sizes: large ones (1e30, near the float32 maximum), tiny, zero. */
function dys(n: number): Float32Array {
  const special = [1e30, -3e38, 3.4e38, 1e-30, -1e-45, 0, -0, 1, -1, 7, 1e20, -1e20, 0.1, 12345.678];
  const out = new Float32Array(n);
  const r = randomValues(n, 12, 1);
  for (let i = 0; i < n; i++) out[i] = i < special.length ? special[(i * 5) % special.length]! : r[i]! * 10 ** ((i % 13) - 6);
  return out;
}

// Lengths around the vector loop (4 floats) and the unrolled loop (16), and a layer's size.
const LENGTHS = [1, 3, 4, 5, 15, 16, 17, 21, 33, 1023, 4 * 1037 + 3, 32 * 16 * 16 * 8];

const threeOps = (y: tf.Tensor, dy: tf.Tensor): tf.Tensor => tf.mul(tf.sub(tf.scalar(1), tf.square(y)), dy);
const fused = (y: tf.Tensor, dy: tf.Tensor): tf.Tensor => tf.engine().runKernel(TANH_GRAD, { dy, y }) as tf.Tensor;
const on = (op: (y: tf.Tensor, dy: tf.Tensor) => tf.Tensor, n: number) => (): tf.Tensor =>
  tf.tidy(() => op(tf.tensor1d(ys(n)), tf.tensor1d(dys(n))));

/** tf.grad of sum(tanh(x) * w) with the Tanh gradient as currently registered. */
const tanhGrad = (): tf.Tensor =>
  tf.tidy(() => {
    const w = tf.tensor2d(randomValues(63 * 35, 3, 100), [63, 35]);
    return tf.grad((x: tf.Tensor) => tf.tanh(x).mul(w).sum())(tf.tensor2d(randomValues(63 * 35, 4, 4), [63, 35]));
  });

/**
 * A second derivative through the Tanh gradient. tfjs saves a copy of y off the tape, so only the
 * path through dy (here x itself) is differentiated; ours must do the same, not fail.
 */
const tanhGradGrad = (): tf.Tensor =>
  tf.tidy(() => tf.grad(tf.grad((z: tf.Tensor) => tf.tanh(z).mul(z).sum()))(tf.tensor1d(randomValues(101, 5, 3))));

/** Runs `fn` on `backend` with tfjs's own Tanh gradient in place of ours, then puts ours back. */
async function withStockGradient(backend: 'cpu' | 'wasm', fn: () => tf.Tensor): Promise<Float32Array> {
  await useBackend(backend);
  unregisterWasmTrainingKernels([TANH_GRAD]);
  try {
    assert.notEqual(tf.getGradient(tf.Tanh), tanhGradientConfig);
    const t = fn();
    const values = new Float32Array(t.dataSync());
    t.dispose();
    return values;
  } finally {
    registerWasmTrainingKernels();
  }
}

async function kernelsRun(backend: 'cpu' | 'wasm', fn: () => tf.Tensor): Promise<string[]> {
  await useBackend(backend);
  const profile = await tf.profile(() => fn());
  return profile.kernels.map((k) => k.name);
}

describe('the fused Tanh gradient', () => {
  for (const n of LENGTHS) {
    it(`gives the bits of mul(sub(1, square(y)), dy) on wasm, ${n} elements`, async () => {
      const expected = await runOn('wasm', on(threeOps, n));
      const actual = await runOn('wasm', on(fused, n));
      assert.ok(bitIdentical(actual, expected));
    });
  }

  it("gives NaN and infinities where tfjs's ops do", async () => {
    const y = [NaN, 0.5, 1, -1, 0, Infinity, -Infinity, 0.25, NaN];
    const dy = [1, NaN, Infinity, -Infinity, Infinity, 1, -2, -Infinity, NaN];
    const run = (op: typeof fused) => (): tf.Tensor => tf.tidy(() => op(tf.tensor1d(y), tf.tensor1d(dy)));
    const expected = await runOn('wasm', run(threeOps));
    const actual = await runOn('wasm', run(fused));
    // NaN payloads are up to the hardware; that a value is NaN is not.
    actual.forEach((v, i) => assert.ok(Object.is(v, expected[i]) || (Number.isNaN(v) && Number.isNaN(expected[i])), `element ${i}: ${v} vs ${expected[i]}`));
  });

  it('gives the bits of the cpu backend, whose ops round the same way', async () => {
    const n = 4 * 1037 + 3;
    const expected = await runOn('cpu', on(threeOps, n));
    const actual = await runOn('wasm', on(fused, n));
    assert.ok(bitIdentical(actual, expected));
  });

  it('gives the same bits from its JS loop, where the SIMD module cannot run', async () => {
    const n = 1023;
    const expected = await runOn('wasm', on(fused, n));
    process.env['TRAINER_WASM_SIMD'] = '0';
    readKernelSwitches();
    try {
      const actual = await runOn('wasm', on(fused, n));
      assert.ok(bitIdentical(actual, expected));
    } finally {
      delete process.env['TRAINER_WASM_SIMD'];
      readKernelSwitches();
    }
  });

  it('is what tf.grad of tf.tanh runs on wasm, in place of Square, Sub and Multiply', async () => {
    const names = await kernelsRun('wasm', tanhGrad);
    assert.ok(names.includes(TANH_GRAD), names.join(' '));
    assert.ok(!names.includes(tf.Square) && !names.includes(tf.Sub), names.join(' '));
  });

  it('leaves tf.grad of tf.tanh on wasm bit for bit as tfjs computes it', async () => {
    const expected = await withStockGradient('wasm', tanhGrad);
    const actual = await runOn('wasm', tanhGrad);
    assert.ok(bitIdentical(actual, expected));
  });

  it('leaves the cpu backend on tfjs gradient ops, bit for bit', async () => {
    const names = await kernelsRun('cpu', tanhGrad);
    assert.ok(!names.includes(TANH_GRAD) && names.includes(tf.Square), names.join(' '));
    const expected = await withStockGradient('cpu', tanhGrad);
    const actual = await runOn('cpu', tanhGrad);
    assert.ok(bitIdentical(actual, expected));
  });

  it('has a gradient itself, giving tfjs second derivatives bit for bit', async () => {
    const expected = await withStockGradient('wasm', tanhGradGrad);
    const actual = await runOn('wasm', tanhGradGrad);
    assert.ok(bitIdentical(actual, expected));
  });

  it('is replaced by tfjs gradient when our kernels are unregistered, and back when registered', async () => {
    await useBackend('wasm');
    assert.equal(tf.getGradient(tf.Tanh), tanhGradientConfig);
    unregisterWasmTrainingKernels();
    try {
      assert.notEqual(tf.getGradient(tf.Tanh), undefined);
      assert.notEqual(tf.getGradient(tf.Tanh), tanhGradientConfig);
      assert.equal(tf.getKernel(TANH_GRAD, 'wasm'), undefined);
    } finally {
      registerWasmTrainingKernels();
    }
    assert.equal(tf.getGradient(tf.Tanh), tanhGradientConfig);
  });
});
