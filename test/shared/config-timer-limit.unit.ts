import assert from 'node:assert/strict';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

/** Node's longest timer, 2^31-1 ms. */
const MAX_TIMER_MS = 2147483647;
const KEYS = ['stepTimeoutMs', 'heartbeatMs', 'noWorkerTimeoutMs', 'handshakeTimeoutMs'] as const;

test('a time limit past the longest timer Node.js keeps (2^31-1 ms) is E_CONFIG: it fired after 1 ms, and cluster.stepTimeoutMs 1e10 failed every thread start-up', async () => {
  for (const key of KEYS) {
    await assert.rejects(
      resolveConfig(undefined, { cluster: { [key]: 1e10 } }),
      (err) =>
        isTrainerError(err, 'E_CONFIG') &&
        err.message === `cluster.${key} must be a positive integer of at most 2147483647 (about 24.8 days, the longest timer Node.js keeps), got 10000000000`,
    );
    assert.equal((await resolveConfig(undefined, { cluster: { [key]: MAX_TIMER_MS } })).cluster[key], MAX_TIMER_MS);
    // Below zero or fractional, the message is the one it was.
    await assert.rejects(resolveConfig(undefined, { cluster: { [key]: 0 } }), (err) => isTrainerError(err, 'E_CONFIG') && err.message === `cluster.${key} must be a positive integer, got 0`);
  }
});

test('cluster.startTimeoutMs: 0 waits for ever, up to the longest timer otherwise; negative, fractional or longer is E_CONFIG', async () => {
  assert.equal((await resolveConfig(undefined, {})).cluster.startTimeoutMs, 1_800_000);
  for (const ok of [0, 1, MAX_TIMER_MS]) assert.equal((await resolveConfig(undefined, { cluster: { startTimeoutMs: ok } })).cluster.startTimeoutMs, ok);
  const refused = (value: number, message: string) =>
    assert.rejects(resolveConfig(undefined, { cluster: { startTimeoutMs: value } }), (err) => isTrainerError(err, 'E_CONFIG') && err.message === `cluster.startTimeoutMs ${message}`);
  await refused(1e10, 'must be 0 (no limit) or a positive integer of at most 2147483647 (about 24.8 days, the longest timer Node.js keeps), got 10000000000');
  await refused(-1, 'must be a non-negative integer, got -1');
  await refused(1.5, 'must be a non-negative integer, got 1.5');
});
