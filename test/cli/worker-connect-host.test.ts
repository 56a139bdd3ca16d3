import assert from 'node:assert/strict';
import test from 'node:test';
import { coordinatorUrl } from '../../src/cli/worker.js';
import { isTrainerError } from '../../src/shared/errors.js';

test('--connect all:PORT says all is how a coordinator listens, not where it is (it was looked up, "host not found: all", and retried for a minute)', () => {
  for (const connect of ['all:9000', 'ALL:9000', 'ws://all:9000', 'wss://all:9000/']) {
    assert.throws(
      () => coordinatorUrl(connect),
      (e: unknown) =>
        isTrainerError(e, 'E_USAGE') &&
        e.message === `--connect ${connect}: all is how a coordinator listens on every address (--host all), not an address to reach it at: give the name or address of the coordinator's machine`,
      connect,
    );
  }
  // A name that only starts so is a name.
  assert.equal(coordinatorUrl('all-gpus:9000'), 'ws://all-gpus:9000');
});

test('--connect with an IPv6 address whose ] is missing says so (it was "a port from 1 to 65535", or "no port")', () => {
  for (const connect of ['[::1:9000', '[::1', 'ws://[::1:9000', 'wss://[fd00::5']) {
    assert.throws(
      () => coordinatorUrl(connect),
      (e: unknown) =>
        isTrainerError(e, 'E_USAGE') &&
        e.message === `--connect must be HOST:PORT, ws://HOST:PORT or wss://HOST:PORT (a ] closes the IPv6 address: [fd00::5]:9000), got ${JSON.stringify(connect)}`,
      connect,
    );
  }
});
