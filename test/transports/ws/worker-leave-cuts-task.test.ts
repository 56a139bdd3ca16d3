// A worker that leaves on purpose (Ctrl-C) while a task computes asynchronously (compute threads,
// webgpu): the task cut short by the leave is not reported as a failure.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { PROTOCOL_VERSION, type Message, type MessageOf } from '../../../src/transports/ws/protocol.js';
import { datasetBlob, sha256Hex } from '../../../src/transports/ws/wire-dataset.js';
import { WorkerCompute, type WorkTask } from '../../../src/transports/ws/worker.js';
import { WorkerSession } from '../../../src/transports/ws/worker-session.js';
import { getModel } from '../../../src/worker/model.js';
import { everyByteDataset } from '../../worker/input-fixtures.js';

const TOKEN = 'session-test-token';

test('Ctrl-C while a task computes in a thread: the task the leave cuts short is no "cannot compute task" line, and nothing more is sent', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-session-'));
  let cut = (_err: Error) => {};
  // As compute threads do: the result is a promise, which rejects when the threads are stopped under it.
  class ThreadedCompute extends WorkerCompute {
    override compute(_m: WorkTask, _weights: Float32Array, _reuse: boolean): Promise<Uint8Array> {
      return new Promise<Uint8Array>((_resolve, reject) => (cut = reject));
    }
  }
  const log: string[] = [];
  const compute = new ThreadedCompute({ backend: 'cpu', gpu: null, threads: 1, cacheDir: dir, log: (l) => log.push(l) });
  const sent: Message[] = [];
  const closes: { code: number; reason: string }[] = [];
  const link = {
    send: (frame: Uint8Array) => void sent.push(decodeMessage(frame, 'worker')),
    close: (code: number, reason: string) => void closes.push({ code, reason }),
    bufferedAmount: 0,
    get open() {
      return closes.length === 0;
    },
  };
  const session = new WorkerSession(compute, link, { url: 'ws://test', token: TOKEN, name: 'w', log: (l) => log.push(l), onFatal: (e) => assert.fail(e) });
  const feed = (m: Message) => session.receive(encodeMessage(m));
  try {
    const model = getModel('net');
    const blob = datasetBlob({ train: everyByteDataset(6), val: everyByteDataset(2) });
    await feed({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() });
    await feed({
      type: 'welcome',
      workerId: 'w1',
      mac: authMac(TOKEN, 'coordinator', (sent[0] as MessageOf<'hello'>).nonce),
      model: 'net',
      modelSize: model.size,
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
      backend: 'cpu',
      maxBatch: 4,
      microBatch: 2,
      heartbeatMs: 1000,
      dataset: { sha256: sha256Hex(blob), bytes: blob.length, trainCount: 6, valCount: 2, chunks: 1 },
      proofNonce: newNonce(),
    });
    await feed({ type: 'dataChunk', index: 0, bytes: blob });
    assert.equal(session.stateName, 'ready');
    await feed({ type: 'weights', version: 1, weights: new Float32Array(model.size) });
    await feed({ type: 'task', taskId: 755, step: 1, version: 1, indices: Int32Array.of(0, 1) });

    session.leave('worker interrupted');
    const sentBefore = sent.length;
    cut(new Error('thread exited with code 1'));
    await new Promise((r) => setImmediate(r));

    assert.deepEqual(log.filter((l) => /cannot compute/.test(l)), []);
    assert.equal(sent.length, sentBefore);
    assert.deepEqual(closes, [{ code: 1000, reason: 'bye' }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
