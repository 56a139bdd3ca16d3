import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { listen } from '../../../src/transports/ws/server.js';
import { tempDir } from '../../helpers.js';
import { waitFor } from './helpers.js';

const haveOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('a TLS socket the coordinator cuts itself is not logged as a worker that does not trust its certificate: one refused at a cap is not a handshake line at all, one cut at cluster.handshakeTimeoutMs says so', { skip: !haveOpenssl && 'no openssl' }, async () => {
  const dir = await tempDir();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const lines: string[] = [];
  const listening = await listen({
    host: '127.0.0.1',
    port: 0,
    maxPayloadBytes: 1 << 20,
    tls: { cert, key },
    admission: { maxUnauthenticated: 8, maxUnauthenticatedPerAddress: 1, handshakeTimeoutMs: 500 },
    log: (l) => lines.push(l),
  });
  const sockets: Socket[] = [];
  try {
    const closed = (s: Socket) => new Promise<void>((r) => s.once('close', () => r()));
    // One that connects and says nothing (a port scan, a stalled link), then one past the cap of 1 per address.
    const silent = connect(listening.port, '127.0.0.1').on('error', () => {});
    sockets.push(silent);
    await new Promise<void>((r) => silent.once('connect', () => r()));
    await waitFor('the first socket admitted', () => listening.admission.unauthenticated === 1);
    const excess = connect(listening.port, '127.0.0.1').on('error', () => {});
    sockets.push(excess);
    await closed(excess);
    await closed(silent);
    await waitFor('the cut to be logged', () => lines.some((l) => /TLS handshake/.test(l)));
    await new Promise((r) => setTimeout(r, 200));
    const tlsLines = lines.filter((l) => /TLS handshake/.test(l));
    assert.deepEqual(
      tlsLines,
      ['1 TLS handshake(s) failed since the last such line, the last from 127.0.0.1: no handshake within cluster.handshakeTimeoutMs (500 ms), so cut here (a client that connects and sends nothing, or too little: a port scan, a stalled link)'],
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => /^refused 1 connection\(s\) since the last such line: 1 unauthenticated connections from 127\.0\.0\.1, cluster\.maxUnauthenticatedPerAddress$/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes('--ca')), lines.join('\n'));
  } finally {
    for (const s of sockets) s.destroy();
    await listening.close();
  }
});
