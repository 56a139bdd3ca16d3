import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { pack } from 'msgpackr';
import { isTrainerError } from '../../../src/shared/errors.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { PROTOCOL_VERSION, SENT_BY, closeReason, type Message, type MessageType } from '../../../src/transports/ws/protocol.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const sha = 'ab'.repeat(32);

/** One of every message: a Record so a new type that is not here fails to compile. */
const SAMPLES: Record<MessageType, Message> = {
  challenge: { type: 'challenge', protocol: PROTOCOL_VERSION, nonce: bytes(32) },
  hello: { type: 'hello', protocol: PROTOCOL_VERSION, mac: bytes(32, 1), nonce: bytes(32, 2), name: 'host:42', instance: bytes(16, 3) },
  welcome: {
    type: 'welcome',
    workerId: 'w1-abcd',
    mac: bytes(32, 3),
    model: 'net',
    modelSize: 18354,
    mean: [0.1, 0.2, 0.30000000000000004],
    std: [0.25, 0.5, 1 / 3],
    backend: 'wasm',
    maxBatch: 500,
    microBatch: 16,
    heartbeatMs: 5000,
    dataset: { sha256: sha, bytes: 123456, trainCount: 30, valCount: 10, chunks: 1 },
    proofNonce: bytes(32, 4),
  },
  dataRequest: { type: 'dataRequest' },
  dataChunk: { type: 'dataChunk', index: 3, bytes: bytes(1000, 9) },
  ready: { type: 'ready', sha256: sha, backend: 'wasm', proof: bytes(32, 5), threads: 4 },
  weights: { type: 'weights', version: 12, weights: new Float32Array([1.5, -0, Math.PI, 1e-30, 3.4e38]) },
  task: { type: 'task', taskId: 7, step: 12, version: 12, indices: new Int32Array([5, 0, 2147483647]) },
  prefetch: { type: 'prefetch', step: 13, indices: new Int32Array([9, 4, 0]) },
  evalTask: { type: 'evalTask', taskId: 8, version: 12, split: 'val', indices: new Int32Array([1, 2, 3]) },
  gradient: {
    type: 'gradient',
    taskId: 7,
    step: 12,
    version: 12,
    lossSum: 36.84136962890625,
    correct: 2,
    count: 3,
    computeMs: 12.5,
    startedAt: 1796069742140.025,
    gradient: new Float32Array([0.1, -0.2, 0.3]),
  },
  evalResult: { type: 'evalResult', taskId: 8, version: 12, lossSum: 6.9, correct: 1, count: 3 },
  ping: { type: 'ping', seq: 4 },
  pong: { type: 'pong', seq: 4 },
  leave: { type: 'leave', reason: 'done' },
};

/** Typed arrays of any kind compared by class and content. */
function plain(v: unknown): unknown {
  if (v instanceof Float32Array) return ['f32', Array.from(v, (x) => (Object.is(x, -0) ? '-0' : x))];
  if (v instanceof Int32Array) return ['i32', Array.from(v)];
  if (v instanceof Uint8Array) return ['u8', Array.from(v)];
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function rejects(frame: Uint8Array, pattern?: RegExp, from?: 'worker' | 'coordinator') {
  assert.throws(
    () => decodeMessage(frame, from),
    (err: unknown) => isTrainerError(err, 'E_PROTOCOL') && (!pattern || pattern.test(err.message)),
  );
}

test('every message survives encode and decode unchanged, bit for bit in its arrays', () => {
  for (const m of Object.values(SAMPLES)) {
    const from = SENT_BY[m.type];
    const back = decodeMessage(encodeMessage(m), from === 'both' ? undefined : from);
    assert.deepEqual(plain(back), plain(m), m.type);
  }
});

test('decoded float and index arrays are fresh, aligned copies, not views of the frame', () => {
  const frame = encodeMessage(SAMPLES.gradient);
  // Put the frame at an odd offset of a bigger buffer, as a socket might.
  const host = new Uint8Array(frame.length + 3);
  host.set(frame, 3);
  const m = decodeMessage(host.subarray(3));
  assert.equal(m.type, 'gradient');
  if (m.type !== 'gradient') return;
  assert.ok(m.gradient instanceof Float32Array);
  assert.equal(m.gradient.byteOffset, 0);
  assert.equal(m.gradient.buffer.byteLength, m.gradient.byteLength);
  host.fill(0);
  assert.deepEqual(Array.from(m.gradient), Array.from(SAMPLES.gradient.type === 'gradient' ? SAMPLES.gradient.gradient : []));
});

test('bytes that are not msgpack, or msgpack that is not a map, are E_PROTOCOL', () => {
  rejects(new Uint8Array([]), /not valid msgpack/);
  rejects(new Uint8Array([0xc1]));
  rejects(pack([1, 2, 3]), /not a msgpack map/);
  rejects(pack('hello'), /not a msgpack map/);
  rejects(pack(null), /not a msgpack map/);
  rejects(Buffer.concat([encodeMessage(SAMPLES.ping), Buffer.from([0x01])]), /not valid msgpack/);
  rejects(new Uint8Array([0xd4, 0x01, 0x02]), /not valid msgpack/);
  rejects(pack(new Date(0)), /not a msgpack map/);
});

test('unknown types, missing fields and extra fields are E_PROTOCOL', () => {
  rejects(pack({ type: 'shutdown' }), /unknown message type/);
  rejects(pack({ type: 42 }), /unknown message type/);
  rejects(pack({ nope: 1 }), /unknown message type/);
  rejects(pack({ type: 'ping' }), /ping lacks seq/);
  rejects(pack({ type: 'ping', seq: 1, extra: true }), /unknown field "extra"/);
  rejects(pack({ ...SAMPLES.welcome, dataset: { sha256: sha } }), /welcome.dataset lacks/);
});

test('wrong types and out-of-range values are E_PROTOCOL', () => {
  const g = { ...SAMPLES.gradient, gradient: Buffer.from(new Float32Array([1]).buffer) };
  rejects(pack({ ...g, taskId: -1 }), /taskId must be an integer/);
  rejects(pack({ ...g, taskId: 1.5 }), /taskId/);
  rejects(pack({ ...g, taskId: '1' }), /taskId/);
  rejects(pack({ ...g, step: 2 ** 60 }), /step/);
  rejects(pack({ ...g, lossSum: '1' }), /lossSum must be a number/);
  rejects(pack({ ...g, lossSum: null }), /lossSum/);
  rejects(pack({ ...g, gradient: Buffer.alloc(5) }), /multiple of 4/);
  rejects(pack({ ...g, gradient: [1, 2, 3] }), /gradient must be binary/);
  rejects(pack({ ...g, correct: 2 ** 40 }), /correct/);
  // A token holder's timing went into workers.json as null (1e308) or a negative total (-1e300).
  rejects(pack({ ...g, computeMs: 1e308 }), /computeMs must be a number in \[0, 86400000\]/);
  rejects(pack({ ...g, computeMs: -1e300 }), /computeMs/);
  rejects(pack({ ...g, startedAt: -5 }), /startedAt/);
  rejects(pack({ ...g, startedAt: 1e300 }), /startedAt/);
  rejects(pack({ type: 'task', taskId: 1, step: 1, version: 1, indices: Buffer.from(new Int32Array([3, -1]).buffer) }), /non-negative/);
  rejects(pack({ type: 'evalTask', taskId: 1, version: 1, split: 'test', indices: Buffer.alloc(4) }), /split must be one of/);
  rejects(pack({ type: 'prefetch', step: 1, indices: Buffer.from(new Int32Array([-4]).buffer) }), /non-negative/);
  rejects(pack({ type: 'prefetch', step: 1, indices: Buffer.alloc(4), taskId: 3 }), /taskId/);
  rejects(pack({ ...SAMPLES.hello, mac: Buffer.alloc(31) }), /mac must be binary of 32/);
  rejects(pack({ ...SAMPLES.hello, name: 'x'.repeat(200) }), /name/);
  rejects(pack({ ...SAMPLES.hello, name: 'bell\u0007' }), /name/);
  rejects(pack({ ...SAMPLES.ready, sha256: 'XYZ' }), /sha256/);
  rejects(pack({ ...SAMPLES.ready, proof: Buffer.alloc(16) }), /proof must be binary of 32/);
  rejects(pack({ type: 'ready', sha256: sha, backend: 'wasm' }), /ready lacks proof/);
  rejects(pack({ ...SAMPLES.welcome, proofNonce: undefined }), /welcome/);
  rejects(pack({ ...SAMPLES.welcome, model: 'resnet' }), /model must be one of/);
  rejects(pack({ ...SAMPLES.welcome, mean: [1, 2] }), /mean must be a list of 3/);
  rejects(pack({ type: 'leave', reason: 'x'.repeat(300) }), /reason/);
});

test("a message from the wrong side is E_PROTOCOL: workers never send tasks, coordinators never send gradients", () => {
  rejects(encodeMessage(SAMPLES.task), /a worker may not send task/, 'worker');
  rejects(encodeMessage(SAMPLES.weights), /a worker may not send weights/, 'worker');
  rejects(encodeMessage(SAMPLES.prefetch), /a worker may not send prefetch/, 'worker');
  rejects(encodeMessage(SAMPLES.gradient), /a coordinator may not send gradient/, 'coordinator');
  rejects(encodeMessage(SAMPLES.hello), /a coordinator may not send hello/, 'coordinator');
  assert.equal(decodeMessage(encodeMessage(SAMPLES.leave), 'worker').type, 'leave');
  assert.equal(decodeMessage(encodeMessage(SAMPLES.leave), 'coordinator').type, 'leave');
});

test('a prototype key in a frame changes nothing but that frame, and is rejected', () => {
  const frame = Buffer.concat([Buffer.from([0x82, 0xa4]), Buffer.from('type'), Buffer.from([0xa4]), Buffer.from('ping'), Buffer.from([0xa9]), Buffer.from('__proto__'), Buffer.from([0x81, 0xa3]), Buffer.from('seq'), Buffer.from([0x05])]);
  assert.throws(() => decodeMessage(frame), (e: unknown) => isTrainerError(e, 'E_PROTOCOL'));
  assert.equal(({} as Record<string, unknown>).seq, undefined);
});

test('deep nesting and 10,000 random frames never escape as anything but E_PROTOCOL', () => {
  let deep = Buffer.from([0x01]);
  for (let i = 0; i < 100_000; i++) deep = Buffer.concat([Buffer.from([0x91]), deep]);
  rejects(deep);
  for (let i = 0; i < 10_000; i++) {
    const frame = randomBytes(1 + (i % 64));
    try {
      decodeMessage(frame);
    } catch (err) {
      assert.ok(isTrainerError(err, 'E_PROTOCOL'), `frame ${frame.toString('hex')}: ${String(err)}`);
    }
  }
});

test('close reasons quoting a peer stay within the 123 bytes WebSocket allows', () => {
  const r = closeReason(`unknown message type ${JSON.stringify('\u{1F600}'.repeat(100))}`);
  assert.ok(Buffer.byteLength(r) <= 123);
  assert.match(r, /^[\x20-\x7e]*$/);
});

test('protocol 5: the welcome says the micro-batch size workers warm up with; one without it is refused', () => {
  assert.ok(PROTOCOL_VERSION >= 6);
  const { microBatch: _, ...old } = SAMPLES.welcome as Extract<Message, { type: 'welcome' }>;
  assert.throws(() => decodeMessage(encodeMessage(old as unknown as Message), 'coordinator'), /welcome lacks microBatch/);
});

test('protocol 7: a welcome or a task of more than 4,096 examples (what a wasm pass holds) is refused', () => {
  assert.equal(PROTOCOL_VERSION, 8);
  const welcome = SAMPLES.welcome as Extract<Message, { type: 'welcome' }>;
  assert.equal((decodeMessage(encodeMessage({ ...welcome, maxBatch: 4096 }), 'coordinator') as typeof welcome).maxBatch, 4096);
  assert.throws(() => decodeMessage(encodeMessage({ ...welcome, maxBatch: 4097 }), 'coordinator'), /welcome\.maxBatch must be an integer in \[1, 4096\]/);
  const task = SAMPLES.task as Extract<Message, { type: 'task' }>;
  assert.equal((decodeMessage(encodeMessage({ ...task, indices: new Int32Array(4096) }), 'coordinator') as typeof task).indices.length, 4096);
  assert.throws(() => decodeMessage(encodeMessage({ ...task, indices: new Int32Array(4097) }), 'coordinator'), /task\.indices/);
});

test('since protocol 4: a result may carry a NaN or infinite loss (the coordinator judges it, a decoder error would evict an honest worker of a diverged run)', () => {
  for (const lossSum of [NaN, Infinity, -Infinity]) {
    for (const m of [{ ...SAMPLES.gradient, lossSum }, { ...SAMPLES.evalResult, lossSum }] as Message[]) {
      const back = decodeMessage(encodeMessage(m), 'worker');
      assert.ok('lossSum' in back && Object.is(back.lossSum, lossSum), `${m.type} ${lossSum}`);
    }
  }
});

test("a result's finite loss must lie within float32's range, as every worker's does: two of 1e308 summed to an Infinity that stopped a run", () => {
  for (const m of [SAMPLES.gradient, SAMPLES.evalResult] as Message[]) {
    for (const lossSum of [1e308, -1e308, 3.5e38]) {
      assert.throws(() => decodeMessage(encodeMessage({ ...m, lossSum } as Message), 'worker'), (e) => isTrainerError(e, 'E_PROTOCOL') && /lossSum must be a number of float32's range/.test(e.message));
    }
    for (const lossSum of [3.4028234663852886e38, -3.4028234663852886e38, 1e-45, 0]) {
      const back = decodeMessage(encodeMessage({ ...m, lossSum } as Message), 'worker');
      assert.ok('lossSum' in back && back.lossSum === lossSum, `${m.type} ${lossSum}`);
    }
  }
});
