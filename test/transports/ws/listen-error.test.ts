import assert from 'node:assert/strict';
import test from 'node:test';
import { isTrainerError } from '../../../src/shared/errors.js';
import { listen, listenError } from '../../../src/transports/ws/server.js';

test('a cluster.host that does not resolve is E_CONFIG saying so and what to give, not "ENOTFOUND" alone', async () => {
  const tls = { cert: null, key: null };
  await assert.rejects(listen({ host: 'no-such-host.invalid', port: 0, maxPayloadBytes: 1 << 20, tls }), (err) => {
    assert.ok(isTrainerError(err, 'E_CONFIG'), String(err));
    assert.match(err.message, /^cannot listen for workers on no-such-host\.invalid:0: no-such-host\.invalid is not a name this machine resolves \((ENOTFOUND|EAI_AGAIN|EAI_FAIL)\): give an address or name of this machine \(all for every address, IPv6 and IPv4\)$/);
    return true;
  });
  // A lookup that could not reach a name server says the same.
  const again = Object.assign(new Error('getaddrinfo EAI_AGAIN dash.example'), { code: 'EAI_AGAIN' });
  assert.match(listenError('serve the dashboard', 'dash.example', 8080, again).message, /^cannot serve the dashboard on dash\.example:8080: dash\.example is not a name this machine resolves \(EAI_AGAIN\)/);
});

test('a listen error names an IPv6 host in brackets, and all as every address (it said "on ::1:9000" and "on all:9000")', () => {
  const notHere = Object.assign(new Error('listen EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL' });
  assert.equal(listenError('listen for workers', 'fd00::9', 9000, notHere).message, 'cannot listen for workers on [fd00::9]:9000: fd00::9 is not an address of this machine');
  const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
  assert.equal(
    listenError('serve the dashboard', 'all', 8080, inUse).message,
    'cannot serve the dashboard on every address (all), port 8080: port 8080 is in use (another coordinator or dashboard?): choose another port',
  );
});
