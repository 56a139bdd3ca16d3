import assert from 'node:assert/strict';
import test from 'node:test';
import { expectFailures, trainer } from './cli-helpers.js';

test('a worker flag no coordinator could accept is E_USAGE at start, not after a coordinator answers (a scheduled worker retried a minute to learn it)', () => {
  // Port 9 (discard): nothing listens; before, each of these retried, then ended E_TIMEOUT (or retried for ever with --retry-for-ms 0).
  const long = 'x'.repeat(300);
  expectFailures([
    [['worker', '--connect', '127.0.0.1:9', '--name', long], `error E_USAGE: --name must be at most 128 printable ASCII characters, got "${'x'.repeat(40)}..."\n`],
    [['worker', '--connect', '127.0.0.1:9', '--name', 'büro'], 'error E_USAGE: --name must be at most 128 printable ASCII characters, got "büro"\n'],
    [['worker', '--connect', '127.0.0.1:9', '--gpu', '0', '--backend', 'wasm'], 'error E_USAGE: --gpu 0 needs --backend tensorflow-gpu, webgpu or auto, got --backend wasm\n'],
    // A blank --token was none, and TRAINER_TOKEN stood in for it without a word.
    [['worker', '--connect', '127.0.0.1:9', '--token', '   '], 'error E_USAGE: --token is blank, got "   ": give the token, or leave --token out to use TRAINER_TOKEN\n'],
    [['worker', '--connect', '[zz]:9'], 'error E_USAGE: --connect must be HOST:PORT, ws://HOST:PORT or wss://HOST:PORT (not a host name or address), got "[zz]:9"\n'],
  ]);
  // Without a coordinator a sub-10-second limit is said in tenths (--retry-for-ms 400 was "after 0 s").
  const r = trainer(['worker', '--connect', '127.0.0.1:9', '--retry-for-ms', '400']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /retrying for up to 0\.4 s\n/);
  assert.match(r.stderr, /error E_TIMEOUT: no coordinator at ws:\/\/127\.0\.0\.1:9 after 0\.4 s: /);
});
