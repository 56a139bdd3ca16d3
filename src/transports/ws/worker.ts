/**
 * The worker process (`trainer worker`): connect to a coordinator and run one
 * session (worker-session.ts: the protocol) per connection. What survives
 * reconnects is a WorkerCompute: the backend, the dataset (from the cache or
 * the wire), the MicroBatchComputer every pool uses, and the gradient frame
 * it computes into. A connection that fails is retried with backoff, its
 * cause said once in plain words (connect-error.ts); a worker that has never
 * joined gives up after NEVER_JOINED_RETRY_MS, one that has keeps retrying.
 * A `leave` from the coordinator, an auth failure or Ctrl-C ends the worker.
 */
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import type WsWebSocket from 'ws';
import type { Normalization } from '../../data/normalize.js';
import type { BackendName } from '../../shared/config.js';
import { TrainerError } from '../../shared/errors.js';
import { selectBackend, type SelectedBackend } from '../../worker/backend.js';
import { MicroBatchComputer, type BatchStats } from '../../worker/gradient.js';
import { getModel, type ModelSpec } from '../../worker/model.js';
import { ThreadEngine } from '../threads/engine.js';
import { describeConnectError, metPlainServer, plainServerHint, speaksPlainHttp, speaksTls, tlsServerHint } from './connect-error.js';
import { readCachedBlob, writeCachedBlob } from './dataset-cache.js';
import { ArrayFrame, encodeMessage } from './encode.js';
import { LARGE_FRAME_BYTES, tuneHeapGrowthForStreaming } from './heap-growth.js';
import { MAX_WORKER_NAME_CHARS, NEVER_JOINED_RETRY_MS, RECONNECT_MAX_MS, type MessageOf } from './protocol.js';
import { datasetProof, parseDatasetBlob, type WireDatasets } from './wire-dataset.js';
import { WorkerSession, type SessionEnd } from './worker-session.js';
import { microBatchSizes, warmUp } from '../../worker/warm-up.js';

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
    let cause = opened ? `link to ${o.url} lost (${end.why})` : `cannot connect to ${o.url}: ${describeConnectError(error, o.url)}`;
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
    await sleep(Math.min(waitMs, leftMs), o.signal);
    if (o.signal?.aborted) return;
    if (leftMs <= waitMs) throw timedOut();
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

export interface ComputeOptions {
  /** Backend to compute on; undefined takes the run's (from the coordinator). */
  backend?: BackendName;
  gpu: number | null;
  /** Compute threads behind this one connection (`--threads N`); 1 computes in this thread. */
  threads: number;
  cacheDir: string;
  log: (line: string) => void;
}

export type WorkTask = MessageOf<'task'> | MessageOf<'evalTask'>;

/** The run a worker prepares for: what its welcome said. */
interface RunSpec {
  key: string;
  model: ModelSpec;
  norm: Normalization;
  backend: BackendName;
  maxBatch: number;
  /** The training micro-batch size, to warm up with. */
  microBatch: number;
}

export class WorkerCompute {
  private backend: SelectedBackend | null = null;
  private data: { sha256: string; blob: Uint8Array; sets: WireDatasets } | null = null;
  private run: RunSpec | null = null;
  /** With one thread: this thread's computer. */
  private computer: MicroBatchComputer | null = null;
  /** With several: the threads, for the run and dataset they were started for. */
  private engine: { engine: ThreadEngine; key: string } | null = null;
  /** Threads being started: a session that dropped meanwhile and came back waits for them (it started a second set). */
  private engineStart: { key: string; started: Promise<void> } | null = null;
  /** The run key and dataset this thread's computer has warmed up on. */
  private warmedUp = '';
  /** The gradient frame: computed into in place, its buffer reused once the socket has sent the last one. */
  private gradientFrame: ArrayFrame | null = null;

  constructor(private readonly o: ComputeOptions) {}

  /** The backend in use, once a welcome has been prepared for. */
  get backendName(): string {
    return this.backend?.name ?? this.engine?.engine.backendKind.split(' ')[0] ?? '?';
  }

  /** What the coordinator compares for parity: the backend and, on a GPU, the device (at most 64 characters). */
  get backendKind(): string {
    return (this.engine?.engine.backendKind ?? this.backend?.kind ?? '?').slice(0, 64);
  }

  /** Tasks computed at once. */
  get parallelism(): number {
    return this.engine?.engine.threads ?? 1;
  }

  /** Backend (once, in this thread when it computes here), computer for the run's model and normalisation, dataset from the cache. */
  async prepare(w: MessageOf<'welcome'>): Promise<void> {
    const key = JSON.stringify([w.model, w.mean, w.std, w.maxBatch, w.microBatch, w.backend]);
    if (this.run?.key !== key) {
      const model = getModel(w.model);
      if (model.size !== w.modelSize) throw new TrainerError('E_PROTOCOL', `model ${w.model} has ${model.size} parameters here, ${w.modelSize} at the coordinator`);
      if (model.size * 4 >= LARGE_FRAME_BYTES) tuneHeapGrowthForStreaming();
      this.run = { key, model, norm: { mean: w.mean, std: w.std }, backend: this.o.backend ?? w.backend, maxBatch: w.maxBatch, microBatch: w.microBatch };
      this.computer = null;
    }
    if (this.o.threads === 1) {
      if (!this.backend) {
        this.backend = await selectBackend(this.run.backend, this.o.gpu);
        this.o.log(`backend: ${this.backend.name}${this.backend.detail ? ` (${this.backend.detail})` : ''}`);
      }
      this.computer ??= new MicroBatchComputer(this.run.model, this.run.norm, this.run.maxBatch);
    }
    if (this.data?.sha256 !== w.dataset.sha256) {
      const cached = await readCachedBlob(this.o.cacheDir, w.dataset.sha256);
      if (cached && 'corrupt' in cached) {
        this.o.log(`dataset ${w.dataset.sha256.slice(0, 12)}: the cached copy ${cached.corrupt} does not match its sha256; fetching it again (it replaces the file)`);
      } else if (cached) {
        this.data = { sha256: w.dataset.sha256, blob: cached.blob, sets: parseDatasetBlob(cached.blob) };
        this.o.log(`dataset ${w.dataset.sha256.slice(0, 12)} from the cache`);
      }
    }
  }

  /** Before saying ready: with several threads, they start (once per run and dataset) and load their backend. */
  async beforeReady(): Promise<void> {
    const { run, data } = this;
    if (!run || !data) return;
    const key = `${run.key} ${data.sha256}`;
    if (this.o.threads === 1) {
      // Once per run and dataset, as the threads do (worker/warm-up.ts): the first epoch at full speed.
      if (this.computer && this.warmedUp !== key) {
        const t0 = performance.now();
        const n = warmUp(this.computer, data.sets.train, microBatchSizes(run.microBatch, 1, run.maxBatch), run.maxBatch);
        this.warmedUp = key;
        if (n > 0) this.o.log(`warmed up: ${n} gradients of ${run.microBatch} examples in ${Math.round(performance.now() - t0)} ms`);
      }
      return;
    }
    if (this.engine?.key === key) return;
    if (this.engineStart?.key === key) return this.engineStart.started;
    const started = this.startEngine(key, run, data.sets);
    this.engineStart = { key, started };
    try {
      await started;
    } finally {
      if (this.engineStart?.started === started) this.engineStart = null;
    }
  }

  private async startEngine(key: string, run: RunSpec, sets: WireDatasets): Promise<void> {
    await this.engine?.engine.close();
    this.engine = null;
    const engine = await ThreadEngine.start({ threads: this.o.threads, backend: run.backend, gpu: this.o.gpu, model: run.model, normalization: run.norm, data: sets, maxBatch: run.maxBatch, microBatch: run.microBatch });
    this.engine = { engine, key };
    const cores = engine.cores();
    this.o.log(`${engine.threads} compute threads, backend ${engine.backendKind}${cores.length > 0 ? `, pinned to cores ${cores.join(', ')}` : ''}`);
  }

  holdsDataset(sha256: string): boolean {
    return this.data?.sha256 === sha256;
  }

  /** Proof of holding the dataset's bytes, for the coordinator's `nonce` (wire-dataset.ts). */
  datasetProof(nonce: Uint8Array): Uint8Array {
    if (!this.data) throw new TrainerError('E_INTERNAL', 'dataset proof asked for before the dataset is held');
    return datasetProof(this.data.blob, nonce);
  }

  /** A dataset received whole and checked: kept, and cached for the next run. */
  async acceptDataset(sha256: string, blob: Buffer): Promise<void> {
    this.data = { sha256, blob, sets: parseDatasetBlob(blob) };
    await writeCachedBlob(this.o.cacheDir, sha256, blob).catch((err: Error) => this.o.log(`cannot cache the dataset: ${err.message}`));
    this.o.log(`dataset ${sha256.slice(0, 12)} received (${blob.length} bytes)`);
  }

  /** How prefetched inputs fared so far, once there is a computer. */
  staging(): { used: number; dropped: number } | null {
    return this.computer ? { ...this.computer.staging } : null;
  }

  /** Loads the examples of a task expected next; a hint only, so a bad one is just dropped (threads load their own). */
  prefetch(indices: Int32Array): void {
    const train = this.data?.sets.train;
    if (!this.computer || !train) return;
    try {
      this.computer.stage(train, indices); // checks the indices; on failure nothing is staged
    } catch (err) {
      this.o.log(`cannot prefetch: ${(err as Error).message}`);
    }
  }

  /**
   * The result frame of a task; `reuse`: the socket holds no unsent bytes, so
   * the last gradient frame's buffer is free. Synchronous on backends that
   * read back synchronously in this thread (the frame leaves at once), a
   * promise on webgpu and with compute threads.
   */
  compute(m: WorkTask, weights: Float32Array, reuse: boolean): Uint8Array | Promise<Uint8Array> {
    const { run, data } = this;
    if (!run || !data) throw new TrainerError('E_PROTOCOL', `task ${m.taskId} before the worker joined`);
    const set = m.type === 'task' || m.split === 'train' ? data.sets.train : data.sets.val;
    for (const i of m.indices) if (i >= set.count) throw new TrainerError('E_PROTOCOL', `index ${i} past the dataset (${set.count})`);
    const t0 = performance.now();
    const engine = this.engine?.engine;
    if (m.type === 'evalTask') {
      const evalFrame = (s: BatchStats) => encodeMessage({ type: 'evalResult', taskId: m.taskId, version: m.version, ...s });
      if (engine) return engine.evaluate(m.version, weights, m.split, m.indices).then(evalFrame);
      const computer = this.computer as MicroBatchComputer;
      return computer.readsBackSync ? evalFrame(computer.evaluate(weights, set, m.indices)) : computer.evaluateAsync(weights, set, m.indices).then(evalFrame);
    }
    // Several tasks compute at once with threads: each result gets a frame of its own.
    if (engine || this.gradientFrame?.length !== run.model.size) this.gradientFrame = new ArrayFrame('gradient', run.model.size);
    const frame = this.gradientFrame;
    const out = frame.floats(reuse && !engine);
    const gradientFrame = (s: BatchStats) => frame.finish({ type: 'gradient', taskId: m.taskId, step: m.step, version: m.version, ...s, computeMs: performance.now() - t0, startedAt: performance.timeOrigin + t0 });
    if (engine) return engine.gradient(m.version, weights, m.indices, out).then(gradientFrame);
    const computer = this.computer as MicroBatchComputer;
    return computer.readsBackSync ? gradientFrame(computer.gradient(weights, set, m.indices, out)) : computer.gradientAsync(weights, set, m.indices, out).then(gradientFrame);
  }

  async close(): Promise<void> {
    await this.engine?.engine.close();
    this.engine = null;
  }
}

/** host:pid, a worker's default name. */
export function defaultWorkerName(): string {
  // A hostname need not be ASCII (the hello refused "büro:123", and the worker retried for a minute).
  const host = hostname().replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_WORKER_NAME_CHARS - 12);
  return `${host}:${process.pid}`;
}
