/**
 * A worker that holds the token and misbehaves, for tests and measurements:
 * the real protocol (WorkerSession) and the real compute (WorkerCompute),
 * with its results altered on their way out.
 *
 *   node dist/test/transports/ws/rogue-worker.js URL MODE [NAME]
 *
 * MODE: `honest`; `late:MS` (every result MS ms late); `stall` (takes tasks,
 * never answers them, answers pings); `huge` (every gradient value 3e38);
 * `zero` (zero gradients); `wrong` (gradients 1 % off); `eval` (every
 * evaluation chunk all correct); `misfit` (results that do not fit their task:
 * every gradient one value short, every evaluation chunk one example more than
 * it has); `hugeloss` (every result's loss 1e308, past float32's range, gradients true); `squat` (leaves 300 ms after its ready; `squat:CODE` closes with CODE, not 1000); `busy`
 * (before each result, blocks its event loop, reading nothing, as a long
 * computation or a stopped process does, until the file ROGUE_UNBLOCK exists). A
 * suffix `@N` lies only from the Nth result on (`wrong@5`). TRAINER_TOKEN and
 * TRAINER_CACHE_DIR as for `trainer worker`; ROGUE_BACKEND: the backend kind it
 * claims in its ready (it computes on wasm whatever it says).
 * It reconnects after a drop, like a real worker, and exits when told to leave
 * or refused for good.
 */
import { existsSync } from 'node:fs';
import WebSocket from 'ws';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { encodeMessage } from '../../../src/transports/ws/encode.js';
import type { Message } from '../../../src/transports/ws/protocol.js';
import { WORKER_SOCKET_OPTIONS } from '../../../src/transports/ws/worker.js';
import { WorkerCompute } from '../../../src/transports/ws/worker-compute.js';
import { WorkerSession, type SessionEnd } from '../../../src/transports/ws/worker-session.js';

export type RogueMode = 'honest' | 'stall' | 'hugeloss' | 'huge' | 'zero' | 'wrong' | 'eval' | 'misfit' | 'squat' | `squat:${number}` | 'busy' | `late:${number}`;

/** Blocks this thread, reading nothing, until `file` exists (checked every 50 ms). */
function blockUntil(file: string): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(file)) Atomics.wait(cell, 0, 0, 50);
}

/** The frame a rogue worker sends instead of `frame` (null: nothing). */
export function alter(mode: string, frame: Uint8Array): Uint8Array | null {
  const m = decodeMessage(frame, 'worker');
  if (m.type !== 'gradient' && m.type !== 'evalResult') return frame;
  if (mode === 'stall') return null;
  if (mode === 'hugeloss') return encodeMessage({ ...m, lossSum: 1e308 });
  if (m.type === 'evalResult') {
    if (mode === 'misfit') return encodeMessage({ ...m, count: m.count + 1 });
    return mode === 'eval' ? encodeMessage({ ...m, correct: m.count }) : frame;
  }
  if (mode === 'misfit') return encodeMessage({ ...m, gradient: m.gradient.subarray(0, m.gradient.length - 1) });
  const g = Float32Array.from(m.gradient);
  if (mode === 'huge') g.fill(3e38);
  else if (mode === 'zero') g.fill(0);
  else if (mode === 'wrong') for (let i = 0; i < g.length; i++) g[i] = Math.fround((g[i] as number) * 1.01);
  else return frame;
  return encodeMessage({ ...m, gradient: g } as Message);
}

async function main(): Promise<void> {
  const [url, modeArg = 'honest', name = `rogue-${process.pid}`] = process.argv.slice(2);
  if (!url) throw new Error('usage: rogue-worker URL MODE [NAME]');
  const [mode = 'honest', fromText] = modeArg.split('@');
  const from = fromText ? Number(fromText) : 0;
  const lateMs = mode.startsWith('late:') ? Number(mode.slice(5)) : 0;
  const squatCode = mode === 'squat' ? 1000 : mode.startsWith('squat:') ? Number(mode.slice(6)) : null;
  const log = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
  const compute = new WorkerCompute({ backend: 'wasm', gpu: null, threads: 1, cacheDir: process.env.TRAINER_CACHE_DIR ?? '/tmp/trainer-rogue', log });
  const claimed = process.env.ROGUE_BACKEND;
  if (claimed) Object.defineProperty(compute, 'backendKind', { get: () => claimed });
  let results = 0;
  for (let attempt = 0; attempt < 200; attempt++) {
    const end = await new Promise<SessionEnd>((resolve, reject) => {
      const ws = new WebSocket(url, WORKER_SOCKET_OPTIONS);
      const raw = (frame: Uint8Array) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame);
      };
      const session = new WorkerSession(
        compute,
        {
          send: (frame) => {
            const type = decodeMessage(frame, 'worker').type;
            if (type === 'ready' && squatCode !== null) {
              setTimeout(() => {
                ws.close(squatCode, 'bye');
                process.exit(0);
              }, 300);
            }
            if (type !== 'gradient' && type !== 'evalResult') return raw(frame);
            const altered = results++ >= from;
            const out = altered ? alter(mode, frame) : frame;
            if (out === null) return;
            if (altered && mode === 'busy') blockUntil(process.env.ROGUE_UNBLOCK ?? '');
            // The frame's buffer is reused for the next result: a late one goes out as a copy.
            if (lateMs > 0) {
              const copy = Uint8Array.from(out);
              setTimeout(() => raw(copy), lateMs);
            } else raw(out);
          },
          close: (code, reason) => ws.close(code, reason),
          get bufferedAmount() {
            return lateMs > 0 ? 1 : ws.bufferedAmount;
          },
          get open() {
            return ws.readyState === WebSocket.OPEN;
          },
        },
        { url, token: process.env.TRAINER_TOKEN ?? null, name, log, onFatal: reject },
      );
      let chain = Promise.resolve();
      ws.on('message', (d: Buffer) => (chain = chain.then(() => session.receive(d))));
      ws.on('error', () => {});
      ws.on('close', (code, reason) => {
        try {
          resolve(session.ended(code, reason.toString()));
        } catch (err) {
          reject(err);
        }
      });
    }).catch((err: Error) => {
      log(`fatal: ${err.message}`);
      return null;
    });
    if (end === null || end.kind === 'leave') return;
    log(`dropped (${end.why}); reconnecting`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() as string)) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
