/**
 * The one validating decoder: every frame from outside passes
 * `decodeMessage` before any other code sees it. It checks each field's type
 * and range, rejects unknown keys, unknown types and messages from the wrong
 * side. Float arrays are views of the frame where they lie 4-aligned in it
 * (weights and gradient frames put them at byte 20, see encode.ts)
 * and fresh copies otherwise; index arrays are always copied. A view is safe
 * to keep: a frame's buffer is never reused (ws allocates one per message, or
 * slices a socket read Node does not reuse).
 */
import { Unpackr } from 'msgpackr';
import { BACKENDS, MODELS } from '../../shared/config.js';
import { TrainerError } from '../../shared/errors.js';
import { MAX_ARRAY_BYTES, MAX_TASK_INDICES, MAX_WORKER_NAME_CHARS, MAX_WORKER_THREADS, SENT_BY, WORKER_NAME, assertNever, type Message, type MessageType } from './protocol.js';
import { endianness } from 'node:os';
import { fromLeBytes } from './encode.js';

const LITTLE_ENDIAN = endianness() === 'LE';

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

  has(key: string): boolean {
    return Object.hasOwn(this.obj, key);
  }

  int(key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw this.bad(key, `an integer in [${min}, ${max}]`);
    return v;
  }

  finite(key: string, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw this.bad(key, min === -Number.MAX_VALUE ? 'a finite number' : `a number in [${min}, ${max}]`);
    }
    return v;
  }

  /**
   * Any number of float32's range, NaN and infinities included: a result's loss, which workers
   * compute in float32 (the coordinator judges non-finite ones, not the decoder). A finite value
   * past that range comes from no worker, and the coordinator's float64 sums of values within it
   * never overflow: two losses of 1e308 made a step's loss Infinity, and one token holder stopped
   * the run with E_DIVERGED, which results of newcomers alone must never bring about.
   */
  float32(key: string): number {
    const v = this.get(key);
    if (typeof v !== 'number' || (Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX)) throw this.bad(key, "a number of float32's range or non-finite");
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
    const b = this.bytes(key, 0, MAX_ARRAY_BYTES, 4);
    if (LITTLE_ENDIAN && b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
    return fromLeBytes(b, (n) => new Float32Array(n));
  }

  /** The optional alignment padding before an array (0-3 characters, never read). */
  pad(): void {
    if (Object.hasOwn(this.obj, 'pad')) this.str('pad', 3);
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

const U32 = 0xffffffff;
/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const NAME = WORKER_NAME;

function readFields(r: Reader, type: MessageType): Message {
  switch (type) {
    case 'challenge':
      r.only('type', 'protocol', 'nonce');
      return { type, protocol: r.int('protocol', 0, U32), nonce: r.bytes('nonce', 16, 64) };
    case 'hello':
      r.only('type', 'protocol', 'mac', 'nonce', 'name', 'instance');
      return {
        type,
        protocol: r.int('protocol', 0, U32),
        mac: r.bytes('mac', 32, 32),
        nonce: r.bytes('nonce', 16, 64),
        name: r.str('name', MAX_WORKER_NAME_CHARS, NAME),
        instance: r.bytes('instance', 16, 64),
      };
    case 'welcome': {
      r.only('type', 'workerId', 'mac', 'model', 'modelSize', 'mean', 'std', 'backend', 'maxBatch', 'microBatch', 'heartbeatMs', 'dataset', 'proofNonce');
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
        microBatch: r.int('microBatch', 1, MAX_TASK_INDICES),
        heartbeatMs: r.int('heartbeatMs', 1, U32),
        dataset: {
          sha256: d.str('sha256', 64, SHA256_HEX),
          bytes: d.int('bytes', 0),
          trainCount: d.int('trainCount', 0, U32),
          valCount: d.int('valCount', 0, U32),
          chunks: d.int('chunks', 0, U32),
        },
        proofNonce: r.bytes('proofNonce', 32, 32),
      };
    }
    case 'dataRequest':
      r.only('type');
      return { type };
    case 'dataChunk':
      r.only('type', 'index', 'bytes');
      return { type, index: r.int('index', 0, U32), bytes: r.bytes('bytes', 0, MAX_ARRAY_BYTES) };
    case 'ready': {
      r.only('type', 'sha256', 'backend', 'proof', 'threads');
      const threads = r.has('threads') ? r.int('threads', 1, MAX_WORKER_THREADS) : undefined;
      return {
        type,
        sha256: r.str('sha256', 64, SHA256_HEX),
        backend: r.str('backend', 64, NAME),
        proof: r.bytes('proof', 32, 32),
        ...(threads !== undefined ? { threads } : {}),
      };
    }
    case 'weights':
      r.only('type', 'version', 'pad', 'weights');
      r.pad();
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
    case 'prefetch':
      r.only('type', 'step', 'indices');
      return { type, step: r.int('step'), indices: r.int32s('indices', MAX_TASK_INDICES) };
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
      r.only('type', 'taskId', 'step', 'version', 'lossSum', 'correct', 'count', 'computeMs', 'startedAt', 'pad', 'gradient');
      r.pad();
      return {
        type,
        taskId: r.int('taskId', 0, U32),
        step: r.int('step'),
        version: r.int('version'),
        lossSum: r.float32('lossSum'),
        correct: r.int('correct', 0, MAX_TASK_INDICES),
        count: r.int('count', 0, MAX_TASK_INDICES),
        // Times the run's statistics add up (workers.json, the report): a day of compute at most, a
        // clock in milliseconds since 1970 (1e308 made workers.json hold null, -1e300 a negative total).
        computeMs: r.finite('computeMs', 0, MAX_COMPUTE_MS),
        startedAt: r.finite('startedAt', 0, MAX_CLOCK_MS),
        gradient: r.float32s('gradient'),
      };
    case 'evalResult':
      r.only('type', 'taskId', 'version', 'lossSum', 'correct', 'count');
      return {
        type,
        taskId: r.int('taskId', 0, U32),
        version: r.int('version'),
        lossSum: r.float32('lossSum'),
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
/** Bounds of a gradient's timing fields. */
const MAX_COMPUTE_MS = 86_400_000;
const MAX_CLOCK_MS = 1e15;

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
