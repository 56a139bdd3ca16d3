import assert from 'node:assert/strict';
import test from 'node:test';
import { pack } from 'msgpackr';
import WebSocket from 'ws';
import { loadRunData, runTraining } from '../../../src/coordinator/run.js';
import { datasetBlob, datasetProof } from '../../../src/transports/ws/wire-dataset.js';
import type { PoolFactory } from '../../../src/transports/pool.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { PROTOCOL_VERSION, type Message } from '../../../src/transports/ws/protocol.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import { authMac, newNonce } from '../../../src/transports/ws/auth.js';
import { quietLog, tempDir } from '../../helpers.js';
import { TOKEN, killAll, loopbackWsPool, referenceSha, spawnWorker, withStepHooks, wsConfig, type Spawned } from './helpers.js';

const FRAMES = 1200;

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
const randomBuf = (rng: Rng, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rng() * 256)));

/** Valid msgpack of the wrong shape. */
function wrongShape(rng: Rng): Uint8Array {
  const values: unknown[] = [
    null, 1, -1, 2 ** 53, 1.5, NaN, 'x', '', true, [], [1, 2], {}, { type: null }, { type: 'task' },
    { type: 'gradient', taskId: 'a' }, { type: 'ping', seq: -5 }, { type: 'hello', protocol: 1 },
    { type: 'gradient', taskId: 1, step: 0, version: 0, lossSum: 1, correct: 0, count: 0, computeMs: 0, startedAt: 0, gradient: 'no' },
    { type: 'ready', sha256: 'zz', backend: 'wasm' }, { type: 'evalResult', taskId: 1, version: 0, lossSum: Infinity, correct: 0, count: 0 },
    { type: 'leave', reason: 7 }, { type: 'dataRequest', more: 1 }, randomBuf(rng, 40),
  ];
  return pack(pick(rng, values));
}

/** The run's dataset blob: token holders that claim it must prove its bytes (protocol 3). */
let blob: Uint8Array = new Uint8Array(0);
let clients = 0;

/** One hostile connection; resolves with the frames it sent, once the coordinator has closed it. */
async function hostile(url: string, rng: Rng, sent: { frames: number; replays: number }, replay: boolean): Promise<void> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const closed = new Promise<void>((r) => ws.on('close', () => r()));
  const inbox: Message[] = [];
  let wake: (() => void) | null = null;
  ws.on('message', (d: Buffer) => {
    try {
      inbox.push(decodeMessage(d, 'coordinator'));
    } catch {
      /* the coordinator only sends well-formed frames; ignore */
    }
    wake?.();
  });
  const next = async (type: Message['type'], ms = 3000): Promise<Message | null> => {
    const t0 = Date.now();
    for (;;) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return inbox.splice(i, 1)[0] as Message;
      if (ws.readyState > WebSocket.OPEN || Date.now() - t0 > ms) return null;
      await new Promise<void>((r) => ((wake = r), setTimeout(r, 50).unref()));
    }
  };
  const send = (f: Uint8Array | string) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(f);
    sent.frames++;
  };
  const garbage = () =>
    pick(rng, [
      () => randomBuf(rng, Math.floor(rng() * 300)),
      () => wrongShape(rng),
      () => Buffer.alloc(100_000, 1), // past maxPayload
      () => encodeMessage({ type: 'welcome', workerId: 'x', mac: Buffer.alloc(32), model: 'net', modelSize: 1, mean: [0, 0, 0], std: [1, 1, 1], backend: 'wasm', maxBatch: 1, microBatch: 1, heartbeatMs: 1, dataset: { sha256: 'a'.repeat(64), bytes: 0, trainCount: 0, valCount: 0, chunks: 0 }, proofNonce: Buffer.alloc(32) }),
      () => 'text frame',
    ])();

  const challenge = await next('challenge');
  if (!challenge || challenge.type !== 'challenge') return void ws.terminate();
  const mode = replay ? 'replay' : pick(rng, ['garbage', 'garbage', 'out-of-order', 'bad-mac', 'after-auth'] as const);
  // A fresh name each time, as an attacker would: a worker caught lying is refused by name for the run.
  const name = `fuzz-${++clients}`;
  const goodHello = () => encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(TOKEN, 'worker', challenge.nonce), nonce: newNonce(), name, instance: newNonce() });

  if (mode === 'garbage') {
    for (let i = 0, n = 1 + Math.floor(rng() * 3); i < n; i++) send(garbage());
  } else if (mode === 'out-of-order') {
    send(encodeMessage(pick(rng, [{ type: 'ready', sha256: 'a'.repeat(64), backend: 'wasm' }, { type: 'pong', seq: 1 }, { type: 'dataRequest' }, { type: 'evalResult', taskId: 1, version: 0, lossSum: 0, correct: 0, count: 0 }] as Message[])));
  } else if (mode === 'bad-mac') {
    // A replayed or forged answer: right shape, wrong nonce.
    send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(TOKEN, 'worker', newNonce()), nonce: newNonce(), name: 'fuzz', instance: newNonce() }));
  } else {
    send(goodHello());
    const welcome = await next('welcome');
    if (!welcome || welcome.type !== 'welcome') return void ws.terminate();
    if (mode === 'after-auth') {
      send(pick(rng, [goodHello(), garbage(), encodeMessage({ type: 'gradient', taskId: 1, step: 0, version: 0, lossSum: 0, correct: 0, count: 0, computeMs: 0, startedAt: 0, gradient: new Float32Array(3) })]));
    } else {
      // Claims the data, takes real tasks, answers them with replays and garbage.
      send(encodeMessage({ type: 'ready', sha256: welcome.dataset.sha256, backend: 'wasm', proof: datasetProof(blob, welcome.proofNonce) }));
      const task = await next('task', 5000);
      if (task && task.type === 'task') {
        const size = welcome.modelSize;
        const bad = pick(rng, [
          { taskId: task.taskId, step: task.step - 1, version: task.version, n: size }, // an old step
          { taskId: task.taskId, step: task.step, version: task.version - 1, n: size }, // old weights
          { taskId: (task.taskId + 1000) >>> 0, step: task.step, version: task.version, n: size }, // a task never given
          { taskId: task.taskId, step: task.step, version: task.version, n: size - 1 }, // wrong length
          { taskId: task.taskId, step: task.step, version: task.version, n: -1 }, // NaN
        ]);
        const gradient = new Float32Array(bad.n < 0 ? size : bad.n);
        if (bad.n < 0) gradient[7] = NaN;
        sent.replays++;
        send(encodeMessage({ type: 'gradient', taskId: bad.taskId, step: Math.max(0, bad.step), version: Math.max(0, bad.version), lossSum: 1, correct: 0, count: task.indices.length, computeMs: 1, startedAt: Date.now(), gradient }));
      }
    }
  }
  await Promise.race([closed, new Promise((r) => setTimeout(r, 5000).unref())]);
  ws.terminate();
}

test('1,200 malformed, oversize, out-of-order and replayed frames thrown at a live coordinator change nothing', async () => {
  const dir = await tempDir();
  // Heartbeats and handshakes at the defaults (5 s, 10 s), as this test was written for: with the ws
  // tests' 0.5 s and 2 s, the silent worker could be dropped for silence before any step gave it work
  // while the steps waited on the fuzz (wsConfig merges sections key by key since edc5524).
  const config = wsConfig(dir, 'fuzzed', { train: { epochs: 2 }, cluster: { stepTimeoutMs: 3000, heartbeatMs: 5000, handshakeTimeoutMs: 10_000 } });
  const expected = await referenceSha(config);
  blob = datasetBlob(await loadRunData(config));
  const workers: Spawned[] = [];
  const sent = { frames: 0, replays: 0 };
  let lanesDone: Promise<void> = Promise.resolve();
  const replays: Promise<void>[] = [];
  let hangs = 0;

  const startFuzz = (url: string) => {
    const rng = mulberry32(12345);
    const lanes = Array.from({ length: 6 }, async () => {
      while (sent.frames < FRAMES) await hostile(url, rng, sent, false);
    });
    // Clients that claim the data, take real tasks and answer with replays and garbage, a few at a time;
    // past the fuzz's frames until 5 replays are sent (a busy machine gave them only 3 tasks in its
    // window), within 30 s: the run's later steps give them work too.
    const until = Date.now() + 30_000;
    replays.push(
      (async () => {
        while (sent.frames < FRAMES || (sent.replays < 5 && Date.now() < until)) {
          await Promise.all(Array.from({ length: 3 }, () => hostile(url, rng, sent, true)));
        }
      })(),
    );
    // One more: a worker that joins and then never answers (evicted after stepTimeoutMs).
    replays.push(
      (async () => {
        const ws = new WebSocket(url);
        ws.on('error', () => {});
        ws.on('message', (d: Buffer) => {
          const m = decodeMessage(d, 'coordinator');
          if (m.type === 'challenge') ws.send(encodeMessage({ type: 'hello', protocol: PROTOCOL_VERSION, mac: authMac(TOKEN, 'worker', m.nonce), nonce: newNonce(), name: 'hang', instance: newNonce() }));
          if (m.type === 'welcome') ws.send(encodeMessage({ type: 'ready', sha256: m.dataset.sha256, backend: 'wasm', proof: datasetProof(blob, m.proofNonce) }));
          if (m.type === 'task') hangs++;
        });
        await new Promise((r) => ws.on('close', r));
      })(),
    );
    lanesDone = Promise.all(lanes).then(() => {});
  };

  let url = '';
  const ws = loopbackWsPool({
    minWorkers: 2,
    onListening: (u) => {
      url = u;
      workers.push(spawnWorker(u, dir, 'a'), spawnWorker(u, dir, 'b'));
    },
  });
  // The fuzz starts at step 1 and steps 2..7 wait for it to get along, so it lands mid-run however fast the machine.
  const createPool: PoolFactory = async (ctx) =>
    withStepHooks(await ws(ctx), async (step) => {
      if (step === 1) startFuzz(url);
      while (step >= 2 && step <= 7 && sent.frames < ((step - 1) * FRAMES) / 6) await new Promise((r) => setTimeout(r, 10));
      if (step === 7) await lanesDone;
    });
  try {
    const r = await runTraining({ config, resume: false, createPool, log: quietLog });
    assert.ok(sent.frames >= FRAMES, `${sent.frames} frames`);
    await Promise.all(replays);
    assert.ok(hangs > 0, 'the silent worker was given work (and lost it)');
    assert.ok(sent.replays >= 5, `${sent.replays} replayed or invalid gradients`);
    assert.equal(r.weightsSha256, expected);
  } finally {
    killAll(workers);
  }
});
