import assert from 'node:assert/strict';
import test from 'node:test';
import { spokenMs } from '../../../src/transports/ws/launch.js';

test('the 30 s lines of a long wait for workers each say another time (past 3 min, two lines in a row said "4 min", "4 min")', () => {
  // As the interval fires them: k × 30 s, a few ms late, for the 30 min of cluster.startTimeoutMs.
  const said = Array.from({ length: 60 }, (_, i) => spokenMs((i + 1) * 30_000 + 7));
  for (let i = 1; i < said.length; i++) assert.notEqual(said[i], said[i - 1], said.join(', '));
  assert.equal(spokenMs(210_007), '3.5 min');
  assert.equal(spokenMs(240_007), '4 min');
  assert.equal(spokenMs(1_800_000), '30 min');
  assert.equal(spokenMs(90_000), '90 s');
  assert.equal(spokenMs(1500), '1.5 s');
  assert.equal(spokenMs(10_800_000), '3 h');
});
