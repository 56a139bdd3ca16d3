import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import WebSocket from 'ws';
import { coordinatorCommand } from '../../../src/cli/coordinator.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { CLOSE, PROTOCOL_VERSION, type Message } from '../../../src/transports/ws/protocol.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, spawnWorker, startBarePool, waitFor, wsConfig } from './helpers.js';

/** A raw client: the frames it got and how it was closed. */
function client(url: string) {
  const ws = new WebSocket(url);
  const got: Message[] = [];
  const closed = new Promise<{ code: number; reason: string; ms: number }>((resolve) => {
    const t0 = performance.now();
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), ms: performance.now() - t0 }));
  });
  const first = new Promise<Message>((resolve) =>
    ws.on('message', (d: Buffer) => {
      const m = decodeMessage(d, 'coordinator');
      got.push(m);
      if (got.length === 1) resolve(m);
    }),
  );
  ws.on('error', () => {});
  return { ws, got, closed, first };
}

function hello(challenge: Message, token: string, protocol = PROTOCOL_VERSION): Uint8Array {
  assert.equal(challenge.type, 'challenge');
  if (challenge.type !== 'challenge') throw new Error();
  return encodeMessage({ type: 'hello', protocol, mac: authMac(token, 'worker', challenge.nonce), nonce: newNonce(), name: 't', instance: newNonce() });
}

test('a wrong token is closed with 4401 and E_AUTH, and nothing but the challenge was sent', async () => {
  const { pool, url } = await startBarePool(await tempDir());
  try {
    const c = client(url);
    c.ws.send(hello(await c.first, 'not-the-token'));
    const { code, reason } = await c.closed;
    assert.equal(code, CLOSE.authFailed);
    assert.match(reason, /E_AUTH/);
    assert.deepEqual(c.got.map((m) => m.type), ['challenge']);
  } finally {
    await pool.close();
  }
});

test('the right token gets a welcome whose proof checks out; another protocol version gets 4426', async () => {
  const { pool, url } = await startBarePool(await tempDir());
  try {
    const good = client(url);
    good.ws.send(hello(await good.first, TOKEN));
    // The welcome waited for, then 200 ms for anything after it: 200 ms from the hello were the
    // welcome's whole time, short for a loaded machine.
    await waitFor('the welcome', () => good.got.length >= 2, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(good.got.map((m) => m.type), ['challenge', 'welcome']);
    good.ws.close();
    const old = client(url);
    old.ws.send(hello(await old.first, TOKEN, PROTOCOL_VERSION + 1));
    assert.equal((await old.closed).code, CLOSE.versionMismatch);
  } finally {
    await pool.close();
  }
});

test('a socket that never says hello is closed with 4408 within cluster.handshakeTimeoutMs', async () => {
  const { pool, url } = await startBarePool(await tempDir(), { cluster: { handshakeTimeoutMs: 300 } });
  try {
    const c = client(url);
    const { code, ms } = await c.closed;
    assert.equal(code, CLOSE.handshakeTimeout);
    assert.ok(ms >= 300 && ms < 2000, `${ms} ms`);
  } finally {
    await pool.close();
  }
});

test('frames past maxPayload, oversize hellos, text frames and floods are cut off', async () => {
  const { pool, url } = await startBarePool(await tempDir(), { cluster: { ...wsConfig('', 'x').cluster, maxMessagesPerSec: 50 } });
  try {
    const big = client(url);
    await big.first;
    big.ws.send(Buffer.alloc(20 * 1024 * 1024));
    assert.equal((await big.closed).code, 1009, 'ws closes with 1009 (message too big) before buffering it');

    const preAuth = client(url);
    await preAuth.first;
    preAuth.ws.send(Buffer.alloc(4096));
    assert.equal((await preAuth.closed).code, 1009, 'ws closes with 1009 at the header of a frame past 1 kB before the worker is ready');

    const text = client(url);
    await text.first;
    text.ws.send('hello');
    assert.equal((await text.closed).code, CLOSE.protocolError);

    const flood = client(url);
    flood.ws.send(hello(await flood.first, TOKEN));
    for (let i = 0; i < 200; i++) flood.ws.send(encodeMessage({ type: 'pong', seq: i }));
    assert.equal((await flood.closed).code, CLOSE.rateLimited);
  } finally {
    await pool.close();
  }
});

test('a worker process with a bad token stops with one clear E_AUTH line', async () => {
  const dir = await tempDir();
  const { pool, url } = await startBarePool(dir);
  try {
    const w = spawnWorker(url, dir, 'intruder', [], 'wrong');
    assert.equal(await w.exited, 2, 'the same token is refused again: a scheduler should not restart it');
    assert.match(w.output(), /error E_AUTH: the coordinator at ws:\/\/127\.0\.0\.1:\d+ rejected our token/);
  } finally {
    await pool.close();
  }
});

test('a coordinator on a non-loopback address refuses a token shorter than 16 characters (offline guessing), before its run folder is made', async () => {
  const dir = await tempDir();
  const saved = process.env.TRAINER_TOKEN;
  process.env.TRAINER_TOKEN = 'short-token';
  try {
    await assert.rejects(
      coordinatorCommand({ host: '0.0.0.0', port: 0, resume: false, autoResume: false, quiet: true, json: false }, { run: { dir: join(dir, 'runs') } }),
      (err: unknown) =>
        isTrainerError(err, 'E_CONFIG') && err.message === 'listening on 0.0.0.0 needs a token of at least 16 characters, this one has 11: make one with openssl rand -hex 24',
    );
    assert.equal(existsSync(join(dir, 'runs')), false, 'no run folder for a run that did not start');
  } finally {
    if (saved === undefined) delete process.env.TRAINER_TOKEN;
    else process.env.TRAINER_TOKEN = saved;
  }
});

test('a coordinator on a non-loopback address refuses to start without a token', async () => {
  const saved = process.env.TRAINER_TOKEN;
  delete process.env.TRAINER_TOKEN;
  try {
    await assert.rejects(
      coordinatorCommand({ host: '0.0.0.0', port: 0, resume: false, autoResume: false, quiet: true, json: false }, {}),
      (err: unknown) => isTrainerError(err, 'E_CONFIG') && /needs a shared token/.test(err.message),
    );
  } finally {
    if (saved !== undefined) process.env.TRAINER_TOKEN = saved;
  }
});
