/** Shared set-up of the WebSocket tests: real worker processes on 127.0.0.1. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { runTraining, type RunOptions } from '../../../src/coordinator/run.js';
import type { WsPool } from '../../../src/transports/ws/pool.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { MAIN_JS, wsPoolFactory, type WsFactoryOptions } from '../../../src/transports/ws/launch.js';
import { type Config } from '../../../src/shared/config.js';
import { mergeConfig } from '../../../src/shared/config-values.js';
import { createInProcessPool } from '../../../src/transports/in-process.js';
import type { AddressInfo } from 'node:net';
import WebSocketClient, { WebSocketServer, type WebSocket } from 'ws';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { CLOSE, PROTOCOL_VERSION, type Message, type MessageOf } from '../../../src/transports/ws/protocol.js';
import { datasetProof, sha256Hex } from '../../../src/transports/ws/wire-dataset.js';
import { getModel } from '../../../src/worker/model.js';
import { quietLog, smallConfig } from '../../helpers.js';

export const TOKEN = 'test-token-0123456789';

/** 400 examples in batches of 64: 7 steps an epoch, the last one of 16; 4 micro-batches a step. */
export function wsConfig(dir: string, name: string, over: object = {}): Config {
  // Merged key by key: spread, a test's `cluster: { verify: 1 }` replaced the whole section, and its
  // run went out as cluster.transport local (refused with verify) without these timeouts.
  const ws = {
    run: { name },
    data: { synthetic: { trainSize: 400, valSize: 100 } },
    train: { epochs: 2, microBatches: 4 },
    eval: { every: 2, batchSize: 50 },
    cluster: { transport: 'ws', workers: 2, heartbeatMs: 500, stepTimeoutMs: 20_000, handshakeTimeoutMs: 2000, noWorkerTimeoutMs: 5000 },
  };
  return smallConfig(dir, mergeConfig(ws, over) as object);
}

/** sha256 of the weights of the same run on the in-process pool. */
export async function referenceSha(config: Config): Promise<string> {
  const c = { ...config, run: { ...config.run, name: `${config.run.name}-reference` } };
  const r = await runTraining({ config: c, resume: false, createPool: createInProcessPool as PoolFactory, log: quietLog });
  return r.weightsSha256 as string;
}

export interface Spawned {
  child: ChildProcess;
  /** stderr and stdout so far, as they came. */
  output(): string;
  exited: Promise<number | null>;
}

/** `trainer worker` as a real child process. */
export function spawnWorker(url: string, dir: string, name: string, extra: string[] = [], token: string | null = TOKEN, o: Parameters<typeof spawnMain>[2] = {}): Spawned {
  const retry = extra.includes('--retry-for-ms') ? [] : ['--retry-for-ms', '15000'];
  const backend = extra.includes('--backend') ? [] : ['--backend', 'wasm'];
  return spawnMain(['worker', '--connect', url.replace(/^ws:\/\//, ''), ...backend, '--name', name, ...retry, ...extra], {
    TRAINER_CACHE_DIR: join(dir, 'cache', name),
    ...(token !== null ? { TRAINER_TOKEN: token } : {}),
  }, o);
}

const ROGUE_JS = new URL('./rogue-worker.js', import.meta.url).pathname;

/** A token-holding worker that misbehaves as `mode` says (rogue-worker.ts), as a real child process. */
export function spawnRogue(url: string, dir: string, mode: string, name: string, env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, [ROGUE_JS, url.startsWith('ws') ? url : `ws://${url}`, mode, name], {
    env: { ...process.env, TRAINER_TOKEN: TOKEN, TRAINER_CACHE_DIR: join(dir, 'cache', name), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let out = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    if (process.env.TRAINER_TEST_LOG) process.stderr.write(s);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/**
 * `trainer ARGS` as a real child process. `o.through`: a command that runs it (`ip netns exec NS`,
 * which execs it: the child's pid is trainer's); `o.node`: the Node.js binary (this process's).
 */
export function spawnMain(args: string[], env: Record<string, string> = {}, o: { through?: string[]; node?: string } = {}): Spawned {
  const [command, ...before] = [...(o.through ?? []), o.node ?? process.execPath];
  const child = spawn(command as string, [...before, MAIN_JS, ...args], {
    env: { ...process.env, TRAINER_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (s: string) => {
    out += s;
    if (process.env.TRAINER_TEST_LOG) process.stderr.write(`[${args[0]}] ${s}`);
  };
  child.stderr?.setEncoding('utf8').on('data', onData);
  child.stdout?.setEncoding('utf8').on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** How a test trains over a ws pool: who starts the workers once it listens, and what it watches. */
export interface WsTraining {
  /** Workers to wait for before the first step. */
  minWorkers: number;
  /** Starts the workers, given the pool's URL. */
  spawn: (url: string) => void;
  log?: (line: string) => void;
  extra?: Partial<import('../../../src/transports/ws/pool.js').WsPoolOptions>;
  onPool?: (pool: WsPool) => void;
  onStep?: RunOptions['onStep'];
  onStepTiming?: RunOptions['onStepTiming'];
}

/** The ws pool factory of the tests: 127.0.0.1, a free port, the test's token. */
export function loopbackWsPool(o: Omit<WsFactoryOptions, 'host' | 'port' | 'token'>): PoolFactory {
  return wsPoolFactory({ host: '127.0.0.1', port: 0, token: TOKEN, ...o });
}

/** Trains `config` over a ws pool on 127.0.0.1 with the test's token. */
export function trainOverWs(config: Config, t: WsTraining) {
  return runTraining({
    config,
    resume: false,
    log: t.log ?? quietLog,
    ...(t.onStep ? { onStep: t.onStep } : {}),
    ...(t.onStepTiming ? { onStepTiming: t.onStepTiming } : {}),
    createPool: loopbackWsPool({
      minWorkers: t.minWorkers,
      onListening: (url) => t.spawn(url),
      ...(t.onPool ? { onPool: t.onPool } : {}),
      ...(t.extra ? { extra: t.extra } : {}),
    }),
  });
}

/**
 * Trains `config` over a ws pool on 127.0.0.1 with a rogue worker (rogue-worker.ts `mode`, named
 * `name`) spawned alone once the pool listens; the test adds honest workers at `url()` when it
 * wants them. `gone` maps each worker's name to its close code, `lines` is the run's log.
 */
export function trainWithRogueFirst(config: Config, dir: string, o: { minWorkers: number; mode: string; name: string; env?: Record<string, string> }) {
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const names = new Map<string, string>();
  const gone = new Map<string, number>();
  let url = '';
  const run = trainOverWs(config, {
    minWorkers: o.minWorkers,
    spawn: (u) => {
      url = u;
      procs.push(spawnRogue(u, dir, o.mode, o.name, o.env));
    },
    log: (l) => lines.push(l),
    extra: {
      onEvent: (e) => {
        if (e.kind === 'ready') names.set(e.worker, e.name);
        if (e.kind === 'evicted') gone.set(names.get(e.worker) ?? '?', e.code);
      },
    },
  });
  return { run, procs, lines, gone, url: () => url };
}

/**
 * Trains `config` over a ws pool on 127.0.0.1 with one real worker process per
 * name, spawned once the pool listens; `workers` fills in as they start, so
 * pool events can reach them (e.g. to kill one mid-step).
 */
export function trainWithWorkers(
  config: Config,
  dir: string,
  names: readonly string[],
  workers: Map<string, Spawned>,
  extra: Partial<import('../../../src/transports/ws/pool.js').WsPoolOptions> = {},
  workerArgs: string[] = [],
  watch: Pick<WsTraining, 'onPool' | 'onStepTiming'> = {},
) {
  return trainOverWs(config, {
    minWorkers: names.length,
    spawn: (url) => {
      for (const name of names) workers.set(name, spawnWorker(url, dir, name, workerArgs));
    },
    extra,
    ...watch,
  });
}

export function killAll(ps: readonly Spawned[]): void {
  for (const p of ps) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

/** A port free right now (for a coordinator that must come back on the same one). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Polls `cond` every 25 ms until it holds; past `timeoutMs`, fails naming `what`. The default is
 * for what a worker process started mid-test takes to be ready (load TensorFlow.js, the data, warm
 * up): 2-4 s beside other tests here, 19-23 s with the test at nice 12 beside three busy loops on
 * its core, 39-56 s at nice 15, where 30 s (the default this had) failed with "timed out waiting
 * for liar-zero ready". A wait for a quick thing gives its own bound; a file has 240 s in all.
 */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A listening pool with the run's data but no training, for poking at with raw sockets. */
export async function startBarePool(dir: string, over: object = {}, extra: Partial<import('../../../src/transports/ws/pool.js').WsPoolOptions> = {}) {
  const { loadRunData } = await import('../../../src/coordinator/run.js');
  const { resolveNormalization } = await import('../../../src/data/normalize.js');
  const { getModel } = await import('../../../src/worker/model.js');
  const { WsPool } = await import('../../../src/transports/ws/pool.js');
  const config = wsConfig(dir, 'bare', over);
  const data = await loadRunData(config);
  const lines: string[] = [];
  const pool = await WsPool.start(
    { config, model: getModel(config.model.name), data, normalization: resolveNormalization(config.data.normalize, data.train), log: (l) => lines.push(l), token: TOKEN, ...extra },
    '127.0.0.1',
    0,
  );
  return { pool, config, lines, url: pool.listening.url };
}

/**
 * The same pool, with `before(step)` awaited before each step's work is handed
 * out and `after(step)` once it is back (or failed): how tests line events up
 * with steps however fast the machine. Everything else, the early-result
 * listener included, goes straight through.
 */
export function withStepHooks(
  pool: import('../../../src/transports/pool.js').WorkerPool,
  before: (step: number) => Promise<void> | void,
  after: (step: number) => void = () => {},
): import('../../../src/transports/pool.js').WorkerPool {
  return {
    get size() {
      return pool.size;
    },
    publish: (v, w) => pool.publish(v, w),
    runStep: async (step, mbs, hooks) => {
      await before(step);
      try {
        return await pool.runStep(step, mbs, hooks);
      } finally {
        after(step);
      }
    },
    evaluate: (v, split, chunks) => pool.evaluate(v, split, chunks),
    stats: () => pool.stats(),
    close: (end) => pool.close(end),
  };
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Everything `socket` receives, and a way to wait until enough has come (a bounded wait). */
function collect(socket: Socket): (enough: (b: Buffer) => boolean, timeoutMs?: number) => Promise<Buffer> {
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (buf = Buffer.concat([buf, chunk])));
  return async (enough, timeoutMs = 5000) => {
    for (let i = 0; i < timeoutMs / 10 && !enough(buf); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(enough(buf), `the worker sent what was expected within ${timeoutMs} ms (got ${buf.toString('hex').slice(0, 80)})`);
    const out = buf;
    buf = Buffer.alloc(0);
    return out;
  };
}

/**
 * A coordinator's side by hand, on a raw TCP server: the next connection's WebSocket upgrade
 * answered, then its socket to write frames with and what the worker sends.
 */
export async function acceptByHand(server: Server) {
  const [socket] = (await once(server, 'connection')) as [Socket];
  const readUntil = collect(socket);
  const request = await readUntil((b) => b.includes('\r\n\r\n'));
  const key = /sec-websocket-key: *(\S+)/i.exec(request.toString('latin1'))?.[1] as string;
  const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  return { socket, readUntil };
}

/**
 * A coordinator's welcome to a worker holding `token`, answering its hello's `nonce`: model net,
 * `dataset`, micro-batches of 2 on cpu, heartbeats every second; `over` replaces fields.
 */
export function welcomeMessage(nonce: Uint8Array, dataset: MessageOf<'welcome'>['dataset'], over: Partial<MessageOf<'welcome'>> = {}, token: string | null = TOKEN): MessageOf<'welcome'> {
  return {
    type: 'welcome',
    workerId: 'w1',
    mac: authMac(token, 'coordinator', nonce),
    model: 'net',
    modelSize: getModel('net').size,
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
    backend: 'cpu',
    maxBatch: 4,
    microBatch: 2,
    heartbeatMs: 1000,
    dataset,
    proofNonce: newNonce(),
    ...over,
  };
}

/**
 * A coordinator by hand on 127.0.0.1, as far as the dataset, for a worker holding TOKEN: the
 * challenge, a welcome of `blob` (the wire dataset of `trainCount` and `valCount` images) in
 * `chunks.length` chunks, with `over`'s fields, then for the dataRequest the chunks (all, or only the first `send`).
 */
export async function datasetCoordinator(
  blob: Uint8Array,
  counts: { trainCount: number; valCount: number },
  chunks: readonly Uint8Array[],
  o: { send?: number; welcome?: Partial<MessageOf<'welcome'>> } = {},
): Promise<{ address: string; close: () => void }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 1 << 20 });
  await once(server, 'listening');
  const sockets: WebSocket[] = [];
  server.on('connection', (ws) => {
    sockets.push(ws);
    ws.send(encodeMessage({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() }));
    ws.on('message', (data: Buffer) => {
      const m = decodeMessage(data, 'worker');
      if (m.type === 'hello') {
        const dataset = { sha256: sha256Hex(blob), bytes: blob.length, ...counts, chunks: chunks.length };
        ws.send(encodeMessage(welcomeMessage(m.nonce, dataset, o.welcome)));
      } else if (m.type === 'dataRequest') {
        chunks.slice(0, o.send ?? chunks.length).forEach((bytes, index) => ws.send(encodeMessage({ type: 'dataChunk', index, bytes })));
      }
    });
  });
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      sockets.forEach((s) => s.terminate());
      server.close();
    },
  };
}

/** The coordinator's first frame, as a server sends it (binary, unmasked). */
export function challengeFrame(): Buffer {
  const challenge = encodeMessage({ type: 'challenge', protocol: PROTOCOL_VERSION, nonce: newNonce() });
  assert.ok(challenge.length < 126);
  return Buffer.concat([Buffer.from([0x82, challenge.length]), challenge]);
}

/**
 * The payload of the masked client frame at the start of `b` (RFC 6455 5.2: a 7-bit length, or
 * 126 and a 16-bit one; the 4-byte masking key after it), or null while it is incomplete.
 */
export function clientFramePayload(b: Buffer): Buffer | null {
  if (b.length < 2) return null;
  const short = (b[1] as number) & 0x7f;
  const header = short === 126 ? 4 : 2;
  if (b.length < header) return null;
  const length = short === 126 ? b.readUInt16BE(2) : short;
  const at = header + 4;
  return b.length >= at + length ? b.subarray(at, at + length) : null;
}

/** A task a raw worker holds, as the coordinator sent it. */
export type RawTask = MessageOf<'task'>;

/**
 * A token holder on a raw socket that joins as a worker named `name` (hello, the dataset fetched
 * and proven, ready) and answers pings; its tasks wait in `tasks` until `answer` sends a result
 * (all-zero gradients, `lossSum` as given: two different losses are two different results), or
 * are answered at once with `answerAtOnce`. Resolves once its ready is sent (the pool counts it a
 * moment later: wait for pool.size).
 */
export async function rawWorker(url: string, name: string, o: { answerAtOnce?: boolean } = {}) {
  const ws = new WebSocketClient(url);
  const tasks: RawTask[] = [];
  const parts: Buffer[] = [];
  let welcome: MessageOf<'welcome'> | null = null;
  let ready = false;
  const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
  ws.on('error', () => {});
  const answer = (task: RawTask, lossSum = 0) => {
    const count = task.indices.length;
    const gradient = new Float32Array((welcome as MessageOf<'welcome'>).modelSize);
    ws.send(encodeMessage({ type: 'gradient', taskId: task.taskId, step: task.step, version: task.version, lossSum, correct: 0, count, computeMs: 1, startedAt: Date.now(), gradient }));
  };
  ws.on('message', (d: Buffer) => {
    const m = decodeMessage(d, 'coordinator');
    if (m.type === 'challenge') {
      ws.send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(TOKEN, 'worker', m.nonce), nonce: newNonce(), name, instance: newNonce() }));
    } else if (m.type === 'welcome') {
      welcome = m;
      ws.send(encodeMessage({ type: 'dataRequest' }));
    } else if (m.type === 'dataChunk' && welcome) {
      parts.push(Buffer.from(m.bytes));
      if (parts.length === welcome.dataset.chunks) {
        const proof = datasetProof(Buffer.concat(parts), welcome.proofNonce);
        ws.send(encodeMessage({ type: 'ready', sha256: welcome.dataset.sha256, backend: 'wasm', proof }));
        ready = true;
      }
    } else if (m.type === 'ping') {
      ws.send(encodeMessage({ type: 'pong', seq: m.seq }));
    } else if (m.type === 'task') {
      if (o.answerAtOnce) answer(m);
      else tasks.push(m);
    }
  });
  await waitFor(`raw worker ${name} ready`, () => ready, 10_000);
  return { ws, tasks, answer, closed, modelSize: () => (welcome as MessageOf<'welcome'>).modelSize };
}

/**
 * Connects, answers the challenge with a hello as `name` under `token` (null: no hello), then sends
 * `then` (on the challenge without a token, on the welcome with one; a function of the welcome may
 * use what it says; null: closes); resolves when the connection is closed.
 */
export function visit(url: string, token: string | null, then: Message | ((welcome: MessageOf<'welcome'>) => Message) | null, name = 'visitor'): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocketClient(url);
    ws.on('error', () => {});
    ws.on('close', () => resolve());
    ws.on('message', (d: Buffer) => {
      const m = decodeMessage(d, 'coordinator');
      if (m.type === 'challenge' && token !== null) {
        ws.send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(token, 'worker', m.nonce), nonce: newNonce(), name, instance: newNonce() }));
      }
      if ((m.type === 'challenge' && token === null) || m.type === 'welcome') {
        const message = typeof then === 'function' ? (m.type === 'welcome' ? then(m) : null) : then;
        if (message) ws.send(encodeMessage(message));
        else ws.close();
      }
    });
  });
}

/** Evictions the schedule of trainWithRepeatOffender waits for (its config's cluster.maxStalls). */
export const REPEAT_OFFENCES = 3;

/**
 * Trains `config` (cluster.maxStalls REPEAT_OFFENCES) over an honest worker and a rogue in `mode`
 * named `name`, which is evicted with `code` at its first tasks and each time it is back: steps
 * wait (outside their timing) for its turns, evicted, back after its back-off and evicted again,
 * back once more and evicted for the last time, however fast the machine. The caller kills `procs`.
 */
export async function trainWithRepeatOffender(config: Config, dir: string, o: { mode: string; name: string; code: number }) {
  const procs: Spawned[] = [];
  const lines: string[] = [];
  const names = new Map<string, string>();
  const closes: { name: string; code: number }[] = [];
  let rogueReady = 0;
  const evictions = () => closes.filter((c) => c.name === o.name && c.code === o.code).length;
  const ws = loopbackWsPool({
    minWorkers: 2,
    onListening: (u) => procs.push(spawnWorker(u, dir, 'honest'), spawnRogue(u, dir, o.mode, o.name)),
    extra: {
      onEvent: (e) => {
        if (e.kind === 'ready') names.set(e.worker, e.name);
        if (e.kind === 'ready' && e.name === o.name) rogueReady++;
        if (e.kind === 'evicted' && e.code !== CLOSE.shutdown) closes.push({ name: names.get(e.worker) ?? '?', code: e.code });
      },
    },
  });
  const createPool: PoolFactory = async (ctx) =>
    withStepHooks(await ws(ctx), async (step) => {
      if (step === 2) await waitFor('the first eviction', () => evictions() >= 1);
      if (step === 3) await waitFor(`${o.name} back`, () => rogueReady >= 2);
      if (step === 5) await waitFor('the second eviction', () => evictions() >= 2);
      if (step === 6) await waitFor(`${o.name} back again`, () => rogueReady >= 3);
      if (step === 9) await waitFor('the last eviction', () => evictions() >= REPEAT_OFFENCES);
    });
  const run = runTraining({ config, resume: false, createPool, log: (l) => lines.push(l) });
  return { run, procs, lines, closes, evictions };
}
