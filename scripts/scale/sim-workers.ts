/**
 * Simulated ws workers for `npm run bench:scale`: many of them in one
 * process, each on its own TCP connection to a real coordinator, speaking the
 * real protocol (challenge, hello with the token's HMAC, welcome, ready with
 * the dataset's sha256 as a cached worker does, weights, task, gradient,
 * ping/pong, leave) in real WebSocket frames. Only the gradient computation
 * is replaced: each task waits `delayMs` per compute thread and answers with
 * a precomputed, finite gradient of the model's size, so the coordinator
 * does all the work it does for real workers.
 *
 * Why a hand-written WebSocket client rather than `ws` or WorkerSession: the
 * point is the coordinator's cost, so the workers must cost this shared
 * machine as little as possible. With `ws`, each of K workers would
 * reassemble every weights frame into a fresh buffer (1.9 GB a step for
 * `fc` at K = 128) and copy each gradient into the frame it sends. Here a
 * connection reads into one reused buffer (net.Socket's `onread`), skips the
 * payload of weights frames (a sim worker computes nothing with them), and
 * sends every gradient from one shared buffer of floats with a small tail of
 * its own (writev). The bytes on the wire are those of a real worker: client
 * frames masked with an all-zero key, as worker.ts sends them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { Packr } from 'msgpackr';
import { authMac, newNonce } from '../../src/transports/ws/auth.js';
import { decodeMessage } from '../../src/transports/ws/decode.js';
import { ArrayFrame, ARRAY_OFFSET, encodeMessage } from '../../src/transports/ws/encode.js';
import { PROTOCOL_VERSION, type Message, type MessageOf } from '../../src/transports/ws/protocol.js';

export interface SimOptions {
  /** ws://127.0.0.1:port */
  url: string;
  token: string | null;
  /** Connections (simulated machines). */
  count: number;
  /** Compute threads each announces (`ready.threads`); each computes one task at a time. */
  threads: number;
  /** Simulated compute time of one task on one thread, ms. */
  delayMs: number;
  /** Floats in a gradient (the model's size). */
  modelSize: number;
  /** Give each connection its own loopback source address (127.77.x.y), so that per-address limits see K peers. */
  spreadAddresses: boolean;
}

export interface SimResult {
  connections: number;
  /** CPU time of this process (all K workers), ms. */
  cpuMs: number;
  maxRssMB: number;
  gradientsSent: number;
  weightsFramesSkipped: number;
  bytesIn: number;
  bytesOut: number;
  /** Connections that ended other than by the coordinator's shutdown (close code 4000 or a leave). */
  abnormalCloses: string[];
}

/** Frames larger than this are weights (checked by their key) and are counted, not read. */
const KEEP_MAX_BYTES = 64 * 1024;
const READ_BUFFER_BYTES = 256 * 1024;

/** A gradient frame cut in two: the shared head and floats, and a per-result tail of the other fields. */
class GradientTemplate {
  readonly prefix: Buffer;
  private readonly packr = new Packr({ useRecords: false, moreTypes: false });

  constructor(modelSize: number) {
    // Small, finite, seeded values; the same for every task, so that any check that
    // compares two workers' results for one task sees identical bits.
    const frame = new ArrayFrame('gradient', modelSize);
    const floats = frame.floats(false);
    let s = 0x9e3779b9;
    for (let i = 0; i < floats.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      floats[i] = (s / 2 ** 32 - 0.5) * 1e-3;
    }
    const whole = frame.finish(this.fields(1, 0, 0, 16, 1.5));
    this.prefix = Buffer.from(whole.subarray(0, ARRAY_OFFSET + modelSize * 4));
    // The frame must read back as a valid gradient through the coordinator's own decoder.
    const check = decodeMessage(Buffer.concat([this.prefix, this.tail(1, 0, 0, 16, 1.5)]), 'worker');
    if (check.type !== 'gradient' || check.gradient.length !== modelSize) throw new Error('sim: gradient template does not decode');
  }

  private fields(taskId: number, step: number, version: number, count: number, computeMs: number) {
    // Deterministic in the task, as a real backend's result is.
    return { type: 'gradient', taskId, step, version, lossSum: count * 2.302585, correct: Math.floor(count / 10), count, computeMs };
  }

  /** The fields after the floats: the packed map without its header (the prefix's fixmap counts them). */
  tail(taskId: number, step: number, version: number, count: number, computeMs: number): Buffer {
    const packed = this.packr.pack(this.fields(taskId, step, version, count, computeMs));
    // msgpackr writes a map16 header or a fixmap, as in ArrayFrame.finish.
    if (packed[0] === 0xde && packed.readUInt16BE(1) === 8) return packed.subarray(3);
    if (packed[0] === 0x88) return packed.subarray(1);
    throw new Error('sim: unexpected gradient field map');
  }
}

/** A WebSocket client frame header: FIN + binary (or `opcode`), masked with the all-zero key. */
function clientHeader(len: number, opcode = 0x2): Buffer {
  if (len < 126) return Buffer.from([0x80 | opcode, 0x80 | len, 0, 0, 0, 0]);
  if (len < 65536) return Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255, 0, 0, 0, 0]);
  const h = Buffer.alloc(14);
  h[0] = 0x80 | opcode;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h;
}

type Task = MessageOf<'task'> | MessageOf<'evalTask'>;

class SimWorker {
  private socket!: Socket;
  private http = '';
  private upgraded = false;
  private readonly key = randomBytes(16).toString('base64');
  private readonly nonce = newNonce();
  // Frame parser state.
  private head = Buffer.alloc(14);
  private headLen = 0;
  private opcode = 0;
  private payloadLeft = -1;
  private keep: Buffer | null = null;
  private keepAt = 0;
  private peek = Buffer.alloc(32);
  private peekLen = 0;
  // Work.
  private readonly queue: Task[] = [];
  private running = 0;
  private leaving = false;
  private failure: string | null = null;
  bytesIn = 0;
  bytesOut = 0;
  gradients = 0;
  skipped = 0;

  constructor(
    private readonly o: SimOptions,
    private readonly index: number,
    private readonly template: GradientTemplate,
    private readonly done: (closeWhy: string | null) => void,
  ) {}

  start(): void {
    const url = new URL(this.o.url);
    const i = this.index;
    this.socket = connect({
      host: url.hostname,
      port: Number(url.port),
      ...(this.o.spreadAddresses ? { localAddress: `127.77.${Math.floor(i / 200)}.${1 + (i % 200)}` } : {}),
      onread: {
        buffer: Buffer.alloc(READ_BUFFER_BYTES),
        callback: (n: number, buf: Uint8Array) => {
          this.bytesIn += n;
          try {
            this.onBytes(buf as Buffer, 0, n);
          } catch (err) {
            this.failure = (err as Error).message;
            this.socket.destroy();
          }
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      const req = `GET / HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
      this.socket.write(req);
    });
    let ended = false;
    const end = (why: string | null) => {
      if (ended) return;
      ended = true;
      this.done(why);
    };
    this.socket.on('error', (err) => end(`socket error: ${err.message}`));
    this.socket.on('close', () => end(this.failure ?? (this.leaving ? null : 'socket closed without a leave')));
  }

  private onBytes(buf: Buffer, at: number, end: number): void {
    if (!this.upgraded) {
      // The HTTP answer is short and arrives before any frame; read it byte-exactly.
      const text = buf.toString('latin1', at, end);
      this.http += text;
      const stop = this.http.indexOf('\r\n\r\n');
      if (stop < 0) return;
      const status = this.http.slice(0, this.http.indexOf('\r\n'));
      const accept = createHash('sha1').update(`${this.key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      if (!/^HTTP\/1\.1 101/.test(status) || !this.http.includes(accept)) throw new Error(`sim: upgrade refused: ${status}`);
      const consumed = stop + 4 - (this.http.length - text.length);
      this.upgraded = true;
      this.http = '';
      return this.onBytes(buf, at + consumed, end);
    }
    while (at < end) {
      if (this.payloadLeft < 0) {
        // Header: 2 bytes, then 2 or 8 of length; server frames are not masked.
        this.head[this.headLen++] = buf[at++] as number;
        if (this.headLen < 2) continue;
        const b1 = this.head[1] as number;
        if (b1 & 0x80) throw new Error('sim: masked frame from the server');
        const len7 = b1 & 0x7f;
        const need = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
        if (this.headLen < need) continue;
        const b0 = this.head[0] as number;
        if (!(b0 & 0x80) || (b0 & 0x0f) === 0) throw new Error('sim: fragmented frame');
        this.opcode = b0 & 0x0f;
        const len = len7 === 126 ? this.head.readUInt16BE(2) : len7 === 127 ? Number(this.head.readBigUInt64BE(2)) : len7;
        this.headLen = 0;
        this.payloadLeft = len;
        this.keep = len <= KEEP_MAX_BYTES ? Buffer.allocUnsafe(len) : null;
        this.keepAt = 0;
        this.peekLen = 0;
        if (len === 0) this.frameDone();
        continue;
      }
      const take = Math.min(this.payloadLeft, end - at);
      if (this.keep) buf.copy(this.keep, this.keepAt, at, at + take);
      else if (this.peekLen < this.peek.length) {
        const p = Math.min(this.peek.length - this.peekLen, take);
        buf.copy(this.peek, this.peekLen, at, at + p);
        this.peekLen += p;
      }
      this.keepAt += take;
      this.payloadLeft -= take;
      at += take;
      if (this.payloadLeft === 0) this.frameDone();
    }
  }

  private frameDone(): void {
    this.payloadLeft = -1;
    const payload = this.keep;
    this.keep = null;
    switch (this.opcode) {
      case 0x2:
        if (payload) return this.onMessage(decodeMessage(payload, 'coordinator'));
        // A large frame: the weights (their key sits in the frame's first 20 bytes, see encode.ts).
        if (!this.peek.subarray(0, ARRAY_OFFSET).includes('weights')) throw new Error('sim: unexpected large frame');
        this.skipped++;
        return;
      case 0x8: {
        // Close: answer with the same code, then hang up.
        const code = payload && payload.length >= 2 ? payload.readUInt16BE(0) : 1000;
        if (code === 4000) this.leaving = true;
        const body = Buffer.alloc(2);
        body.writeUInt16BE(code === 1005 ? 1000 : code, 0);
        this.frame([body], 0x8);
        this.socket.end();
        return;
      }
      case 0x9:
        return this.frame(payload ? [payload] : [], 0xa);
      case 0xa:
        return;
      default:
        throw new Error(`sim: opcode ${this.opcode}`);
    }
  }

  private onMessage(m: Message): void {
    switch (m.type) {
      case 'challenge':
        return this.send({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(this.o.token, 'worker', m.nonce), nonce: this.nonce, name: `sim${this.index}` });
      case 'welcome':
        if (m.modelSize !== this.o.modelSize) throw new Error(`sim: model of ${m.modelSize} parameters, expected ${this.o.modelSize}`);
        // As a worker whose cache holds the dataset: it names the sha256 and is ready.
        return this.send({ type: 'ready', sha256: m.dataset.sha256, backend: 'sim', ...(this.o.threads > 1 ? { threads: this.o.threads } : {}) });
      case 'weights':
        this.skipped++;
        return;
      case 'task':
      case 'evalTask':
        this.queue.push(m);
        return this.drain();
      case 'ping':
        return this.send({ type: 'pong', seq: m.seq });
      case 'leave':
        this.leaving = true;
        return;
      case 'prefetch':
        return;
      default:
        throw new Error(`sim: unexpected ${m.type}`);
    }
  }

  /** Up to `threads` tasks at once, each taking delayMs. */
  private drain(): void {
    while (this.running < this.o.threads && this.queue.length > 0) {
      const t = this.queue.shift() as Task;
      this.running++;
      const t0 = performance.now();
      const finish = () => {
        this.running--;
        const ms = performance.now() - t0;
        if (t.type === 'task') {
          this.frame([this.template.prefix, this.template.tail(t.taskId, t.step, t.version, t.indices.length, ms)]);
          this.gradients++;
        } else {
          this.send({ type: 'evalResult', taskId: t.taskId, version: t.version, lossSum: t.indices.length * 2.3, correct: 0, count: t.indices.length });
        }
        this.drain();
      };
      if (this.o.delayMs > 0) setTimeout(finish, this.o.delayMs);
      else setImmediate(finish);
    }
  }

  private send(m: Message): void {
    this.frame([Buffer.from(encodeMessage(m))]);
  }

  /** One client frame whose payload is `parts`, in one writev (the shared floats are not copied). */
  private frame(parts: Buffer[], opcode = 0x2): void {
    if (this.socket.destroyed) return;
    const header = clientHeader(parts.reduce((n, p) => n + p.length, 0), opcode);
    this.socket.cork();
    for (const p of [header, ...parts]) {
      this.socket.write(p);
      this.bytesOut += p.length;
    }
    this.socket.uncork();
  }
}

/** Runs `o.count` simulated workers until the coordinator sends them away; resolves with what they cost. */
export function runSimWorkers(o: SimOptions): Promise<SimResult> {
  const template = new GradientTemplate(o.modelSize);
  const cpu0 = process.cpuUsage();
  const workers: SimWorker[] = [];
  const abnormal: string[] = [];
  return new Promise<SimResult>((resolve, reject) => {
    let open = o.count;
    const onDone = (i: number) => (why: string | null) => {
      if (why) abnormal.push(`sim${i}: ${why}`);
      if (--open > 0) return;
      const cpu = process.cpuUsage(cpu0);
      resolve({
        connections: o.count,
        cpuMs: (cpu.user + cpu.system) / 1000,
        maxRssMB: process.resourceUsage().maxRSS / 1024,
        gradientsSent: workers.reduce((n, w) => n + w.gradients, 0),
        weightsFramesSkipped: workers.reduce((n, w) => n + w.skipped, 0),
        bytesIn: workers.reduce((n, w) => n + w.bytesIn, 0),
        bytesOut: workers.reduce((n, w) => n + w.bytesOut, 0),
        abnormalCloses: abnormal,
      });
    };
    try {
      for (let i = 0; i < o.count; i++) {
        const w = new SimWorker(o, i, template, onDone(i));
        workers.push(w);
        w.start();
      }
    } catch (err) {
      reject(err);
    }
  });
}
