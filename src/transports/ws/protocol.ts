/**
 * The wire protocol between a coordinator and its WebSocket workers: every
 * message is a member of one discriminated union on `type`, framed as one
 * msgpack map per binary WebSocket message.
 *
 * Every incoming frame passes `decodeMessage` (decode.ts), the one
 * validating decoder, before any other code sees it; `encodeMessage`
 * (encode.ts) writes them. Typed arrays travel as raw little-endian
 * bytes in msgpack `bin` fields.
 *
 * Flow: challenge -> hello (HMAC of the nonce) -> welcome (HMAC back, and a
 * nonce to prove the dataset with) -> dataRequest + dataChunk* or straight to
 * ready (with the proof) -> weights / task / evalTask <-> gradient /
 * evalResult (prefetch: a hint, nothing owed back), ping <-> pong, leave
 * either way.
 *
 * Version 4: welcome.proofNonce and ready.proof (a worker proves it holds the
 * dataset, not just its public sha256); a result's lossSum may be NaN or
 * infinite (a worker reports what it computed, the coordinator judges it);
 * close codes `refused` and `banned`.
 */
import { arrayFrameBytes, FRAME_OVERHEAD_BYTES, MAX_TASK_EXAMPLES, type BackendName, type ModelName } from '../../shared/config.js';
import { TrainerError } from '../../shared/errors.js';

/**
 * Bumped on any change of a message's shape or meaning; checked at join.
 * 3: `ready` says how many threads compute. 4: welcome.proofNonce and
 * ready.proof, non-finite losses, close codes `refused` and `banned`.
 * 5: welcome.microBatch (the size a worker warms up with).
 * 6: gradient.startedAt (the worker's clock when it started computing).
 * 7: tasks (welcome.maxBatch, a task's indices) hold at most 4,096 examples (config MAX_TASK_EXAMPLES).
 * 8: hello.instance (the worker process's random id: bans and back-offs (stalls, bad results) hold it with the name).
 */
export const PROTOCOL_VERSION = 8;

/** WebSocket close codes (4000-4999 is the application range). */
export const CLOSE = {
  /** The coordinator's run is done; the worker should exit. */
  shutdown: 4000,
  /**
   * The coordinator stopped before the end of its run (Ctrl-C, a signal, an error; its checkpoint
   * is written): the worker keeps retrying, for the coordinator restarted with --resume.
   */
  stopped: 4001,
  /**
   * The coordinator stopped before its run began (a new run, no step taken, nothing written): there
   * is nothing to resume, and the worker exits non-zero at once (workers of older builds take it as a
   * dropped link and retry).
   */
  stoppedBeforeRun: 4002,
  protocolError: 4400,
  authFailed: 4401,
  handshakeTimeout: 4408,
  rateLimited: 4429,
  badResult: 4422,
  versionMismatch: 4426,
  /** Silent past the heartbeat deadline, or a task past stepTimeoutMs. */
  timedOut: 4504,
  /** The coordinator's outgoing buffer to this worker passed the pending-bytes limit. */
  tooSlow: 4509,
  /** Not now: the worker stalled and may rejoin after a backoff (the reason says how long). */
  refused: 4503,
  /** Refused for the rest of the run (a verification mismatch, a poisoned result, repeated stalls): the worker exits. */
  banned: 4403,
} as const;

export type Split = 'train' | 'val';

/**
 * A WebSocket close reason: at most 123 bytes of UTF-8, and messages may quote
 * what a peer sent, so printable ASCII only.
 */
export function closeReason(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
}

/**
 * A coordinator's close reason (CLOSE.stoppedBeforeRun) for a new run it gave up before its first
 * step (too few workers within cluster.startTimeoutMs, a failure): the worker's line says why.
 */
export function gaveUpReason(why: string): string {
  return closeReason(`${GAVE_UP}${why}`);
}

/** The why in a gaveUpReason; null for other words (a stop's). */
export function whyGaveUp(reason: string): string | null {
  return reason.startsWith(GAVE_UP) && reason.length > GAVE_UP.length ? closeReason(reason.slice(GAVE_UP.length)) : null;
}

const GAVE_UP = 'coordinator gave up before the run began: ';

/**
 * A worker's close reason when it hangs up on a challenge of another version (CLOSE.versionMismatch),
 * worded the same since version 1: the coordinator reads the worker's version back from it
 * (versionInMismatch), as nothing else tells it (the worker sends no hello).
 */
export function versionMismatchReason(coordinator: number, worker: number): string {
  return `coordinator speaks protocol ${coordinator}, this worker ${worker}`;
}

/** The worker's version in a versionMismatchReason; null for any other words (an unauthenticated peer's: only a number of them is taken). */
export function versionInMismatch(reason: string): number | null {
  const m = /^coordinator speaks protocol \d{1,10}, this worker (\d{1,10})$/.exec(reason);
  return m ? Number(m[1]) : null;
}

export interface DatasetInfo {
  /** sha256 (hex) of the dataset blob (see wire-dataset.ts). */
  sha256: string;
  bytes: number;
  trainCount: number;
  valCount: number;
  /** Chunks the blob is sent in when the worker does not hold it. */
  chunks: number;
}

export type Message =
  /** coordinator -> worker, first frame: prove you hold the token by HMAC of `nonce`. */
  | { type: 'challenge'; protocol: number; nonce: Uint8Array }
  /** worker -> coordinator: HMAC of the coordinator's nonce, and a nonce for the coordinator to prove itself. */
  | {
      type: 'hello';
      protocol: number;
      mac: Uint8Array;
      nonce: Uint8Array;
      name: string;
      /**
       * Drawn at random once per worker process and never shown: the coordinator's bans and stall
       * back-offs hold (name, instance), so a token holder that takes an honest worker's name (the
       * dashboard shows names) cannot get that worker refused.
       */
      instance: Uint8Array;
    }
  /** coordinator -> worker after a good hello: what to compute with, and the coordinator's own proof. */
  | {
      type: 'welcome';
      workerId: string;
      mac: Uint8Array;
      model: ModelName;
      modelSize: number;
      mean: [number, number, number];
      std: [number, number, number];
      backend: BackendName;
      maxBatch: number;
      /** Examples in a training micro-batch (the largest, when they differ): the size the worker warms up with. */
      microBatch: number;
      heartbeatMs: number;
      dataset: DatasetInfo;
      /** Key of the dataset proof the worker's ready must carry (wire-dataset.ts datasetProof). */
      proofNonce: Uint8Array;
    }
  /** worker -> coordinator: send me the dataset (not in my cache). */
  | { type: 'dataRequest' }
  /** coordinator -> worker: one chunk of the dataset blob, in order. */
  | { type: 'dataChunk'; index: number; bytes: Uint8Array }
  /**
   * worker -> coordinator: dataset held (sha256 checked, `proof` of its bytes under the welcome's nonce), backend up; give me work.
   * `threads`: micro-batches it computes at once (one process, N compute threads); absent means 1.
   */
  | { type: 'ready'; sha256: string; backend: string; proof: Uint8Array; threads?: number }
  /** coordinator -> worker: the parameters of `version`. */
  | { type: 'weights'; version: number; weights: Float32Array }
  /** coordinator -> worker: gradient of the examples `indices` at weights `version`. */
  | { type: 'task'; taskId: number; step: number; version: number; indices: Int32Array }
  /**
   * coordinator -> worker: the examples of a task that will probably follow
   * (at `step`, with weights not computed yet): load them meanwhile. A hint:
   * nothing is owed back, and a task for other examples simply loads those.
   */
  | { type: 'prefetch'; step: number; indices: Int32Array }
  /** coordinator -> worker: forward-only loss and accuracy of `indices` of `split`. */
  | { type: 'evalTask'; taskId: number; version: number; split: Split; indices: Int32Array }
  /** worker -> coordinator: the answer to `task` taskId. */
  | {
      type: 'gradient';
      taskId: number;
      step: number;
      version: number;
      lossSum: number;
      correct: number;
      count: number;
      computeMs: number;
      /** When the worker started computing, by its clock: ms since the Unix epoch (for traces). */
      startedAt: number;
      gradient: Float32Array;
    }
  /** worker -> coordinator: the answer to `evalTask` taskId. */
  | { type: 'evalResult'; taskId: number; version: number; lossSum: number; correct: number; count: number }
  | { type: 'ping'; seq: number }
  | { type: 'pong'; seq: number }
  /** Either way: I am going; the reason is for the log. */
  | { type: 'leave'; reason: string };

export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Which side may send each message: a frame from the wrong side is a protocol error. */
export const SENT_BY: Readonly<Record<MessageType, 'coordinator' | 'worker' | 'both'>> = {
  challenge: 'coordinator',
  hello: 'worker',
  welcome: 'coordinator',
  dataRequest: 'worker',
  dataChunk: 'coordinator',
  ready: 'worker',
  weights: 'coordinator',
  task: 'coordinator',
  prefetch: 'coordinator',
  evalTask: 'coordinator',
  gradient: 'worker',
  evalResult: 'worker',
  ping: 'coordinator',
  pong: 'worker',
  leave: 'both',
};

export function assertNever(x: never): never {
  throw new TrainerError('E_INTERNAL', `unhandled case ${JSON.stringify(x)}`);
}

/** A frame's bytes beyond its arrays, and the largest weights or gradient frame: config-validate.ts bounds cluster.maxPayloadBytes and maxPendingBytes by them. */
export { arrayFrameBytes, FRAME_OVERHEAD_BYTES };
/** No legitimate array is larger than this (a 2^28-float gradient); ws maxPayload is the real limit. */
export const MAX_ARRAY_BYTES = 1 << 30;
/** A worker's name in its hello: printable ASCII (it goes into logs and metrics labels), at most this long. */
export const MAX_WORKER_NAME_CHARS = 128;
export const WORKER_NAME = /^[\x20-\x7e]*$/;
/** Compute threads one worker process may announce. */
export const MAX_WORKER_THREADS = 1024;
/** Longest wait of a worker between two connection attempts (before ±25 % jitter): what a coordinator at its end waits for one in a back-off. */
export const RECONNECT_MAX_MS = 5000;
/** How long a worker that has never joined tries before it gives up, unless --retry-for-ms says otherwise. */
export const NEVER_JOINED_RETRY_MS = 60_000;
/** Indices of one task: the largest micro-batch or evaluation chunk (the config refuses larger ones). */
export const MAX_TASK_INDICES = MAX_TASK_EXAMPLES;
