import assert from 'node:assert/strict';
import test from 'node:test';
import { reduceGradients, sgdStep, type SgdState } from '../../src/coordinator/optimizer.js';

test('plain SGD subtracts lr times the gradient', () => {
  const p = Float32Array.from([1, -2]);
  sgdStep(p, Float32Array.from([0.5, 1]), { momentum: null }, { lr: 0.1, momentum: 0, weightDecay: 0 });
  assert.deepEqual([...p], [Math.fround(1 - Math.fround(0.1 * 0.5)), Math.fround(-2 - 0.1)]);
});

test('plain SGD rounds lr·g to float32 before subtracting, as float32 tensors do, element by element', () => {
  const n = 10_003; // not a multiple of 4: the unrolled loop's tail runs too
  const p0 = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
  const g = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 7) * 10 ** ((i % 5) - 2));
  for (const weightDecay of [0, 0.01]) {
    const p = p0.slice();
    sgdStep(p, g, { momentum: null }, { lr: 0.013, momentum: 0, weightDecay });
    const expected = Float32Array.from(p0, (x, i) => {
      const gi = weightDecay === 0 ? (g[i] as number) : Math.fround((g[i] as number) + Math.fround(weightDecay * x));
      return Math.fround(x - Math.fround(0.013 * gi));
    });
    assert.deepEqual(new Uint32Array(p.buffer), new Uint32Array(expected.buffer), `weightDecay ${weightDecay}`);
    // Without the inner rounding some elements come out otherwise: the check can fail.
    const unrounded = Float32Array.from(p0, (x, i) => x - 0.013 * (g[i] as number));
    if (weightDecay === 0) assert.notDeepEqual(new Uint32Array(unrounded.buffer), new Uint32Array(expected.buffer));
  }
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

test('micro-batch gradients reduced as they arrive, in any order, give the bits of the in-order sum', async () => {
  const { OrderedReduction } = await import('../../src/coordinator/optimizer.js');
  const n = 1003; // not a multiple of 4: the unrolled loops' tails run too
  // Values whose float32 sums depend on the order of addition.
  const parts = Array.from({ length: 5 }, (_, m) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * (m + 1)) * 10 ** ((i + m) % 7)));
  const inOrder = new Float32Array(n);
  reduceGradients(inOrder, parts, 60); // not a power of 2: the division rounds
  for (const order of [[4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 0, 3, 2, 4]]) {
    const out = new Float32Array(n);
    const r = new OrderedReduction(out, parts.length, 60);
    for (const m of order) r.add(m, parts[m] as Float32Array);
    r.finish();
    assert.deepEqual(new Uint32Array(out.buffer), new Uint32Array(inOrder.buffer), `order ${order.join(',')}`);
  }
  // The test means something: summed in another order, these parts give other bits.
  const sum = (ps: Float32Array[]) => {
    const acc = new Float32Array(n);
    for (const p of ps) for (let i = 0; i < n; i++) acc[i] = (acc[i] as number) + (p[i] as number);
    return new Uint32Array(acc.buffer);
  };
  assert.notDeepEqual(sum([...parts].reverse()), sum(parts));
  // And the division folded into the last part's pass gives the bits of a separate pass over the float32 sum.
  const twoPasses = Float32Array.from(new Float32Array(sum(parts).buffer), (x) => x / 60);
  assert.deepEqual(new Uint32Array(inOrder.buffer), new Uint32Array(twoPasses.buffer));
});

test('finishing a reduction before every micro-batch arrived is an error', async () => {
  const { OrderedReduction } = await import('../../src/coordinator/optimizer.js');
  const r = new OrderedReduction(new Float32Array(2), 3, 4);
  r.add(1, Float32Array.from([1, 1]));
  assert.throws(() => r.finish(), /0 of 3/);
});

test('a micro-batch added twice, or one outside the step, is an error: each result has one path into the sum', async () => {
  const { OrderedReduction } = await import('../../src/coordinator/optimizer.js');
  const r = new OrderedReduction(new Float32Array(2), 3, 4);
  r.add(0, Float32Array.from([1, 1])); // added at once
  assert.throws(() => r.add(0, Float32Array.from([1, 1])), /part 0 of 3 given twice/);
  r.add(2, Float32Array.from([1, 1])); // waits for part 1
  assert.throws(() => r.add(2, Float32Array.from([1, 1])), /part 2 of 3 given twice/);
  assert.throws(() => r.add(3, Float32Array.from([1, 1])), /out of range/);
  assert.throws(() => r.add(-1, Float32Array.from([1, 1])), /out of range/);
});

test('the step end in one pass (finishStep: SIMD or JavaScript, parts added early or at the end) has the bits of reduceGradients then sgdStep', async () => {
  const { OrderedReduction } = await import('../../src/coordinator/optimizer.js');
  const { SIMD_BLOCK } = await import('../../src/coordinator/step-simd.js');
  // Over two SIMD blocks and not a multiple of 4: the blocks, the vector loops' tails and the JavaScript tail all run.
  const n = 2 * SIMD_BLOCK + 1003;
  const parts = Array.from({ length: 4 }, (_, m) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * (m + 1)) * 10 ** (((i + m) % 7) - 4)));
  // Zeros of both signs, in parts and parameters: 0 + (-0) is +0, and the sum starts from +0 as the reduction's does.
  for (const p of parts) p[5] = -0;
  const p0 = Float32Array.from({ length: n }, (_, i) => Math.cos(i) * 0.3);
  p0[5] = -0;
  p0[6] = 0;
  for (const opt of [
    { lr: 0.01, momentum: 0, weightDecay: 0 },
    { lr: 0.013, momentum: 0, weightDecay: 0.001 },
    { lr: 0.01, momentum: 0.9, weightDecay: 0 },
    { lr: 0.02, momentum: 0.5, weightDecay: 0.01 },
  ]) {
    // The reference: the gradient in its own pass, then the update, over two steps (momentum's first step differs).
    const expected = p0.slice();
    const refState: SgdState = { momentum: null };
    const grad = new Float32Array(n);
    for (let step = 0; step < 2; step++) {
      reduceGradients(grad, parts, 60);
      sgdStep(expected, grad, refState, opt);
    }
    for (const simd of [true, false]) {
      for (const eager of [true, false]) {
        const params = p0.slice();
        const state: SgdState = { momentum: null };
        for (const order of [[3, 1, 0, 2], [0, 1, 2, 3]]) {
          const r = new OrderedReduction(new Float32Array(n), parts.length, 60, { eager, simd });
          for (const m of order) r.add(m, parts[m] as Float32Array);
          assert.equal(r.finishStep(params, state, opt), true);
        }
        const what = `simd ${simd}, eager ${eager}, ${JSON.stringify(opt)}`;
        assert.deepEqual(new Uint32Array(params.buffer), new Uint32Array(expected.buffer), what);
        if (opt.momentum !== 0) assert.deepEqual(new Uint32Array((state.momentum as Float32Array).buffer), new Uint32Array((refState.momentum as Float32Array).buffer), what);
      }
    }
  }
  // The test means something: lr·g rounded in float32 arithmetic instead of double gives other bits.
  const g = new Float32Array(n);
  reduceGradients(g, parts, 60);
  const single = Float32Array.from(p0, (x, i) => Math.fround(x - Math.fround(Math.fround(0.01) * (g[i] as number))));
  const double = p0.slice();
  sgdStep(double, g, { momentum: null }, { lr: 0.01, momentum: 0, weightDecay: 0 });
  assert.notDeepEqual(new Uint32Array(single.buffer), new Uint32Array(double.buffer));
});

test('finishStep says when an update makes a weight non-finite, in the SIMD blocks and in the JavaScript tail', async () => {
  const { OrderedReduction } = await import('../../src/coordinator/optimizer.js');
  const { SIMD_BLOCK } = await import('../../src/coordinator/step-simd.js');
  const n = SIMD_BLOCK + 3;
  for (const at of [7, SIMD_BLOCK + 1]) {
    for (const bad of [NaN, Infinity]) {
      for (const simd of [true, false]) {
        const part = new Float32Array(n).fill(1);
        part[at] = bad;
        const r = new OrderedReduction(new Float32Array(n), 1, 1, { eager: false, simd });
        r.add(0, part);
        assert.equal(r.finishStep(new Float32Array(n), { momentum: null }, { lr: 0.1, momentum: 0, weightDecay: 0 }), false, `${bad} at ${at}, simd ${simd}`);
      }
    }
  }
  const r = new OrderedReduction(new Float32Array(n), 1, 1, { eager: false });
  r.add(0, new Float32Array(n).fill(3e38));
  // Finite gradient, overflowing update: lr·g is finite, p - lr·g is -Infinity in float32.
  assert.equal(r.finishStep(new Float32Array(n).fill(-3.4e38), { momentum: null }, { lr: 1, momentum: 0, weightDecay: 0 }), false);
});

test('the step end by ranges (plainStepEnd, as threads run it) has the bits of reduceGradients then sgdStep, into another array or in place', async () => {
  const { plainStepEnd } = await import('../../src/coordinator/optimizer.js');
  const { SIMD_BLOCK } = await import('../../src/coordinator/step-simd.js');
  const n = 2 * SIMD_BLOCK + 1003;
  const parts = Array.from({ length: 3 }, (_, m) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * (m + 2)) * 10 ** (((i + m) % 7) - 4)));
  for (const p of parts) p[9] = -0;
  const p0 = Float32Array.from({ length: n }, (_, i) => Math.cos(i) * 0.3);
  p0[9] = -0;
  const expected = p0.slice();
  const grad = new Float32Array(n);
  reduceGradients(grad, parts, 48);
  sgdStep(expected, grad, { momentum: null }, { lr: 0.01, momentum: 0, weightDecay: 0 });
  // Ranges that start and end anywhere: inside SIMD blocks, off multiples of 4, one empty.
  const bounds = [0, 5003, 5003, SIMD_BLOCK + 6, 2 * SIMD_BLOCK + 1, n];
  for (const simd of [true, false]) {
    const src = p0.slice();
    const dst = new Float32Array(n).fill(7);
    for (let r = 0; r + 1 < bounds.length; r++) assert.equal(plainStepEnd(parts, 48, 0.01, src, dst, bounds[r] as number, bounds[r + 1] as number, simd), true);
    assert.deepEqual(new Uint32Array(dst.buffer), new Uint32Array(expected.buffer), `into another array, simd ${simd}`);
    assert.deepEqual(new Uint32Array(src.buffer), new Uint32Array(p0.buffer), `the published weights stay, simd ${simd}`);
    // A range run twice (its thread was lost midway) gives the same values.
    assert.equal(plainStepEnd(parts, 48, 0.01, src, dst, 5003, SIMD_BLOCK + 6, simd), true);
    assert.deepEqual(new Uint32Array(dst.buffer), new Uint32Array(expected.buffer), `run again, simd ${simd}`);
    const inPlace = p0.slice();
    assert.equal(plainStepEnd(parts, 48, 0.01, inPlace, inPlace, 0, n, simd), true);
    assert.deepEqual(new Uint32Array(inPlace.buffer), new Uint32Array(expected.buffer), `in place, simd ${simd}`);
    // A non-finite gradient in one range is reported by that range only.
    const bad = parts.map((p) => p.slice());
    (bad[1] as Float32Array)[SIMD_BLOCK + 100] = NaN;
    assert.equal(plainStepEnd(bad, 48, 0.01, src, new Float32Array(n), 0, SIMD_BLOCK, simd), true);
    assert.equal(plainStepEnd(bad, 48, 0.01, src, new Float32Array(n), SIMD_BLOCK, n, simd), false, `NaN found, simd ${simd}`);
  }
});

test('in memory the threads share, the step end runs in place in one pass (sharedStepEnd) with the same bits, for any number of parts', async () => {
  const { plainStepEnd } = await import('../../src/coordinator/optimizer.js');
  const { SHARED_STEP_RESERVED, registerSharedStepMemory, sharedStepEnd } = await import('../../src/coordinator/step-simd.js');
  const { sharedMemory } = await import('../../src/worker/kernels/wasm-instance.js');
  const n = 20_011; // not a multiple of 4: the JavaScript tail runs too
  const line = Math.ceil((n * 4) / 64) * 64;
  for (const count of [1, 3, 5]) {
    const memory = sharedMemory(Math.ceil((SHARED_STEP_RESERVED + (count + 2) * line) / 65536));
    assert.ok(memory, 'a shared WebAssembly.Memory');
    registerSharedStepMemory(memory);
    const view = (k: number) => new Float32Array(memory.buffer, SHARED_STEP_RESERVED + k * line, n);
    const parts = Array.from({ length: count }, (_, m) => view(m).map((_, i) => Math.sin(i * (m + 2)) * 10 ** (((i + m) % 7) - 4)));
    parts.forEach((p, m) => view(m).set(p));
    const shared = parts.map((_, m) => view(m));
    for (const p of shared) p[9] = -0;
    const p0 = Float32Array.from({ length: n }, (_, i) => Math.cos(i) * 0.3);
    p0[9] = -0;
    const expected = p0.slice();
    const grad = new Float32Array(n);
    reduceGradients(grad, shared.map((p) => p.slice()), 48);
    sgdStep(expected, grad, { momentum: null }, { lr: 0.01, momentum: 0, weightDecay: 0 });
    const src = view(count);
    const dst = view(count + 1);
    src.set(p0);
    const bounds = [0, 5003, 5003, 8198, n];
    for (let r = 0; r + 1 < bounds.length; r++) assert.equal(plainStepEnd(shared, 48, 0.01, src, dst, bounds[r] as number, bounds[r + 1] as number), true);
    assert.deepEqual(new Uint32Array(dst.slice().buffer), new Uint32Array(expected.buffer), `${count} parts, into the other array`);
    assert.deepEqual(new Uint32Array(src.slice().buffer), new Uint32Array(p0.buffer), 'the published weights stay');
    // The in-place path did it (views of a registered memory), not the copying one; plain arrays are not its.
    const did = sharedStepEnd(shared, 48, 0.01, src, dst, 1, n);
    assert.deepEqual(did && { end: did.end, finite: did.finite }, { end: 1 + ((n - 1) & ~3), finite: true });
    assert.equal(sharedStepEnd(shared.map((p) => p.slice()), 48, 0.01, src, dst, 0, n), null);
    assert.equal(sharedStepEnd(shared, 48, 0.01, p0.slice(), dst, 0, n), null);
    // In place over the published weights.
    src.set(p0);
    assert.equal(plainStepEnd(shared, 48, 0.01, src, src, 0, n), true);
    assert.deepEqual(new Uint32Array(src.slice().buffer), new Uint32Array(expected.buffer), `${count} parts, in place`);
    // A non-finite gradient is reported by its range only, and an overflowing update too.
    src.set(p0);
    const bad = shared[count - 1] as Float32Array;
    bad[12_000] = NaN;
    assert.equal(plainStepEnd(shared, 48, 0.01, src, dst, 0, 12_000), true);
    assert.equal(plainStepEnd(shared, 48, 0.01, src, dst, 12_000, n), false, 'NaN found');
    bad[12_000] = 0;
    src[n - 1] = -3.4e38;
    (shared[0] as Float32Array)[n - 1] = 3e38;
    assert.equal(plainStepEnd(shared, 48, 1e6, src, dst, n - 8, n), false, 'overflow in the JavaScript tail found');
    src[100] = -3.4e38;
    (shared[0] as Float32Array)[100] = 3e38;
    assert.equal(plainStepEnd(shared, 48, 1e6, src, dst, 96, 104), false, 'overflow in the vector part found');
  }
});
