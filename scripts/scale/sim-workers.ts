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
 * Why a hand-written WebSocket client (ws-client.ts) rather than `ws` or
 * WorkerSession: the point is the coordinator's cost, so the workers must
 * cost this shared machine as little as possible. With `ws`, each of K
 * workers would reassemble every weights frame into a fresh buffer (1.9 GB a
 * step for `fc` at K = 128) and copy each gradient into the frame it sends.
 * Here a connection reads into one reused buffer, skips the payload of
 * weights frames (a sim worker computes nothing with them), and sends every
 * gradient from one buffer of floats shared by all, with a small tail of its
 * own. The bytes on the wire are those of a real worker.
 */
import { authMac, checkMac, newNonce } from '../../src/transports/ws/auth.js';
import { decodeMessage } from '../../src/transports/ws/decode.js';
import { ARRAY_OFFSET, encodeMessage } from '../../src/transports/ws/encode.js';
import { CLOSE, PROTOCOL_VERSION, type Message, type MessageOf } from '../../src/transports/ws/protocol.js';
import { datasetBlob, datasetProof, sha256Hex } from '../../src/transports/ws/wire-dataset.js';
import { loadRunData } from '../../src/coordinator/run.js';
import { scaleDataConfig } from './coordinator.js';
import { GradientTemplate } from './gradient-template.js';
import { RawWsClient } from './ws-client.js';

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
  /** The run's data, as the coordinator loads it (scaleDataConfig): its blob answers the dataset proof. */
  dataDir: string;
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

/** Messages larger than this are weights (checked by their key) and are counted, not read. */
const KEEP_MAX_BYTES = 64 * 1024;

type Task = MessageOf<'task'> | MessageOf<'evalTask'>;

/** One simulated worker: one connection, the worker's side of the protocol, `threads` simulated compute threads. */
class SimWorker {
  private readonly ws: RawWsClient;
  private readonly nonce = newNonce();
  private readonly queue: Task[] = [];
  private running = 0;
  /** Set once the coordinator has sent us away (leave, or close code 4000). */
  private leaving = false;
  gradients = 0;
  skipped = 0;

  constructor(
    private readonly o: SimOptions,
    private readonly index: number,
    private readonly template: GradientTemplate,
    private readonly data: { blob: Buffer; sha256: string },
    done: (why: string | null) => void,
  ) {
    const i = index;
    this.ws = new RawWsClient(
      o.url,
      o.spreadAddresses ? `127.77.${Math.floor(i / 200)}.${1 + (i % 200)}` : undefined,
      {
        onMessage: (payload) => this.onMessage(decodeMessage(payload, 'coordinator')),
        onSkipped: (head) => {
          // Only weights frames are this large (their key sits in the first 20 bytes, see encode.ts).
          if (!head.subarray(0, ARRAY_OFFSET).includes('weights')) throw new Error('unexpected large frame');
          this.skipped++;
        },
        onCloseFrame: (code) => {
          if (code === CLOSE.shutdown) this.leaving = true;
        },
        onEnd: (error) => done(error ?? (this.leaving ? null : 'closed without a leave')),
      },
      KEEP_MAX_BYTES,
    );
  }

  get bytesIn(): number {
    return this.ws.bytesIn;
  }

  get bytesOut(): number {
    return this.ws.bytesOut;
  }

  private onMessage(m: Message): void {
    switch (m.type) {
      case 'challenge':
        return this.send({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(this.o.token, 'worker', m.nonce), nonce: this.nonce, name: `sim${this.index}`, instance: this.nonce });
      case 'welcome':
        if (!checkMac(this.o.token, 'coordinator', this.nonce, m.mac)) throw new Error('the coordinator does not hold our token');
        if (m.modelSize !== this.o.modelSize) throw new Error(`model of ${m.modelSize} parameters, expected ${this.o.modelSize}`);
        // As a worker whose cache holds the dataset: it proves it holds the bytes and is ready.
        if (m.dataset.sha256 !== this.data.sha256) throw new Error('the coordinator offers another dataset than the one loaded here');
        return this.send({
          type: 'ready',
          sha256: m.dataset.sha256,
          backend: 'sim',
          proof: datasetProof(this.data.blob, m.proofNonce),
          ...(this.o.threads > 1 ? { threads: this.o.threads } : {}),
        });
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
        throw new Error(`unexpected ${m.type}`);
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
        if (t.type === 'task') {
          // Deterministic in the task, as a real backend's result is; the times as a real worker gives them.
          const count = t.indices.length;
          const tail = this.template.tail({
            taskId: t.taskId,
            step: t.step,
            version: t.version,
            lossSum: count * 2.302585,
            correct: Math.floor(count / 10),
            count,
            computeMs: performance.now() - t0,
            startedAt: performance.timeOrigin + t0,
          });
          this.ws.send([this.template.prefix, tail]);
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
    this.ws.send([Buffer.from(encodeMessage(m))]);
  }
}

/** Runs `o.count` simulated workers until the coordinator sends them away; resolves with what they cost. */
export async function runSimWorkers(o: SimOptions): Promise<SimResult> {
  const template = new GradientTemplate(o.modelSize);
  const blob = datasetBlob(await loadRunData(scaleDataConfig(o.dataDir)));
  const data = { blob, sha256: sha256Hex(blob) };
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
        workers.push(new SimWorker(o, i, template, data, onDone(i)));
      }
    } catch (err) {
      reject(err);
    }
  });
}
