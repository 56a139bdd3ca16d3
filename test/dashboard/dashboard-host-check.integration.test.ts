import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import test from 'node:test';
import { WebSocket } from 'ws';
import { listen } from '../../src/transports/ws/server.js';
import { startDashboard } from '../../src/dashboard/live.js';

const PATHS = ['/', '/metrics'] as const;

/** One GET with exactly this Host header, as a rebinding page's browser would send it. */
function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

/** Raw bytes on a socket, for requests node's client will not make (no Host header at all). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(text));
    let out = '';
    s.setEncoding('utf8').on('data', (d: string) => (out += d));
    s.on('end', () => resolve(out)).on('error', reject);
  });
}

test('the dashboard on its own port answers 403 to a forged Host on / and /metrics, and 200 to IP, localhost and an allowed name; /healthz to any', async () => {
  const dash = await startDashboard({ run: 'r', epochs: 1, host: '127.0.0.1', statusPort: 0, tls: { cert: null, key: null }, allowedHosts: ['dash.example.org'] });
  try {
    const port = Number(new URL(dash.served?.url ?? '').port);
    for (const path of PATHS) {
      const refused = await get(port, path, 'evil.example');
      assert.equal(refused.status, 403, path);
      assert.equal(refused.body, 'trainer dashboard: Host "evil.example" is not allowed (DNS rebinding guard); to allow it, start with --allowed-host evil.example\n');
      assert.equal((await get(port, path, `Evil.Example:${port}`)).status, 403, `${path} with a port`);
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `dash.localhost:${port}`, `[::1]:${port}`, `DASH.example.org:${port}`]) {
        assert.equal((await get(port, path, host)).status, 200, `${path} Host: ${host}`);
      }
    }
    // Liveness tells nothing: a probe by a Service's DNS name got 403.
    for (const host of ['evil.example', 'trainer-coordinator:9000', `127.0.0.1:${port}`]) assert.deepEqual(await get(port, '/healthz', host), { status: 200, body: 'ok\n' }, host);
    assert.equal((await get(port, '/status.json', 'evil.example')).status, 403);
    assert.equal((await get(port, '/nothing', 'evil.example')).status, 403, 'a refused host learns nothing, not even 404');
    // HTTP/1.0 without Host cannot come from a browser: answered. HTTP/1.1 without Host is refused by node itself.
    assert.match(await raw(port, 'GET /healthz HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 [^]*\r\n\r\nok\n$/);
    assert.match(await raw(port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 400 /);
    // Two Host headers: node keeps the first, and an allowed one first let the request through (RFC 9112: 400).
    for (const [a, b] of [['127.0.0.1', 'evil.example'], ['evil.example', '127.0.0.1']]) {
      assert.match(await raw(port, `GET /status.json HTTP/1.1\r\nHost: ${a}\r\nHost: ${b}\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400 [^]*\r\ntrainer dashboard: more than one Host header\n/);
    }
  } finally {
    await dash.close();
  }
});

test('on the workers\' port the dashboard refuses a forged Host, while a WebSocket upgrade with the same Host still goes through', async () => {
  const dash = await startDashboard({ run: 'r', epochs: 1, host: '127.0.0.1', tls: { cert: null, key: null } });
  const server = await listen({ host: '127.0.0.1', port: 0, maxPayloadBytes: 1 << 20, tls: { cert: null, key: null }, onRequest: dash.handler });
  try {
    for (const path of PATHS) {
      assert.equal((await get(server.port, path, 'evil.example')).status, 403, path);
      assert.equal((await get(server.port, path, `127.0.0.1:${server.port}`)).status, 200, path);
    }
    assert.equal((await get(server.port, '/healthz', 'trainer-coordinator:9000')).status, 200, 'as without the dashboard');
    assert.equal((await get(server.port, '/other', `127.0.0.1:${server.port}`)).status, 426, 'what the dashboard leaves is the coordinator\'s');
    // Workers prove themselves with the token after the upgrade; the Host check is the dashboard's alone.
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, { headers: { host: 'evil.example' } });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    ws.terminate();
  } finally {
    await server.close();
    await dash.close();
  }
});
