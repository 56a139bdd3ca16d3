import assert from 'node:assert/strict';
import test from 'node:test';
import { getModel, initParams } from '../../src/worker/model.js';

test("the article's CNN has 18,354 parameters in the published tensor sizes", () => {
  const m = getModel('net');
  assert.equal(m.size, 18354);
  assert.deepEqual(m.params.map((p) => p.size), [432, 16, 1152, 8, 16384, 32, 320, 10]);
});

test("the article's fully connected net has 3,738,506 parameters", () => {
  const m = getModel('fc');
  assert.equal(m.size, 3738506);
  assert.deepEqual(m.params.map((p) => p.shape), [[3072, 1024], [1024], [1024, 512], [512], [512, 128], [128], [128, 10], [10]]);
});

test('initialisation is seeded and bounded by 1/sqrt(fan_in) like PyTorch', () => {
  const m = getModel('net');
  const a = initParams(m, 1);
  assert.deepEqual(a, initParams(m, 1));
  assert.notDeepEqual(a, initParams(m, 2));
  for (const p of m.params) {
    const bound = 1 / Math.sqrt(p.fanIn);
    const w = a.subarray(p.offset, p.offset + p.size);
    const maxAbs = w.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
    assert.ok(maxAbs <= bound, `${p.name} ${maxAbs} > ${bound}`);
    if (p.size > 100) assert.ok(maxAbs > 0.9 * bound, `${p.name} uses its range`);
  }
});
