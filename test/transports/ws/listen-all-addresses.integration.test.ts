/**
 * cluster.host `all` (`--host all`): the workers' port and the dashboard's
 * answer on IPv6 and IPv4 loopback alike, with real sockets. 0.0.0.0, which
 * the Kubernetes manifest and the Slurm script used, took IPv4 only: on an
 * IPv6 cluster nothing listened where workers and the readiness probe dialled.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createRequire } from 'node:module';
import type { WebSocket as WsWebSocket } from 'ws';
import { serveDashboard } from '../../../src/dashboard/serve.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { listen, type Listening } from '../../../src/transports/ws/server.js';
import { tempDir } from '../../helpers.js';
import { waitFor } from './helpers.js';

const WebSocket = createRequire(import.meta.url)('ws') as typeof WsWebSocket;
const hasV6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));
const noV6 = !hasV6Loopback && 'this machine has no ::1: only the IPv4 half can be checked';
const PLAIN = { cert: null, key: null };

const open: Listening[] = [];
after(async () => {
  for (const l of open) await l.close();
});

async function listenAll(port = 0, tls: { cert: string | null; key: string | null } = PLAIN): Promise<Listening> {
  const l = await listen({ host: 'all', port, maxPayloadBytes: 1 << 20, tls });
  open.push(l);
  return l;
}

async function status(url: string): Promise<number | string> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5000) })).status;
  } catch (err) {
    return String((err as { cause?: { code?: string } }).cause?.code ?? err);
  }
}

/** Whether `host`:`port` can be bound now (nothing else holds it), as IPv6 only where it is an IPv6 address. */
async function bindable(host: string, port: number): Promise<boolean> {
  const s: Server = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen({ host, port, ipv6Only: host.includes(':') }, () => s.close(() => resolve(true)));
  });
}

test('a coordinator on all addresses answers /healthz on 127.0.0.1 and on ::1, and says both', async () => {
  const l = await listenAll();
  assert.equal(await status(`http://127.0.0.1:${l.port}/healthz`), 200);
  if (hasV6Loopback) assert.equal(await status(`http://[::1]:${l.port}/healthz`), 200);
  assert.deepEqual(l.urls, hasV6Loopback ? [`ws://[::]:${l.port}`, `ws://0.0.0.0:${l.port}`] : [`ws://0.0.0.0:${l.port}`]);
  assert.equal(l.url, l.urls[0]);
});

test('0.0.0.0, what the manifests used, is not reachable on ::1', { skip: noV6 }, async () => {
  const l = await listen({ host: '0.0.0.0', port: 0, maxPayloadBytes: 1 << 20, tls: PLAIN });
  open.push(l);
  assert.equal(await status(`http://127.0.0.1:${l.port}/healthz`), 200);
  assert.equal(await status(`http://[::1]:${l.port}/healthz`), 'ECONNREFUSED');
});

test('a WebSocket over IPv4 reaches the workers\' server of an all-addresses coordinator, through its admission, from 127.0.0.1 (not ::ffff:127.0.0.1)', async () => {
  const l = await listenAll();
  const seen: string[] = [];
  l.wss.on('connection', (_ws, req) => seen.push(req.socket.remoteAddress ?? '?'));
  const clients = [new WebSocket(`ws://127.0.0.1:${l.port}`), ...(hasV6Loopback ? [new WebSocket(`ws://[::1]:${l.port}`)] : [])];
  try {
    // Each client's own open too, not only the server's connection: one still connecting when
    // terminated emits "closed before the connection was established", an uncaught error (a loaded
    // machine ran the server's side and this wait's poll before the client read its 101).
    await Promise.all(clients.map((c) => once(c, 'open')));
    await waitFor('both connections', () => seen.length === clients.length, 5000);
    assert.deepEqual(seen.sort(), hasV6Loopback ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
    // Admission counted them (it caps and times out sockets that have not authenticated).
    assert.equal(l.admission.unauthenticated, clients.length);
  } finally {
    for (const c of clients) c.terminate();
  }
});

test('closing an all-addresses coordinator frees its port in both families', async () => {
  const l = await listen({ host: 'all', port: 0, maxPayloadBytes: 1 << 20, tls: PLAIN });
  // A connection held open over IPv4: close() must end it too.
  const c = new WebSocket(`ws://127.0.0.1:${l.port}`);
  await new Promise((resolve, reject) => c.once('open', resolve).once('error', reject));
  const closed = new Promise((resolve) => c.once('close', resolve));
  await l.close();
  await closed;
  assert.equal(await bindable('0.0.0.0', l.port), true, 'IPv4 port still held');
  if (hasV6Loopback) assert.equal(await bindable('::', l.port), true, 'IPv6 port still held');
});

test('all addresses on a port that IPv4 already uses is E_CONFIG saying so, and leaves the IPv6 half free', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(listen({ host: 'all', port, maxPayloadBytes: 1 << 20, tls: PLAIN }), (err) => {
      assert.ok(isTrainerError(err, 'E_CONFIG'), String(err));
      assert.equal(err.message, `cannot listen for workers on every address (all), port ${port}: port ${port} is in use (another coordinator or dashboard?): choose another port`);
      return true;
    });
    if (hasV6Loopback) assert.equal(await bindable('::', port), true, 'the IPv6 socket was left listening');
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});

test('--status-port on all addresses serves the dashboard on 127.0.0.1 and ::1', async () => {
  const served = await serveDashboard(
    (req, res) => {
      res.writeHead(200).end('dash');
      return true;
    },
    'all',
    0,
    PLAIN,
  );
  try {
    const port = Number(new URL(served.url).port);
    assert.equal(served.url, hasV6Loopback ? `http://[::]:${port}/` : `http://0.0.0.0:${port}/`);
    assert.deepEqual(served.urls, hasV6Loopback ? [`http://[::]:${port}/`, `http://0.0.0.0:${port}/`] : [`http://0.0.0.0:${port}/`]);
    assert.equal(await status(`http://127.0.0.1:${port}/`), 200);
    if (hasV6Loopback) assert.equal(await status(`http://[::1]:${port}/`), 200);
  } finally {
    await served.close();
  }
});

test('TLS works on both halves of an all-addresses coordinator', { skip: noOpenssl() }, async () => {
  const dir = await tempDir();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1'], { stdio: 'ignore' });
  const l = await listenAll(0, { cert, key });
  const ca = readFileSync(cert);
  const get = (host: string) =>
    new Promise<number>((resolve, reject) => {
      request({ host, port: l.port, path: '/healthz', ca, timeout: 5000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
  assert.equal(await get('127.0.0.1'), 200);
  if (hasV6Loopback) assert.equal(await get('::1'), 200);
  assert.match(l.url, /^wss:\/\//);
});

function noOpenssl(): false | string {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'no openssl';
  }
}
