import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { WebSocketServer } from 'ws';
import { isTrainerError } from '../../../src/shared/errors.js';
import { runWsWorker, sleep, sleepUntil } from '../../../src/transports/ws/worker.js';
import { tempDir } from '../../helpers.js';
import { freePort, startBarePool } from './helpers.js';

/** Runs a worker against `url` until it gives up (retryForMs) or fails; its log lines and how it ended. */
async function attempt(url: string, o: { token?: string | null; retryForMs?: number | null; ca?: Buffer } = {}) {
  const lines: string[] = [];
  const t0 = performance.now();
  const err = await runWsWorker({
    url,
    token: o.token ?? null,
    gpu: null,
    cacheDir: await tempDir(),
    retryForMs: o.retryForMs === undefined ? 1200 : o.retryForMs,
    ...(o.ca ? { ca: o.ca } : {}),
    log: (l) => lines.push(l),
  }).then(
    () => assert.fail('the worker should not have ended cleanly'),
    (e: unknown) => e,
  );
  return { lines, err, ms: performance.now() - t0 };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const haveOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('a worker that cannot connect says why once (refused, host not found), retries, and gives up with E_TIMEOUT naming the cause', async () => {
  const port = await freePort();
  const refused = await attempt(`ws://127.0.0.1:${port}`);
  assert.ok(isTrainerError(refused.err, 'E_TIMEOUT'), String(refused.err));
  assert.match((refused.err as Error).message, new RegExp(`no coordinator at ws://127\\.0\\.0\\.1:${port} after 1\\.2 s: connection refused at 127\\.0\\.0\\.1:${port}`));
  assert.equal(refused.lines.length, 1, `the cause is said once over several retries: ${refused.lines.join(' | ')}`);
  assert.match(refused.lines[0] ?? '', /^cannot connect to ws:\/\/127\.0\.0\.1:\d+: connection refused at 127\.0\.0\.1:\d+ \(ECONNREFUSED\).*; retrying for up to 1\.2 s$/);
  assert.doesNotMatch(refused.lines[0] ?? '', /lost/, 'a link that never existed is not "lost"');

  const unknown = await attempt('ws://no-such-host.invalid:9000', { retryForMs: 300 });
  assert.match((unknown.err as Error).message, /host not found: no-such-host\.invalid/);
});

test('the wait for --retry-for-ms\'s end is not cut short by a timer that fires early (CI: E_TIMEOUT after 1,499 ms at 1500): sleepUntil never returns before its time', async () => {
  // A plain timer, for comparison: most of these fire before their fractional delay by performance.now().
  let early = 0;
  for (let i = 0; i < 40; i++) {
    const at = performance.now() + 2 + Math.random() * 3;
    await sleep(at - performance.now());
    if (performance.now() < at) early++;
  }
  for (let i = 0; i < 40; i++) {
    const at = performance.now() + 2 + Math.random() * 3;
    await sleepUntil(at);
    assert.ok(performance.now() >= at, `returned ${(at - performance.now()).toFixed(3)} ms early (a plain timer: ${early} of 40 early)`);
  }
  // Aborted: at once.
  const stop = new AbortController();
  stop.abort();
  const t0 = performance.now();
  await sleepUntil(t0 + 60_000, stop.signal);
  assert.ok(performance.now() - t0 < 1000);
});

test('a worker gives up when --retry-for-ms ends, not at its next try after it: nothing listening, and a server that accepts but never answers (E_TIMEOUT came up to a backoff late, 3.5 s at 3500)', async () => {
  const LIMIT_MS = 1500;
  const refused = await attempt(`ws://127.0.0.1:${await freePort()}`, { retryForMs: LIMIT_MS });
  assert.ok(isTrainerError(refused.err, 'E_TIMEOUT'), String(refused.err));
  assert.ok(refused.ms >= LIMIT_MS && refused.ms < LIMIT_MS + 400, `E_TIMEOUT after ${Math.round(refused.ms)} ms`);

  // Refused at first (the port closed), then a server that takes the connection and says nothing:
  // the try under way when the limit comes ends with it (it held the worker up to a whole limit more).
  const port = await freePort();
  const sockets: Socket[] = [];
  const silent = createNetServer((s) => void sockets.push(s));
  // Tries at about 0, 0.2, 0.6 and 1.4 s (each ±25 %): the third or the fourth meets it.
  setTimeout(() => silent.listen(port, '127.0.0.1'), 300);
  const SILENT_LIMIT_MS = 2500;
  try {
    const r = await attempt(`ws://127.0.0.1:${port}`, { retryForMs: SILENT_LIMIT_MS });
    assert.ok(isTrainerError(r.err, 'E_TIMEOUT'), String(r.err));
    assert.ok(sockets.length > 0, 'a try reached the silent server');
    assert.match((r.err as Error).message, /no word from the coordinator for \d/);
    assert.ok(r.ms >= SILENT_LIMIT_MS && r.ms < SILENT_LIMIT_MS + 400, `E_TIMEOUT after ${Math.round(r.ms)} ms`);
  } finally {
    sockets.forEach((s) => s.destroy());
    silent.close();
  }
});

test('by default a worker that never joined gives up after a minute and says how to wait longer', async () => {
  const port = await freePort();
  const stop = new AbortController();
  const lines: string[] = [];
  const worker = runWsWorker({ url: `ws://127.0.0.1:${port}`, token: null, gpu: null, cacheDir: await tempDir(), retryForMs: null, log: (l) => lines.push(l), signal: stop.signal });
  while (lines.length === 0) await new Promise((r) => setTimeout(r, 20));
  stop.abort();
  await worker;
  assert.match(lines[0] ?? '', /retrying for up to 60 s \(--retry-for-ms 0: forever\)$/);
});

test('TLS mix-ups are named: an untrusted certificate (use --ca); ws:// to a TLS server (use wss://) and wss:// to a plain one end the worker at once', { skip: !haveOpenssl && 'no openssl' }, async () => {
  const dir = await tempDir();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  const tls = createHttpsServer({ cert: readFileSync(cert), key: readFileSync(key) }) as unknown as Server;
  const wssTls = new WebSocketServer({ server: tls });
  const plain = createHttpServer();
  const wssPlain = new WebSocketServer({ server: plain });
  const tlsPort = await listen(tls);
  const plainPort = await listen(plain);
  try {
    const untrusted = await attempt(`wss://127.0.0.1:${tlsPort}`, { retryForMs: 300 });
    assert.match(untrusted.lines[0] ?? '', /TLS certificate not trusted \(self-signed certificate\) \(DEPTH_ZERO_SELF_SIGNED_CERT\): give the coordinator's certificate, or the CA that signed it, with --ca FILE/);
    const plainToTls = await attempt(`ws://127.0.0.1:${tlsPort}`, { retryForMs: 300 });
    // Not retried: the same answer every time (E_USAGE at once; it retried until --retry-for-ms).
    assert.ok(isTrainerError(plainToTls.err, 'E_USAGE'), String(plainToTls.err));
    assert.match((plainToTls.err as Error).message, new RegExp(`the server at 127\\.0\\.0\\.1:${tlsPort} speaks TLS: connect with wss://127\\.0\\.0\\.1:${tlsPort}`));
    assert.deepEqual(plainToTls.lines, []);
    // Nor the other way round (it retried for the whole --retry-for-ms: 10 min under the Slurm script).
    const tlsToPlain = await attempt(`wss://127.0.0.1:${plainPort}`, { retryForMs: 60_000 });
    assert.ok(isTrainerError(tlsToPlain.err, 'E_USAGE'), String(tlsToPlain.err));
    assert.match((tlsToPlain.err as Error).message, new RegExp(`the server at 127\\.0\\.0\\.1:${plainPort} does not speak TLS: connect with ws://127\\.0\\.0\\.1:${plainPort}`));
    assert.deepEqual(tlsToPlain.lines, []);
    assert.ok(tlsToPlain.ms < 10_000, `said at once, not retried (${tlsToPlain.ms} ms)`);
  } finally {
    wssTls.close();
    wssPlain.close();
    tls.close();
    plain.close();
  }
});

test('a server that is not a coordinator is a protocol mismatch naming its HTTP answer', async () => {
  const web = createHttpServer((_req, res) => res.writeHead(404).end('not here'));
  const port = await listen(web);
  try {
    const r = await attempt(`ws://127.0.0.1:${port}`, { retryForMs: 300 });
    assert.match(r.lines[0] ?? '', /answered HTTP 404, not a WebSocket: not a trainer coordinator \(protocol mismatch\)/);
  } finally {
    web.close();
  }
});

test('a worker with another token is told the coordinator holds another one; a worker with none is told to set one', async () => {
  const { pool, url } = await startBarePool(await tempDir());
  try {
    const wrong = await attempt(url, { token: 'not-the-token' });
    assert.ok(isTrainerError(wrong.err, 'E_AUTH'), String(wrong.err));
    assert.match((wrong.err as Error).message, /rejected our token: it holds another one/);
    const none = await attempt(url, { token: null });
    assert.ok(isTrainerError(none.err, 'E_AUTH'), String(none.err));
    assert.match((none.err as Error).message, /requires a token and this worker has none: set TRAINER_TOKEN or --token/);
    assert.ok(none.ms < 5000, 'an auth failure is not retried');
  } finally {
    await pool.close();
  }
});

test('a plain server that resets every new connection (a coordinator at its cap of unauthenticated sockets) is not blamed on TLS', async () => {
  const { createServer } = await import('node:net');
  const server = createServer((s) => s.resetAndDestroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { lines, err } = await attempt(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    assert.ok(isTrainerError(err, 'E_TIMEOUT'), String(err));
    // It said "if it serves TLS, connect with wss://".
    assert.match(lines.join('\n'), /reset the connection before answering \(ECONNRESET\): a coordinator refusing connections for now \(too many unauthenticated ones: cluster\.maxUnauthenticated/);
    assert.doesNotMatch(lines.join('\n'), /wss:/);
  } finally {
    server.close();
  }
});
