import assert from 'node:assert/strict';
import test from 'node:test';
import { allFinite } from '../../../src/transports/ws/job.js';

test('allFinite finds a NaN or an infinity wherever it sits, and passes every finite float32', () => {
  const finite = [0, -0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, 1e-40];
  for (const n of [0, 1, 3, 4, 5, 8, 11, 64]) {
    const a = Float32Array.from({ length: n }, (_, i) => finite[i % finite.length] as number);
    assert.equal(allFinite(a), true, `${n} finite values`);
    for (let at = 0; at < n; at++) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        const b = a.slice();
        b[at] = bad;
        assert.equal(allFinite(b), false, `${bad} at ${at} of ${n}`);
      }
    }
  }
  // Infinities of both signs in different lanes do not cancel out.
  assert.equal(allFinite(Float32Array.from([Infinity, -Infinity, 0, 0])), false);
});
