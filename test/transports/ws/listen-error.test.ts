import assert from 'node:assert/strict';
import test from 'node:test';
import { isTrainerError } from '../../../src/shared/errors.js';
import { listen, listenError } from '../../../src/transports/ws/server.js';

test('a cluster.host that does not resolve is E_CONFIG saying so and what to give, not "ENOTFOUND" alone', async () => {
  const tls = { cert: null, key: null };
  await assert.rejects(listen({ host: 'no-such-host.invalid', port: 0, maxPayloadBytes: 1 << 20, tls }), (err) => {
    assert.ok(isTrainerError(err, 'E_CONFIG'), String(err));
    assert.match(err.message, /^cannot listen for workers on no-such-host\.invalid:0: no-such-host\.invalid is not a name this machine resolves \((ENOTFOUND|EAI_AGAIN|EAI_FAIL)\): give an address or name of this machine/);
    return true;
  });
  // A lookup that could not reach a name server says the same.
  const again = Object.assign(new Error('getaddrinfo EAI_AGAIN dash.example'), { code: 'EAI_AGAIN' });
  assert.match(listenError('serve the dashboard', 'dash.example', 8080, again).message, /^cannot serve the dashboard on dash\.example:8080: dash\.example is not a name this machine resolves \(EAI_AGAIN\)/);
});
