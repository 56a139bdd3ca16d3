import assert from 'node:assert/strict';
import test from 'node:test';
import { TrainerError, type ErrorCode } from '../../src/shared/errors.js';

test('an error exits 2 when the same command would fail the same way again (a scheduler must not restart it), 1 when another try may not', () => {
  // Every code, so that a new one is placed on purpose (this does not compile without it).
  const expected: Record<ErrorCode, 1 | 2> = {
    E_CONFIG: 2,
    E_USAGE: 2,
    E_DATA: 2,
    E_CHECKPOINT: 2,
    E_MODEL: 2,
    E_PROTOCOL: 2,
    E_AUTH: 2,
    E_DIVERGED: 2,
    E_VERIFY: 2,
    E_DOWNLOAD: 1,
    E_BACKEND: 1,
    E_WORKER_LOST: 1,
    E_NO_WORKERS: 1,
    E_TIMEOUT: 1,
    E_IO: 1,
    E_INTERNAL: 1,
  };
  for (const [code, status] of Object.entries(expected) as [ErrorCode, number][]) {
    assert.equal(new TrainerError(code, 'x').exitCode, status, code);
  }
});
