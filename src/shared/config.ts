/**
 * The run configuration: typed defaults in one place, YAML over defaults, CLI
 * flags over YAML (both read in config-file.ts, merged by config-values.ts), then one validation
 * that names the key path and quotes the bad value (config-validate.ts). This file holds the
 * schema, the defaults and the limits. The resolved config is stored with every run and checkpoint.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { z as Zod } from 'zod';
import { isPlain } from './config-values.js';
import { hideCredentials } from './url.js';
import { withStandIns } from './stand-ins.js';

/**
 * zod (and yaml, in config-file.ts), required when first used (CommonJS, through require: one
 * instance, whatever imports it): every command loads this module, and a worker, report or predict
 * validates no config and reads no YAML (~0.2 s of CPU at each start).
 */
const requireHere = createRequire(import.meta.url);
/** zod, once `configSchema()` has run (the helpers below are called only inside it). */
let z: typeof Zod;
export const zod = (): typeof Zod => (z ??= (withStandIns([zodLocales()], () => requireHere('zod')) as { z: typeof Zod }).z);
/**
 * zod's index of its ~50 message locales (half of loading zod: ~55 ms of CPU), which it only
 * re-exports as `z.locales`; its English messages come from their own file.
 */
const zodLocales = (): string => join(dirname(requireHere.resolve('zod')), 'v4', 'locales', 'index.cjs');
/**
 * Synthetic images a split may have: 20 times CIFAR-10's training set, about 3 GB in memory (held
 * whole, and shared with the threads). More failed while writing with "Array buffer allocation failed".
 */
export const MAX_SYNTHETIC_IMAGES = 1_000_000;
const SYNTHETIC_LIMIT = `must be at most ${MAX_SYNTHETIC_IMAGES} (about 3 GB of images; CIFAR-10 has 50000 training images)`;

/**
 * The largest integer a config value holds exactly: a double above it is not an integer any more
 * (9007199254740993 reads as 9007199254740992), and "must be a non-negative integer, got
 * 9007199254740992" named neither the bound nor the number typed.
 */
const TOO_LARGE = `must be an integer of at most 2^53-1 (${Number.MAX_SAFE_INTEGER})`;
const posInt = (what = 'a positive integer') =>
  z.number({ error: `must be ${what}` }).max(Number.MAX_SAFE_INTEGER, { error: TOO_LARGE }).int({ error: `must be ${what}` }).positive({ error: `must be ${what}` });
/**
 * The longest delay a Node.js timer keeps: 2^31-1 ms, about 24.8 days. A longer one fires after
 * 1 ms (with a TimeoutOverflowWarning): `--cluster.stepTimeoutMs 10000000000`, meant as "never",
 * failed every thread's start-up at once ("thread start-up took longer than 10000000000 ms").
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** A time limit in ms: a positive integer a timer keeps. */
const durationMs = () =>
  posInt().max(MAX_TIMER_MS, { error: `must be a positive integer of at most ${MAX_TIMER_MS} (about 24.8 days, the longest timer Node.js keeps)` });
/** A time limit in ms where 0 means none (waits for ever). */
const durationOrZeroMs = () =>
  nonNegInt().max(MAX_TIMER_MS, { error: `must be 0 (no limit) or a positive integer of at most ${MAX_TIMER_MS} (about 24.8 days, the longest timer Node.js keeps)` });
const nonNegInt = () =>
  z
    .number({ error: 'must be a non-negative integer' })
    .max(Number.MAX_SAFE_INTEGER, { error: TOO_LARGE })
    .int({ error: 'must be a non-negative integer' })
    .min(0, { error: 'must be a non-negative integer' });
const nonNeg = () =>
  z.number({ error: 'must be a non-negative number' }).min(0, { error: 'must be a non-negative number' }).finite();
/**
 * Bounds of the floats the SGD step computes with (coordinator/optimizer.ts rounds lr·gradient and
 * momentum·buffer to float32): the least positive float32, as printed (1.4e-45 rounds to it, not to
 * 0), and the largest below 1 (with a momentum of 0.99999999, momentum·buffer rounds back to the
 * buffer, as with 1, which is refused).
 */
const FLOAT32_LEAST = 1.4e-45;
const FLOAT32_BELOW_ONE = 0.99999994;
const FLOAT32_WHY = 'the SGD step computes in float32';
const bool = () => z.boolean({ error: 'must be true or false' });
const str = () => z.string({ error: 'must be a string' }).min(1, { error: 'must be a non-empty string' });
/** A path or file name: no NUL, which no file name can hold (it was E_IO or E_DATA, exit 1, once used). */
const noNul = (s: string) => !s.includes('\0');
const NUL_ERROR = { error: 'must not hold a NUL character (no path can)' };
const pathStr = () => str().refine(noNul, NUL_ERROR);
const MD5_ERROR = 'must be an md5: 32 hex digits in lower case, as md5sum prints them';
const triple = (what: string) =>
  z.tuple([z.number(), z.number(), z.number()], { error: `must be a list of 3 numbers (${what})` });

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export const MODELS = ['net', 'fc'] as const;
export type ModelName = (typeof MODELS)[number];
export const TRANSPORTS = ['local', 'threads', 'procs', 'ws'] as const;

/**
 * Examples in one task (a micro-batch or an evaluation chunk): what one pass of the wasm backend
 * holds in its 4 GiB of memory with room to spare (a gradient of 8,192 CIFAR images of `net` ran
 * out of it: "memory access out of bounds"; an evaluation of 16,000 aborted). Any worker of a run
 * may be a wasm one, so the bound is the same on every backend.
 */
export const MAX_TASK_EXAMPLES = 4096;
/** Why a task may hold no more examples, for the errors that say so. */
export const TASK_LIMIT_WHY = "a task's images must fit the 4 GiB memory of the wasm backend";
/** Longest run.name, in UTF-8 bytes: 255 a folder name, less room for a numbered suffix. */
export const MAX_RUN_NAME_BYTES = 200;
/** Micro-batches of one step: each is a task, and its gradient is held until it is reduced. */
export const MAX_MICRO_BATCHES = 1024;
/** Bytes of gradients a step may hold at once (train.microBatches of them): beyond it, a run cannot allocate them. */
export const MAX_STEP_GRADIENT_BYTES = 4 * 2 ** 30;
/** Parameters of each model (src/worker/model.ts builds them; a test checks the two agree), for config-time limits. */
export const MODEL_PARAMETERS: Readonly<Record<ModelName, number>> = { net: 18_354, fc: 3_738_506 };
/** Bytes a WebSocket frame of weights or a gradient takes beyond its floats. */
export const FRAME_OVERHEAD_BYTES = 512;
/**
 * Largest weights or gradient frame of `floats` values: for ws maxPayload and pending-byte limits,
 * and the least cluster.maxPayloadBytes and maxPendingBytes may be (transports/ws/protocol.ts re-exports it).
 */
export function arrayFrameBytes(floats: number): number {
  return floats * 4 + FRAME_OVERHEAD_BYTES;
}

/** The config's schema: zod is loaded first (the helpers above use it). */
function buildSchema() {
  zod();
  const normalizeSchema = z.union(
    [
      z.literal('auto'),
      z.literal('article'),
      z
        .object({
          // Pixels are in [0, 1]: a mean of 1e40 overflowed float32 into NaN ("E_DIVERGED … lower train.lr?").
          mean: triple('per-channel means').refine((m) => m.every((x) => Math.abs(x) <= 1e6), { error: 'must be 3 numbers from -1e6 to 1e6 (per-channel means of pixels in [0, 1])' }),
          // Pixels are in [0, 1]: a std below 1e-6 scales them past float32 (1e-300 ran into NaN as "E_DIVERGED … lower train.lr?").
          std: triple('per-channel stds').refine((s) => s.every((x) => x >= 1e-6), { error: 'must be 3 numbers of at least 1e-6 (per-channel stds)' }),
        })
        .strict(),
    ],
    { error: "must be 'auto', 'article' or {mean: [r, g, b], std: [r, g, b]}" },
  );

  return z
    .object({
      run: z
        .object({
          /** Run folder name under run.dir: one folder, so numbered ones (name-2) and every tool find it there. */
          name: pathStr()
            .refine((n) => !/[/\\]/.test(n) && n !== '.' && n !== '..', {
              error: 'must be a folder name, without / or \\ and not . or .. (run.dir says where run folders go)',
            })
            // File systems allow 255 bytes a name; a new run of a taken name goes to name-2, name-3, ...
            .refine((n) => Buffer.byteLength(n) <= MAX_RUN_NAME_BYTES, {
              error: `must be at most ${MAX_RUN_NAME_BYTES} bytes (a folder name, with room for -2, -3, ... of later runs of it)`,
            }),
          /** Parent folder of run folders. */
          dir: pathStr(),
          /** Seeds initialisation and the per-epoch permutation. */
          seed: nonNegInt(),
        })
        .strict(),
      data: z
        .object({
          source: z.enum(['cifar10', 'synthetic'], { error: "must be 'cifar10' or 'synthetic'" }),
          /** Folder holding cifar-10-binary.tar.gz or cifar-10-batches-bin/. */
          path: pathStr(),
          /** Download the CIFAR-10 tarball when it is absent. */
          download: bool(),
          url: str(),
          // "must be an md5 hex string" refused an md5 in capitals (PowerShell's Get-FileHash) as if it were none.
          md5: z.string({ error: MD5_ERROR }).regex(/^[0-9a-f]{32}$/, { error: MD5_ERROR }),
          /** Class names to keep, at least two, remapped to 0..k-1 in this order; null keeps all ten. */
          classes: z.array(str(), { error: 'must be a list of class names or null' }).nullable(),
          /** Per-channel normalisation: the article's figures, computed from the training set, or explicit. */
          normalize: normalizeSchema,
          /** Keep only the first N training / validation records (after class selection); null keeps all. */
          limitTrain: posInt().nullable(),
          limitVal: posInt().nullable(),
          synthetic: z
            .object({
              /** At least 5: one record in each of data_batch_1..5.bin; at most MAX_SYNTHETIC_IMAGES, as is valSize. */
              trainSize: posInt('an integer of at least 5')
                .min(5, { error: 'must be an integer of at least 5' })
                .max(MAX_SYNTHETIC_IMAGES, { error: SYNTHETIC_LIMIT }),
              valSize: posInt().max(MAX_SYNTHETIC_IMAGES, { error: SYNTHETIC_LIMIT }),
              seed: nonNegInt(),
            })
            .strict(),
        })
        .strict(),
      model: z.object({ name: z.enum(MODELS, { error: "must be 'net' or 'fc'" }) }).strict(),
      train: z
        .object({
          epochs: posInt(),
          /** Global batch: examples per SGD step, whatever the number of workers. */
          batchSize: posInt(),
          /** Fixed micro-batches per step; the unit of work and of reduction order. */
          microBatches: posInt().max(MAX_MICRO_BATCHES, { error: `must be a positive integer of at most ${MAX_MICRO_BATCHES}` }),
          // The step rounds lr·gradient and momentum·buffer to float32: an lr of 1e-320 made every update 0,
          // and the run trained nothing, silently. (An lr or weightDecay past float32's range is let
          // through: its updates overflow, and E_DIVERGED says to lower it.)
          lr: z
            .number({ error: 'must be a positive number' })
            .positive({ error: 'must be a positive number' })
            .finite()
            .min(FLOAT32_LEAST, { error: `must be a positive number of at least ${FLOAT32_LEAST}, the least float32 (${FLOAT32_WHY}, where a smaller lr moves no weight)` }),
          momentum: nonNeg()
            .lt(1, { error: 'must be in [0, 1)' })
            .max(FLOAT32_BELOW_ONE, { error: `must be in [0, 1) and at most ${FLOAT32_BELOW_ONE}, the largest float32 below 1 (${FLOAT32_WHY})` }),
          weightDecay: nonNeg(),
        })
        .strict(),
      eval: z
        .object({
          /** Compute train and validation accuracy every N epochs (and always at the end). */
          every: posInt(),
          /** Images per evaluation task. */
          batchSize: posInt().max(MAX_TASK_EXAMPLES, { error: `must be a positive integer of at most ${MAX_TASK_EXAMPLES} (${TASK_LIMIT_WHY})` }),
        })
        .strict(),
      checkpoint: z.object({ every: posInt() }).strict(),
      /** steps.jsonl: one line every N steps (loss, images/s, learning rate, workers). */
      log: z.object({ everySteps: posInt() }).strict(),
      backend: z.enum(BACKENDS, { error: `must be one of ${BACKENDS.join(', ')}` }),
      /** The GPU: CUDA device for tensorflow-gpu, N-th hardware adapter for webgpu; null = no GPU asked for. */
      gpu: nonNegInt().nullable(),
      cluster: z
        .object({
          transport: z.enum(TRANSPORTS, { error: `must be one of ${TRANSPORTS.join(', ')}` }),
          /** Worker threads, processes or remote workers to train with. */
          workers: posInt(),
          /** A micro-batch not back within this time is given to another worker. */
          stepTimeoutMs: durationMs(),
          heartbeatMs: durationMs(),
          /** With no worker at all, wait this long, then checkpoint and stop. */
          noWorkerTimeoutMs: durationMs(),
          /**
           * A coordinator run whose workers have not joined within this time gives up (E_NO_WORKERS, exit 1): a resumed run with none, a new one with fewer than it waits for. 0 = waits for ever.
           */
          startTimeoutMs: durationOrZeroMs(),
          /** A connection that has not authenticated within this time is closed (one that never sends a byte too). */
          handshakeTimeoutMs: durationMs(),
          /** Connections not yet authenticated, in all: the excess is closed at once. */
          maxUnauthenticated: posInt(),
          /** Connections not yet authenticated from one address: the excess is closed at once. */
          maxUnauthenticatedPerAddress: posInt(),
          /** Shared secret of coordinator and workers (or TRAINER_TOKEN); null = none, loopback only. */
          token: z.string({ error: 'must be a string or null' }).nullable(),
          host: str(),
          port: nonNegInt().max(65535, { error: 'must be a port number (0-65535)' }),
          /** Largest frame accepted from a peer; 0 = sized from the model and data. */
          maxPayloadBytes: nonNegInt(),
          /** Frames one worker may send per second (burst of the same); past it the worker is dropped. Default 1000. */
          maxMessagesPerSec: posInt(),
          /** Bytes queued to one worker that does not read before it is dropped; 0 = 4 weights frames + 2 dataset chunks. */
          maxPendingBytes: nonNegInt(),
          /** Size of the dataset chunks sent to a joining worker; default 1 MiB. */
          dataChunkBytes: posInt().max(1 << 28, { error: 'must be a positive integer of at most 268435456' }),
          /** Tasks sent ahead to one worker, to hide the round trip; default 2. */
          tasksInFlight: posInt(),
          tls: z
            .object({
              cert: z.string({ error: 'must be a file name or null' }).refine(noNul, NUL_ERROR).nullable(),
              key: z.string({ error: 'must be a file name or null' }).refine(noNul, NUL_ERROR).nullable(),
            })
            .strict(),
          /** Fraction of micro-batches and evaluation chunks computed by a second worker and compared bit for bit: 0 off, 1 all. */
          verify: z.number({ error: 'must be a number in [0, 1]' }).min(0, { error: 'must be a number in [0, 1]' }).max(1, { error: 'must be a number in [0, 1]' }),
          /** A gradient whose norm per example passes this multiple of the median of the other workers' norms is suspect (tally.ts). */
          maxNormRatio: z.number({ error: 'must be a number of at least 1' }).min(1, { error: 'must be a number of at least 1' }).finite(),
          /** A worker evicted for a stall, for a result that does not fit its task, or for breaking the protocol once ready, may rejoin after this long, doubled for each further eviction of any kind. */
          stallBackoffMs: posInt(),
          /** Evictions for stalls, for results that do not fit their task and for protocol errors once ready, counted together, after which a worker is refused for the rest of the run. */
          maxStalls: posInt(),
          /** `trainer train --procs`: CUDA device of each local worker process, round-robin; empty = the run's `gpu`. */
          gpus: z.array(nonNegInt(), { error: 'must be a list of CUDA device indices, e.g. [0, 1]' }),
        })
        .strict(),
    })
    .strict();
}

let schema: ReturnType<typeof buildSchema> | null = null;
/** The config's schema, built at its first use. */
export const configSchema = (): ReturnType<typeof buildSchema> => (schema ??= buildSchema());

export type Config = Zod.infer<ReturnType<typeof buildSchema>>;
export type DataConfig = Config['data'];

export const DEFAULT_CONFIG: Config = {
  run: { name: 'run', dir: 'runs', seed: 0 },
  data: {
    source: 'cifar10',
    path: 'data',
    download: false,
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    classes: null,
    normalize: 'auto',
    limitTrain: null,
    limitVal: null,
    synthetic: { trainSize: 5000, valSize: 1000, seed: 1 },
  },
  model: { name: 'net' },
  train: { epochs: 10, batchSize: 64, microBatches: 4, lr: 0.01, momentum: 0, weightDecay: 0 },
  eval: { every: 1, batchSize: 500 },
  checkpoint: { every: 1 },
  log: { everySteps: 10 },
  backend: 'auto',
  gpu: null,
  cluster: {
    transport: 'local',
    workers: 1,
    stepTimeoutMs: 60_000,
    heartbeatMs: 5_000,
    noWorkerTimeoutMs: 120_000,
    startTimeoutMs: 1_800_000,
    handshakeTimeoutMs: 10_000,
    maxUnauthenticated: 64,
    maxUnauthenticatedPerAddress: 16,
    token: null,
    host: '127.0.0.1',
    port: 9000,
    maxPayloadBytes: 0,
    maxMessagesPerSec: 1000,
    maxPendingBytes: 0,
    dataChunkBytes: 1 << 20,
    tasksInFlight: 2,
    tls: { cert: null, key: null },
    verify: 0,
    maxNormRatio: 1000,
    stallBackoffMs: 10_000,
    maxStalls: 3,
    gpus: [],
  },
};

/** The config as a run folder keeps it: no cluster.token, no credentials in data.url. */
export function withoutSecrets(c: Config): Config {
  return { ...c, data: { ...c.data, url: hideCredentials(c.data.url) }, cluster: { ...c.cluster, token: null } };
}

/** Top-level config sections: the keys a dotted CLI flag may start with. */
export const CONFIG_SECTIONS = Object.keys(DEFAULT_CONFIG) as (keyof Config)[];

/** Every config key as a dotted path (`train.epochs`, `cluster.tls.cert`). */
export function configKeys(): string[] {
  const walk = (v: unknown, prefix: string): string[] =>
    isPlain(v) && prefix !== 'data.normalize' ? Object.entries(v).flatMap(([k, x]) => walk(x, prefix ? `${prefix}.${k}` : k)) : [prefix];
  return walk(DEFAULT_CONFIG, '');
}

/**
 * How long a task of `examples` images may take before it is given to another worker:
 * cluster.stepTimeoutMs is a micro-batch's, so an evaluation chunk (eval.batchSize, up to 4,096)
 * gets it once per micro-batch's worth of its images. Timed as one micro-batch, evaluation failed
 * every run with a short timeout on threads, and evicted ws workers as stalled for ever.
 */
export function taskTimeoutMs(c: Pick<Config, 'cluster' | 'train'>, examples: number): number {
  const microBatch = Math.max(1, Math.ceil(c.train.batchSize / c.train.microBatches));
  return c.cluster.stepTimeoutMs * Math.max(1, Math.ceil(examples / microBatch));
}
