import assert from 'node:assert/strict';
import { once } from 'node:events';
import { watch } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { allocateDataset } from '../../src/data/cifar-format.js';
import { authMac, newNonce } from '../../src/transports/ws/auth.js';
import { decodeMessage } from '../../src/transports/ws/decode.js';
import { encodeMessage } from '../../src/transports/ws/encode.js';
import { PROTOCOL_VERSION } from '../../src/transports/ws/protocol.js';
import { datasetBlob, sha256Hex } from '../../src/transports/ws/wire-dataset.js';
import { getModel } from '../../src/worker/model.js';
import { tempDir } from '../helpers.js';
import { TOKEN, killAll, spawnWorker, type Spawned } from '../transports/ws/helpers.js';

test('a worker stopped by SIGTERM while it writes the received dataset to its cache exits 143 and leaves no temporary there (a 157 MB one stayed for 10 minutes)', async () => {
  // 10,000 images: 30 MB to write and fsync, far longer than the worker takes to leave.
  const blob = datasetBlob({ train: allocateDataset(10_000), val: allocateDataset(10) });
  const chunkBytes = 8 << 20;
  const chunks = Math.ceil(blob.length / chunkBytes);
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 20 });
  await once(server, 'listening');
  const sockets: WebSocket[] = [];
  // A coordinator by hand, as far as the dataset: challenge, welcome, every chunk.
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
            backend: 'wasm',
            maxBatch: 16,
            microBatch: 16,
            heartbeatMs: 5000,
            dataset: { sha256: sha256Hex(blob), bytes: blob.length, trainCount: 10_000, valCount: 10, chunks },
            proofNonce: newNonce(),
          }),
        );
      } else if (m.type === 'dataRequest') {
        for (let i = 0; i < chunks; i++) ws.send(encodeMessage({ type: 'dataChunk', index: i, bytes: blob.subarray(i * chunkBytes, (i + 1) * chunkBytes) }));
      }
    });
  });
  const procs: Spawned[] = [];
  try {
    const dir = await tempDir();
    const datasets = join(dir, 'cache', 'w', 'datasets');
    await mkdir(datasets, { recursive: true });
    const writing = new Promise<void>((resolve) => {
      const watcher = watch(datasets, (_event, name) => {
        if (name?.endsWith('.tmp')) {
          watcher.close();
          resolve();
        }
      });
    });
    const worker = spawnWorker(`127.0.0.1:${(server.address() as AddressInfo).port}`, dir, 'w');
    procs.push(worker);
    await Promise.race([writing, worker.exited.then((code) => assert.fail(`the worker exited (${code}) before writing its cache: ${worker.output()}`))]);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 143, worker.output());
    assert.match(worker.output(), /leaving: interrupted/);
    assert.deepEqual((await readdir(datasets)).filter((f) => f.endsWith('.tmp')), []);
  } finally {
    killAll(procs);
    sockets.forEach((s) => s.terminate());
    server.close();
  }
});
