import assert from 'node:assert/strict';
import test from 'node:test';
import WebSocket from 'ws';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { CLOSE, PROTOCOL_VERSION, type Message, type MessageOf } from '../../../src/transports/ws/protocol.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { datasetProof } from '../../../src/transports/ws/wire-dataset.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, startBarePool, waitFor, wsConfig } from './helpers.js';

/** A raw worker that authenticates and asks for the dataset; `paused` stops reading after the request. */
function rawWorker(url: string, paused = false) {
  const ws = new WebSocket(url);
  const got: Message[] = [];
  let welcome: MessageOf<'welcome'> | null = null;
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  ws.on('message', (d: Buffer) => {
    const m = decodeMessage(d, 'coordinator');
    got.push(m);
    if (m.type === 'challenge') {
      ws.send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(TOKEN, 'worker', m.nonce), nonce: newNonce(), name: 'raw', instance: newNonce() }));
    } else if (m.type === 'welcome') {
      welcome = m;
      ws.send(encodeMessage({ type: 'dataRequest' }));
      // A peer that stops reading: what the coordinator sends piles up in its own buffer.
      if (paused) (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    }
  });
  return { ws, got, closed, welcome: () => welcome };
}

const cluster = (over: object) => ({ cluster: { ...wsConfig('', 'x').cluster, ...over } });

test('cluster.dataChunkBytes sets the dataset chunks and cluster.tasksInFlight the tasks a worker holds at once', async () => {
  const { pool, url } = await startBarePool(await tempDir(), cluster({ dataChunkBytes: 100_000, tasksInFlight: 3 }));
  let step: Promise<unknown> | null = null;
  try {
    const w = rawWorker(url);
    await waitFor('the dataset', () => {
      const info = w.welcome()?.dataset;
      return info !== undefined && w.got.filter((m) => m.type === 'dataChunk').length === info.chunks;
    });
    const info = (w.welcome() as MessageOf<'welcome'>).dataset;
    assert.equal(info.chunks, Math.ceil(info.bytes / 100_000));
    const sizes = w.got.flatMap((m) => (m.type === 'dataChunk' ? [m.bytes.length] : []));
    assert.ok(sizes.slice(0, -1).every((n) => n === 100_000) && (sizes.at(-1) as number) <= 100_000, `${sizes}`);

    const chunks = w.got.flatMap((m) => (m.type === 'dataChunk' ? [m.bytes] : []));
    const proof = datasetProof(Buffer.concat(chunks), (w.welcome() as MessageOf<'welcome'>).proofNonce);
    w.ws.send(encodeMessage({ type: 'ready', sha256: info.sha256, backend: 'wasm', proof }));
    await waitFor('the worker to be ready', () => pool.size === 1);
    await pool.publish(0, new Float32Array((w.welcome() as MessageOf<'welcome'>).modelSize));
    const parts = [0, 1, 2, 3, 4].map((i) => Int32Array.of(i));
    step = pool.runStep(0, parts, { onResult: () => {} }).catch(() => null);
    await waitFor('tasks', () => w.got.some((m) => m.type === 'task'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(w.got.filter((m) => m.type === 'task').length, 3, 'three tasks ahead, no more until one comes back');
  } finally {
    await pool.close();
    await step;
  }
});

test('cluster.maxPendingBytes drops a worker that stops reading with 4509', async () => {
  let evicted: ((code: number) => void) | null = null;
  const code = new Promise<number>((resolve) => (evicted = resolve));
  // The least the config allows: a weights frame and a dataset chunk (1 MiB) with their framing.
  const { pool, url } = await startBarePool(await tempDir(), cluster({ maxPendingBytes: 1_200_000 }), { onEvent: (e) => e.kind === 'evicted' && evicted?.(e.code) });
  let step: Promise<unknown> | null = null;
  try {
    const w = rawWorker(url);
    await waitFor('the dataset', () => {
      const info = w.welcome()?.dataset;
      return info !== undefined && w.got.filter((m) => m.type === 'dataChunk').length === info.chunks;
    });
    const welcome = w.welcome() as MessageOf<'welcome'>;
    const proof = datasetProof(Buffer.concat(w.got.flatMap((m) => (m.type === 'dataChunk' ? [m.bytes] : []))), welcome.proofNonce);
    // 512 compute threads: 1,024 tasks at once, 16 MiB of them, more than the kernel takes (net.ipv4.tcp_wmem caps it at a few MiB).
    w.ws.send(encodeMessage({ type: 'ready', sha256: welcome.dataset.sha256, backend: 'wasm', proof, threads: 512 }));
    await waitFor('the worker to be ready', () => pool.size === 1);
    // A peer that stops reading: what the coordinator sends piles up in its own buffer.
    (w.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await pool.publish(0, new Float32Array(welcome.modelSize));
    step = pool.runStep(0, Array.from({ length: 1024 }, () => new Int32Array(4096)), { onResult: () => {} }).catch(() => null);
    assert.equal(await code, CLOSE.tooSlow);
    w.ws.terminate();
  } finally {
    await pool.close();
    await step;
  }
});
