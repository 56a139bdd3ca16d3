/**
 * The run configuration: typed defaults in one place, YAML over defaults, CLI
 * flags over YAML (both read in config-file.ts), then one validation that names the key path and
 * quotes the bad value. The resolved config is stored with every run and checkpoint.
 */
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { z as Zod } from 'zod';
import { CIFAR10_CLASSES } from '../data/cifar-format.js';
import { TrainerError } from './errors.js';
import { hideCredentials, httpUrl } from './url.js';
import { didYouMean } from './suggest.js';
import { takesGpu } from './gpu-backends.js';
import { withStandIns } from './stand-ins.js';
import { copyWritten, quoteWritten, setWritten, writtenAt } from './written-numbers.js';

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
const TASK_LIMIT_WHY = "a task's images must fit the 4 GiB memory of the wasm backend";
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
          /** A worker evicted for a stall, or for a result that does not fit its task, may rejoin after this long, doubled for each further eviction of either kind. */
          stallBackoffMs: posInt(),
          /** Evictions for stalls and for results that do not fit their task, counted together, after which a worker is refused for the rest of the run. */
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

export type Plain = Record<string, unknown>;
export const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Dotted paths of the leaves (non-objects; arrays are leaves) of a nested object. */
export function leafPaths(v: unknown, prefix = ''): string[] {
  if (!isPlain(v)) return prefix ? [prefix] : [];
  return Object.entries(v).flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
}

/**
 * Deep merge: objects merge key by key, anything else (arrays included) replaces. A section left
 * empty (YAML `train:` with its keys commented out reads as null) keeps the defaults, as if absent.
 */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (isPlain(base) && over === null) return base;
  if (!isPlain(base) || !isPlain(over)) return over === undefined ? base : over;
  const out: Plain = { ...base };
  copyWritten(base, out);
  for (const [k, v] of Object.entries(over)) {
    // Own keys only, defined rather than assigned: a key "__proto__" (YAML or a flag) had replaced the
    // object's prototype and slipped past validation, and `k in base` took inherited names for keys.
    const value = Object.hasOwn(base, k) ? mergeConfig(base[k], v) : v;
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    setWritten(out, k, writtenAt(over, k));
  }
  return out;
}

/**
 * A deep copy of a config as read (sections, lists and scalars), with the text of its numbers as
 * written (structuredClone drops it, and a flag's 1e-400 was quoted as 0).
 */
export function copyConfig<T>(v: T): T {
  if (!isPlain(v) && !Array.isArray(v)) return v;
  const out: Plain | unknown[] = Array.isArray(v) ? [] : {};
  for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: copyConfig(x), enumerable: true, writable: true, configurable: true });
  copyWritten(v, out);
  return out as T;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) v = isPlain(v) || Array.isArray(v) ? (v as Plain)[k as string] : undefined;
  return v;
}

/**
 * A value for a one-line message: its JSON (NaN and Infinity as such; a number inside it as the user
 * wrote it, where it does not keep the text), cut at 60 characters; `nothing` for none.
 */
export function quote(v: unknown): string {
  if (v === undefined) return 'nothing';
  // JSON has no NaN or Infinity (YAML's .nan and .inf): it would print them as null, in a list too.
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v, function (this: unknown, k: string, x: unknown) {
    const text = writtenAt(this, k) ?? (typeof x === 'number' && !Number.isFinite(x) ? String(x) : undefined);
    return text === undefined ? x : `\u0001${text}\u0001`;
  }).replace(/"\\u0001(.*?)\\u0001"/g, '$1');
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** quote() of `holder[key]`: a number as the user wrote it, with what it reads as where that is not plain. */
export function quoteIn(holder: unknown, key: PropertyKey): string {
  const v = isPlain(holder) || Array.isArray(holder) ? (holder as Plain)[key as string] : undefined;
  const text = writtenAt(holder, key);
  return text !== undefined && typeof v === 'number' ? quoteWritten(text, v) : quote(v);
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

/** The end of the E_CONFIG message of cluster.verify with fewer than 2 workers (`trainer coordinator --min-workers` raises cluster.workers past it). */
export const VERIFY_NEEDS_WORKERS = 'needs cluster.workers of at least 2: a result is checked by a second worker';

/** Config keys that name a file or folder: a leading `~` in them is the home folder (homePath); run-config.ts makes the others absolute. */
export const HOME_PATH_KEYS = ['run.dir', 'data.path', 'cluster.tls.cert', 'cluster.tls.key'] as const;

/**
 * A path of the config with a leading `~` or `~/` read as the home folder, as a shell reads it.
 * Neither YAML nor a flag's `--data.path=~/cifar` goes through a shell, and the run made a folder
 * named `~` in the working directory. `~user/` (another user's home) is refused, not guessed.
 */
export function homePath(key: string, path: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  if (path.startsWith('~')) {
    throw new TrainerError('E_CONFIG', `${key} ${quote(path)}: only ~ and ~/ are read as the home folder; write the full path (or ./${path} for a folder of that name)`);
  }
  return path;
}

/** Validates a merged config; throws E_CONFIG with one line naming the key path and the value. */
export function validateConfig(raw: unknown): Config {
  const r = configSchema().safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (!issue) throw new TrainerError('E_CONFIG', 'invalid config');
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      // An empty key (`"": 1`, or `~: 1`, a null key) is shown as "": it was left out ("unknown config key train").
      const key = [path, issue.keys[0] === '' ? '""' : issue.keys[0]].filter(Boolean).join('.');
      // `"train.epochs": 3` in a file: the flag's spelling of a real key, which a file nests.
      const dotted = issue.keys[0]?.split('.') ?? [];
      if (dotted.length > 1 && configKeys().includes(key)) {
        const [section, ...rest] = dotted;
        throw new TrainerError('E_CONFIG', `unknown config key "${key}": a file nests it (${section}: with ${rest.join('.')}: indented under it); the dotted name is the flag's (--${key})`);
      }
      // YAML 1.1's merge key, which YAML 1.2 (what the file is read as) keeps as a key named "<<": it was
      // "unknown config key train.<<; did you mean train.lr?". Not merged: every mapping here is a
      // section of its own keys, so an anchor's holder would be an unknown key itself.
      if (issue.keys[0] === '<<') {
        throw new TrainerError('E_CONFIG', `${key}: YAML merge keys (<<: *name) are not supported in a config: write the keys out${path ? ` under ${path}` : ''}`);
      }
      const near = issue.keys[0] === '' ? '' : didYouMean(key, [...configKeys(), ...CONFIG_SECTIONS]);
      throw new TrainerError('E_CONFIG', `unknown config key ${key}${slashComment(issue.keys[0]) || near}`);
    }
    // A section given a value (`train: 5`) got zod's own words, "Invalid input: expected object, received number".
    const message = issue.code === 'invalid_type' && issue.expected === 'object' ? 'must be a section of keys' : issue.message;
    const got = valueAt(raw, issue.path);
    const quoted = issue.path.length === 0 ? quote(got) : quoteIn(valueAt(raw, issue.path.slice(0, -1)), issue.path[issue.path.length - 1] as PropertyKey);
    // `data.path: ~` meant the home folder; YAML reads a bare ~ as null.
    const tilde = got === null && (HOME_PATH_KEYS as readonly string[]).includes(path) ? ' (YAML reads a bare ~ as null: write "~" in quotes, or the full path)' : '';
    throw new TrainerError('E_CONFIG', `${path} ${message}, got ${quoted}${tilde}${path === 'data.classes' ? listHint(got) : ''}`);
  }
  const c = r.data;
  c.run.dir = homePath('run.dir', c.run.dir);
  c.data.path = homePath('data.path', c.data.path);
  if (c.cluster.tls.cert !== null) c.cluster.tls.cert = homePath('cluster.tls.cert', c.cluster.tls.cert);
  if (c.cluster.tls.key !== null) c.cluster.tls.key = homePath('cluster.tls.key', c.cluster.tls.key);
  checkDataUrl(c.data.url);
  // Checked with the flags (it was E_DATA, exit 1, once the data loaded: a retryable failure to a scheduler).
  const classes = c.data.classes ?? [];
  for (const [i, name] of classes.entries()) {
    if (!(CIFAR10_CLASSES as readonly string[]).includes(name)) {
      throw new TrainerError('E_CONFIG', `data.classes: unknown class ${JSON.stringify(name)}${didYouMean(name, CIFAR10_CLASSES)} (the classes: ${CIFAR10_CLASSES.join(', ')})`);
    }
    if (classes.indexOf(name) !== i) throw new TrainerError('E_CONFIG', `data.classes lists ${name} twice`);
  }
  // One class trained a model with nothing to tell apart, to its end, and called it a run. After the
  // names: `[zebra]` is told zebra is no class first.
  if (c.data.classes !== null && classes.length < 2) {
    throw new TrainerError('E_CONFIG', `data.classes must name at least 2 classes (one is nothing to tell apart), or be null for all ten, got ${quote(classes)}`);
  }
  if (c.cluster.workers > c.train.microBatches) {
    throw new TrainerError(
      'E_CONFIG',
      `cluster.workers (${c.cluster.workers}) must not exceed train.microBatches (${c.train.microBatches}): ` +
        'each worker needs at least one micro-batch per step; raise train.microBatches',
    );
  }
  if (c.train.microBatches > c.train.batchSize) {
    throw new TrainerError(
      'E_CONFIG',
      `train.microBatches (${c.train.microBatches}) must not exceed train.batchSize (${c.train.batchSize})`,
    );
  }
  // Checked with the flags, not once the data is loaded and the threads start.
  const tfjsNode = c.backend === 'tensorflow' || c.backend === 'tensorflow-gpu' || (c.backend === 'auto' && c.gpu !== null);
  if (c.cluster.transport === 'threads' && c.cluster.workers > 1 && tfjsNode) {
    throw new TrainerError(
      'E_CONFIG',
      c.backend === 'auto'
        ? // Not "backend tensorflow-gpu cannot ...": the user asked for auto, which tries tensorflow-gpu first with a GPU.
          `--gpu ${c.gpu} with ${c.cluster.workers} worker threads: backend auto would try tensorflow-gpu, which loads once per process; ` +
            'give --backend webgpu (it runs in threads), or use processes: trainer train --procs N (or --gpus 0,1)'
        : `backend ${c.backend} cannot run in more than one worker thread ` +
            '(tfjs-node loads once per process): use processes instead, trainer train --procs N (or --gpus 0,1), or --backend webgpu',
    );
  }
  checkGpus(c);
  // Only a WebSocket pool (ws, procs) recomputes results: `trainer train --threads 4 --cluster.verify 1`
  // was taken, checked nothing, and trained at the speed of a run that checks nothing (exit 0).
  if (c.cluster.verify > 0 && (c.cluster.transport === 'threads' || c.cluster.transport === 'local')) {
    throw new TrainerError(
      'E_CONFIG',
      `cluster.verify ${c.cluster.verify} checks WebSocket workers by recomputing their results, and cluster.transport ${c.cluster.transport} ` +
        `${c.cluster.transport === 'threads' ? "runs this process's own threads" : 'computes in this process'}: there is nothing untrusted to check; ` +
        'leave it out (--cluster.verify 0), or use worker processes (--procs N, or trainer coordinator)',
    );
  }
  if (c.cluster.verify > 0 && c.cluster.workers < 2) throw new TrainerError('E_CONFIG', `cluster.verify ${c.cluster.verify} ${VERIFY_NEEDS_WORKERS}`);
  const perTask = Math.ceil(c.train.batchSize / c.train.microBatches);
  if (perTask > MAX_TASK_EXAMPLES) {
    throw new TrainerError(
      'E_CONFIG',
      `train.batchSize (${c.train.batchSize}) in train.microBatches (${c.train.microBatches}) makes micro-batches of ${perTask} examples, ` +
        `at most ${MAX_TASK_EXAMPLES} (${TASK_LIMIT_WHY}); ` +
        (Math.ceil(c.train.batchSize / MAX_MICRO_BATCHES) > MAX_TASK_EXAMPLES
          ? `lower train.batchSize (at most ${MAX_TASK_EXAMPLES * MAX_MICRO_BATCHES} in ${MAX_MICRO_BATCHES} micro-batches)`
          : 'raise train.microBatches'),
    );
  }
  const gradientBytes = c.train.microBatches * MODEL_PARAMETERS[c.model.name] * 4;
  if (gradientBytes > MAX_STEP_GRADIENT_BYTES) {
    throw new TrainerError(
      'E_CONFIG',
      `train.microBatches (${c.train.microBatches}) with model ${c.model.name} holds ${(gradientBytes / 2 ** 30).toFixed(1)} GiB of gradients a step, ` +
        `at most ${MAX_STEP_GRADIENT_BYTES / 2 ** 30} GiB: at most ${Math.floor(MAX_STEP_GRADIENT_BYTES / (MODEL_PARAMETERS[c.model.name] * 4))} micro-batches`,
    );
  }
  // Every result a worker sends is a gradient frame: below it, ws closed each worker at its first
  // result (1009), the coordinator said "socket error", and the worker rejoined and did it again, for ever.
  const resultFrameBytes = arrayFrameBytes(MODEL_PARAMETERS[c.model.name]);
  const { maxPayloadBytes, maxPendingBytes, dataChunkBytes, transport } = c.cluster;
  if ((transport === 'ws' || transport === 'procs') && maxPayloadBytes > 0 && maxPayloadBytes < resultFrameBytes) {
    throw new TrainerError(
      'E_CONFIG',
      `cluster.maxPayloadBytes must be 0 (sized from the model) or at least ${resultFrameBytes}, a gradient frame of model ${c.model.name}, got ${maxPayloadBytes}`,
    );
  }
  // A frame the coordinator sends is unread until the link carries it: below a weights frame and a
  // dataset chunk, a worker on any link slower than loopback was dropped (4509) at its first
  // weights or chunk, and rejoined, for ever (on loopback the kernel took the frame whole).
  const sentFramesBytes = resultFrameBytes + dataChunkBytes + FRAME_OVERHEAD_BYTES;
  if ((transport === 'ws' || transport === 'procs') && maxPendingBytes > 0 && maxPendingBytes < sentFramesBytes) {
    throw new TrainerError(
      'E_CONFIG',
      `cluster.maxPendingBytes must be 0 (sized from the model) or at least ${sentFramesBytes}, a weights frame of model ${c.model.name} and a dataset chunk of cluster.dataChunkBytes, got ${maxPendingBytes}`,
    );
  }
  return c;
}


/**
 * data.classes written as the names alone (`--data.classes airplane,ship`): a string, which YAML
 * does not split. Said as the list it meant.
 */
function listHint(got: unknown): string {
  const names = typeof got === 'string' ? got.split(/[\s,]+/).filter(Boolean) : [];
  // One name alone gets none: a list of one class is refused as well (data.classes needs two).
  return names.length < 2 ? '' : ` (a YAML list: [${names.join(', ')}])`;
}

/** A hint where a line is a `//` comment, which YAML (and so a JSON config, read as YAML) does not have. */
export function slashComment(text: unknown): string {
  return typeof text === 'string' && text.trimStart().startsWith('//') ? ' (a comment in a config starts with #: // is not one)' : '';
}

/**
 * A GPU asked for that the run could not use. cluster.gpus outside `procs` was ignored and the run
 * trained on the CPU (exit 0); a GPU with a CPU backend was refused by each worker process once it
 * had started (E_WORKER_LOST, exit 1, which schedulers retry).
 */
function checkGpus(c: Config): void {
  const { gpus, transport } = c.cluster;
  if (gpus.length > 0 && transport !== 'procs') {
    throw new TrainerError(
      'E_CONFIG',
      `cluster.gpus ${quote(gpus)} (--gpus) gives each local worker process a GPU, and cluster.transport ${transport} starts none: ` +
        (transport === 'ws'
          ? "a coordinator's workers take their own --gpu N; clear it with --cluster.gpus '[]'"
          : `add --procs N (--procs ${gpus.length} for one process per GPU), or give one GPU with --gpu N`),
    );
  }
  if (gpus.length > 0 && !takesGpu(c.backend)) {
    throw new TrainerError('E_CONFIG', `cluster.gpus ${quote(gpus)} (--gpus) needs backend tensorflow-gpu, webgpu or auto, got backend ${c.backend}`);
  }
  if (c.gpu !== null && !takesGpu(c.backend)) {
    throw new TrainerError('E_CONFIG', `--gpu ${c.gpu} needs backend tensorflow-gpu, webgpu or auto, got backend ${c.backend}`);
  }
}

/**
 * E_CONFIG unless data.url is an http(s) URL, shown without its credentials: one with a password
 * holding an unescaped # / or ? did not parse, and was refused only at download time, printed,
 * and stored (config.json, checkpoint, report) as typed. So are a port 0 and a host name no
 * resolver takes (an empty label, `a..b`; a label over 63 characters or starting or ending with
 * `-`; over 253 in all): they parse, and failed only once the download began, as E_DOWNLOAD,
 * exit 1, which a scheduler retries.
 */
function checkDataUrl(url: string): void {
  const parsed = httpUrl(url);
  if (parsed === null) {
    throw new TrainerError('E_CONFIG', `data.url must be an http:// or https:// URL, got ${quote(hideCredentials(url))} (in a user or password, write / ? # @ as %2F %3F %23 %40)`);
  }
  const why = parsed.port === '0' ? 'port 0 is no port to connect to' : hostNameFault(parsed.hostname);
  if (why !== null) throw new TrainerError('E_CONFIG', `data.url ${quote(hideCredentials(url))}: ${why}`);
}

/** What is wrong with a URL's host name, or null (IP addresses pass: the URL parser checked them). */
function hostNameFault(host: string): string | null {
  if (host.startsWith('[') || /^[\d.]+$/.test(host)) return null;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length > 253) return `the host name has ${name.length} characters, over the 253 a name may have`;
  for (const label of name.split('.')) {
    if (label === '') return `the host name ${quote(host)} has an empty part (two dots in a row, or a leading dot)`;
    if (label.length > 63) return `the host name's part ${quote(label.slice(0, 20) + '…')} has ${label.length} characters, over the 63 a part may have`;
    if (label.startsWith('-') || label.endsWith('-')) return `the host name's part ${quote(label)} starts or ends with '-'`;
  }
  return null;
}
