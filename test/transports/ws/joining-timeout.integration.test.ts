import assert from 'node:assert/strict';
import test from 'node:test';
import WebSocket from 'ws';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { CLOSE, PROTOCOL_VERSION, type Message } from '../../../src/transports/ws/protocol.js';
import { datasetProof } from '../../../src/transports/ws/wire-dataset.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, startBarePool, waitFor } from './helpers.js';

const LIMIT_MS = 500;

/**
 * A token holder that joins: hello, then (unless `stopAfterWelcome`) a dataRequest, pongs to
 * pings, and a ready with the dataset's proof once every chunk is in. `readEveryMs`: it reads its
 * socket for a moment only this often (a slow link), else as fast as it can.
 */
function joiner(url: string, o: { stopAfterWelcome?: boolean; readEveryMs?: number } = {}) {
  const ws = new WebSocket(url, { maxPayload: 0 });
  const t0 = performance.now();
  const state = { chunks: 0, ready: false, welcomed: false, closed: null as { code: number; reason: string; ms: number } | null };
  const parts: Buffer[] = [];
  ws.on('error', () => {});
  ws.on('close', (code, reason) => (state.closed = { code, reason: reason.toString(), ms: performance.now() - t0 }));
  ws.on('message', (d: Buffer) => {
    const m: Message = decodeMessage(d, 'coordinator');
    if (m.type === 'challenge') {
      ws.send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(TOKEN, 'worker', m.nonce), nonce: newNonce(), name: 'joiner', instance: newNonce() }));
    } else if (m.type === 'welcome' && o.stopAfterWelcome) {
      state.welcomed = true;
    } else if (m.type === 'welcome' && !o.stopAfterWelcome) {
      welcome = m;
      ws.send(encodeMessage({ type: 'dataRequest' }));
    } else if (m.type === 'ping' && !o.stopAfterWelcome) {
      ws.send(encodeMessage({ type: 'pong', seq: m.seq }));
    } else if (m.type === 'dataChunk' && welcome) {
      parts.push(Buffer.from(m.bytes));
      if (++state.chunks === welcome.dataset.chunks) {
        const proof = datasetProof(Buffer.concat(parts), welcome.proofNonce);
        ws.send(encodeMessage({ type: 'ready', sha256: welcome.dataset.sha256, backend: 'wasm', proof }));
        state.ready = true;
      }
    }
  });
  let welcome: Extract<Message, { type: 'welcome' }> | null = null;
  let reader: NodeJS.Timeout | null = null;
  if (o.readEveryMs !== undefined) {
    const every = o.readEveryMs;
    ws.once('open', () => ws.pause());
    reader = setInterval(() => {
      ws.resume();
      setTimeout(() => ws.readyState === WebSocket.OPEN && !state.ready && ws.pause(), 5);
    }, every);
  }
  return { ws, state, t0, stop: () => reader && clearInterval(reader) };
}

test('a token holder that stops after its welcome is closed with 4408 once the join has not moved for what a computing worker gets (cluster.stepTimeoutMs)', async () => {
  // Before its first request a worker starts its backend and warms up, saying nothing: it gets
  // cluster.stepTimeoutMs (here 1,000 ms), twice the handshake's limit at the least.
  const quietMs = 2 * LIMIT_MS;
  const { pool, url, lines } = await startBarePool(await tempDir(), { cluster: { handshakeTimeoutMs: LIMIT_MS, stepTimeoutMs: quietMs } });
  try {
    const j = joiner(url, { stopAfterWelcome: true });
    await waitFor('closed', () => j.state.closed !== null, 10 * quietMs);
    const closed = j.state.closed as unknown as { code: number; reason: string; ms: number };
    assert.equal(closed.code, CLOSE.handshakeTimeout);
    assert.match(closed.reason, /joining/);
    assert.ok(closed.ms >= quietMs && closed.ms < 4 * quietMs, `${closed.ms} ms`);
    assert.ok(lines.some((l) => /joining/.test(l) && /\b1000 ms\b/.test(l)), lines.join('\n'));
  } finally {
    await pool.close();
  }
});

test('a token holder that downloads the dataset slowly but steadily is not cut, however long the whole download takes', async () => {
  // 15,000 images in 64 kB chunks: about 45 MB, more than the socket buffers hold, read in short
  // bursts 100 ms apart so that the download takes several limits. (Bursts 300 ms apart, 0.6 of the
  // limit, let no chunk through for a whole limit in 3 runs of 10, the pool's sending and the
  // reader's timers sharing this process's event loop.)
  const { pool, url } = await startBarePool(await tempDir(), {
    data: { synthetic: { trainSize: 15_000, valSize: 100 } },
    cluster: { handshakeTimeoutMs: LIMIT_MS, dataChunkBytes: 64 * 1024 },
  });
  const j = joiner(url, { readEveryMs: 100 });
  try {
    const t0 = performance.now();
    await waitFor('ready or closed', () => j.state.ready || j.state.closed !== null, 120_000);
    assert.equal(j.state.closed, null, `closed after ${j.state.chunks} chunks: ${JSON.stringify(j.state.closed)}`);
    const ms = performance.now() - t0;
    assert.ok(ms > 3 * LIMIT_MS, `the download took ${Math.round(ms)} ms: not slow enough to show anything`);
    await waitFor('joined', () => pool.size === 1, 5000);
    // Ready now: neither it nor the pings it answers are judged by the joining limit.
    await new Promise((r) => setTimeout(r, 2 * LIMIT_MS));
    assert.equal(j.state.closed, null);
  } finally {
    j.stop();
    j.ws.terminate();
    await pool.close();
  }
});

test('a coordinator that did not run for a while (SIGSTOP, a suspend) does not hold the pause against a joining worker', async () => {
  const quietMs = 2 * LIMIT_MS;
  const { pool, url, lines } = await startBarePool(await tempDir(), { cluster: { handshakeTimeoutMs: LIMIT_MS, stepTimeoutMs: quietMs } });
  try {
    const j = joiner(url, { stopAfterWelcome: true });
    await waitFor('welcomed', () => j.state.welcomed, 10_000);
    // This process stops for 2.5 s, past the joining limit (1 s): as a stopped coordinator would.
    const pausedAt = performance.now();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
    await waitFor('the pause noticed', () => lines.some((l) => /did not run for/.test(l)), 5_000);
    await waitFor('closed', () => j.state.closed !== null, 10 * quietMs);
    const closedAfter = (j.state.closed as unknown as { ms: number }).ms - (pausedAt - j.t0);
    // Closed a full limit after the pause, not at the first tick after it.
    assert.ok(closedAfter >= 2500 + quietMs * 0.8, `closed ${Math.round(closedAfter)} ms after the pause began`);
  } finally {
    await pool.close();
  }
});
