/**
 * The wire protocol between a coordinator and its WebSocket workers: every
 * message is a member of one discriminated union on `type`, framed as one
 * msgpack map per binary WebSocket message.
 *
 * Every incoming frame passes `decodeMessage`, the one validating decoder,
 * before any other code sees it: it checks each field's type and range,
 * rejects unknown keys and unknown types, and copies array payloads into
 * fresh, aligned typed arrays (msgpackr hands `bin` back as a Buffer that
 * views a larger, arbitrarily aligned buffer).
 *
 * Typed arrays travel as raw little-endian bytes in msgpack `bin` fields.
 *
 * Flow: challenge -> hello (HMAC of the nonce) -> welcome (HMAC back) ->
 * dataRequest + dataChunk* or straight to ready -> weights / task /
 * evalTask <-> gradient / evalResult, ping <-> pong, leave either way.
 */
import { endianness } from 'node:os';
import { Packr, Unpackr } from 'msgpackr';
import { BACKENDS, MODELS, type BackendName, type ModelName } from './config.js';
import { TrainerError } from './errors.js';

/** Bumped on any change of a message's shape or meaning; checked at join. */
export const PROTOCOL_VERSION = 1;

/** WebSocket close codes (4000-4999 is the application range). */
export const CLOSE = {
  /** The coordinator is done or stopping; the worker should exit. */
  shutdown: 4000,
  protocolError: 4400,
  authFailed: 4401,
  handshakeTimeout: 4408,
  rateLimited: 4429,
  badResult: 4422,
  versionMismatch: 4426,
  /** Silent past the heartbeat deadline, or a task past stepTimeoutMs. */
  timedOut: 4504,
  /** The coordinator's outgoing buffer to this worker passed the pending-bytes limit. */
  tooSlow: 4509,
} as const;

export type Split = 'train' | 'val';

/**
 * A WebSocket close reason: at most 123 bytes of UTF-8, and messages may quote
 * what a peer sent, so printable ASCII only.
 */
export function closeReason(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
}

export interface DatasetInfo {
  /** sha256 (hex) of the dataset blob (see wire-dataset.ts). */
  sha256: string;
  bytes: number;
  trainCount: number;
  valCount: number;
  /** Chunks the blob is sent in when the worker does not hold it. */
  chunks: number;
}

export type Message =
  /** coordinator -> worker, first frame: prove you hold the token by HMAC of `nonce`. */
  | { type: 'challenge'; protocol: number; nonce: Uint8Array }
  /** worker -> coordinator: HMAC of the coordinator's nonce, and a nonce for the coordinator to prove itself. */
  | { type: 'hello'; protocol: number; mac: Uint8Array; nonce: Uint8Array; name: string }
  /** coordinator -> worker after a good hello: what to compute with, and the coordinator's own proof. */
  | {
      type: 'welcome';
      workerId: string;
      mac: Uint8Array;
      model: ModelName;
      modelSize: number;
      mean: [number, number, number];
      std: [number, number, number];
      backend: BackendName;
      maxBatch: number;
      heartbeatMs: number;
      dataset: DatasetInfo;
    }
  /** worker -> coordinator: send me the dataset (not in my cache). */
  | { type: 'dataRequest' }
  /** coordinator -> worker: one chunk of the dataset blob, in order. */
  | { type: 'dataChunk'; index: number; bytes: Uint8Array }
  /** worker -> coordinator: dataset held (sha256 checked), backend up; give me work. */
  | { type: 'ready'; sha256: string; backend: string }
  /** coordinator -> worker: the parameters of `version`. */
  | { type: 'weights'; version: number; weights: Float32Array }
  /** coordinator -> worker: gradient of the examples `indices` at weights `version`. */
  | { type: 'task'; taskId: number; step: number; version: number; indices: Int32Array }
  /** coordinator -> worker: forward-only loss and accuracy of `indices` of `split`. */
  | { type: 'evalTask'; taskId: number; version: number; split: Split; indices: Int32Array }
  /** worker -> coordinator: the answer to `task` taskId. */
  | {
      type: 'gradient';
      taskId: number;
      step: number;
      version: number;
      lossSum: number;
      correct: number;
      count: number;
      computeMs: number;
      gradient: Float32Array;
    }
  /** worker -> coordinator: the answer to `evalTask` taskId. */
  | { type: 'evalResult'; taskId: number; version: number; lossSum: number; correct: number; count: number }
  | { type: 'ping'; seq: number }
  | { type: 'pong'; seq: number }
  /** Either way: I am going; the reason is for the log. */
  | { type: 'leave'; reason: string };

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Which side may send each message: a frame from the wrong side is a protocol error. */
export const SENT_BY: Readonly<Record<MessageType, 'coordinator' | 'worker' | 'both'>> = {
  challenge: 'coordinator',
  hello: 'worker',
  welcome: 'coordinator',
  dataRequest: 'worker',
  dataChunk: 'coordinator',
  ready: 'worker',
  weights: 'coordinator',
  task: 'coordinator',
  evalTask: 'coordinator',
  gradient: 'worker',
  evalResult: 'worker',
  ping: 'coordinator',
  pong: 'worker',
  leave: 'both',
};

export function assertNever(x: never): never {
  throw new TrainerError('E_INTERNAL', `unhandled case ${JSON.stringify(x)}`);
}

// ---------------------------------------------------------------- encoding

const LITTLE_ENDIAN = endianness() === 'LE';

/** Raw little-endian bytes of a typed array (a view when the machine is little-endian). */
function leBytes(a: Float32Array | Int32Array): Uint8Array {
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
function fromLeBytes<T extends Float32Array | Int32Array>(bytes: Uint8Array, make: (n: number) => T): T {
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

/** One frame for one message. Typed arrays go out as raw little-endian `bin`. */
export function encodeMessage(m: Message): Uint8Array {
  switch (m.type) {
    case 'weights':
      return packr.pack({ ...m, weights: leBytes(m.weights) });
    case 'task':
    case 'evalTask':
      return packr.pack({ ...m, indices: leBytes(m.indices) });
    case 'gradient':
      return packr.pack({ ...m, gradient: leBytes(m.gradient) });
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

// ---------------------------------------------------------------- decoding

class Reader {
  constructor(
    private readonly obj: Record<string, unknown>,
    private readonly type: string,
  ) {}

  private bad(key: string, what: string): TrainerError {
    return new TrainerError('E_PROTOCOL', `${this.type}.${key} must be ${what}`);
  }

  private get(key: string): unknown {
    if (!Object.hasOwn(this.obj, key)) throw new TrainerError('E_PROTOCOL', `${this.type} lacks ${key}`);
    return this.obj[key];
  }

  int(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw this.bad(key, `an integer in [${min}, ${max}]`);
    return v;
  }

  finite(key: string): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw this.bad(key, 'a finite number');
    return v;
  }

  str(key: string, maxLength: number, pattern?: RegExp): string {
    const v = this.get(key);
    if (typeof v !== 'string' || v.length > maxLength || (pattern && !pattern.test(v))) {
      throw this.bad(key, `a string of at most ${maxLength} characters${pattern ? ` matching ${pattern}` : ''}`);
    }
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const v = this.get(key);
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw this.bad(key, `one of ${values.join(', ')}`);
    return v as T;
  }

  /** A `bin` field; may view the frame's memory, so callers copy what they keep. */
  bytes(key: string, minLength: number, maxLength: number, multipleOf = 1): Uint8Array {
    const v = this.get(key);
    if (!(v instanceof Uint8Array) || v.length < minLength || v.length > maxLength || v.length % multipleOf !== 0) {
      throw this.bad(key, `binary of ${minLength}..${maxLength} bytes${multipleOf > 1 ? `, a multiple of ${multipleOf}` : ''}`);
    }
    return v;
  }

  float32s(key: string): Float32Array {
    return fromLeBytes(this.bytes(key, 0, MAX_ARRAY_BYTES, 4), (n) => new Float32Array(n));
  }

  int32s(key: string, maxLength: number): Int32Array {
    const a = fromLeBytes(this.bytes(key, 0, maxLength * 4, 4), (n) => new Int32Array(n));
    for (let i = 0; i < a.length; i++) if ((a[i] as number) < 0) throw this.bad(key, 'non-negative indices');
    return a;
  }

  triple(key: string): [number, number, number] {
    const v = this.get(key);
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw this.bad(key, 'a list of 3 finite numbers');
    }
    return [v[0], v[1], v[2]] as [number, number, number];
  }

  object(key: string): Reader {
    const v = this.get(key);
    if (!isPlainObject(v)) throw this.bad(key, 'a map');
    return new Reader(v, `${this.type}.${key}`);
  }

  /** Rejects keys the message does not define. */
  only(...keys: string[]): void {
    for (const k of Object.keys(this.obj)) {
      if (!keys.includes(k)) throw new TrainerError('E_PROTOCOL', `${this.type} has unknown field ${JSON.stringify(k.slice(0, 40))}`);
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** No legitimate array is larger than this (a 2^28-float gradient); ws maxPayload is the real limit. */
const MAX_ARRAY_BYTES = 1 << 30;
/** Indices of one task: the largest micro-batch or evaluation chunk. */
export const MAX_TASK_INDICES = 1 << 20;
const U32 = 0xffffffff;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const NAME = /^[\x20-\x7e]*$/;

function readFields(r: Reader, type: MessageType): Message {
  switch (type) {
    case 'challenge':
      r.only('type', 'protocol', 'nonce');
      return { type, protocol: r.int('protocol', 0, U32), nonce: r.bytes('nonce', 16, 64) };
    case 'hello':
      r.only('type', 'protocol', 'mac', 'nonce', 'name');
      return {
        type,
        protocol: r.int('protocol', 0, U32),
        mac: r.bytes('mac', 32, 32),
        nonce: r.bytes('nonce', 16, 64),
        name: r.str('name', 128, NAME),
      };
    case 'welcome': {
      r.only('type', 'workerId', 'mac', 'model', 'modelSize', 'mean', 'std', 'backend', 'maxBatch', 'heartbeatMs', 'dataset');
      const d = r.object('dataset');
      d.only('sha256', 'bytes', 'trainCount', 'valCount', 'chunks');
      return {
        type,
        workerId: r.str('workerId', 64, NAME),
        mac: r.bytes('mac', 32, 32),
        model: r.oneOf('model', MODELS),
        modelSize: r.int('modelSize', 1, MAX_ARRAY_BYTES / 4),
        mean: r.triple('mean'),
        std: r.triple('std'),
        backend: r.oneOf('backend', BACKENDS),
        maxBatch: r.int('maxBatch', 1, MAX_TASK_INDICES),
        heartbeatMs: r.int('heartbeatMs', 1, U32),
        dataset: {
          sha256: d.str('sha256', 64, SHA256_HEX),
          bytes: d.int('bytes', 0),
          trainCount: d.int('trainCount', 0, U32),
          valCount: d.int('valCount', 0, U32),
          chunks: d.int('chunks', 0, U32),
        },
      };
    }
    case 'dataRequest':
      r.only('type');
      return { type };
    case 'dataChunk':
      r.only('type', 'index', 'bytes');
      return { type, index: r.int('index', 0, U32), bytes: r.bytes('bytes', 0, MAX_ARRAY_BYTES) };
    case 'ready':
      r.only('type', 'sha256', 'backend');
      return { type, sha256: r.str('sha256', 64, SHA256_HEX), backend: r.str('backend', 64, NAME) };
    case 'weights':
      r.only('type', 'version', 'weights');
      return { type, version: r.int('version'), weights: r.float32s('weights') };
    case 'task':
      r.only('type', 'taskId', 'step', 'version', 'indices');
      return {
        type,
        taskId: r.int('taskId', 0, U32),
        step: r.int('step'),
        version: r.int('version'),
        indices: r.int32s('indices', MAX_TASK_INDICES),
      };
    case 'evalTask':
      r.only('type', 'taskId', 'version', 'split', 'indices');
      return {
        type,
        taskId: r.int('taskId', 0, U32),
        version: r.int('version'),
        split: r.oneOf('split', ['train', 'val'] as const),
        indices: r.int32s('indices', MAX_TASK_INDICES),
      };
    case 'gradient':
      r.only('type', 'taskId', 'step', 'version', 'lossSum', 'correct', 'count', 'computeMs', 'gradient');
      return {
        type,
        taskId: r.int('taskId', 0, U32),
        step: r.int('step'),
        version: r.int('version'),
        lossSum: r.finite('lossSum'),
        correct: r.int('correct', 0, MAX_TASK_INDICES),
        count: r.int('count', 0, MAX_TASK_INDICES),
        computeMs: r.finite('computeMs'),
        gradient: r.float32s('gradient'),
      };
    case 'evalResult':
      r.only('type', 'taskId', 'version', 'lossSum', 'correct', 'count');
      return {
        type,
        taskId: r.int('taskId', 0, U32),
        version: r.int('version'),
        lossSum: r.finite('lossSum'),
        correct: r.int('correct', 0, MAX_TASK_INDICES),
        count: r.int('count', 0, MAX_TASK_INDICES),
      };
    case 'ping':
    case 'pong':
      r.only('type', 'seq');
      return { type, seq: r.int('seq', 0, U32) };
    case 'leave':
      r.only('type', 'reason');
      return { type, reason: r.str('reason', 256) };
    default:
      return assertNever(type);
  }
}

const TYPES = Object.keys(SENT_BY) as MessageType[];

/**
 * The one validating decoder: bytes from outside in, a well-formed Message
 * out, or TrainerError E_PROTOCOL. `from` rejects messages the other side
 * never sends. Never throws anything else, whatever the bytes.
 */
export function decodeMessage(bytes: Uint8Array, from?: 'coordinator' | 'worker'): Message {
  let raw: unknown;
  try {
    // A fresh unpacker per frame: msgpack record definitions in one frame must not shape the next.
    raw = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' }).unpack(bytes);
  } catch (err) {
    throw new TrainerError('E_PROTOCOL', `frame is not valid msgpack (${String((err as Error)?.message ?? err).slice(0, 80)})`);
  }
  if (!isPlainObject(raw)) throw new TrainerError('E_PROTOCOL', 'frame is not a msgpack map');
  const type = raw.type;
  if (typeof type !== 'string' || !(TYPES as string[]).includes(type)) {
    throw new TrainerError('E_PROTOCOL', `unknown message type ${JSON.stringify(String(type).slice(0, 40))}`);
  }
  const t = type as MessageType;
  if (from && SENT_BY[t] !== 'both' && SENT_BY[t] !== from) {
    throw new TrainerError('E_PROTOCOL', `a ${from} may not send ${t}`);
  }
  try {
    return readFields(new Reader(raw, t), t);
  } catch (err) {
    if (err instanceof TrainerError) throw err;
    throw new TrainerError('E_PROTOCOL', `malformed ${t}: ${String((err as Error)?.message ?? err).slice(0, 80)}`);
  }
}

/** Bytes a frame of `m`'s shape takes beyond its arrays: for sizing ws maxPayload. */
export const FRAME_OVERHEAD_BYTES = 512;
