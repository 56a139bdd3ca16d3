/**
 * A minimal WebSocket client (RFC 6455) for the scale bench's simulated
 * workers: the upgrade, unfragmented binary frames, close and ping. It exists
 * to be cheap with many connections in one process, where the `ws` client
 * reassembles every message into a fresh buffer:
 *   - reads go into one buffer per connection, reused (net.Socket `onread`);
 *   - a message of at most `keepMaxBytes` is copied out whole; a larger one
 *     (the weights) is not kept: the handler gets its first bytes and length;
 *   - a frame is sent from several buffers in one writev, so a large payload
 *     shared by every connection is never copied in JavaScript.
 * Frames go out masked with the all-zero key, as the real worker sends them
 * (worker.ts, WORKER_SOCKET_OPTIONS), so the bytes are those of a real worker.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface WsHandlers {
  /** A binary message of at most keepMaxBytes, in a buffer of its own. */
  onMessage(payload: Buffer): void;
  /** A larger binary message, not kept: its first PEEK_BYTES bytes. */
  onSkipped(head: Buffer): void;
  /** The server closed with `code`; the client has answered and hangs up. */
  onCloseFrame(code: number): void;
  /** The socket ended; `error` when it failed (a throw from a handler included). */
  onEnd(error: string | null): void;
}

export const PEEK_BYTES = 32;
const READ_BUFFER_BYTES = 256 * 1024;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** A client frame header: FIN and `opcode`, masked with the all-zero key. */
function clientHeader(len: number, opcode: number): Buffer {
  if (len < 126) return Buffer.from([0x80 | opcode, 0x80 | len, 0, 0, 0, 0]);
  if (len < 65536) return Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255, 0, 0, 0, 0]);
  const h = Buffer.alloc(14);
  h[0] = 0x80 | opcode;
  h[1] = 0x80 | 127;
  h.writeBigUInt64BE(BigInt(len), 2);
  return h;
}

export class RawWsClient {
  private readonly socket: Socket;
  private readonly key = randomBytes(16).toString('base64');
  private http = '';
  private upgraded = false;
  // The frame being read: its header, then its payload.
  private readonly head = Buffer.alloc(14);
  private headLen = 0;
  private opcode = 0;
  private payloadLeft = -1;
  private keep: Buffer | null = null;
  private keepAt = 0;
  private readonly peek = Buffer.alloc(PEEK_BYTES);
  private peekLen = 0;
  private failure: string | null = null;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    url: string,
    localAddress: string | undefined,
    private readonly h: WsHandlers,
    private readonly keepMaxBytes: number,
  ) {
    const u = new URL(url);
    this.socket = connect({
      host: u.hostname,
      port: Number(u.port),
      ...(localAddress ? { localAddress } : {}),
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
      this.socket.write(`GET / HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let ended = false;
    const end = (why: string | null) => {
      if (!ended) (ended = true), h.onEnd(why);
    };
    this.socket.on('error', (err) => end(`socket error: ${err.message}`));
    this.socket.on('close', () => end(this.failure));
  }

  /** One binary (or `opcode`) frame whose payload is `parts`, in one writev. */
  send(parts: readonly Buffer[], opcode = 0x2): void {
    if (this.socket.destroyed) return;
    const header = clientHeader(parts.reduce((n, p) => n + p.length, 0), opcode);
    this.socket.cork();
    for (const p of [header, ...parts]) {
      this.socket.write(p);
      this.bytesOut += p.length;
    }
    this.socket.uncork();
  }

  private onBytes(buf: Buffer, at: number, end: number): void {
    if (!this.upgraded) {
      // The HTTP answer is short and comes before any frame; frames may follow it in the same read.
      const text = buf.toString('latin1', at, end);
      this.http += text;
      const stop = this.http.indexOf('\r\n\r\n');
      if (stop < 0) return;
      const status = this.http.slice(0, this.http.indexOf('\r\n'));
      const accept = createHash('sha1').update(`${this.key}${WS_GUID}`).digest('base64');
      if (!/^HTTP\/1\.1 101/.test(status) || !this.http.includes(accept)) throw new Error(`upgrade refused: ${status}`);
      const consumed = stop + 4 - (this.http.length - text.length);
      this.upgraded = true;
      this.http = '';
      return this.onBytes(buf, at + consumed, end);
    }
    while (at < end) {
      if (this.payloadLeft < 0) {
        // Header: 2 bytes, then 2 or 8 of length; frames from a server are not masked.
        this.head[this.headLen++] = buf[at++] as number;
        if (this.headLen < 2) continue;
        const b1 = this.head[1] as number;
        if (b1 & 0x80) throw new Error('masked frame from the server');
        const len7 = b1 & 0x7f;
        if (this.headLen < (len7 === 126 ? 4 : len7 === 127 ? 10 : 2)) continue;
        const b0 = this.head[0] as number;
        if (!(b0 & 0x80) || (b0 & 0x0f) === 0) throw new Error('fragmented message');
        this.opcode = b0 & 0x0f;
        const len = len7 === 126 ? this.head.readUInt16BE(2) : len7 === 127 ? Number(this.head.readBigUInt64BE(2)) : len7;
        this.headLen = 0;
        this.payloadLeft = len;
        this.keep = len <= this.keepMaxBytes || this.opcode !== 0x2 ? Buffer.allocUnsafe(len) : null;
        this.keepAt = 0;
        this.peekLen = 0;
        if (len === 0) this.frameDone();
        continue;
      }
      const take = Math.min(this.payloadLeft, end - at);
      if (this.keep) buf.copy(this.keep, this.keepAt, at, at + take);
      else if (this.peekLen < PEEK_BYTES) this.peekLen += buf.copy(this.peek, this.peekLen, at, at + Math.min(PEEK_BYTES - this.peekLen, take));
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
        return payload ? this.h.onMessage(payload) : this.h.onSkipped(this.peek);
      case 0x8: {
        // Close: answer with the same code (1000 when none was given), then hang up.
        const code = payload && payload.length >= 2 ? payload.readUInt16BE(0) : 1000;
        const body = Buffer.alloc(2);
        body.writeUInt16BE(code, 0);
        this.send([body], 0x8);
        this.socket.end();
        return this.h.onCloseFrame(code);
      }
      case 0x9:
        return this.send(payload ? [payload] : [], 0xa);
      case 0xa:
        return;
      default:
        throw new Error(`unexpected opcode ${this.opcode}`);
    }
  }
}
