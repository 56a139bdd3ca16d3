import assert from 'node:assert/strict';
import test from 'node:test';
import { pack, unpack } from 'msgpackr';
import { isTrainerError } from '../../../src/shared/errors.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import type { Message } from '../../../src/transports/ws/protocol.js';
import { ARRAY_OFFSET, ArrayFrame, encodeMessage } from '../../../src/transports/ws/encode.js';

const floats = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 100));

/** Frames whose headers differ in length: small and large ids, numbers of every msgpack width, arrays of every bin width. */
function frames(): { m: Message; array: Float32Array }[] {
  const out: { m: Message; array: Float32Array }[] = [];
  for (const n of [0, 1, 3, 63, 64, 16_383, 16_384, 18_354]) {
    for (const id of [0, 1, 200, 300, 70_000, 2 ** 32 - 1]) {
      const gradient = floats(n);
      out.push({ m: { type: 'gradient', taskId: id, step: id * 3, version: id, lossSum: 1.5, correct: 0, count: 1, computeMs: 7.25, startedAt: 5, gradient }, array: gradient });
      const weights = floats(n);
      out.push({ m: { type: 'weights', version: id * 7, weights }, array: weights });
    }
  }
  return out;
}

test('weights and gradient frames carry their floats at byte 20, whatever their other fields', () => {
  for (const { array, m } of frames()) {
    const frame = encodeMessage(m);
    assert.equal(ARRAY_OFFSET % 4, 0);
    assert.deepEqual(new Uint8Array(frame.buffer, frame.byteOffset + ARRAY_OFFSET, array.byteLength), new Uint8Array(array.buffer));
    // Any msgpack reader sees the message itself: maps are unordered.
    const plain = unpack(frame) as Record<string, unknown>;
    const { [m.type === 'gradient' ? 'gradient' : 'weights']: bytes, pad, ...fields } = plain;
    const { [m.type === 'gradient' ? 'gradient' : 'weights']: _array, ...expected } = m as unknown as Record<string, unknown>;
    assert.deepEqual(fields, expected);
    assert.match(pad as string, /^x{0,3}$/);
    assert.deepEqual(new Uint8Array(bytes as Uint8Array), new Uint8Array(array.buffer));
  }
});

test('an ArrayFrame reuses its buffer only when told to, and grows it for long fields', () => {
  const f = new ArrayFrame('gradient', 3);
  const a = f.floats(false);
  a.set([1, 2, 3]);
  const first = f.finish({ type: 'gradient', taskId: 1, step: 2, version: 3, lossSum: 0.5, correct: 1, count: 2, computeMs: 1, startedAt: 2 });
  const firstBytes = Buffer.from(first);
  // A socket may still be sending the first frame: the second gets a buffer of its own.
  const b = f.floats(false);
  assert.notEqual(b.buffer, a.buffer);
  b.set([4, 5, 6]);
  const second = f.finish({ type: 'gradient', taskId: 2, step: 2, version: 3, lossSum: 0.25, correct: 0, count: 2, computeMs: 1, startedAt: 2 });
  assert.deepEqual(Buffer.from(first), firstBytes, 'the first frame is untouched');
  const got = decodeMessage(Buffer.from(second), 'worker');
  assert.deepEqual(got.type === 'gradient' && [...got.gradient], [4, 5, 6]);
  // Once sent, the same buffer serves the next frame.
  const c = f.floats(true);
  assert.equal(c.buffer, b.buffer);
  c.set([7, 8, 9]);
  // Fields longer than the room kept after the floats: a bigger buffer, the floats carried over.
  const long = f.finish({ type: 'gradient', note: 'y'.repeat(1000) });
  assert.deepEqual([...new Float32Array(long.buffer, long.byteOffset + ARRAY_OFFSET, 3)], [7, 8, 9]);
  assert.equal((unpack(long) as { note: string }).note.length, 1000);
  assert.throws(() => f.finish(Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`k${i}`, i]))), /at most 13/);
});

test('an aligned frame decodes to a view of its own bytes, a misaligned one to an equal copy', () => {
  for (const { array, m } of frames()) {
    if (array.length === 0) continue;
    const fresh = Buffer.from(encodeMessage(m)); // a buffer of its own, as ws hands over a message
    const viewed = decodeMessage(fresh, m.type === 'gradient' ? 'worker' : 'coordinator');
    const got = viewed.type === 'gradient' ? viewed.gradient : viewed.type === 'weights' ? viewed.weights : null;
    assert.ok(got);
    assert.equal(got.buffer, fresh.buffer, 'no copy');
    assert.deepEqual(got, array);

    const shifted = Buffer.alloc(fresh.length + 1);
    fresh.copy(shifted, 1);
    const copied = decodeMessage(shifted.subarray(1));
    const again = copied.type === 'gradient' ? copied.gradient : copied.type === 'weights' ? copied.weights : null;
    assert.ok(again);
    assert.notEqual(again.buffer, shifted.buffer);
    assert.equal(again.byteOffset % 4, 0);
    assert.deepEqual(again, array);
  }
});

test('the padding is optional and checked: at most 3 characters of string', () => {
  const weights = Buffer.from(new Float32Array([1, 2, 3]).buffer);
  const ok = decodeMessage(pack({ type: 'weights', version: 1, weights }));
  assert.deepEqual(ok.type === 'weights' && [...ok.weights], [1, 2, 3]);
  for (const pad of ['xxxx', 3, null]) {
    assert.throws(
      () => decodeMessage(pack({ type: 'weights', version: 1, pad, weights })),
      (err: unknown) => isTrainerError(err, 'E_PROTOCOL') && /pad/.test(err.message),
    );
  }
  assert.throws(() => decodeMessage(pack({ type: 'task', taskId: 1, step: 1, version: 1, pad: '', indices: Buffer.alloc(4) })), /unknown field "pad"/);
});
