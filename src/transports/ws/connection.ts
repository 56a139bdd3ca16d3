/**
 * One worker's WebSocket, coordinator side, up to the point where it is ready
 * for work: the challenge-response, the protocol version check, whether this
 * worker may join now (standing.ts), the dataset (sent in chunks, or skipped
 * when the worker holds it) and the worker's proof that it holds it, and the
 * per-connection limits. Every frame passes the one decoder; anything out of
 * order, too large, too frequent or unauthenticated closes the socket with a
 * close code that says why. Nothing is sent before the worker has proved the
 * token, except the challenge itself.
 */
import { randomInt } from 'node:crypto';
import type { WebSocket } from 'ws';
import { isTrainerError } from '../../shared/errors.js';
import { decodeMessage } from './decode.js';
import { CLOSE, closeReason, PROTOCOL_VERSION, versionInMismatch, type Message, type MessageOf } from './protocol.js';
import { encodeMessage } from './encode.js';
import { authMac, checkMac, newNonce } from './auth.js';
import { allowFullFrames } from './server.js';

export type ConnState = 'auth' | 'joining' | 'ready' | 'closed';

/** Characters of a worker's own words (a leave's reason) that reach the log. */
const MAX_LOGGED_REASON_CHARS = 120;

/**
 * A worker's own words as one log line can show them: control characters (a newline starting a
 * forged line, ANSI escapes recolouring the terminal) and the invisible ones that reorder or hide
 * text are written as \uXXXX escapes, and the length is capped.
 */
function loggable(text: string): string {
  const shown = text.length > MAX_LOGGED_REASON_CHARS ? `${text.slice(0, MAX_LOGGED_REASON_CHARS)}…` : text;
  return shown.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    if (c === '\n') return '\\n';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

export interface ConnLimits {
  handshakeTimeoutMs: number;
  /** Ping interval; a worker silent for 3 intervals while idle is dropped. */
  heartbeatMs: number;
  /** A worker holding tasks must return one within this time. */
  stepTimeoutMs: number;
  /** Frames a worker may send per second (token bucket, this many per second, burst of the same). */
  maxMessagesPerSec: number;
  /** Bytes queued to a worker that does not read before it is dropped. */
  maxPendingBytes: number;
}

/** The welcome a worker gets, apart from its id, the coordinator's proof and the connection's dataset-proof nonce. */
export type Welcome = Omit<MessageOf<'welcome'>, 'type' | 'workerId' | 'mac' | 'proofNonce'>;

export interface ConnHost {
  readonly token: string | null;
  readonly limits: ConnLimits;
  /** The welcome for this worker, apart from its id and proof. */
  welcome(): Welcome;
  /** The dataset blob, in `welcome().dataset.chunks` pieces. */
  datasetChunk(index: number): Uint8Array;
  /** Whether `proof` proves holding the dataset for `nonce` (wire-dataset.ts datasetProof). */
  checkDatasetProof(nonce: Uint8Array, proof: Uint8Array): boolean;
  /** A peer at `address` failed to prove the token (anyone who reaches the port can, thousands of times a second). */
  authenticationFailed(address: string): void;
  /** Why this worker (its name and process) may not join now (a ban, a stall backoff), or null; logged by the host. */
  refusal(conn: WorkerConn): { code: number; reason: string } | null;
  log(line: string): void;
  /**
   * A line about a join that ends before the worker is ready (it leaves, fails its dataset proof):
   * one holding the token can make thousands a second, so the host tells them past a burst as one
   * line an interval.
   */
  joinLog(line: string): void;
  /**
   * A line of a worker's join as it goes (its dataset sent), as its ready and gone lines are: a
   * client getting to ready and quitting in a loop makes them by the hundred a second, so the host
   * tells them past a burst as one line an interval.
   */
  churnLog(line: string): void;
  /** The worker proved the token (its socket is no longer capped as unauthenticated). */
  onAuthenticated(conn: WorkerConn): void;
  onReady(conn: WorkerConn): void;
  /** A message of a ready worker (gradient, evalResult, pong). */
  onMessage(conn: WorkerConn, m: Message): void;
  onClosed(conn: WorkerConn, code: number, reason: string): void;
}

export class WorkerConn {
  state: ConnState = 'auth';
  name = '?';
  /** The worker process's id from its hello (hex): with the name, what standing.ts holds. */
  instance = '';
  backend = '?';
  /** Micro-batches the worker computes at once (its compute threads). */
  threads = 1;
  /** performance.now() of the last frame from the worker. */
  lastHeardMs = performance.now();
  openedMs = performance.now();
  private lastPingMs = performance.now();
  private pingSeq = 0;
  private bytesInCount = 0;
  private bytesOutCount = 0;
  private readonly nonce = newNonce();
  /** Key of this worker's dataset proof. */
  private readonly proofNonce = newNonce();
  /** The state the connection was in when it closed, and whether the worker closed it (else this side did). */
  closedWhile: ConnState = 'auth';
  closedByPeer = false;
  /** The protocol version the peer speaks when it is another than ours, as its hello or its hang-up on the challenge said; null: ours, or not said. */
  peerProtocol: number | null = null;
  private tokens: number;
  private lastRefillMs = performance.now();
  private sendingData = false;
  private allDataSent = false;
  /** While joining: when the join last moved (the welcome, the dataRequest, a chunk leaving, a pong showing the worker read up to it). */
  private joinMovedMs = 0;
  /** While joining: pings sent behind dataset chunks and not yet answered, oldest first. */
  private joinPings: number[] = [];
  private lastJoinPingMs = 0;
  /** Resolves once the socket has closed: the worker answered the close, went away, or was cut off. */
  readonly socketGone: Promise<void>;

  constructor(
    readonly id: string,
    /** The peer's address and port as the socket sees it (for logs and the dashboard). */
    readonly address: string,
    private readonly ws: WebSocket,
    private readonly host: ConnHost,
  ) {
    this.tokens = host.limits.maxMessagesPerSec;
    ws.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    // The peer's close reason is its own words, and the pool logs it.
    ws.on('close', (code, reason) => {
      // A worker of another version hangs up on the challenge, before its hello: its words are all that tell its version.
      if (code === CLOSE.versionMismatch && this.state === 'auth') this.peerProtocol = versionInMismatch(reason.toString());
      this.closed(code, loggable(reason.toString()), true);
    });
    this.socketGone = new Promise((resolve) => ws.once('close', () => resolve()));
    // ws has closed already, with its own code (1009: a frame past the limit; 1002: a malformed
    // frame): its words say which, where "socket error" alone left the operator guessing.
    ws.on('error', (err) => this.close(CLOSE.protocolError, `socket error: ${err.message}`));
    this.send({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: this.nonce });
  }

  /**
   * Who the worker is, as it says: its name and its process's random id (hello.instance). Names
   * are public (the dashboard shows them) and guessable: held by name alone, a token holder that
   * joined under an honest worker's name and sent poison got that worker refused.
   */
  get identity(): string {
    return `${this.name}\0${this.instance}`;
  }

  /** This process did not run for `gap` ms until `now` (pool.ts forgivePause): the peer's silence meanwhile is not its own. */
  forgivePause(now: number, gap: number): void {
    this.lastHeardMs = Math.max(this.lastHeardMs, now);
    this.joinMovedMs = Math.max(this.joinMovedMs, now);
    this.lastJoinPingMs += gap;
    this.openedMs += gap;
  }

  /** Sends one message; a worker whose unread backlog passes the limit is dropped. */
  send(m: Message): void {
    this.sendFrame(encodeMessage(m));
  }

  sendFrame(frame: Uint8Array, done?: (err?: Error) => void): void {
    if (this.state === 'closed') return;
    this.bytesOutCount += frame.length;
    this.ws.send(frame, { binary: true }, done);
    if (this.ws.bufferedAmount > this.host.limits.maxPendingBytes) {
      this.close(CLOSE.tooSlow, `more than ${this.host.limits.maxPendingBytes} bytes unread`);
    }
  }

  /** Frame bytes received from and sent to this worker. */
  get bytesIn(): number {
    return this.bytesInCount;
  }

  get bytesOut(): number {
    return this.bytesOutCount;
  }

  /** Bytes handed to the socket and not yet to the operating system. */
  get pendingBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** Whether the socket has closed (socketGone has resolved). */
  get socketClosed(): boolean {
    return this.ws.readyState === this.ws.CLOSED;
  }

  /** Closes with `code` and `reason`; a peer that does not answer the close handshake is cut off after `cutAfterMs`. */
  close(code: number, reason: string, cutAfterMs = 2000): void {
    if (this.state === 'closed') return;
    // ws close reasons are at most 123 bytes.
    this.ws.close(code, closeReason(reason));
    this.closed(code, reason);
    setTimeout(() => this.ws.terminate(), cutAfterMs).unref();
  }

  private closed(code: number, reason: string, byPeer = false): void {
    if (this.state === 'closed') return;
    this.closedWhile = this.state;
    this.closedByPeer = byPeer;
    this.state = 'closed';
    this.host.onClosed(this, code, reason);
  }

  /**
   * Called on the pool's timer: the handshake must finish in time, a joining
   * worker must keep its join moving, and a ready worker must either return
   * results (`busySinceMs`: when it last got work while idle or returned a
   * result, null when it holds no task) or answer pings.
   */
  /** `busySinceMs`: when the worker last progressed while it holds tasks (null: it holds none); `busyLimitMs`: how long its first task may take. */
  tick(now: number, busySinceMs: number | null, busyLimitMs = this.host.limits.stepTimeoutMs): void {
    const l = this.host.limits;
    if (this.state === 'auth' && now - this.openedMs > l.handshakeTimeoutMs) {
      return this.close(CLOSE.handshakeTimeout, `no valid hello within ${l.handshakeTimeoutMs} ms`);
    }
    if (this.state === 'joining') return this.tickJoining(now);
    if (this.state !== 'ready') return;
    if (busySinceMs !== null) {
      // A worker computing cannot answer pings (tfjs calls are synchronous): its deadline is the task's.
      if (now - busySinceMs > busyLimitMs) this.close(CLOSE.timedOut, `no result within ${busyLimitMs} ms`);
    } else if (now - this.lastHeardMs > 3 * l.heartbeatMs) {
      this.close(CLOSE.timedOut, `silent for ${Math.round(now - this.lastHeardMs)} ms`);
    } else if (now - this.lastPingMs >= l.heartbeatMs) {
      this.lastPingMs = now;
      this.send({ type: 'ping', seq: this.pingSeq++ >>> 0 });
    }
  }

  /**
   * A joining worker that holds its socket without moving on (a token holder parking
   * connections: they filled the descriptor budget) is closed once the join has not moved for
   * long enough. A frame alone is no progress: a pong is, only when it answers a ping sent behind
   * dataset bytes, so the worker read those. While the dataset goes out, a chunk leaves every
   * cluster.handshakeTimeoutMs at the least (one chunk per limit is the slowest link this allows:
   * 1 MiB per 10 s at the defaults, about 25 minutes for CIFAR-10), and the pongs show the bytes
   * still in the socket buffers reaching it. Before its first request and after the last chunk the
   * worker has nothing to say while it starts its backend (tfjs-node-gpu loading CUDA can take tens
   * of seconds), hashes and caches the data and warms up, all synchronous: it gets what a worker
   * computing gets (cluster.stepTimeoutMs), and twice the handshake's limit at the least.
   */
  private tickJoining(now: number): void {
    const l = this.host.limits;
    const downloading = this.sendingData && !this.allDataSent;
    const limit = downloading ? l.handshakeTimeoutMs : Math.max(2 * l.handshakeTimeoutMs, l.stepTimeoutMs);
    if (now - this.joinMovedMs > limit) return this.close(CLOSE.handshakeTimeout, `no progress joining within ${limit} ms`);
    // Behind the next chunk; seqs the worker cannot guess, so only a worker that read them answers.
    if (this.sendingData && !this.allDataSent && now - this.lastJoinPingMs >= l.handshakeTimeoutMs / 4) {
      this.lastJoinPingMs = now;
      const seq = randomInt(0x1_0000_0000);
      this.joinPings.push(seq);
      this.send({ type: 'ping', seq });
    }
  }

  /** A pong of a ping sent while joining: the worker read everything sent before it. */
  private onJoiningPong(seq: number): void {
    const i = this.joinPings.indexOf(seq);
    if (i < 0) return;
    this.joinPings.splice(0, i + 1);
    this.joinMovedMs = performance.now();
  }

  private allowFrame(now: number): boolean {
    const rate = this.host.limits.maxMessagesPerSec;
    this.tokens = Math.min(rate, this.tokens + ((now - this.lastRefillMs) / 1000) * rate);
    this.lastRefillMs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    const now = performance.now();
    this.bytesInCount += data.length;
    if (!this.allowFrame(now)) return this.close(CLOSE.rateLimited, `more than ${this.host.limits.maxMessagesPerSec} messages/s`);
    if (!isBinary) return this.close(CLOSE.protocolError, 'text frame');
    let m: Message;
    try {
      m = decodeMessage(data, 'worker');
    } catch (err) {
      const why = isTrainerError(err) ? err.message : 'undecodable frame';
      return this.close(CLOSE.protocolError, why);
    }
    this.lastHeardMs = now;
    this.handle(m);
  }

  private handle(m: Message): void {
    if (m.type === 'leave') {
      // Before the token is proven, the peer's words do not reach the log at all.
      const line = `worker ${this.id} (${this.name}) leaves: ${loggable(m.reason)}`;
      if (this.state === 'joining') this.host.joinLog(line);
      else if (this.state !== 'auth') this.host.log(line);
      return this.close(1000, 'bye');
    }
    switch (this.state) {
      case 'auth':
        if (m.type !== 'hello') return this.close(CLOSE.protocolError, `expected hello, got ${m.type}`);
        // The join's clock starts with the welcome this hello may earn.
        this.joinMovedMs = performance.now();
        return this.onHello(m);
      case 'joining':
        if (m.type === 'dataRequest' && !this.sendingData) return void this.sendDataset();
        if (m.type === 'ready') return this.onWorkerReady(m);
        if (m.type === 'pong') return this.onJoiningPong(m.seq);
        return this.close(CLOSE.protocolError, `unexpected ${m.type} while joining`);
      case 'ready':
        if (m.type === 'gradient' || m.type === 'evalResult' || m.type === 'pong') return this.host.onMessage(this, m);
        return this.close(CLOSE.protocolError, `unexpected ${m.type}`);
      case 'closed':
        return;
    }
  }

  private onHello(m: MessageOf<'hello'>): void {
    // The token first: a peer that cannot prove it learns nothing, not even our protocol opinion.
    if (!checkMac(this.host.token, 'worker', this.nonce, m.mac)) {
      this.host.authenticationFailed(this.address);
      return this.close(CLOSE.authFailed, 'E_AUTH: bad token');
    }
    if (m.protocol !== PROTOCOL_VERSION) {
      this.name = m.name;
      this.peerProtocol = m.protocol;
      return this.close(CLOSE.versionMismatch, `E_PROTOCOL: protocol ${m.protocol}, coordinator speaks ${PROTOCOL_VERSION}`);
    }
    this.name = m.name;
    this.instance = Buffer.from(m.instance).toString('hex');
    this.host.onAuthenticated(this);
    const refusal = this.host.refusal(this);
    // The pool logs refusals (not each of a worker's tries).
    if (refusal) return this.close(refusal.code, refusal.reason);
    this.state = 'joining';
    const mac = authMac(this.host.token, 'coordinator', m.nonce);
    this.send({ type: 'welcome', workerId: this.id, mac, ...this.host.welcome(), proofNonce: this.proofNonce });
  }

  /** Chunks one after another, each when the previous left the socket: the backlog stays one chunk. */
  private async sendDataset(): Promise<void> {
    this.sendingData = true;
    const total = this.host.welcome().dataset.chunks;
    const t0 = performance.now();
    this.joinMovedMs = t0;
    for (let i = 0; i < total; i++) {
      if (this.state !== 'joining') return;
      const frame = encodeMessage({ type: 'dataChunk', index: i, bytes: this.host.datasetChunk(i) });
      const ok = await new Promise<boolean>((resolve) => this.sendFrame(frame, (err) => resolve(!err)));
      // A chunk's write completes once its bytes reach the operating system, also when the link
      // closed meanwhile (the worker's close frame, its leave, a timeout here): the dataset was then
      // not sent, and the log said it was, after "left while joining".
      if (this.state !== 'joining' || this.ws.readyState !== this.ws.OPEN) return;
      if (!ok) return this.close(CLOSE.protocolError, 'dataset send failed');
      this.joinMovedMs = performance.now();
    }
    this.allDataSent = true;
    this.host.churnLog(`worker ${this.id} (${this.name}): dataset sent in ${Math.round(performance.now() - t0)} ms`);
  }

  private onWorkerReady(m: MessageOf<'ready'>): void {
    if (m.sha256 !== this.host.welcome().dataset.sha256) {
      return this.close(CLOSE.protocolError, 'ready with another dataset');
    }
    // The sha256 is in the welcome: only the proof shows the worker holds the bytes.
    if (!this.host.checkDatasetProof(this.proofNonce, m.proof)) {
      this.host.joinLog(`worker ${this.id} (${this.name}) claims the dataset without proof of holding it`);
      return this.close(CLOSE.protocolError, 'ready without proof of holding the dataset');
    }
    this.backend = m.backend;
    this.threads = m.threads ?? 1;
    this.joinPings = [];
    // Until now ws refused a frame announcing more than 1 kB at its header (server.ts).
    allowFullFrames(this.ws);
    this.state = 'ready';
    this.host.onReady(this);
  }
}
