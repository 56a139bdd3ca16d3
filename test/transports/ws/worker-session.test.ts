// The worker's side of the protocol as a state machine, fed encoded frames without a socket:
// each transition, and what a message out of turn does.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTrainerError, TrainerError } from '../../../src/shared/errors.js';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { CLOSE, PROTOCOL_VERSION, type Message, type MessageOf } from '../../../src/transports/ws/protocol.js';
import { datasetBlob, datasetProof, sha256Hex } from '../../../src/transports/ws/wire-dataset.js';
import { WorkerCompute, type WorkTask } from '../../../src/transports/ws/worker-compute.js';
import { WorkerSession } from '../../../src/transports/ws/worker-session.js';
import { getModel } from '../../../src/worker/model.js';
import { everyByteDataset } from '../../worker/input-fixtures.js';
import { welcomeMessage } from './helpers.js';

const TOKEN = 'session-test-token';
const PROOF_NONCE = new Uint8Array(32).fill(9);

function fakeLink() {
  const sent: Message[] = [];
  const closes: { code: number; reason: string }[] = [];
  return {
    sent,
    closes,
    link: {
      send: (frame: Uint8Array) => void sent.push(decodeMessage(frame, 'worker')),
      close: (code: number, reason: string) => void closes.push({ code, reason }),
      bufferedAmount: 0,
      get open() {
        return closes.length === 0;
      },
    },
  };
}

async function setUp(token: string | null = TOKEN, Compute: typeof WorkerCompute = WorkerCompute) {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-session-'));
  const log: string[] = [];
  const fatal: TrainerError[] = [];
  const compute = new Compute({ backend: 'cpu', gpu: null, threads: 1, cacheDir: dir, log: (l) => log.push(l) });
  const { link, sent, closes } = fakeLink();
  const session = new WorkerSession(compute, link, { url: 'ws://test', token, name: 'w', log: (l) => log.push(l), onFatal: (e) => fatal.push(e) });
  const feed = (m: Message) => session.receive(encodeMessage(m));
  return { dir, session, sent, closes, fatal, log, feed, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const model = getModel('net');
const blob = datasetBlob({ train: everyByteDataset(6), val: everyByteDataset(2) });
const dataset = { sha256: sha256Hex(blob), bytes: blob.length, trainCount: 6, valCount: 2, chunks: 2 };

function welcome(workerNonce: Uint8Array, token: string | null = TOKEN): Message {
  return welcomeMessage(workerNonce, dataset, { proofNonce: PROOF_NONCE }, token);
}

test('authenticating: a challenge is answered with a hello that proves the token; a second challenge is out of turn', async () => {
  const s = await setUp();
  try {
    const nonce = newNonce();
    await s.feed({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce });
    const hello = s.sent[0] as MessageOf<'hello'>;
    assert.equal(hello.type, 'hello');
    assert.deepEqual([...hello.mac], [...authMac(TOKEN, 'worker', nonce)]);
    assert.equal(s.session.stateName, 'authenticating');
    await s.feed({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce });
    assert.equal(s.closes[0]?.code, CLOSE.protocolError);
    assert.match(s.closes[0]?.reason ?? '', /challenge while authenticating/);
    assert.equal(s.fatal.length, 0, 'a misbehaving coordinator is retried, not fatal');
  } finally {
    await s.cleanup();
  }
});

test('authenticating: another protocol version, or a coordinator without our token, ends the worker', async () => {
  const a = await setUp();
  const b = await setUp();
  try {
    await a.feed({ type: 'challenge', protocol: PROTOCOL_VERSION + 1, nonce: newNonce() });
    assert.equal(a.closes[0]?.code, CLOSE.versionMismatch);
    assert.ok(isTrainerError(a.fatal[0], 'E_PROTOCOL'));

    await b.feed({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() });
    const hello = b.sent[0] as MessageOf<'hello'>;
    await b.feed(welcome(hello.nonce, 'another-token'));
    assert.equal(b.closes[0]?.code, CLOSE.authFailed);
    assert.ok(isTrainerError(b.fatal[0], 'E_AUTH'));
    assert.equal(b.session.stateName, 'authenticating');
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});

test('a welcome before the challenge, or a task before the join, is out of turn', async () => {
  const s = await setUp();
  try {
    await s.feed(welcome(newNonce()));
    assert.match(s.closes[0]?.reason ?? '', /welcome while authenticating/);
    const t = await setUp();
    await t.feed({ type: 'task', taskId: 1, step: 0, version: 0, indices: Int32Array.of(0) });
    assert.match(t.closes[0]?.reason ?? '', /task while authenticating/);
    await t.cleanup();
  } finally {
    await s.cleanup();
  }
});

test('joining: the dataset arrives in order and checked, then ready; weights and a task give a gradient', async () => {
  const s = await setUp();
  try {
    // Waiting on the coordinator (its silence counts) before the welcome, while the dataset comes in, and when ready and idle.
    assert.equal(s.session.waitingOnCoordinator, true);
    await s.feed({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() });
    await s.feed(welcome((s.sent[0] as MessageOf<'hello'>).nonce));
    assert.equal(s.sent[1]?.type, 'dataRequest');
    assert.equal(s.session.stateName, 'joining');
    assert.equal(s.session.waitingOnCoordinator, true);
    const half = Math.ceil(blob.length / 2);
    await s.feed({ type: 'dataChunk', index: 0, bytes: blob.subarray(0, half) });
    assert.equal(s.session.stateName, 'joining');
    await s.feed({ type: 'dataChunk', index: 1, bytes: blob.subarray(half) });
    assert.equal(s.session.stateName, 'ready');
    assert.equal(s.session.waitingOnCoordinator, true);
    // Protocol 3: ready proves the bytes under the welcome's nonce.
    assert.deepEqual(s.sent[2], { type: 'ready', sha256: dataset.sha256, backend: 'cpu', proof: Buffer.from(datasetProof(blob, PROOF_NONCE)) });

    await s.feed({ type: 'weights', version: 3, weights: new Float32Array(model.size).fill(0.01) });
    await s.feed({ type: 'task', taskId: 7, step: 3, version: 3, indices: Int32Array.of(0, 5) });
    const g = s.sent[3] as MessageOf<'gradient'>;
    assert.equal(g.type, 'gradient');
    assert.deepEqual([g.taskId, g.step, g.version, g.count, g.gradient.length], [7, 3, 3, 2, model.size]);
    assert.ok(g.gradient.some((v) => v !== 0));
    assert.equal(s.closes.length, 0);

    await s.feed({ type: 'task', taskId: 8, step: 4, version: 4, indices: Int32Array.of(1) });
    assert.match(s.closes[0]?.reason ?? '', /task at version 4 without its weights/);
  } finally {
    await s.cleanup();
  }
});

test('preparing: from the welcome until it asks for data or is ready (backend, a cached dataset, compute threads) the worker is not waiting on the coordinator, whose silence then does not count', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-session-'));
  let open = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  // Compute threads starting with a cached dataset took 10 s and more: the worker dropped its link as silent.
  class SlowCompute extends WorkerCompute {
    override async prepare(w: MessageOf<'welcome'>): Promise<void> {
      await gate;
      return super.prepare(w);
    }
  }
  const compute = new SlowCompute({ backend: 'cpu', gpu: null, threads: 1, cacheDir: dir, log: () => {} });
  const { link, sent } = fakeLink();
  const session = new WorkerSession(compute, link, { url: 'ws://test', token: TOKEN, name: 'w', log: () => {}, onFatal: () => {} });
  try {
    await session.receive(encodeMessage({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() }));
    const welcomed = session.receive(encodeMessage(welcome((sent[0] as MessageOf<'hello'>).nonce)));
    await new Promise((r) => setImmediate(r));
    assert.equal(session.stateName, 'preparing');
    assert.equal(session.waitingOnCoordinator, false);
    open();
    await welcomed;
    assert.equal(session.stateName, 'joining');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('joining: a chunk out of order, or more bytes than declared, ends the session before they are kept', async () => {
  const a = await setUp();
  const b = await setUp();
  try {
    for (const s of [a, b]) {
      await s.feed({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() });
      await s.feed(welcome((s.sent[0] as MessageOf<'hello'>).nonce));
    }
    await a.feed({ type: 'dataChunk', index: 1, bytes: blob.subarray(0, 10) });
    assert.match(a.closes[0]?.reason ?? '', /unexpected data chunk 1/);
    await b.feed({ type: 'dataChunk', index: 0, bytes: new Uint8Array(blob.length + 1) });
    assert.equal(b.closes[0]?.code, CLOSE.protocolError);
    assert.match(b.closes[0]?.reason ?? '', /past the declared/);
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});

test('the session says how it ended: a leave, a shutdown, a drop, or a rejected token', async () => {
  const s = await setUp();
  try {
    assert.deepEqual(s.session.ended(1006, ''), { kind: 'dropped', wasReady: false, why: '1006 connection lost' }, 'a link ended without a close frame says so, as the coordinator does');
    assert.deepEqual(s.session.ended(CLOSE.shutdown, 'coordinator done'), { kind: 'leave', reason: 'coordinator done' });
    assert.throws(() => s.session.ended(CLOSE.authFailed, 'E_AUTH: bad token'), (e: unknown) => isTrainerError(e, 'E_AUTH'));
    await s.feed({ type: 'leave', reason: 'run finished' });
    assert.deepEqual(s.session.ended(1000, 'bye'), { kind: 'leave', reason: 'run finished' });
  } finally {
    await s.cleanup();
  }
});

test('a worker refused for the rest of the run (4403) stops for good; one refused for now (4503) tries again later', async () => {
  const s = await setUp();
  try {
    assert.throws(
      () => s.session.ended(CLOSE.banned, 'E_VERIFY: verification mismatch'),
      (e: unknown) => isTrainerError(e, 'E_WORKER_LOST') && /refuses this worker for the rest of the run \(E_VERIFY: verification mismatch\)/.test(e.message),
    );
    assert.deepEqual(s.session.ended(CLOSE.refused, 'stalled 1 time(s): refused for another 900 ms'), {
      kind: 'dropped',
      wasReady: false,
      why: '4503 stalled 1 time(s): refused for another 900 ms',
    });
  } finally {
    await s.cleanup();
  }
});

/** Authenticates, joins with the whole dataset, then gets weights and task `taskId`. */
async function readyWithTask(s: Awaited<ReturnType<typeof setUp>>, taskId: number): Promise<void> {
  await s.feed({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() });
  await s.feed(welcome((s.sent[0] as MessageOf<'hello'>).nonce));
  const half = Math.ceil(blob.length / 2);
  await s.feed({ type: 'dataChunk', index: 0, bytes: blob.subarray(0, half) });
  await s.feed({ type: 'dataChunk', index: 1, bytes: blob.subarray(half) });
  assert.equal(s.session.stateName, 'ready');
  await s.feed({ type: 'weights', version: 1, weights: new Float32Array(model.size) });
  await s.feed({ type: 'task', taskId, step: 1, version: 1, indices: Int32Array.of(0, 1) });
}

test('Ctrl-C while a task computes asynchronously (compute threads, webgpu): the task the leave cuts short is no "cannot compute task" line, and nothing more is sent', async () => {
  let cut = (_err: Error) => {};
  // As compute threads do: the result is a promise, which rejects when the threads are stopped under it.
  class ThreadedCompute extends WorkerCompute {
    override compute(_m: WorkTask, _weights: Float32Array, _reuse: boolean): Promise<Uint8Array> {
      return new Promise<Uint8Array>((_resolve, reject) => (cut = reject));
    }
  }
  const s = await setUp(TOKEN, ThreadedCompute);
  try {
    await readyWithTask(s, 755);

    s.session.leave('worker interrupted');
    const sentBefore = s.sent.length;
    cut(new Error('thread exited with code 1'));
    await new Promise((r) => setImmediate(r));

    // It said "cannot compute task 755: thread exited with code 1" and closed its closed link again as a bad task.
    assert.deepEqual(s.log.filter((l) => /cannot compute/.test(l)), []);
    assert.equal(s.sent.length, sentBefore);
    assert.deepEqual(s.closes, [{ code: 1000, reason: 'bye' }]);
  } finally {
    await s.cleanup();
  }
});

test('a worker whose compute threads were all lost (E_WORKER_LOST) ends with that error; a task that failed otherwise closes the link as a bad task and the worker goes on', async () => {
  const fails: Error[] = [
    new TrainerError('E_WORKER_LOST', 'task of version 1: no compute thread is left (the last: thread-5 (position 0) gone (thread exited with code 1); not replaced: the thread at position 0 was lost 4 times in a row)'),
    new Error('thread exited with code 1'),
  ];
  for (const failure of fails) {
    class FailingCompute extends WorkerCompute {
      override compute(_m: WorkTask, _weights: Float32Array, _reuse: boolean): Promise<Uint8Array> {
        return Promise.reject(failure);
      }
    }
    const s = await setUp(TOKEN, FailingCompute);
    try {
      await readyWithTask(s, 7);
      await new Promise((r) => setImmediate(r));
      if (failure instanceof TrainerError) {
        assert.deepEqual(s.fatal.map((e) => e.code), ['E_WORKER_LOST']);
        assert.equal(s.closes[0]?.code, 1011);
        assert.match(s.closes[0]?.reason ?? '', /no compute thread is left/);
      } else {
        assert.equal(s.fatal.length, 0, 'one lost thread is replaced: the worker goes on');
        assert.equal(s.closes[0]?.code, CLOSE.protocolError);
        assert.match(s.closes[0]?.reason ?? '', /^bad task 7: thread exited with code 1/);
      }
    } finally {
      await s.cleanup();
    }
  }
});
