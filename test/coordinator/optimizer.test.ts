import assert from 'node:assert/strict';
import test from 'node:test';
import { reduceGradients, sgdStep, type SgdState } from '../../src/coordinator/optimizer.js';

test('plain SGD subtracts lr times the gradient', () => {
  const p = Float32Array.from([1, -2]);
  sgdStep(p, Float32Array.from([0.5, 1]), { momentum: null }, { lr: 0.1, momentum: 0, weightDecay: 0 });
  assert.deepEqual([...p], [Math.fround(1 - Math.fround(0.1 * 0.5)), Math.fround(-2 - 0.1)]);
});

test('momentum and weight decay follow torch.optim.SGD', () => {
  // Reference values computed in float64 from PyTorch's update rule.
  const lr = 0.1, mu = 0.9, wd = 0.01;
  const p = Float32Array.from([1]);
  const state: SgdState = { momentum: null };
  let ref = 1, buf = 0;
  for (const g of [0.5, -0.25, 1]) {
    sgdStep(p, Float32Array.from([g]), state, { lr, momentum: mu, weightDecay: wd });
    const gg = g + wd * ref;
    buf = buf === 0 ? gg : mu * buf + gg;
    ref -= lr * buf;
    assert.ok(Math.abs((p[0] as number) - ref) < 1e-6, `${p[0]} vs ${ref}`);
  }
  assert.ok(state.momentum instanceof Float32Array);
});

test('reduction adds micro-batch gradients in order and divides by the batch size', () => {
  const out = new Float32Array(2);
  reduceGradients(out, [Float32Array.from([1, 2]), Float32Array.from([3, 4]), Float32Array.from([0, 0])], 4);
  assert.deepEqual([...out], [1, 1.5]);
});
