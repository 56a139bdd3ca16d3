/**
 * A WorkerPool of WebSocket workers (remote machines, or local child
 * processes): the listening socket, membership (connections, joins, leaves,
 * heartbeats) and what the dashboard sees. Who computes which task is
 * dispatch.ts's business.
 *
 * A worker that closes, stays silent, overruns stepTimeoutMs, sends a
 * result that does not fit its task or breaks the protocol is evicted and its
 * tasks go back to the queue within the same call; all but the first count
 * against its standing (standing.ts). A worker that becomes ready mid-call is admitted at the next
 * call (immediately if nobody is left).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { MAX_TIMER_MS, taskTimeoutMs } from '../../shared/config.js';
import { TrainerError } from '../../shared/errors.js';
import type { BatchStats } from '../../worker/gradient.js';
import type { ModelSpec } from '../../worker/model.js';
import { arrayFrameBytes, CLOSE, closeReason, PROTOCOL_VERSION, type Message, type Split } from './protocol.js';
import type { MicroBatchResult, PoolEnd, StepHooks, WorkerPool, WorkerStats } from '../pool.js';
import { WorkerConn, type ConnHost, type ConnLimits, type Welcome } from './connection.js';
import { tuneHeapGrowthForStreaming } from './heap-growth.js';
import { Dispatcher, newMember, workerLabel, type Member } from './dispatch.js';
import { Standing } from './standing.js';
import { BACKOFF_LINGER_MS, sleep, tellTheEnd } from './end-of-run.js';
import { VerifyKinds, type KindRefusal } from './verify-kinds.js';
import { datasetProof } from './wire-dataset.js';
import { JoinOffer } from './offer.js';
import type { WorkerInfo, WsPoolOptions } from './pool-types.js';
import { listen, type Listening } from './server.js';
import { ThrottledLog } from './throttled-log.js';
import { urlHost } from '../../shared/url.js';
import { plural } from '../../shared/plural.js';

/** Close reasons of a stop (CLOSE.stopped, CLOSE.stoppedBeforeRun). */
const STOPPED = 'coordinator stopped; it may resume';
const STOPPED_BEFORE_RUN = 'coordinator stopped before the run began; nothing to resume';

export type { PoolEvent, WorkerInfo, WsPoolOptions } from './pool-types.js';

/** Workers in a row rejecting the welcome, with none ready, that stop the pool (over cluster.noWorkerTimeoutMs at least). */
const WELCOME_REJECTIONS_TO_STOP = 3;
/**
 * Lines about joins that end before the worker is ready: the first JOIN_LINES_BURST of each
 * JOIN_LINES_EVERY_MS told as they come, the rest counted and told as one line. A token holder joining and leaving in a loop made 1,500 lines
 * a second (one client, one connection at a time), while honest workers make a few (a backend that
 * fails to load, a welcome rejected).
 */
const JOIN_LINES_BURST = 20;
const JOIN_LINES_EVERY_MS = 10_000;
/**
 * Lines of workers that became ready and of workers gone: the first CHURN_LINES_BURST of each
 * JOIN_LINES_EVERY_MS told as they come, the rest counted and told as one line. A client that got
 * to ready and quit in a loop (a crash-looping worker, a buggy client) made 450 lines in 7.8 s;
 * a cluster's start (a line a worker) and its faults stay well under the burst.
 */
const CHURN_LINES_BURST = 200;
/** Ticks this far apart (at least): the coordinator itself was paused, not its workers silent. */
const PAUSED_AFTER_MS = 2000;

export class WsPool implements WorkerPool, ConnHost {
  readonly token: string | null;
  readonly limits: ConnLimits;
  private readonly members = new Map<WorkerConn, Member>();
  /** Ready workers not yet taking part (they join at the next call). */
  private readonly joiners: WorkerConn[] = [];
  private readonly conns = new Set<WorkerConn>();
  /** Each connection's TCP (or TLS) socket, for admission.ts and for seeing a worker answer the end (endAnswered). */
  private readonly sockets = new WeakMap<WorkerConn, Socket>();
  private readonly offer: JoinOffer;
  private readonly dispatch: Dispatcher;
  private readonly standing: Standing;
  /** Who may take part when cluster.verify > 0 (verify-kinds.ts). */
  private readonly kinds = new VerifyKinds();
  /** Workers in a row that closed on the welcome, while none was ready: they reject what this coordinator offers. */
  private welcomeRejections = 0;
  /** When the first of those came, and the last one's reason. */
  private firstRejectionMs = 0;
  private lastRejection = '';
  /** Why the pool cannot go on, once it cannot (every worker rejects the welcome). */
  private failure: TrainerError | null = null;
  private nextConnId = 1;
  /** Refusals of each worker (WorkerConn.identity), and failed authentications: logged at most every 10 s, with their count. */
  private readonly refusalLogs = new Map<string, ThrottledLog>();
  private readonly authFailures: ThrottledLog;
  /** Lines about joins that ended before the worker was ready (ConnHost.joinLog). */
  private readonly joinLines: ThrottledLog;
  /** Lines of workers ready and gone, and of their datasets sent (ConnHost.churnLog). */
  private readonly churnLines: ThrottledLog;
  /** Workers of another protocol version: anyone who reaches the port can close with that code, so throttled like authentication. */
  private readonly versionMismatches: ThrottledLog;
  private readonly timer: NodeJS.Timeout;
  private readonly readyWaiters: (() => void)[] = [];
  private lastTickMs = performance.now();
  /** A gap this long between ticks: this process was paused (onTick). */
  private readonly pausedAfterMs: number;
  /** What workers that left had computed (workers.json counts since the start; they vanished from it). */
  private readonly departed: WorkerStats[] = [];
  private closing = false;
  /**
   * While a pool with onClose closes, its lines about workers leaving, held until onClose ended:
   * --procs relays its local workers' stderr to the same log, and a worker's "leaving: coordinator
   * done", which comes before its socket closes, was printed after the pool's "gone" line for it.
   * null: told as they come.
   */
  private leavingLines: string[] | null = null;
  /** How the run ended, for connections that arrive while the pool closes. */
  private closingEnd: PoolEnd = 'stopped';
  /** What a stop's close says (closeStopped). */
  private stopReason = STOPPED;
  /** Bytes of closed connections, for bytes-per-step figures. */
  private closedBytes = { in: 0, out: 0 };

  private constructor(
    private readonly o: WsPoolOptions,
    readonly listening: Listening,
  ) {
    const c = o.config.cluster;
    this.token = o.token;
    this.authFailures = new ThrottledLog(o.log, (count, from) => `${count} connection(s) failed authentication since the last such line, the last from ${from}`);
    this.joinLines = new ThrottledLog(
      o.log,
      (count, line) => (count > 1 ? `${line} (and ${count - 1} more such lines about joins that did not finish, held back)` : line),
      JOIN_LINES_EVERY_MS,
      JOIN_LINES_BURST,
    );
    this.churnLines = new ThrottledLog(
      o.log,
      (count, line) => (count > 1 ? `${line} (and ${count - 1} more lines about workers ready and gone, held back)` : line),
      JOIN_LINES_EVERY_MS,
      CHURN_LINES_BURST,
    );
    this.versionMismatches = new ThrottledLog(o.log, (count, line) => (count > 1 ? `${line} (${count} connections of another protocol version since the last such line)` : line));
    this.offer = new JoinOffer(o.config, o.model, o.data, o.normalization);
    this.limits = this.offer.limits;
    this.standing = new Standing({ stallBackoffMs: c.stallBackoffMs, maxStalls: c.maxStalls });
    this.dispatch = new Dispatcher({
      model: o.model,
      tasksInFlight: c.tasksInFlight,
      noWorkerTimeoutMs: c.noWorkerTimeoutMs,
      verify: c.verify,
      maxNormRatio: c.maxNormRatio,
      members: this.members,
      admitJoiners: () => this.admitJoiners(),
      ban: (conn, reason) => {
        this.standing.ban(conn.identity, reason);
        conn.close(CLOSE.banned, reason);
      },
      kindsSettled: (kinds) => this.kindsSettled(kinds),
      log: o.log,
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    listening.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => this.accept(ws, req));
    o.signal?.addEventListener('abort', () => this.dispatch.pump(), { once: true });
    const tick = Math.max(10, Math.min(1000, c.heartbeatMs, c.stepTimeoutMs, c.noWorkerTimeoutMs, c.handshakeTimeoutMs) / 4);
    this.pausedAfterMs = Math.max(PAUSED_AFTER_MS, 4 * tick);
    this.timer = setInterval(() => this.onTick(), tick);
  }

  /** Largest frame a worker legitimately sends: a gradient. */
  static maxPayloadFor(model: ModelSpec, configured: number): number {
    return configured > 0 ? configured : arrayFrameBytes(model.size);
  }

  static async start(o: WsPoolOptions, host: string, port: number): Promise<WsPool> {
    tuneHeapGrowthForStreaming();
    const c = o.config.cluster;
    const l = await listen({
      host,
      port,
      maxPayloadBytes: WsPool.maxPayloadFor(o.model, c.maxPayloadBytes),
      tls: c.tls,
      admission: {
        maxUnauthenticated: c.maxUnauthenticated,
        maxUnauthenticatedPerAddress: c.maxUnauthenticatedPerAddress,
        handshakeTimeoutMs: c.handshakeTimeoutMs,
      },
      log: o.log,
      ...(o.onRequest ? { onRequest: o.onRequest } : {}),
    });
    return new WsPool(o, l);
  }

  get sharesCores(): boolean {
    return this.o.sharesCores ?? false;
  }

  get size(): number {
    return this.members.size + this.joiners.length;
  }

  /**
   * Resolves true once `n` workers are ready; with `enoughAfterMs`, also once that long has passed
   * with at least one ready (a resumed run whose workers cannot all come back: a lost node's pod
   * that cannot be scheduled held it for ever). With `giveUpAfterMs`, resolves false once that long
   * has passed without enough (the caller says so: cluster.startTimeoutMs).
   */
  async waitForWorkers(n: number, signal?: AbortSignal, enoughAfterMs?: number, giveUpAfterMs?: number): Promise<boolean> {
    const t0 = performance.now();
    const until = enoughAfterMs === undefined ? Number.POSITIVE_INFINITY : t0 + enoughAfterMs;
    const giveUpAt = giveUpAfterMs === undefined ? Number.POSITIVE_INFINITY : t0 + giveUpAfterMs;
    while (this.size < n) {
      if (this.failure) throw this.failure;
      if (signal?.aborted) throw new TrainerError('E_NO_WORKERS', `stopped while waiting for ${n} workers (${this.size} ready)`);
      const now = performance.now();
      if (this.size > 0 && now >= until) return true;
      if (now >= giveUpAt) return false;
      // One abort listener per pass, removed when a worker's ready ends it (they piled up, one per
      // join: MaxListenersExceededWarning once 10 workers had joined a start-up wait).
      await new Promise<void>((resolve) => {
        const onAbort = () => resolve();
        // With none ready, only a worker's ready, the signal or giving up ends the pass.
        const wakeAt = Math.min(this.size > 0 ? until : Number.POSITIVE_INFINITY, giveUpAt);
        const timer = Number.isFinite(wakeAt) ? setTimeout(resolve, Math.min(MAX_TIMER_MS, Math.max(0, wakeAt - performance.now()))) : null;
        timer?.unref();
        this.readyWaiters.push(() => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    return true;
  }

  // ------------------------------------------------------------ ConnHost

  welcome(): Welcome {
    return this.offer.welcome;
  }

  datasetChunk(index: number): Uint8Array {
    return this.offer.datasetChunk(index);
  }

  checkDatasetProof(nonce: Uint8Array, proof: Uint8Array): boolean {
    return Buffer.from(datasetProof(this.offer.blob, nonce)).equals(proof);
  }

  refusal(conn: WorkerConn): { code: number; reason: string } | null {
    const refusal = this.standing.refusal(conn.identity, performance.now());
    if (refusal === null) return null;
    // Throttled per worker: one retrying every 100 ms (a token holder need not back off) wrote a line each time.
    let refusals = this.refusalLogs.get(conn.identity);
    if (!refusals) {
      refusals = new ThrottledLog(this.o.log, (count, line) => (count > 1 ? `${line} (${count} tries refused since the last such line)` : line));
      this.refusalLogs.set(conn.identity, refusals);
    }
    refusals.note(`worker ${conn.id} (${conn.name}) refused: ${refusal.reason}`);
    return refusal;
  }

  authenticationFailed(address: string): void {
    this.authFailures.note(address);
  }

  log(line: string): void {
    this.o.log(line);
  }

  joinLog(line: string): void {
    this.joinLines.note(line);
  }

  churnLog(line: string): void {
    this.churnLines.note(line);
  }

  onAuthenticated(conn: WorkerConn): void {
    const socket = this.sockets.get(conn);
    if (socket) this.listening.admission.authenticated(socket);
  }

  onReady(conn: WorkerConn): void {
    const refusal = this.o.config.cluster.verify > 0 ? this.kindRefusal(conn.backend) : null;
    if (refusal) {
      this.o.log(`worker ${conn.id} (${conn.name}) refused${refusal.code === CLOSE.banned ? ' for the run' : ' for now'}: ${refusal.why}`);
      return conn.close(refusal.code, refusal.why);
    }
    this.welcomeRejections = 0;
    this.churnLines.note(`worker ${conn.id} (${conn.name}, backend ${conn.backend}${conn.threads > 1 ? `, ${conn.threads} threads` : ''}) ready; ${plural(this.size + 1, 'worker')}`);
    const asked = this.o.config.backend;
    if (conn.backend.split(' ')[0] !== asked && asked !== 'auto') {
      this.o.log(`warning: worker ${conn.id} runs backend ${conn.backend}, the run asks for ${asked}: results are bit-exact only within one backend`);
    }
    const kinds = new Set([...this.members.keys(), ...this.joiners].map((c) => c.backend));
    if (kinds.size > 0 && !kinds.has(conn.backend)) {
      this.o.log(`parity: mixed backends (${[...kinds, conn.backend].join(', ')}): the weights hash will not match a run on one backend`);
    }
    this.o.onEvent?.({ kind: 'ready', worker: conn.id, name: conn.name });
    this.joiners.push(conn);
    for (const w of this.readyWaiters.splice(0)) w();
    this.dispatch.joined();
  }

  onMessage(conn: WorkerConn, m: Message): void {
    const member = this.members.get(conn);
    if (m.type === 'pong') return;
    if (!member) return conn.close(CLOSE.protocolError, `${m.type} before any task`);
    switch (m.type) {
      case 'gradient':
      case 'evalResult':
        return this.dispatch.onResult(member, m);
      default:
        return conn.close(CLOSE.protocolError, `unexpected ${m.type}`);
    }
  }

  onClosed(conn: WorkerConn, code: number, reason: string): void {
    this.conns.delete(conn);
    this.closedBytes.in += conn.bytesIn;
    this.closedBytes.out += conn.bytesOut;
    const i = this.joiners.indexOf(conn);
    if (i >= 0) this.joiners.splice(i, 1);
    const member = this.members.get(conn);
    // 1006: the connection ended without a close frame (a killed process, a lost host), and no reason.
    const why = reason !== '' ? reason : code === 1006 ? 'connection lost' : 'no reason given';
    // The lines held back about it are of earlier events: told now, before its own output ends.
    this.dispatch.tellHeldLines(conn);
    const held = this.leavingLines;
    const say = held ? (line: string) => void held.push(line) : (line: string) => this.o.log(line);
    if (member || i >= 0) {
      const gone = `worker ${conn.id} (${conn.name}) gone (${code} ${why}); ${plural(this.size - (member ? 1 : 0), 'worker')} left`;
      // At the run's end every worker goes: those lines are held for after the pool's close, as ever.
      if (held) held.push(gone);
      else this.churnLines.note(gone);
    }
    // Timed out by tick() here: a peer closing with the code itself stalled nothing (no honest worker sends it).
    if (code === CLOSE.timedOut && conn.closedWhile === 'ready' && !conn.closedByPeer) {
      say(`worker ${conn.id} (${conn.name}) stalled: ${this.standing.stalled(conn.identity, performance.now())}`);
    }
    // Evicted by dispatch.ts: a peer closing with the code itself was not.
    if (code === CLOSE.badResult && !conn.closedByPeer) {
      say(`worker ${conn.id} (${conn.name}) sent a result that does not fit its task: ${this.standing.badResult(conn.identity, performance.now())}`);
    }
    // Closed by this side for breaking the protocol once ready (a frame the decoder refuses, a message
    // out of turn): a token holder doing so after taking tasks rejoined at once, time after time.
    if (code === CLOSE.protocolError && !conn.closedByPeer && conn.closedWhile === 'ready') {
      say(`worker ${conn.id} (${conn.name}) broke the protocol: ${this.standing.protocolError(conn.identity, performance.now())}`);
    }
    // Only the worker said E_PROTOCOL: the operator here saw nothing of a worker left on another version.
    if (code === CLOSE.versionMismatch && conn.closedWhile === 'auth') this.versionMismatches.note(versionMismatchLine(conn));
    if (conn.closedWhile === 'joining' && conn.closedByPeer && code === CLOSE.protocolError) this.welcomeRejected(conn, reason);
    // A worker that proved the token and left before it was ready (its backend failed to load): the
    // coordinator said nothing, and only the worker's own log told why.
    else if (conn.closedWhile === 'joining' && !this.closing) this.joinLines.note(`worker ${conn.id} (${conn.name}) left while joining (${code} ${why})`);
    this.o.onEvent?.({ kind: 'evicted', worker: conn.id, code, reason });
    if (!member) return;
    this.members.delete(conn);
    if (member.stats.microBatches > 0) this.departed.push({ ...member.stats });
    this.dispatch.requeue(member, conn.closedByPeer && code === CLOSE.protocolError ? reason : null);
  }

  // ------------------------------------------------------------ WorkerPool

  async publish(version: number, weights: Float32Array): Promise<void> {
    this.dispatch.publish(version, weights);
  }

  async runStep(step: number, microBatches: readonly Int32Array[], hooks: StepHooks): Promise<MicroBatchResult[]> {
    this.checkOpen();
    return this.dispatch.runStep(step, microBatches, hooks);
  }

  async evaluate(version: number, split: Split, chunks: readonly Int32Array[]): Promise<BatchStats[]> {
    this.checkOpen();
    return this.dispatch.evaluate(version, split, chunks);
  }

  tellHeldLines(): void {
    this.dispatch.end();
  }

  /** Bytes received from and sent to workers so far, closed connections included. */
  wireBytes(): { in: number; out: number } {
    let bytesIn = this.closedBytes.in;
    let bytesOut = this.closedBytes.out;
    for (const c of this.conns) {
      bytesIn += c.bytesIn;
      bytesOut += c.bytesOut;
    }
    return { in: bytesIn, out: bytesOut };
  }

  /** Every worker that computed since the pool started: those that left, then those here now. */
  stats(): WorkerStats[] {
    return [...this.departed, ...[...this.members.values()].map((m) => ({ ...m.stats }))];
  }

  /** Every ready worker, taking part or about to: for the dashboard. */
  workerInfo(): WorkerInfo[] {
    const now = performance.now();
    const info = (conn: WorkerConn, m: Member | undefined): WorkerInfo => ({
      ...(m ? m.stats : { worker: workerLabel(conn), backend: conn.backend, threads: conn.threads, microBatches: 0, examples: 0, computeMs: 0 }),
      address: conn.address,
      backend: conn.backend,
      inflight: m ? m.inflight.size : 0,
      lastResultMsAgo: m && m.lastResultMs !== null ? Math.round(now - m.lastResultMs) : null,
      lastHeardMsAgo: Math.round(now - conn.lastHeardMs),
    });
    return [
      ...[...this.members.values()].map((m) => info(m.conn, m)),
      ...this.joiners.filter((c) => c.state === 'ready').map((c) => info(c, undefined)),
    ];
  }

  /** `why`: what a 'not-started' end tells its workers (a close reason), where the run was not stopped but given up. */
  async close(end: PoolEnd = 'stopped', why?: string): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Workers that onClose stops (--procs) are told a plain stop: each one's error line for a run
    // that never began would follow the run's own line, and they are signalled to go anyway.
    this.closingEnd = end === 'not-started' && this.o.onClose ? 'stopped' : end;
    if (this.closingEnd === 'not-started') this.stopReason = why ?? STOPPED_BEFORE_RUN;
    clearInterval(this.timer);
    if (this.o.onClose) this.leavingLines = [];
    // Before they are closed below: a worker connected now hears the end.
    const told = [...this.conns].filter((c) => c.state !== 'auth');
    const connected = new Set(told.map((c) => c.identity));
    for (const c of [...this.conns]) {
      if (end === 'finished') {
        // Nothing but the challenge goes to a peer that has not proved the token.
        if (c.state !== 'auth') c.send({ type: 'leave', reason: 'coordinator done' });
        c.close(CLOSE.shutdown, 'coordinator done', BACKOFF_LINGER_MS);
      } else {
        // Workers that were told "done" here exited, and a coordinator resumed (by hand, or
        // rescheduled by Kubernetes or Slurm) then waited for them for ever.
        this.closeStopped(c);
      }
    }
    if (end === 'finished') {
      await tellTheEnd(told, connected, { socketOf: (c) => this.sockets.get(c), standing: this.standing, log: this.o.log, signal: this.o.signal });
    }
    // Let the close frames leave before the sockets are cut.
    else await sleep(50);
    await this.listening.close();
    try {
      await this.o.onClose?.(end);
    } finally {
      for (const line of this.leavingLines ?? []) this.o.log(line);
      this.leavingLines = null;
    }
    this.dispatch.end();
    this.joinLines.flush();
    this.churnLines.flush();
    this.authFailures.flush();
    this.versionMismatches.flush();
    this.dispatch.fail(new TrainerError('E_NO_WORKERS', 'pool closed'));
  }

  /**
   * Ends the pool's work with `err`: the step or evaluation in progress fails with it, and so does
   * every later one (the workers it waits for will not come: local worker processes given up on).
   */
  fail(err: TrainerError): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.readyWaiters.splice(0)) w();
    this.dispatch.fail(err);
  }

  // ------------------------------------------------------------ membership

  /**
   * A worker closed on the welcome with a protocol error: it cannot work with what this
   * coordinator offers (a batch bound it refuses, a model it lacks). Said each time; once
   * WELCOME_REJECTIONS_TO_STOP came in a row, over cluster.noWorkerTimeoutMs, with no worker ready
   * meanwhile, the pool stops with the worker's reason instead of waiting for ever. Not sooner:
   * a rejection is the worker's word, and three token holders saying it stopped a run at once.
   */
  private welcomeRejected(conn: WorkerConn, reason: string): void {
    if (this.welcomeRejections++ === 0) this.firstRejectionMs = performance.now();
    this.lastRejection = reason || 'no reason given';
    this.joinLines.note(`worker ${conn.id} (${conn.name}) rejected this coordinator's welcome: ${this.lastRejection}`);
    this.checkRejections(performance.now());
  }

  private checkRejections(now: number): void {
    const limitMs = this.o.config.cluster.noWorkerTimeoutMs;
    if (this.failure || this.size > 0 || this.welcomeRejections < WELCOME_REJECTIONS_TO_STOP || now - this.firstRejectionMs < limitMs) return;
    this.fail(
      new TrainerError(
        'E_PROTOCOL',
        `${this.welcomeRejections} workers in a row rejected this coordinator's welcome over ${limitMs / 1000} s (cluster.noWorkerTimeoutMs) and none is ready: ${this.lastRejection}`,
      ),
    );
  }

  /** Why a worker of backend `kind` may not take part now (cluster.verify > 0), or null. */
  private kindRefusal(kind: string): KindRefusal | null {
    return this.kinds.refusal(kind, [...this.members.keys(), ...this.joiners].filter((c) => c.state === 'ready').map((c) => c.backend));
  }

  /**
   * A stop: the worker retries for a coordinator that resumes the run, unless nothing of the run
   * exists yet (a new run stopped or given up before its first step): then it has nothing to wait for, and a
   * worker that joined (which retries for ever) held its node until someone killed it.
   */
  private closeStopped(c: WorkerConn): void {
    c.close(this.stopCode(), this.stopReason);
  }

  /** The close code of a stop (closeStopped): the run never began, or it may resume. */
  private stopCode(): number {
    return this.closingEnd === 'not-started' ? CLOSE.stoppedBeforeRun : CLOSE.stopped;
  }

  /** Two workers agreed on a part's bits: their kinds are the run's for good, and workers of others leave. */
  private kindsSettled(kinds: ReadonlySet<string>): void {
    if (!this.kinds.settle(kinds)) return;
    this.o.log(`cluster.verify: results agree on backend ${[...kinds].join(', ')}; workers on another backend are refused for the rest of the run`);
    for (const conn of [...this.members.keys(), ...this.joiners]) {
      const refusal = this.kindRefusal(conn.backend);
      if (refusal === null) continue;
      this.o.log(`worker ${conn.id} (${conn.name}) refused for the run: ${refusal.why}`);
      conn.close(refusal.code, refusal.why);
    }
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw new TrainerError('E_NO_WORKERS', 'pool closed');
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    if (this.closing) {
      // After a stop the worker keeps trying, for a coordinator resumed; after the end it leaves.
      if (this.closingEnd === 'finished') return ws.close(CLOSE.shutdown, 'coordinator done');
      return ws.close(this.stopCode(), closeReason(this.stopReason));
    }
    const { remoteAddress, remotePort } = req.socket;
    const address = `${remoteAddress === undefined ? '?' : urlHost(remoteAddress)}:${remotePort ?? '?'}`;
    this.listening.admission.upgraded(req.socket);
    const conn = new WorkerConn(`w${this.nextConnId++}-${randomBytes(2).toString('hex')}`, address, ws, this);
    this.sockets.set(conn, req.socket);
    this.conns.add(conn);
  }

  private admitJoiners(): number {
    let admitted = 0;
    for (const conn of this.joiners.splice(0)) {
      if (conn.state !== 'ready') continue;
      this.members.set(conn, newMember(conn));
      admitted++;
    }
    return admitted;
  }

  /**
   * This process did not run for `gap` ms (SIGSTOP, Ctrl-Z, a laptop's or a VM's suspend, a long
   * pause of its event loop): its workers' frames wait unread in the sockets, and their silence
   * meanwhile is not theirs. Every clock a worker is judged by starts again now; it was: both
   * workers "gone (4504 silent for 16013 ms)", each counted a stall (three ban it for the run).
   */
  private forgivePause(now: number, gap: number): void {
    this.o.log(`this coordinator did not run for ${(gap / 1000).toFixed(1)} s (stopped or suspended): its workers' silence meanwhile is not held against them`);
    for (const conn of this.conns) conn.forgivePause(now, gap);
    for (const m of this.members.values()) {
      m.progressMs += gap;
      for (const a of m.inflight.values()) a.sentMs += gap;
    }
    this.dispatch.shiftClock(gap);
  }

  private onTick(): void {
    const now = performance.now();
    const gap = now - this.lastTickMs;
    this.lastTickMs = now;
    if (gap > this.pausedAfterMs) this.forgivePause(now, gap);
    if (this.welcomeRejections > 0) this.checkRejections(now);
    for (const conn of this.conns) {
      const member = this.members.get(conn);
      // An evaluation chunk may take longer than a micro-batch: its limit grows with its images (taskTimeoutMs).
      const first = member?.inflight.values().next().value;
      conn.tick(now, member && first ? member.progressMs : null, first ? taskTimeoutMs(this.o.config, first.part.indices.length) : undefined);
    }
    this.dispatch.tick(now);
  }
}

/** The coordinator's line on a worker that closed, or was closed, on another protocol version. */
function versionMismatchLine(conn: WorkerConn): string {
  const who = conn.name === '?' ? `a worker at ${conn.address}` : `worker ${conn.name} at ${conn.address}`;
  const speaks = conn.peerProtocol === null ? 'speaks another protocol version (it did not say which)' : `speaks protocol ${conn.peerProtocol}`;
  return `${who} ${speaks}, this coordinator ${PROTOCOL_VERSION}: it cannot join until both run the same trainer version`;
}
