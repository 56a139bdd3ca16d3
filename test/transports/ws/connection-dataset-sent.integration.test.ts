import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import test from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { WorkerConn, type ConnHost, type Welcome } from '../../../src/transports/ws/connection.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { PROTOCOL_VERSION } from '../../../src/transports/ws/protocol.js';
import { TOKEN, waitFor, welcomeMessage } from './helpers.js';

/** Larger than loopback's socket buffers hold: the second chunk is still being written when the worker reads the first. */
const CHUNK_BYTES = 32 << 20;

/**
 * A real WorkerConn on 127.0.0.1 and a worker that asks for the dataset and, with `closeAfter`,
 * closes its socket (a close frame) once it has read that many chunks; the coordinator's log lines.
 */
async function transfer(closeAfter: number | null): Promise<{ lines: string[]; closed: Promise<void>; end: () => void }> {
  const lines: string[] = [];
  const chunk = new Uint8Array(CHUNK_BYTES);
  // The welcome less what the connection adds (its id, its proof, its dataset-proof nonce).
  const { type: _type, workerId: _id, mac: _mac, proofNonce: _proof, ...welcome } = welcomeMessage(newNonce(), {
    sha256: '0'.repeat(64),
    bytes: 2 * CHUNK_BYTES,
    trainCount: 1,
    valCount: 1,
    chunks: 2,
  });

  let closedResolve!: () => void;
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));
  const host: ConnHost = {
    token: TOKEN,
    limits: { handshakeTimeoutMs: 60_000, heartbeatMs: 60_000, stepTimeoutMs: 60_000, maxMessagesPerSec: 100, maxPendingBytes: 1 << 30 },
    welcome: (): Welcome => welcome,
    datasetChunk: () => chunk,
    checkDatasetProof: () => false,
    authenticationFailed: () => {},
    refusal: () => null,
    log: (line) => lines.push(line),
    joinLog: (line) => lines.push(line),
    churnLog: (line) => lines.push(line),
    onAuthenticated: () => {},
    onReady: () => {},
    onMessage: () => {},
    onClosed: (_conn, code, reason) => {
      lines.push(`closed (${code} ${reason})`);
      closedResolve();
    },
  };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => new WorkerConn('w1', '127.0.0.1', ws, host));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { maxPayload: 2 * CHUNK_BYTES });
  let chunks = 0;
  client.on('message', (data: Buffer) => {
    const m = decodeMessage(new Uint8Array(data), 'coordinator');
    if (m.type === 'challenge') {
      client.send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(TOKEN, 'worker', m.nonce), nonce: newNonce(), name: 'w', instance: newNonce() }));
    } else if (m.type === 'welcome') {
      client.send(encodeMessage({ type: 'dataRequest' }));
    } else if (m.type === 'dataChunk') {
      chunks++;
      if (chunks === closeAfter) client.close(1000, 'going');
    }
  });
  const end = () => {
    client.terminate();
    wss.close();
  };
  return { lines, closed, end };
}

test('a worker that closes its socket while the last dataset chunk goes out is not logged as sent the dataset (it was)', async () => {
  const { lines, closed, end } = await transfer(1);
  try {
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`no close within 120 s: ${lines.join(' | ')}`)), 120_000).unref())]);
    // The last chunk's write may settle after the close: give it the time it takes on a loaded machine.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(lines.some((l) => l.startsWith('closed (1000')), lines.join('\n'));
    assert.deepEqual(
      lines.filter((l) => l.includes('dataset sent')),
      [],
      lines.join('\n'),
    );
  } finally {
    end();
  }
});

test('a worker that reads the whole dataset is logged as sent it', async () => {
  const { lines, end } = await transfer(null);
  try {
    await waitFor('the dataset sent line', () => lines.some((l) => /^worker w1 \(w\): dataset sent in \d+ ms$/.test(l)));
  } finally {
    end();
  }
});
