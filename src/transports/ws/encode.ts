/**
 * Messages to frames: one msgpack map per message, typed arrays as raw
 * little-endian `bin` (a view, no copy, on little-endian machines), and the
 * way back from such bytes to a fresh, aligned typed array for the decoder.
 *
 * Weights and gradient frames are laid out by ArrayFrame so that their floats
 * start at byte ARRAY_OFFSET, a multiple of 4, before the other fields: a
 * sender writes the floats straight into a frame it keeps from one message to
 * the next, and a receiver whose frame starts aligned (ws hands a message
 * spread over several reads back in a fresh buffer) views them in place.
 */
import { endianness } from 'node:os';
import { Packr } from 'msgpackr';
import { TrainerError } from '../../shared/errors.js';
import { assertNever, type Message } from './protocol.js';

const LITTLE_ENDIAN = endianness() === 'LE';

/** Raw little-endian bytes of a typed array (a view when the machine is little-endian). */
export function leBytes(a: Float32Array | Int32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  const float = a instanceof Float32Array;
  for (let i = 0; i < a.length; i++) {
    if (float) dv.setFloat32(i * 4, a[i] as number, true);
    else dv.setInt32(i * 4, a[i] as number, true);
  }
  return out;
}

/** Fresh aligned copy of little-endian bytes as a typed array. */
export function fromLeBytes<T extends Float32Array | Int32Array>(bytes: Uint8Array, make: (n: number) => T): T {
  const out = make(bytes.length / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const float = out instanceof Float32Array;
  for (let i = 0; i < out.length; i++) out[i] = float ? dv.getFloat32(i * 4, true) : dv.getInt32(i * 4, true);
  return out;
}

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Byte at which a weights or gradient frame's floats start. */
export const ARRAY_OFFSET = 20;
/** Room kept after the floats for the other fields, so that a frame rarely needs a bigger buffer. */
const TAIL_ROOM = 256;
/** A msgpack fixmap holds at most 15 entries: the array, `pad`, and 13 others. */
const MAX_TAIL_FIELDS = 13;

/**
 * A weights or gradient frame whose floats are written in place:
 *
 *   fixmap | "pad": 0-3 x's | key: bin32 header | floats (byte 20) | other fields
 *
 * msgpack maps are unordered, so a decoder reads the same message as if the
 * array came last. The floats' offset depends on nothing but the key, so they
 * can be written before the other fields are known: a worker computes its
 * gradient into `floats()`, the coordinator copies its weights there, and
 * `finish` adds the fields around them; nothing is packed or copied again on
 * the way to the socket, and the buffer serves the next frame too. A frame a
 * socket may still be sending must not be overwritten: `floats(false)` starts
 * a buffer of its own.
 */
export class ArrayFrame {
  private buf: Buffer | null = null;
  private readonly head: Buffer;

  constructor(
    key: 'weights' | 'gradient',
    /** Floats per frame. */
    readonly length: number,
  ) {
    const padChars = ARRAY_OFFSET - (1 + 4 + 1 + 1 + key.length + 5);
    this.head = Buffer.from([
      0x80, // fixmap; its entry count is set by finish
      0xa3, ...Buffer.from('pad'),
      0xa0 | padChars, ...Buffer.from('x'.repeat(padChars)),
      0xa0 | key.length, ...Buffer.from(key),
      0xc6, 0, 0, 0, 0, // bin32 and its length, big-endian
    ]);
    this.head.writeUInt32BE(length * 4, ARRAY_OFFSET - 4);
  }

  /** Where the next frame's floats go, in this machine's byte order: the last frame's buffer when `reuse`, else a fresh one. */
  floats(reuse: boolean): Float32Array {
    if (!reuse || !this.buf) this.buf = Buffer.allocUnsafeSlow(ARRAY_OFFSET + this.length * 4 + TAIL_ROOM);
    return new Float32Array(this.buf.buffer, this.buf.byteOffset + ARRAY_OFFSET, this.length);
  }

  /** The frame: `fields` around the floats written since `floats()`. Once per `floats()`. */
  finish(fields: Record<string, unknown>): Buffer {
    // msgpackr writes a map16 header (or a fixmap); the entries follow it.
    const packed = packr.pack(fields);
    const map16 = packed[0] === 0xde;
    const count = map16 ? packed.readUInt16BE(1) : (packed[0] as number) ^ 0x80;
    if (count < 0 || count > MAX_TAIL_FIELDS) throw new TrainerError('E_INTERNAL', `an array frame takes at most ${MAX_TAIL_FIELDS} other fields`);
    const tail = packed.subarray(map16 ? 3 : 1);
    const end = ARRAY_OFFSET + this.length * 4 + tail.length;
    let buf = this.buf ?? Buffer.alloc(0);
    if (buf.length < end) {
      buf = Buffer.allocUnsafeSlow(end + TAIL_ROOM);
      this.buf?.copy(buf, ARRAY_OFFSET, ARRAY_OFFSET, ARRAY_OFFSET + this.length * 4);
      this.buf = buf;
    }
    this.head.copy(buf, 0);
    buf[0] = 0x80 | (count + 2);
    if (!LITTLE_ENDIAN) buf.subarray(ARRAY_OFFSET, ARRAY_OFFSET + this.length * 4).swap32();
    buf.set(tail, ARRAY_OFFSET + this.length * 4);
    return buf.subarray(0, end);
  }
}

/** A frame of its own for `fields` plus `key: array`. */
function arrayFrame(key: 'weights' | 'gradient', fields: Record<string, unknown>, array: Float32Array): Buffer {
  const frame = new ArrayFrame(key, array.length);
  frame.floats(false).set(array);
  return frame.finish(fields);
}

/** One frame for one message. Typed arrays go out as raw little-endian `bin`. */
export function encodeMessage(m: Message): Uint8Array {
  switch (m.type) {
    case 'weights':
      return arrayFrame('weights', { type: m.type, version: m.version }, m.weights);
    case 'task':
    case 'prefetch':
    case 'evalTask':
      return packr.pack({ ...m, indices: leBytes(m.indices) });
    case 'gradient': {
      const { gradient, ...fields } = m;
      return arrayFrame('gradient', fields, gradient);
    }
    case 'challenge':
    case 'hello':
    case 'welcome':
    case 'dataRequest':
    case 'dataChunk':
    case 'ready':
    case 'evalResult':
    case 'ping':
    case 'pong':
    case 'leave':
      return packr.pack(m);
    default:
      return assertNever(m);
  }
}
