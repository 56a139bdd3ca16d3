import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import test from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { isTrainerError } from '../../../src/shared/errors.js';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { PROTOCOL_VERSION } from '../../../src/transports/ws/protocol.js';
import { datasetBlob, sha256Hex } from '../../../src/transports/ws/wire-dataset.js';
import { runWsWorker } from '../../../src/transports/ws/worker.js';
import { getModel } from '../../../src/worker/model.js';
import { tempDir } from '../../helpers.js';
import { everyByteDataset } from '../../worker/input-fixtures.js';
import { TOKEN } from './helpers.js';

test('a coordinator that goes silent halfway through sending the dataset (no close: a lost host) is dropped after 10 s, as a joined one is (the worker waited in its join for ever)', async () => {
  const blob = datasetBlob({ train: everyByteDataset(6), val: everyByteDataset(2) });
  const half = Math.ceil(blob.length / 2);
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const sockets: WebSocket[] = [];
  // A coordinator by hand: challenge, welcome, the first of two chunks, then nothing more.
  server.on('connection', (ws) => {
    sockets.push(ws);
    ws.send(encodeMessage({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() }));
    ws.on('message', (data: Buffer) => {
      const m = decodeMessage(data, 'worker');
      if (m.type === 'hello') {
        ws.send(
          encodeMessage({
            type: 'welcome',
            workerId: 'w1',
            mac: authMac(TOKEN, 'coordinator', m.nonce),
            model: 'net',
            modelSize: getModel('net').size,
            mean: [0.5, 0.5, 0.5],
            std: [0.25, 0.25, 0.25],
            backend: 'cpu',
            maxBatch: 4,
            microBatch: 2,
            heartbeatMs: 500,
            dataset: { sha256: sha256Hex(blob), bytes: blob.length, trainCount: 6, valCount: 2, chunks: 2 },
            proofNonce: newNonce(),
          }),
        );
      } else if (m.type === 'dataRequest') {
        ws.send(encodeMessage({ type: 'dataChunk', index: 0, bytes: blob.subarray(0, half) }));
      }
    });
  });
  const stop = new AbortController();
  const hung = setTimeout(() => stop.abort(), 30_000);
  try {
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const t0 = performance.now();
    const err = await runWsWorker({ url, token: TOKEN, backend: 'cpu', gpu: null, cacheDir: await tempDir(), retryForMs: 2500, log: () => {}, signal: stop.signal }).then(
      () => assert.fail(`the worker ended without an error after ${Math.round(performance.now() - t0)} ms (stopped after 30 s: it waited on the dataset)`),
      (e: unknown) => e,
    );
    assert.ok(isTrainerError(err, 'E_TIMEOUT'), String(err));
    // 4 heartbeats are 2 s: the floor of 10 s applies, as to a joined worker.
    assert.match((err as Error).message, /no word from the coordinator for 10 s/);
  } finally {
    clearTimeout(hung);
    sockets.forEach((s) => s.terminate());
    server.close();
  }
});
