/**
 * The worker process: connect to a coordinator, prove the token (and check
 * the coordinator's proof), hold the dataset (from the cache or the wire),
 * then compute whatever tasks arrive with the same MicroBatchComputer every
 * pool uses. A dropped link is retried with backoff; a `leave` from the
 * coordinator, an auth failure or Ctrl-C ends the worker.
 */
import { hostname } from 'node:os';
import WebSocket from 'ws';
import { selectBackend, type SelectedBackend } from '../../worker/backend.js';
import type { BackendName } from '../../shared/config.js';
import type { Normalization } from '../../data/normalize.js';
import { TrainerError, isTrainerError } from '../../shared/errors.js';
import { MicroBatchComputer } from '../../worker/gradient.js';
import { LARGE_FRAME_BYTES, tuneHeapGrowthForStreaming } from './heap-growth.js';
import { getModel } from '../../worker/model.js';
import { decodeMessage } from './decode.js';
import { CLOSE, closeReason, PROTOCOL_VERSION, assertNever, type Message, type MessageOf } from './protocol.js';
import { ArrayFrame, encodeMessage } from './encode.js';
import { parseDatasetBlob, sha256Hex, type WireDatasets } from './wire-dataset.js';
import { authMac, checkMac, newNonce } from './auth.js';
import { readCachedBlob, writeCachedBlob } from './dataset-cache.js';

export interface WsWorkerOptions {
  /** ws://host:port or wss://host:port. */
  url: string;
  token: string | null;
  /** Backend to compute on; undefined takes the run's (from the coordinator). */
  backend?: BackendName;
  gpu: number | null;
  name?: string;
  cacheDir: string;
  /** Stop retrying after this long without reaching a coordinator; 0 = never stop. */
  retryForMs: number;
  /** Extra CA certificate for wss with a private certificate. */
  ca?: Buffer;
  log: (line: string) => void;
  /** Abort to leave cleanly. */
  signal?: AbortSignal;
}

type SessionEnd = { kind: 'leave'; reason: string } | { kind: 'dropped'; wasReady: boolean; why: string };

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
const BACKOFF_MAX_MS = 5000;

export async function runWsWorker(o: WsWorkerOptions): Promise<void> {
  const state = new WorkerState(o);
  let backoff = BACKOFF_MIN_MS;
  let lostSince = performance.now();
  for (;;) {
    if (o.signal?.aborted) return;
    const end = await state.session();
    if (end.kind === 'leave') {
      o.log(`leaving: ${end.reason}`);
      const s = state.staging();
      if (s) o.log(`prefetched inputs: ${s.used} used by their task, ${s.dropped} dropped`);
      return;
    }
    if (end.wasReady) {
      backoff = BACKOFF_MIN_MS;
      lostSince = performance.now();
    }
    if (o.signal?.aborted) return;
    if (o.retryForMs > 0 && performance.now() - lostSince > o.retryForMs) {
      throw new TrainerError('E_TIMEOUT', `no coordinator at ${o.url} for ${o.retryForMs} ms (${end.why})`);
    }
    o.log(`link to ${o.url} lost (${end.why}); retrying in ${backoff} ms`);
    await sleep(backoff * (0.75 + Math.random() / 2), o.signal);
    backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

/** What survives reconnects: backend, dataset, compiled computer. */
class WorkerState {
  private backend: SelectedBackend | null = null;
  private data: { sha256: string; sets: WireDatasets } | null = null;
  private computer: MicroBatchComputer | null = null;
  private computerKey = '';
  /** The gradient frame: computed into in place, its buffer reused once the socket has sent the last one. */
  private gradientFrame: ArrayFrame | null = null;
  private readonly name: string;

  constructor(private readonly o: WsWorkerOptions) {
    this.name = o.name ?? `${hostname()}:${process.pid}`;
  }

  session(): Promise<SessionEnd> {
    const o = this.o;
    return new Promise<SessionEnd>((resolve, reject) => {
      const ws = new WebSocket(o.url, { ...WORKER_SOCKET_OPTIONS, ...(o.ca ? { ca: o.ca } : {}) });
      const myNonce = newNonce();
      let ready = false;
      let leaving: string | null = null;
      let weights: { version: number; values: Float32Array } | null = null;
      let chunks: Buffer[] = [];
      let expected: MessageOf<'welcome'>['dataset'] | null = null;
      const queue: { m: MessageOf<'task'> | MessageOf<'evalTask'>; weights: Float32Array }[] = [];
      /** Examples the coordinator expects to send next: loaded once the queue is empty. */
      let hint: Int32Array | null = null;
      let draining = false;

      const sendFrame = (frame: Uint8Array) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame);
      };
      const send = (m: Message) => sendFrame(encodeMessage(m));
      const fail = (err: TrainerError, code: number) => {
        ws.close(code, closeReason(err.message));
        reject(err);
      };
      const onAbort = () => {
        leaving = 'interrupted';
        send({ type: 'leave', reason: 'worker interrupted' });
        ws.close(1000, 'bye');
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });

      // A task that finds the worker idle runs at once: frames that came with
      // it (a second task, a prefetch hint) wait in the chain until it is done,
      // which is when they matter. Anything queued behind runs a turn later.
      const drain = (now = false) => {
        if (draining) return;
        draining = true;
        const work = () => {
          draining = false;
          if (ws.readyState !== WebSocket.OPEN) return;
          const item = queue.shift();
          if (!item) {
            const indices = hint;
            hint = null;
            if (indices) this.prefetch(indices);
            return;
          }
          try {
            sendFrame(this.compute(item.m, item.weights, ws.bufferedAmount === 0));
          } catch (err) {
            o.log(`cannot compute task ${item.m.taskId}: ${(err as Error).message}`);
            return void ws.close(CLOSE.protocolError, 'bad task');
          }
          if (queue.length === 0 && hint) {
            // Now, not a turn later: the result is on its way and the next weights cannot be here yet.
            this.prefetch(hint);
            hint = null;
          }
          if (queue.length > 0) drain();
        };
        if (now) work();
        else setImmediate(work);
      };

      const handle = async (m: Message): Promise<void> => {
        switch (m.type) {
          case 'challenge':
            if (m.protocol !== PROTOCOL_VERSION) {
              return fail(new TrainerError('E_PROTOCOL', `coordinator speaks protocol ${m.protocol}, this worker ${PROTOCOL_VERSION}`), CLOSE.versionMismatch);
            }
            return send({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(o.token, 'worker', m.nonce), nonce: myNonce, name: this.name });
          case 'welcome':
            if (!checkMac(o.token, 'coordinator', myNonce, m.mac)) {
              return fail(new TrainerError('E_AUTH', `the coordinator at ${o.url} does not hold our token`), CLOSE.authFailed);
            }
            await this.prepare(m);
            if (this.data?.sha256 === m.dataset.sha256) {
              return send({ type: 'ready', sha256: m.dataset.sha256, backend: (this.backend as SelectedBackend).name });
            }
            expected = m.dataset;
            chunks = [];
            return send({ type: 'dataRequest' });
          case 'dataChunk': {
            if (!expected || m.index !== chunks.length) throw new TrainerError('E_PROTOCOL', `unexpected data chunk ${m.index}`);
            chunks.push(Buffer.from(m.bytes));
            if (chunks.length < expected.chunks) return;
            const blob = Buffer.concat(chunks);
            chunks = [];
            if (blob.length !== expected.bytes || sha256Hex(blob) !== expected.sha256) throw new TrainerError('E_PROTOCOL', 'dataset sha256 mismatch');
            this.data = { sha256: expected.sha256, sets: parseDatasetBlob(blob) };
            await writeCachedBlob(o.cacheDir, expected.sha256, blob).catch((err: Error) => o.log(`cannot cache the dataset: ${err.message}`));
            o.log(`dataset ${expected.sha256.slice(0, 12)} received (${blob.length} bytes)`);
            send({ type: 'ready', sha256: expected.sha256, backend: (this.backend as SelectedBackend).name });
            expected = null;
            return;
          }
          case 'weights':
            weights = { version: m.version, values: m.weights };
            if (!ready) o.log(`working (backend ${this.backend?.name})`);
            ready = true;
            return;
          case 'task':
          case 'evalTask':
            if (!weights || weights.version !== m.version) throw new TrainerError('E_PROTOCOL', `task at version ${m.version} without its weights`);
            queue.push({ m, weights: weights.values });
            return drain(queue.length === 1);
          case 'prefetch':
            hint = m.indices;
            return drain();
          case 'ping':
            return send({ type: 'pong', seq: m.seq });
          case 'leave':
            leaving = m.reason;
            return void ws.close(1000, 'bye');
          case 'hello':
          case 'dataRequest':
          case 'ready':
          case 'gradient':
          case 'evalResult':
          case 'pong':
            throw new TrainerError('E_PROTOCOL', `coordinator sent ${m.type}`);
          default:
            return assertNever(m);
        }
      };

      // Frames are handled strictly in order, even across the awaits of the join.
      let chain = Promise.resolve();
      ws.on('message', (data: Buffer) => {
        chain = chain.then(async () => {
          try {
            await handle(decodeMessage(data, 'coordinator'));
          } catch (err) {
            if (isTrainerError(err, 'E_PROTOCOL')) {
              o.log(`protocol error from the coordinator: ${err.message}`);
              return void ws.close(CLOSE.protocolError, closeReason(err.message));
            }
            const e = isTrainerError(err) ? err : new TrainerError('E_INTERNAL', String((err as Error)?.message ?? err));
            fail(e, 1011);
          }
        });
      });
      ws.on('error', () => {}); // 'close' follows and decides.
      ws.on('close', (code, reasonBuf) => {
        o.signal?.removeEventListener('abort', onAbort);
        const reason = reasonBuf.toString();
        if (leaving !== null) return resolve({ kind: 'leave', reason: leaving });
        if (code === CLOSE.shutdown) return resolve({ kind: 'leave', reason: reason || 'coordinator done' });
        if (code === CLOSE.authFailed) return reject(new TrainerError('E_AUTH', `the coordinator rejected our token (${reason})`));
        if (code === CLOSE.versionMismatch) return reject(new TrainerError('E_PROTOCOL', reason));
        resolve({ kind: 'dropped', wasReady: ready, why: `${code}${reason ? ` ${reason}` : ''}` });
      });
    });
  }

  /** Backend (once), computer for the run's model and normalisation, dataset from the cache. */
  private async prepare(w: MessageOf<'welcome'>): Promise<void> {
    if (!this.backend) {
      this.backend = await selectBackend(this.o.backend ?? w.backend, this.o.gpu);
      this.o.log(`backend: ${this.backend.name}${this.backend.detail ? ` (${this.backend.detail})` : ''}`);
    }
    const norm: Normalization = { mean: w.mean, std: w.std };
    const key = JSON.stringify([w.model, w.mean, w.std, w.maxBatch]);
    if (this.computerKey !== key) {
      const model = getModel(w.model);
      if (model.size !== w.modelSize) throw new TrainerError('E_PROTOCOL', `model ${w.model} has ${model.size} parameters here, ${w.modelSize} at the coordinator`);
      if (model.size * 4 >= LARGE_FRAME_BYTES) tuneHeapGrowthForStreaming();
      this.computer = new MicroBatchComputer(model, norm, w.maxBatch);
      this.computerKey = key;
    }
    if (this.data?.sha256 !== w.dataset.sha256) {
      const cached = await readCachedBlob(this.o.cacheDir, w.dataset.sha256);
      if (cached) {
        this.data = { sha256: w.dataset.sha256, sets: parseDatasetBlob(cached) };
        this.o.log(`dataset ${w.dataset.sha256.slice(0, 12)} from the cache`);
      }
    }
  }

  /** How prefetched inputs fared so far, once there is a computer. */
  staging(): { used: number; dropped: number } | null {
    return this.computer ? { ...this.computer.staging } : null;
  }

  /** Loads the examples of a task expected next; a hint only, so a bad one is just dropped. */
  private prefetch(indices: Int32Array): void {
    const train = this.data?.sets.train;
    if (!this.computer || !train) return;
    try {
      this.computer.stage(train, indices); // checks the indices; on failure nothing is staged
    } catch (err) {
      this.o.log(`cannot prefetch: ${(err as Error).message}`);
    }
  }

  /** The result frame of a task; `reuse`: the socket holds no unsent bytes, so the last gradient frame's buffer is free. */
  private compute(m: MessageOf<'task'> | MessageOf<'evalTask'>, weights: Float32Array, reuse: boolean): Uint8Array {
    const computer = this.computer as MicroBatchComputer;
    const sets = (this.data as { sets: WireDatasets }).sets;
    const set = m.type === 'task' || m.split === 'train' ? sets.train : sets.val;
    for (const i of m.indices) if (i >= set.count) throw new TrainerError('E_PROTOCOL', `index ${i} past the dataset (${set.count})`);
    const t0 = performance.now();
    if (m.type === 'evalTask') {
      const s = computer.evaluate(weights, set, m.indices);
      return encodeMessage({ type: 'evalResult', taskId: m.taskId, version: m.version, ...s });
    }
    if (this.gradientFrame?.length !== computer.model.size) this.gradientFrame = new ArrayFrame('gradient', computer.model.size);
    const s = computer.gradient(weights, set, m.indices, this.gradientFrame.floats(reuse));
    const fields: Omit<MessageOf<'gradient'>, 'gradient'> = { type: 'gradient', taskId: m.taskId, step: m.step, version: m.version, ...s, computeMs: performance.now() - t0 };
    return this.gradientFrame.finish(fields);
  }
}
