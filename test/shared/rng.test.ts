import assert from 'node:assert/strict';
import test from 'node:test';
import { epochPermutation, Rng } from '../../src/shared/rng.js';

test('a derived stream depends only on its seed and labels', () => {
  const a = Rng.derive(7, 'x', 1);
  const b = Rng.derive(7, 'x', 1);
  const c = Rng.derive(7, 'x', 2);
  const draw = (r: Rng) => Array.from({ length: 8 }, () => r.nextUint32());
  assert.deepEqual(draw(a), draw(b));
  assert.notDeepEqual(draw(Rng.derive(7, 'x', 1)), draw(c));
});

test('the state round-trips', () => {
  const r = Rng.derive(1, 'state');
  r.next();
  const copy = new Rng(r.state());
  assert.equal(copy.nextUint32(), r.nextUint32());
});

test('next() is in [0, 1) and int(n) in [0, n) and roughly uniform', () => {
  const r = Rng.derive(3);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    counts[r.int(10)]++;
  }
  for (const c of counts) assert.ok(c > 1800 && c < 2200, `bucket ${c}`);
});

test('an epoch permutation is a permutation fixed by (seed, epoch)', () => {
  const p = epochPermutation(5, 2, 1000);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(p, epochPermutation(5, 2, 1000));
  assert.notDeepEqual(p, epochPermutation(5, 3, 1000));
  assert.notDeepEqual(p, epochPermutation(6, 2, 1000));
});
