import assert from 'node:assert/strict';
import test from 'node:test';
import { decide, sameResult, suspicion, sumOfSquares, voteOf, type Vote } from '../../../src/transports/ws/verdict.js';

const g = (...xs: number[]) => ({ lossSum: 1, correct: 0, count: 1, gradient: Float32Array.from(xs), worker: 'x' });
const vote = (from: string, ...xs: number[]) => voteOf(from, g(...xs));
const none = () => null;

test('sumOfSquares is the norm squared in float64, and NaN or Infinity exactly when a value is', () => {
  assert.equal(sumOfSquares(Float32Array.of(3, 4, 0, 0, 12)), 169);
  assert.equal(sumOfSquares(Float32Array.of(3e38, 3e38, 3e38, 3e38, 3e38)), 5 * Math.fround(3e38) ** 2);
  // Every position and lane, lengths with and without a tail past the four lanes, the float32 extremes finite.
  const finite = [0, -0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 1e-40];
  for (const n of [0, 1, 3, 4, 5, 8, 11, 64]) {
    const a = Float32Array.from({ length: n }, (_, i) => finite[i % finite.length] as number);
    assert.ok(Number.isFinite(sumOfSquares(a)), `${n} finite values`);
    for (let at = 0; at < n; at++) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const b = a.slice();
        b[at] = bad;
        assert.equal(Number.isFinite(sumOfSquares(b)), false, `${bad} at ${at} of ${n}`);
      }
    }
  }
  assert.equal(Number.isFinite(sumOfSquares(Float32Array.from([Infinity, -Infinity, 0, 0]))), false);
});

test('results are the same when every bit is; any two non-finite results are the same verdict', () => {
  assert.ok(sameResult(vote('a', 1, 2), vote('b', 1, 2)));
  assert.ok(!sameResult(vote('a', 1, 2), vote('b', 1, Math.fround(2 + 2 ** -22))));
  assert.ok(!sameResult(vote('a', 0, 2), vote('b', -0, 2)), '-0 and 0 differ in bits');
  assert.ok(sameResult(vote('a', NaN, 2), vote('b', 1, Infinity)));
  assert.ok(!sameResult(voteOf('a', { lossSum: 1, correct: 3, count: 4 }), voteOf('b', { lossSum: 1, correct: 4, count: 4 })));
});

test('one unsuspected result decides a part that needs one; two that differ need a third', () => {
  const a = vote('a', 1, 2), b = vote('b', 1, 3), c = vote('c', 1, 2);
  assert.deepEqual(decide([a], 1, none), { kind: 'use', vote: a, verified: false, losers: [] });
  assert.deepEqual(decide([a], 2, none), { kind: 'pending', wanted: 1 });
  assert.deepEqual(decide([a, b], 2, none), { kind: 'pending', wanted: 1 });
  assert.deepEqual(decide([a, b, c], 2, none), { kind: 'use', vote: a, verified: true, losers: [b] });
});

test('a suspect result is used only when another worker computes its very bits; a confirmed non-finite one is divergence', () => {
  const reference = 1;
  const suspect = (v: Vote<string>) => suspicion(v, reference, 1000);
  const huge = vote('l', 3e38, 3e38), honest = vote('h', 0.5, 0.5);
  assert.match(suspect(huge) ?? '', /gradient norm .* times the other workers' median/);
  assert.deepEqual(decide([huge], 1, suspect), { kind: 'pending', wanted: 1 });
  assert.deepEqual(decide([huge, honest], 1, suspect), { kind: 'use', vote: honest, verified: false, losers: [huge] });
  const huge2 = vote('h2', 3e38, 3e38);
  assert.deepEqual(decide([huge, huge2], 1, suspect), { kind: 'use', vote: huge, verified: true, losers: [] });
  const nan = vote('a', NaN, 0), inf = vote('b', Infinity, 0);
  assert.equal(suspect(nan), 'a NaN or infinite value');
  assert.deepEqual(decide([nan, honest], 1, suspect), { kind: 'use', vote: honest, verified: false, losers: [nan] });
  assert.equal(decide([nan, inf], 1, suspect).kind, 'diverged');
});

test('a suspect result needs `confirm` credible workers to count as genuine: agreeing newcomers are not enough', () => {
  const suspect = (v: Vote<string>) => suspicion(v, 1, 1000);
  const nans = ['l1', 'l2', 'l3'].map((w) => vote(w, NaN, 0));
  assert.equal(decide(nans, 1, suspect, 3).kind, 'diverged');
  assert.deepEqual(decide(nans, 1, suspect, 3, (v) => v.from === 'a'), { kind: 'pending', wanted: 1 });
  const a = vote('a', NaN, 0), b = vote('b', NaN, 0);
  assert.equal(decide([...nans, a], 1, suspect, 2, (v) => v.from === 'a' || v.from === 'b').kind, 'pending');
  assert.equal(decide([...nans, a, b], 1, suspect, 2, (v) => v.from === 'a' || v.from === 'b').kind, 'diverged');
});

test('a lone result, however unsuspected, neither beats nor gets evicted two workers that agree on other finite bits: the part waits for more (a suspect pair lost to one clean lie)', () => {
  const big = (v: Vote<string>) => (!v.finite ? 'not finite' : v.normPerExample > 1 ? 'too big' : null);
  const h1 = vote('h1', 5, 5), h2 = vote('h2', 5, 5), lie = vote('x', 0.001, 0);
  assert.deepEqual(decide([h1, lie, h2], 1, big, 3), { kind: 'pending', wanted: 1 });
  assert.deepEqual(decide([h1, h2, lie], 2, big, 3), { kind: 'pending', wanted: 1 });
  // Two that agree on NaN are no such pair: a finite result beats them (they are refused).
  const n1 = vote('n1', NaN, 0), n2 = vote('n2', NaN, 0);
  assert.deepEqual(decide([n1, n2, lie], 1, big, 3), { kind: 'use', vote: lie, verified: false, losers: [n1, n2] });
});
