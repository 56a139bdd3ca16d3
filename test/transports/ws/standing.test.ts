import assert from 'node:assert/strict';
import test from 'node:test';
import { CLOSE } from '../../../src/transports/ws/protocol.js';
import { Standing } from '../../../src/transports/ws/standing.js';

test('a stalling worker waits a doubling backoff to rejoin and is refused for the run after cluster.maxStalls stalls', () => {
  const s = new Standing({ stallBackoffMs: 1000, maxStalls: 3 });
  assert.equal(s.refusal('w', 0), null);
  assert.equal(s.stalled('w', 0), 'stall 1 of 3: may rejoin in 1000 ms');
  assert.deepEqual(s.refusal('w', 400), { code: CLOSE.refused, reason: 'stalled 1 time(s): refused for another 600 ms' });
  assert.equal(s.refusal('w', 1000), null);
  assert.equal(s.refusal('other', 400), null, 'by name');
  assert.equal(s.stalled('w', 5000), 'stall 2 of 3: may rejoin in 2000 ms');
  assert.equal(s.refusal('w', 6999)?.code, CLOSE.refused);
  assert.equal(s.refusal('w', 7000), null);
  assert.equal(s.stalled('w', 9000), 'refused for the rest of the run after 3 stalls');
  assert.deepEqual(s.refusal('w', 1e9), { code: CLOSE.banned, reason: 'refused for the rest of the run: 3 stalls (cluster.maxStalls)' });
});

test('a worker sending results that do not fit their tasks waits a doubling backoff to rejoin and is refused for the run after cluster.maxStalls of them', () => {
  const s = new Standing({ stallBackoffMs: 1000, maxStalls: 3 });
  assert.equal(s.badResult('w', 0), 'bad result 1 of 3: may rejoin in 1000 ms');
  assert.deepEqual(s.refusal('w', 400), { code: CLOSE.refused, reason: 'sent 1 bad result(s): refused for another 600 ms' });
  assert.equal(s.refusal('w', 1000), null);
  assert.equal(s.refusal('other', 400), null, 'by name');
  assert.equal(s.badResult('w', 1500), 'bad result 2 of 3: may rejoin in 2000 ms');
  assert.equal(s.refusal('w', 3499)?.code, CLOSE.refused);
  assert.equal(s.refusal('w', 3500), null);
  assert.equal(s.badResult('w', 9000), 'refused for the rest of the run after 3 bad results');
  assert.deepEqual(s.refusal('w', 1e9), { code: CLOSE.banned, reason: 'refused for the rest of the run: 3 bad results (cluster.maxStalls)' });
});

test('stalls and bad results count together against cluster.maxStalls: a worker alternating them is refused at its third eviction (counted apart, at its fifth), and its back-off doubles with each', () => {
  const s = new Standing({ stallBackoffMs: 1000, maxStalls: 3 });
  assert.equal(s.badResult('w', 0), 'bad result 1 of 3: may rejoin in 1000 ms');
  assert.equal(s.stalled('w', 1000), 'eviction 2 of 3 (1 stall and 1 bad result): may rejoin in 2000 ms');
  assert.deepEqual(s.refusal('w', 1600), { code: CLOSE.refused, reason: 'stalled 1 time(s) and sent 1 bad result(s): refused for another 1400 ms' });
  assert.equal(s.refusal('w', 3000), null);
  assert.equal(s.badResult('w', 3000), 'refused for the rest of the run after 1 stall and 2 bad results');
  assert.deepEqual(s.refusal('w', 1e9), { code: CLOSE.banned, reason: 'refused for the rest of the run: 1 stall and 2 bad results (cluster.maxStalls)' });
});

test('with cluster.maxStalls 1 the first eviction of either kind refuses the worker for the run', () => {
  const s = new Standing({ stallBackoffMs: 1000, maxStalls: 1 });
  assert.equal(s.stalled('a', 0), 'refused for the rest of the run after 1 stall');
  assert.equal(s.badResult('b', 0), 'refused for the rest of the run after 1 bad result');
  assert.equal(s.refusal('b', 1e9)?.code, CLOSE.banned);
});

test("a worker in a bad result's back-off at the run's end counts as rejoining, as a stalled one does", () => {
  const s = new Standing({ stallBackoffMs: 1000, maxStalls: 3 });
  s.badResult('w', 0);
  assert.equal(s.rejoining(500, 6250, new Set()), 1);
  assert.equal(s.rejoining(500, 6250, new Set(['w'])), 0);
});

test('a ban holds for the rest of the run and keeps its first reason', () => {
  const s = new Standing({ stallBackoffMs: 1000, maxStalls: 3 });
  s.ban('liar', 'verification mismatch on micro-batch 1 of step 4');
  s.ban('liar', 'something later');
  assert.deepEqual(s.refusal('liar', 0), { code: CLOSE.banned, reason: 'refused for the rest of the run: verification mismatch on micro-batch 1 of step 4' });
});

test('at the run\'s end, a stalled worker counts as rejoining in its back-off and for a reconnect delay after it, unless connected or banned (one whose back-off had just ended was left retrying for ever)', () => {
  const s = new Standing({ stallBackoffMs: 1000, maxStalls: 3 });
  s.stalled('w', 0); // back-off until 1000
  const none = new Set<string>();
  assert.equal(s.rejoining(500, 6250, none), 1, 'in its back-off');
  assert.equal(s.rejoining(3000, 6250, none), 1, 'back-off over, its next try not come yet');
  assert.equal(s.rejoining(7300, 6250, none), 0, 'past any reconnect delay: gone');
  assert.equal(s.rejoining(3000, 6250, new Set(['w'])), 0, 'back and connected: it hears the end');
  s.stalled('x', 0);
  s.stalled('x', 2000);
  s.stalled('x', 5000); // banned
  assert.equal(s.rejoining(5500, 6250, none), 1, 'a banned worker is not waited for');
});

test('a worker closed for breaking the protocol once ready waits a doubling back-off to rejoin, and such evictions count with stalls and bad results against cluster.maxStalls (it used to rejoin at once, every time)', () => {
  const s = new Standing({ stallBackoffMs: 1000, maxStalls: 3 });
  assert.equal(s.protocolError('w', 0), 'protocol error 1 of 3: may rejoin in 1000 ms');
  assert.deepEqual(s.refusal('w', 400), { code: CLOSE.refused, reason: 'broke the protocol 1 time(s): refused for another 600 ms' });
  assert.equal(s.refusal('w', 1000), null);
  assert.equal(s.stalled('w', 1000), 'eviction 2 of 3 (1 stall and 1 protocol error): may rejoin in 2000 ms');
  assert.deepEqual(s.refusal('w', 1500), { code: CLOSE.refused, reason: 'stalled 1 time(s) and broke the protocol 1 time(s): refused for another 1500 ms' });
  assert.equal(s.badResult('w', 3000), 'refused for the rest of the run after 1 stall, 1 bad result and 1 protocol error');
  assert.deepEqual(s.refusal('w', 1e9), { code: CLOSE.banned, reason: 'refused for the rest of the run: 1 stall, 1 bad result and 1 protocol error (cluster.maxStalls)' });
  assert.equal(s.protocolError('x', 0), 'protocol error 1 of 3: may rejoin in 1000 ms');
  assert.equal(s.protocolError('x', 2000), 'protocol error 2 of 3: may rejoin in 2000 ms');
  assert.equal(s.protocolError('x', 5000), 'refused for the rest of the run after 3 protocol errors');
});
