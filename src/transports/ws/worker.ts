/**
 * The worker process (`trainer worker`): connect to a coordinator and run one
 * session (worker-session.ts: the protocol) per connection. What survives
 * reconnects is a WorkerCompute (worker-compute.ts): the backend, the
 * dataset (from the cache or the wire), the MicroBatchComputer every pool
 * uses, and the gradient frame it computes into. A connection that fails is retried with backoff, its
 * cause said once in plain words (connect-error.ts); a worker that has never
 * joined gives up after NEVER_JOINED_RETRY_MS, one that has keeps retrying.
 * A `leave` from the coordinator, an auth failure or Ctrl-C ends the worker.
 */
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import type WsWebSocket from 'ws';
import type { BackendName } from '../../shared/config.js';
import { TrainerError } from '../../shared/errors.js';
import { describeConnectError, metPlainServer, plainServerHint, speaksPlainHttp, speaksTls, tlsServerHint } from './connect-error.js';
import { MAX_WORKER_NAME_CHARS, NEVER_JOINED_RETRY_MS, RECONNECT_MAX_MS } from './protocol.js';
import { WorkerCompute } from './worker-compute.js';
import { WorkerSession, type SessionEnd } from './worker-session.js';

// ws is CommonJS: required, since importing it makes Node scan it for export names (~0.1 s of CPU a start).
const WebSocket = createRequire(import.meta.url)('ws') as typeof WsWebSocket;
type WebSocket = WsWebSocket;

export interface WsWorkerOptions {
  /** ws://host:port or wss://host:port. */
  url: string;
  token: string | null;
  /** The token was given with --token, over TRAINER_TOKEN. */
  tokenFromFlag?: boolean;
  /** Backend to compute on; undefined takes the run's (from the coordinator). */
  backend?: BackendName;
  gpu: number | null;
  /** Compute threads behind the one connection (default 1: compute in this thread). */
  threads?: number;
  name?: string;
  cacheDir: string;
  /**
   * Stop retrying after this long without reaching a coordinator; 0 = never
   * stop; null (the default) = NEVER_JOINED_RETRY_MS before the first join,
   * never after it.
   */
  retryForMs: number | null;
  /** Extra CA certificate for wss with a private certificate. */
  ca?: Buffer;
  log: (line: string) => void;
  /** Abort to leave cleanly. */
  signal?: AbortSignal;
}

const MAX_FRAME_BYTES = 1 << 30;

/**
 * Client socket options. Frames go out with an all-zero mask, which ws then
 * skips XOR-ing on both ends: RFC 6455 masks client frames so that script in
 * a browser cannot steer the bytes a caching proxy sees; a worker is not a
 * browser and sends nothing a third party chose. Masking a gradient frame in
 * JavaScript costs about 0.2 ms on each side per step, on the critical path.
 */
export const WORKER_SOCKET_OPTIONS = {
  maxPayload: MAX_FRAME_BYTES,
  perMessageDeflate: false,
  generateMask: (mask: Buffer): void => void mask.fill(0),
} as const;
const BACKOFF_MIN_MS = 200;

export async function runWsWorker(o: WsWorkerOptions): Promise<void> {
  const compute = new WorkerCompute({ ...(o.backend ? { backend: o.backend } : {}), gpu: o.gpu, threads: o.threads ?? 1, cacheDir: o.cacheDir, log: o.log });
  try {
    await compute.loadGivenBackend();
    await reconnecting(o, compute);
  } finally {
    await compute.close();
  }
}

async function reconnecting(o: WsWorkerOptions, compute: WorkerCompute): Promise<void> {
  const name = o.name ?? defaultWorkerName();
  let backoff = BACKOFF_MIN_MS;
  let lostSince = performance.now();
  let joined = false;
  let told = '';
  /** When retrying ends (Infinity: never): --retry-for-ms, or NEVER_JOINED_RETRY_MS before the first join, from when the link was lost. */
  const giveUpAtMs = () => {
    const limit = o.retryForMs ?? (joined ? 0 : NEVER_JOINED_RETRY_MS);
    return limit > 0 ? lostSince + limit : Number.POSITIVE_INFINITY;
  };
  for (;;) {
    if (o.signal?.aborted) return;
    const { end, opened, error } = await connectOnce(o, compute, name, giveUpAtMs());
    if (end.kind === 'leave') {
      o.log(`leaving: ${end.reason}`);
      const s = compute.staging();
      if (s) o.log(`prefetched inputs: ${s.used} used by their task, ${s.dropped} dropped`);
      return;
    }
    if (end.wasReady) {
      backoff = BACKOFF_MIN_MS;
      lostSince = performance.now();
      joined = true;
      told = '';
    }
    if (o.signal?.aborted) return;
    // Said once per cause: the same refusal every 5 s tells nothing new.
    let cause = opened ? `link to ${o.url} lost (${end.why})` : `cannot connect to ${o.url}: ${describeConnectError(error, o.url, o.ca !== undefined)}`;
    if (!opened && (error as { code?: unknown } | null)?.code === 'ECONNRESET' && o.url.startsWith('ws:')) {
      // A plain server that resets a new connection at once is a coordinator refusing it for now.
      // A TLS server answers ws:// the same way every time: said once, not retried (a Slurm job's
      // workers retried for the whole of TRAINER_RETRY_FOR_MS).
      if (await speaksTls(o.url)) throw new TrainerError('E_USAGE', `cannot connect to ${o.url}: ${tlsServerHint(o.url)}`);
      cause = `cannot connect to ${o.url}: it reset the connection before answering (ECONNRESET): a coordinator refusing connections for now (too many unauthenticated ones: cluster.maxUnauthenticated, cluster.maxUnauthenticatedPerAddress), or not a coordinator`;
    }
    // The other way round: a wss:// worker and a plain coordinator, said once too.
    if (!opened && metPlainServer(error, o.url) && (await speaksPlainHttp(o.url))) {
      throw new TrainerError('E_USAGE', `cannot connect to ${o.url}: ${plainServerHint(o.url)}`);
    }
    const limit = o.retryForMs ?? (joined ? 0 : NEVER_JOINED_RETRY_MS);
    const timedOut = () => {
      const longer = o.retryForMs === null ? `; --retry-for-ms N waits N ms (0: forever)` : '';
      return new TrainerError('E_TIMEOUT', `no coordinator at ${o.url} after ${seconds(limit)}: ${cause.replace(/^cannot connect to \S+: /, '')}${longer}`);
    };
    const deadline = giveUpAtMs();
    if (performance.now() >= deadline) throw timedOut();
    // Without its figures: a refusal's "for another 58001 ms" changes at every try.
    if (cause.replace(/\d+ ms\b/g, 'N ms') !== told) {
      const until = limit > 0 ? `for up to ${seconds(limit)}${o.retryForMs === null ? ' (--retry-for-ms 0: forever)' : ''}` : 'until it answers';
      o.log(`${cause}; retrying ${until}`);
      told = cause.replace(/\d+ ms\b/g, 'N ms');
    }
    // The limit ends the wait for the next try: checked only after that try, it fired up to a
    // backoff (6.25 s) late, and 3.5 s late at --retry-for-ms 3500.
    const waitMs = backoff * (0.75 + Math.random() / 2);
    const leftMs = deadline - performance.now();
    if (leftMs <= waitMs) {
      await sleepUntil(deadline, o.signal);
      if (o.signal?.aborted) return;
      throw timedOut();
    }
    await sleep(waitMs, o.signal);
    if (o.signal?.aborted) return;
    backoff = Math.min(RECONNECT_MAX_MS, backoff * 2);
  }
}

/** "0.4 s", "1.5 s", "60 s": --retry-for-ms 400 was said as "0 s". */
function seconds(ms: number): string {
  return ms < 10_000 ? `${Number((ms / 1000).toFixed(1))} s` : `${Math.round(ms / 1000)} s`;
}

/** Waits `ms`, or until `signal` aborts; its listener goes with the wait (retrying for hours added one each time). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Waits until performance.now() reaches `at`, or until `signal` aborts. A timer may fire up to a
 * millisecond before its delay by performance.now() (libuv counts whole milliseconds from its loop's
 * cached time): --retry-for-ms 1500 gave up after 1,499 ms.
 */
export async function sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
  for (let left = at - performance.now(); left > 0 && !signal?.aborted; left = at - performance.now()) await sleep(Math.ceil(left), signal);
}

/** How one connection ended: the session's end, whether the socket ever opened, and the socket's first error. */
interface LinkEnd {
  end: SessionEnd;
  opened: boolean;
  error: Error | null;
}

/**
 * How long a worker waits for a word from its coordinator before it drops the link and connects
 * again: until the welcome (a server that accepts the connection but never answers, a stopped
 * coordinator) SILENT_BEFORE_WELCOME_MS, then SILENT_HEARTBEATS of the coordinator's pings (it
 * pings every cluster.heartbeatMs; a lost host or a network partition sends no close). Without it,
 * such a worker waited for ever, whatever --retry-for-ms said.
 */
const SILENT_BEFORE_WELCOME_MS = 30_000;
/**
 * What an attempt is given to hear from the coordinator, however short --retry-for-ms is (a slow
 * TLS handshake, a loaded machine): `--retry-for-ms 1`, one try, cut its one attempt at 1 ms and
 * ended with E_TIMEOUT before the coordinator could answer.
 */
const ATTEMPT_MIN_MS = 2000;
const SILENT_HEARTBEATS = 4;
/**
 * And never less than this once joined: a coordinator busy for a moment (its epoch's end, a
 * collection, a loaded machine) pings late, and with a small cluster.heartbeatMs (100 ms in a
 * test on a loaded CI machine) an honest link was dropped after 0.4 s.
 */
const SILENT_JOINED_MIN_MS = 10_000;
const SILENCE_CHECK_MS = 1000;

/** One connection: a socket and the session on it, until the socket closes (or the session fails for good). */
function connectOnce(o: WsWorkerOptions, compute: WorkerCompute, name: string, giveUpAtMs: number): Promise<LinkEnd> {
  return new Promise<LinkEnd>((resolve, reject) => {
    // allowPartialTrustChain: the coordinator's own certificate trusted as given, also one a CA
    // signed (the Slurm script passes the certificate itself; only a self-signed one was trusted).
    const ws = new WebSocket(o.url, { ...WORKER_SOCKET_OPTIONS, ...(o.ca ? { ca: o.ca, allowPartialTrustChain: true } : {}) });
    let lastHeard = performance.now();
    let lastCheck = lastHeard;
    let silence: string | null = null;
    let socket: Socket | null = null;
    let bytesSeen = 0;
    /** When bytes from the coordinator were last seen arriving (null: none yet). */
    let lastBytesMs: number | null = null;
    const readBytes = (now: number) => {
      if (socket === null || socket.bytesRead === bytesSeen) return;
      bytesSeen = socket.bytesRead;
      lastHeard = lastBytesMs = now;
    };
    const watch = setInterval(() => {
      const now = performance.now();
      readBytes(now);
      // This worker is joining or computing (the coordinator says nothing meanwhile), or this thread was
      // busy (a warm-up, a long task) and frames may be waiting unread: the silence is not the coordinator's.
      if (!session.waitingOnCoordinator || now - lastCheck > 2 * SILENCE_CHECK_MS) lastHeard = now;
      lastCheck = now;
      // Before the welcome, no longer than --retry-for-ms either (nor past its end: giveUp below).
      const beforeWelcome = o.retryForMs ? Math.min(SILENT_BEFORE_WELCOME_MS, Math.max(ATTEMPT_MIN_MS, o.retryForMs)) : SILENT_BEFORE_WELCOME_MS;
      const limit = session.heartbeatMs === null ? beforeWelcome : Math.max(SILENT_JOINED_MIN_MS, SILENT_HEARTBEATS * session.heartbeatMs);
      if (now - lastHeard > limit) {
        silence = `no word from the coordinator for ${seconds(limit)}`;
        ws.terminate();
      }
    }, SILENCE_CHECK_MS);
    const attemptMs = performance.now();
    // Retrying ends at giveUpAtMs, and so does this attempt if it has had no welcome by then and
    // hears nothing: left to the check above (its limit counted from the attempt's start, on a 1 s
    // timer), a silent server held the worker's E_TIMEOUT up to a limit and a second past its end.
    // Bytes arriving within the last check's interval are a coordinator talking (a frame on a slow
    // link): the silence rule goes on. An attempt is given ATTEMPT_MIN_MS all the same: one started
    // just before the limit on a silent server may end up to that long after it.
    const giveUp = Number.isFinite(giveUpAtMs)
      ? setTimeout(() => {
          const now = performance.now();
          readBytes(now);
          const talking = lastBytesMs !== null && now - lastBytesMs <= SILENCE_CHECK_MS;
          if (session.heartbeatMs !== null || talking || ws.readyState === WebSocket.CLOSED) return;
          silence = `no word from the coordinator for ${seconds(now - (lastBytesMs ?? attemptMs))}`;
          ws.terminate();
        }, Math.max(0, Math.max(giveUpAtMs, attemptMs + ATTEMPT_MIN_MS) - performance.now()))
      : null;
    const session = new WorkerSession(
      compute,
      {
        send: (frame) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(frame);
        },
        close: (code, reason) => ws.close(code, reason),
        get bufferedAmount() {
          return ws.bufferedAmount;
        },
        get open() {
          return ws.readyState === WebSocket.OPEN;
        },
      },
      { url: o.url, token: o.token, ...(o.tokenFromFlag ? { tokenFromFlag: true } : {}), name, log: o.log, onFatal: reject },
    );
    const onAbort = () => session.leave('worker interrupted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    // Frames are handled strictly in order, even across the awaits of the join.
    let chain = Promise.resolve();
    ws.on('message', (data: Buffer) => {
      lastHeard = lastBytesMs = performance.now();
      chain = chain.then(() => session.receive(data));
    });
    // Bytes of a frame still arriving are a word too: one large frame on a slow link (the fc model's
    // 15 MB of weights at 10 Mbit/s take 12 s) was "silence" until its last byte, and the link dropped.
    // Read off the socket's count, not a listener of its own (one stopped ws from reading frames).
    ws.on('upgrade', (res) => void (socket = res.socket));
    let opened = false;
    let error: Error | null = null;
    ws.on('open', () => void (opened = true));
    ws.on('error', (err) => void (error ??= err)); // 'close' follows and decides.
    ws.on('close', (code, reasonBuf) => {
      clearInterval(watch);
      if (giveUp) clearTimeout(giveUp);
      o.signal?.removeEventListener('abort', onAbort);
      try {
        const end = session.ended(code, reasonBuf.toString());
        if (silence !== null && end.kind === 'dropped') end.why = silence;
        resolve({ end, opened, error: silence !== null && !opened ? new Error(silence) : error });
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** host:pid, a worker's default name. */
export function defaultWorkerName(): string {
  // A hostname need not be ASCII (the hello refused "büro:123", and the worker retried for a minute).
  const host = hostname().replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_WORKER_NAME_CHARS - 12);
  return `${host}:${process.pid}`;
}
