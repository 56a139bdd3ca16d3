/**
 * One connection of a ws worker, the worker's side of the protocol, as an
 * explicit state machine that mirrors the coordinator's connection.ts:
 *
 *   authenticating  challenge: check the protocol, answer with our proof (hello)
 *                   welcome: check the coordinator's proof, prepare backend and model,
 *                   then ready (dataset cached) or dataRequest
 *   joining         dataChunk*: the dataset; with the last one, preparing: checked by size
 *                   and sha256, cached, then ready
 *   ready           weights, task, evalTask, prefetch: compute and answer
 *
 * Every frame passes the one decoder first; then one method per message, and
 * a message out of turn is the coordinator's protocol error. The session knows its link only as send/close, so each transition is
 * testable without a socket (test/transports/ws/worker-session.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { TrainerError, isTrainerError } from '../../shared/errors.js';
import { checkMac, authMac, newNonce } from './auth.js';
import { decodeMessage } from './decode.js';
import { encodeMessage } from './encode.js';
import { CLOSE, closeReason, PROTOCOL_VERSION, assertNever, versionMismatchReason, whyGaveUp, type DatasetInfo, type Message, type MessageOf } from './protocol.js';
import { sha256Hex } from './wire-dataset.js';
import type { WorkTask, WorkerCompute } from './worker-compute.js';

/** This process's id in every hello it sends, the same on every reconnection (protocol.ts hello.instance). */
const PROCESS_INSTANCE = randomBytes(16);

/** The socket, as a session sees it. */
export interface SessionLink {
  /** Sends one frame; nothing once the link is closed. */
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes handed to the socket and not yet written out. */
  readonly bufferedAmount: number;
  readonly open: boolean;
}

export interface SessionOptions {
  /** The coordinator's URL, for messages. */
  url: string;
  token: string | null;
  /** The token was given with --token, over TRAINER_TOKEN (for the message when it is refused). */
  tokenFromFlag?: boolean;
  name: string;
  log: (line: string) => void;
  /** An error that must end the worker, not be retried (wrong token, protocol version, internal). */
  onFatal: (err: TrainerError) => void;
}

/** How a session ended, when it did not end the worker. */
export type SessionEnd = { kind: 'leave'; reason: string } | { kind: 'dropped'; wasReady: boolean; why: string };

type State =
  | { name: 'authenticating'; challenged: boolean }
  /** Welcomed: loading the backend, the model, a cached dataset (or checking and caching one received), compute threads (the coordinator waits for it). */
  | { name: 'preparing' }
  | { name: 'joining'; dataset: DatasetInfo; proofNonce: Uint8Array; chunks: Buffer[]; bytes: number }
  | Ready;

interface Ready {
  name: 'ready';
  weights: { version: number; values: Float32Array } | null;
  queue: { m: WorkTask; weights: Float32Array }[];
  /** Tasks computing now (asynchronously: webgpu, compute threads). */
  running: number;
  /** Examples the coordinator expects to send next: loaded once nothing is queued or running. */
  hint: Int32Array | null;
  /** A turn of drain() is scheduled. */
  draining: boolean;
}

export class WorkerSession {
  private state: State = { name: 'authenticating', challenged: false };
  private readonly nonce = newNonce();
  /** Set when this side (Ctrl-C) or the coordinator (`leave`) ends the session on purpose. */
  private leaving: string | null = null;
  /** How often the coordinator pings, once its welcome said so. */
  heartbeatMs: number | null = null;

  constructor(
    private readonly compute: WorkerCompute,
    private readonly link: SessionLink,
    private readonly o: SessionOptions,
  ) {}

  get stateName(): State['name'] {
    return this.state.name;
  }

  /**
   * Whether this worker now waits on the coordinator, which must then answer or ping: before its
   * welcome, while the dataset comes in (chunks, and pings behind them), and when ready with no
   * task queued or computing. While it prepares (the backend, checking and caching the dataset,
   * the warm-up) or computes, the coordinator sends nothing (it does not ping a busy worker). A
   * coordinator lost mid-download (no close: a lost host) held its worker in the join for ever.
   */
  get waitingOnCoordinator(): boolean {
    const s = this.state;
    return s.name === 'authenticating' || s.name === 'joining' || (s.name === 'ready' && s.queue.length === 0 && s.running === 0);
  }

  /** A frame from the coordinator, as it came off the socket; frames are handed over one at a time, in order. */
  async receive(frame: Uint8Array): Promise<void> {
    try {
      await this.dispatch(decodeMessage(frame, 'coordinator'));
    } catch (err) {
      if (isTrainerError(err, 'E_PROTOCOL')) {
        // Another WebSocket service at that address said so only in msgpack's words, on every retry.
        const s = this.state;
        const foreign = s.name === 'authenticating' && !s.challenged ? ` (its first frame is not a trainer coordinator's: is ${this.o.url} the coordinator's address?)` : '';
        this.o.log(`protocol error from the coordinator: ${err.message}${foreign}`);
        return this.link.close(CLOSE.protocolError, closeReason(err.message));
      }
      this.fail(isTrainerError(err) ? err : new TrainerError('E_INTERNAL', String((err as Error)?.message ?? err)), 1011);
    }
  }

  /** Leaves on purpose (Ctrl-C): tells the coordinator, then closes. */
  leave(reason: string): void {
    this.leaving = 'interrupted';
    this.send({ type: 'leave', reason });
    this.link.close(1000, 'bye');
  }

  /** The link closed with `code`: how the session ended. Throws for ends that must not be retried. */
  ended(code: number, reason: string): SessionEnd {
    if (this.leaving !== null) return { kind: 'leave', reason: this.leaving };
    if (code === CLOSE.shutdown) return { kind: 'leave', reason: reason || 'coordinator done' };
    if (code === CLOSE.authFailed) {
      throw new TrainerError(
        'E_AUTH',
        this.o.token === null
          ? `the coordinator at ${this.o.url} requires a token and this worker has none: set TRAINER_TOKEN or --token`
          : // Told to set TRAINER_TOKEN, a worker whose TRAINER_TOKEN was right and its --token stale pointed nowhere.
            `the coordinator at ${this.o.url} rejected our token: it holds another one (or none); give both the same ${this.o.tokenFromFlag ? "token (this worker's is its --token, which overrides TRAINER_TOKEN)" : 'TRAINER_TOKEN'}`,
      );
    }
    // Stopped, to be resumed: a worker that got as far as its welcome counts as joined and waits for it.
    if (code === CLOSE.stopped) return { kind: 'dropped', wasReady: this.state.name === 'ready', why: `${code} ${reason || 'coordinator stopped'}` };
    // Non-zero, at once: a scheduler then sees workers that did no work (an exit 0 completed the
    // worker Job in Kubernetes, and let a Slurm afterok job go on), and retrying waits for no one.
    if (code === CLOSE.stoppedBeforeRun) {
      const why = whyGaveUp(reason);
      const how = why === null ? 'stopped before the run began (nothing trained, nothing written):' : `gave up before the run began (nothing trained, nothing written): ${why};`;
      throw new TrainerError('E_WORKER_LOST', `the coordinator at ${this.o.url} ${how} no run to wait for; start the workers again with the coordinator`);
    }
    if (code === CLOSE.versionMismatch) throw new TrainerError('E_PROTOCOL', reason);
    if (code === CLOSE.banned) throw new TrainerError('E_WORKER_LOST', `the coordinator refuses this worker for the rest of the run (${reason})`);
    return { kind: 'dropped', wasReady: this.state.name === 'ready' && this.state.weights !== null, why: `${code}${reason ? ` ${reason}` : code === 1006 ? ' connection lost' : ''}` };
  }

  private dispatch(m: Message): Promise<void> | void {
    switch (m.type) {
      case 'challenge':
        return this.onChallenge(m);
      case 'welcome':
        return this.onWelcome(m);
      case 'dataChunk':
        return this.onDataChunk(m);
      case 'weights':
        return this.onWeights(m);
      case 'task':
      case 'evalTask':
        return this.onTask(m);
      case 'prefetch':
        return this.onPrefetch(m);
      case 'ping':
        return this.onPing(m);
      case 'leave':
        return this.onLeave(m);
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
  }

  private outOfTurn(m: Message): TrainerError {
    return new TrainerError('E_PROTOCOL', `${m.type} while ${this.state.name}`);
  }

  private onChallenge(m: MessageOf<'challenge'>): void {
    const s = this.state;
    if (s.name !== 'authenticating' || s.challenged) throw this.outOfTurn(m);
    if (m.protocol !== PROTOCOL_VERSION) {
      return this.fail(new TrainerError('E_PROTOCOL', versionMismatchReason(m.protocol, PROTOCOL_VERSION)), CLOSE.versionMismatch);
    }
    s.challenged = true;
    this.send({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(this.o.token, 'worker', m.nonce), nonce: this.nonce, name: this.o.name, instance: PROCESS_INSTANCE });
  }

  private async onWelcome(m: MessageOf<'welcome'>): Promise<void> {
    const s = this.state;
    if (s.name !== 'authenticating' || !s.challenged) throw this.outOfTurn(m);
    if (!checkMac(this.o.token, 'coordinator', this.nonce, m.mac)) {
      return this.fail(new TrainerError('E_AUTH', `the coordinator at ${this.o.url} does not hold our token`), CLOSE.authFailed);
    }
    this.heartbeatMs = m.heartbeatMs;
    // Not waiting on the coordinator from here: with a cached dataset, compute threads starting for
    // 10 s or more counted as its silence, and the worker dropped its link and started them again.
    this.state = { name: 'preparing' };
    await this.compute.prepare(m);
    if (this.compute.holdsDataset(m.dataset.sha256)) return await this.becomeReady(m.dataset.sha256, m.proofNonce);
    this.state = { name: 'joining', dataset: m.dataset, proofNonce: m.proofNonce, chunks: [], bytes: 0 };
    this.send({ type: 'dataRequest' });
  }

  private async onDataChunk(m: MessageOf<'dataChunk'>): Promise<void> {
    const s = this.state;
    if (s.name !== 'joining') throw this.outOfTurn(m);
    if (m.index !== s.chunks.length) throw new TrainerError('E_PROTOCOL', `unexpected data chunk ${m.index}`);
    // Never hold more than the coordinator declared: a chunk past it ends the session.
    s.bytes += m.bytes.length;
    if (s.bytes > s.dataset.bytes || s.chunks.length >= s.dataset.chunks) {
      throw new TrainerError('E_PROTOCOL', `dataset chunks past the declared ${s.dataset.bytes} bytes in ${s.dataset.chunks} chunks`);
    }
    s.chunks.push(Buffer.from(m.bytes));
    if (s.chunks.length < s.dataset.chunks) return;
    const blob = Buffer.concat(s.chunks);
    // Every chunk is in: from here the worker is busy (hash, cache, warm-up), not waiting on the coordinator.
    this.state = { name: 'preparing' };
    if (blob.length !== s.dataset.bytes || sha256Hex(blob) !== s.dataset.sha256) throw new TrainerError('E_PROTOCOL', 'dataset sha256 mismatch');
    await this.compute.acceptDataset(s.dataset.sha256, blob);
    await this.becomeReady(s.dataset.sha256, s.proofNonce);
  }

  private async becomeReady(sha256: string, proofNonce: Uint8Array): Promise<void> {
    await this.compute.beforeReady();
    this.state = { name: 'ready', weights: null, queue: [], hint: null, draining: false, running: 0 };
    const threads = this.compute.parallelism;
    const proof = this.compute.datasetProof(proofNonce);
    this.send({ type: 'ready', sha256, backend: this.compute.backendKind, proof, ...(threads > 1 ? { threads } : {}) });
  }

  private onWeights(m: MessageOf<'weights'>): void {
    const s = this.state;
    if (s.name !== 'ready') throw this.outOfTurn(m);
    if (s.weights === null) this.o.log(`working (backend ${this.compute.backendName})`);
    s.weights = { version: m.version, values: m.weights };
  }

  private onTask(m: WorkTask): void {
    const s = this.state;
    if (s.name !== 'ready') throw this.outOfTurn(m);
    if (!s.weights || s.weights.version !== m.version) throw new TrainerError('E_PROTOCOL', `task at version ${m.version} without its weights`);
    s.queue.push({ m, weights: s.weights.values });
    this.drain(s, s.queue.length === 1);
  }

  private onPrefetch(m: MessageOf<'prefetch'>): void {
    const s = this.state;
    if (s.name !== 'ready') throw this.outOfTurn(m);
    s.hint = m.indices;
    this.drain(s);
  }

  private onPing(m: MessageOf<'ping'>): void {
    if (this.state.name === 'authenticating') throw this.outOfTurn(m);
    this.send({ type: 'pong', seq: m.seq });
  }

  private onLeave(m: MessageOf<'leave'>): void {
    this.leaving = m.reason;
    this.link.close(1000, 'bye');
  }

  /**
   * Computes queued tasks, as many at once as the worker has compute threads
   * (one, in this thread, by default). A task that finds the worker idle
   * runs at once: frames that came with it (a second task, a prefetch hint)
   * wait in the chain until it is done, which is when they matter. Anything
   * queued behind runs a turn later. Once nothing is queued or running, the
   * hint is loaded. A result computed asynchronously (webgpu, threads) leaves
   * when it is ready, and frames arriving meanwhile just queue.
   */
  private drain(s: Ready, now = false): void {
    if (s.draining) return;
    s.draining = true;
    const work = () => {
      s.draining = false;
      if (!this.link.open) return;
      while (s.running < this.compute.parallelism && s.queue.length > 0) {
        const item = s.queue.shift() as { m: WorkTask; weights: Float32Array };
        let result: Uint8Array | Promise<Uint8Array>;
        try {
          result = this.compute.compute(item.m, item.weights, this.link.bufferedAmount === 0);
        } catch (err) {
          return this.computeFailed(item.m, err);
        }
        if (result instanceof Uint8Array) {
          this.link.send(result);
          // Now, not a turn later: the result is on its way and the next weights cannot be here yet.
          this.prefetchIfIdle(s);
          if (s.queue.length > 0) this.drain(s);
          return;
        }
        s.running++;
        result.then(
          (frame) => {
            s.running--;
            this.link.send(frame);
            this.prefetchIfIdle(s);
            this.drain(s, true);
          },
          (err: unknown) => {
            s.running--;
            this.computeFailed(item.m, err);
          },
        );
      }
      this.prefetchIfIdle(s);
    };
    if (now) work();
    else setImmediate(work);
  }

  /** With nothing queued or computing, loads the hinted examples. */
  private prefetchIfIdle(s: Ready): void {
    if (s.queue.length > 0 || s.running > 0 || s.hint === null) return;
    this.compute.prefetch(s.hint);
    s.hint = null;
  }

  /** A task this worker cannot compute: the coordinator's fault (bad indices), or a backend or compute threads that failed for good. */
  private computeFailed(m: WorkTask, err: unknown): void {
    // A task cut short by the leave itself (Ctrl-C stops the compute threads under it) failed nothing:
    // an interrupted --threads worker said "cannot compute task 755: thread exited with code 1".
    if (this.leaving !== null) return;
    // E_WORKER_LOST: every compute thread of `--threads N` was lost and not replaced (board.ts
    // MAX_THREAD_REPLACEMENTS). The worker ends, so that whoever started it (--procs, a scheduler)
    // sees it; joined again, it failed each task it was given at once.
    if (isTrainerError(err, 'E_BACKEND') || isTrainerError(err, 'E_WORKER_LOST')) return this.fail(err, 1011);
    this.o.log(`cannot compute task ${m.taskId}: ${(err as Error).message}`);
    // The task's id and why: the coordinator counts the workers a task failed on (dispatch.ts).
    this.link.close(CLOSE.protocolError, closeReason(`bad task ${m.taskId}: ${(err as Error).message}`));
  }

  private send(m: Message): void {
    this.link.send(encodeMessage(m));
  }

  private fail(err: TrainerError, code: number): void {
    this.link.close(code, closeReason(err.message));
    this.o.onFatal(err);
  }
}
