import assert from 'node:assert/strict';
import test from 'node:test';
import { isLoopbackHost } from '../../../src/transports/ws/auth.js';

test('only localhost and literal loopback addresses count as loopback, never a name that starts with 127.', () => {
  for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['127.evil.example', '127.0.0.1.nip.io', 'localhost.example', '0.0.0.0', '::', 'all', '10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', '']) {
    assert.equal(isLoopbackHost(h), false, h);
  }
});
