import assert from 'node:assert/strict';
import test from 'node:test';
import { NormReference } from '../../../src/transports/ws/norm-reference.js';

test('a norm is measured against the other workers, one value each (the lower median of its norms), never its own', () => {
  const r = new NormReference(1000);
  assert.equal(r.around('a'), null, 'nobody else: no reference');
  // a sends many tiny norms: they count once, as one value.
  for (let i = 0; i < 9; i++) r.add('a', 1e-6);
  r.add('b', 1);
  r.add('c', 2);
  r.add('c', 4);
  assert.equal(r.around('a')?.upper, 2, "b's 1 and c's lower median 2: the upper median");
  assert.equal(r.around('a')?.lower, 1);
  assert.deepEqual(r.around('b'), { upper: 2, lower: 1e-6 });
  assert.deepEqual(r.around('nobody-yet'), { upper: 1, lower: 1 }, 'three values: the median of all');
  r.refuse('a');
  assert.deepEqual(r.around('b'), { upper: 2, lower: 2 }, 'an evicted worker is no reference');
});

test("a worker's value moves at most √maxNormRatio a step from the last one, so a liar inflates the reference slowly", () => {
  const r = new NormReference(100); // growth 10 a step
  assert.equal(r.hasPreviousStep, false);
  r.add('liar', 1);
  r.add('honest', 1);
  r.stepDone();
  assert.equal(r.hasPreviousStep, true);
  r.start();
  r.add('liar', 1e9);
  assert.deepEqual(r.around('honest'), { upper: 10, lower: 10 });
  // A worker that has sent nothing yet in this step counts with its value of the last one.
  assert.deepEqual(r.around('liar'), { upper: 1, lower: 1 });
  r.add('honest', 1);
  r.stepDone();
  r.start();
  r.add('liar', 1e9);
  assert.deepEqual(r.around('honest'), { upper: 100, lower: 100 });
});
