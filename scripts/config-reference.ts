/**
 * The README's config reference, generated from the schema: every key's path,
 * type and limits (from the zod schema), default (from DEFAULT_CONFIG) and a
 * sentence (below). test/docs/config-reference.test.ts fails when README.md
 * and this output differ, and this script fails when a schema key has no
 * sentence or a sentence names no key, so the reference cannot drift.
 *
 *   node dist/scripts/config-reference.js           print the section
 *   node dist/scripts/config-reference.js --write   rewrite it in README.md
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { configSchema, DEFAULT_CONFIG, zod } from '../src/shared/config.js';

/** One sentence per key; the schema's comments say the same where it has them. */
export const DESCRIPTIONS: Record<string, string> = {
  'run.name': 'Run folder name under `run.dir`: one folder (no path separators, not `.` or `..`).',
  'run.dir': 'Parent folder of run folders; a leading `~/` is the home folder.',
  'run.seed': 'Seeds the initial weights and the per-epoch permutation: with the same seed, any number of workers ends with the same weights.',
  'data.source': '`cifar10` reads the CIFAR-10 binary files; `synthetic` generates a seeded CIFAR-shaped set into `data.path` in the same format.',
  'data.path': 'Folder holding `cifar-10-binary.tar.gz` or `cifar-10-batches-bin/` (and generated synthetic sets); a leading `~/` is the home folder.',
  'data.download': 'Download the CIFAR-10 tarball from `data.url` (md5-checked) when neither it nor the extracted folder is there.',
  'data.url': 'Where `data.download` fetches the tarball from (http or https, redirects followed). A user and password in it (`https://user:secret@host/…`) are used, and shown as `***` in messages, `config.json`, checkpoints and reports: a resume that must download again needs `--data.url` once more. It must parse as a URL (`E_CONFIG` otherwise): write `/ ? # @` in a user or password as `%2F %3F %23 %40`.',
  'data.md5': 'Expected md5 of the downloaded tarball.',
  'data.classes': 'CIFAR-10 class names to keep, at least two, each once, relabelled 0..k-1 in this order (CIFAR-3 is `[airplane, automobile, ship]`); null keeps all ten.',
  'data.normalize':
    "Per-channel normalisation: `article` (the article's mean 0.4914/0.4822/0.4465, std 0.2470/0.2435/0.2616), `auto` (computed from the selected training set) or explicit (means from -1e6 to 1e6, stds of at least 1e-6).",
  'data.limitTrain': 'Keep only the first N training records (after class selection); null keeps all.',
  'data.limitVal': 'Keep only the first N validation records (after class selection); null keeps all.',
  'data.synthetic.trainSize': 'Synthetic training images generated (before class selection); at least 5, one in each training batch file.',
  'data.synthetic.valSize': 'Synthetic validation images generated (before class selection).',
  'data.synthetic.seed': 'Seed of the synthetic images; another seed or size is another set, in another folder.',
  'model.name': "`net`: the article's CNN (18,354 parameters); `fc`: the article's fully connected net (3072→1024→512→128→10).",
  'train.epochs': 'Passes over the training set.',
  'train.batchSize': 'Global batch: examples per SGD step, whatever the number of workers.',
  'train.microBatches': 'Fixed micro-batches per step: the unit of work and of reduction order. At least `cluster.workers`, at most `train.batchSize`; each at most 4,096 examples (one pass must fit in the 4 GiB memory of the wasm backend), and their gradients at most 4 GiB a step (287 micro-batches for `fc`).',
  'train.lr': 'SGD learning rate; at least the least float32 (the step computes in float32, where a smaller lr moves no weight).',
  'train.momentum': 'SGD momentum; 0 is plain SGD. At most the largest float32 below 1: the step computes in float32.',
  'train.weightDecay': 'L2 weight decay, added to the gradient as `weightDecay·p`.',
  'eval.every': 'Compute train and validation accuracy every N epochs (and always after the last).',
  'eval.batchSize': 'Images per evaluation task (at most 4,096: one pass must fit in the 4 GiB memory of the wasm backend).',
  'checkpoint.every': 'Write `checkpoint/state.ckpt` every N epochs (and always at the end and on Ctrl-C).',
  'log.everySteps': 'Write a line to `steps.jsonl` every N steps: the mean loss and images/s of those steps, the learning rate and the workers.',
  backend: 'Where tensors are computed; `auto` picks a GPU backend when a GPU is asked for (tensorflow-gpu, then webgpu), else tensorflow, else wasm, else cpu. `webgpu` without `gpu` takes Dawn\'s first adapter, a software one (lavapipe) included.',
  gpu: 'The GPU to compute on: for tensorflow-gpu the CUDA device (sets `CUDA_VISIBLE_DEVICES`; counted among those already visible when it is set), for webgpu the N-th hardware adapter; null asks for no GPU.',
  'cluster.transport':
    "`local`: the coordinator's own thread; `threads`: worker threads (`--threads N`); `procs`: local worker processes over WebSocket (`--procs N`); `ws`: remote workers (`trainer coordinator`).",
  'cluster.workers': 'Worker threads, processes or remote workers to train with.',
  'cluster.stepTimeoutMs': 'A micro-batch not back within this time is given to another worker (a thread is restarted, a WebSocket worker dropped). An evaluation chunk gets it once per micro-batch of its images (`eval.batchSize` of 500 in micro-batches of 16: 32 times).',
  'cluster.heartbeatMs': 'Ping interval to idle WebSocket workers; one silent for 3 intervals is dropped. A worker holding a micro-batch is not pinged: it is timed out by `cluster.stepTimeoutMs`, and its micro-batches reassigned.',
  'cluster.noWorkerTimeoutMs': 'With no worker at all, wait this long, then checkpoint and stop.',
  'cluster.startTimeoutMs': '`trainer coordinator`: a new run whose `cluster.workers` (or `--min-workers`) have not all joined within this time, or a resumed run with none, gives up: `E_NO_WORKERS`, exit 1, nothing written. It says every 30 s that it waits. 0 waits for ever. (`--procs` runs have their own deadline for their local workers.)',
  'cluster.handshakeTimeoutMs': 'A connection that has not authenticated within this time is closed, also one that never sends a byte.',
  'cluster.maxUnauthenticated': 'Connections to the coordinator\'s port (workers not yet authenticated, dashboard requests) open at once; the excess is closed as it connects. Every socket also counts against the open-file limit (`ulimit -n`) less 64 descriptors kept for the run\'s files.',
  'cluster.maxUnauthenticatedPerAddress': 'The same, from one address.',
  'cluster.token': 'Shared secret of coordinator and workers (or the `TRAINER_TOKEN` environment variable); null means none (then `TRAINER_TOKEN` is read), allowed on loopback only; a blank one is `E_CONFIG`. `trainer coordinator` keeps it out of the stored config.',
  'cluster.host': 'Address the coordinator listens on; `all` for every IPv6 and IPv4 address (`0.0.0.0` is IPv4 only); an IPv6 address bare or in brackets (`[fd00::5]`). A port or a scheme in it (`hostA:9000`, `ws://…`) is `E_CONFIG`: the port goes in `cluster.port`. Anything but `localhost` or a literal loopback address (127.0.0.0/8, ::1) needs a token.',
  'cluster.port': 'Port the coordinator listens on; 0 picks a free port.',
  'cluster.maxPayloadBytes': 'Largest WebSocket frame accepted from a ready worker; 0 sizes it from the model. Otherwise at least a gradient frame of the model (4 bytes a parameter and 512: 73,928 for `net`), which every result is.',
  'cluster.maxMessagesPerSec': 'Frames one WebSocket worker may send per second (a burst of as many); a worker past it is dropped.',
  'cluster.maxPendingBytes': 'Bytes queued to a WebSocket worker that does not read before it is dropped; 0 sizes it as 4 weights frames plus 2 dataset chunks. Otherwise at least one of each (each frame 512 bytes more than its floats or chunk), or a worker on a link slower than loopback is dropped at its first.',
  'cluster.dataChunkBytes': 'Size of the pieces the dataset is sent to a joining worker in (each one frame); at most 256 MiB.',
  'cluster.tasksInFlight': 'Micro-batches sent ahead to one WebSocket worker, so it never waits a round trip between them.',
  'cluster.tls.cert': 'PEM certificate file: with `cluster.tls.key`, the coordinator serves `wss://`; a leading `~/` is the home folder.',
  'cluster.tls.key': 'PEM private key file of `cluster.tls.cert`; a leading `~/` is the home folder.',
  'cluster.verify': 'Checks untrusted WebSocket workers by recomputation: this fraction of micro-batches and evaluation chunks, drawn at random, is also computed by a second worker and compared bit for bit (a mismatch goes to a third; the odd one is evicted and refused for the run). 0 checks nothing, 1 everything (twice the compute); needs one backend and `cluster.workers` ≥ 2, and worker processes (`trainer coordinator`, `trainer train --procs N`): threads and an in-process run are trusted, and refuse it. See Security.',
  'cluster.maxNormRatio': 'A WebSocket worker\'s gradient whose norm per example passes this multiple of the median of the other workers\' norms (one value per worker, moving at most √ of this a step) is suspect: it is used only if another worker computes the same bits, else its sender is evicted and refused for the run. One this many times smaller is used, but evicts nobody. See Security.',
  'cluster.stallBackoffMs': 'A worker evicted for a stall (a task past `cluster.stepTimeoutMs`, or silence), or for a result that does not fit its task, may rejoin after this long, doubled for each further eviction of either kind.',
  'cluster.maxStalls': 'Evictions for a stall or for a result that does not fit its task, counted together, after which a worker (by name) is refused for the rest of the run.',
  'cluster.gpus': 'With `cluster.transport: procs` (`trainer train --procs`): CUDA device of each local worker process, round-robin, e.g. `[0, 1]` for one process per GPU; empty gives every process the run\'s `gpu`. `--gpus 0,1` sets it.',
};

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  minItems?: number;
  pattern?: string;
};

const SAFE_MAX = Number.MAX_SAFE_INTEGER;

/**
 * The schema keywords describeType renders, and those it leaves out on purpose. Another one (a
 * bound zod gained) throws, so the table cannot leave a constraint out: `< 1` of train.momentum was,
 * and the table said "number ≥ 0" while 1 was refused.
 */
const RENDERED = new Set(['type', 'enum', 'const', 'anyOf', 'properties', 'items', 'prefixItems', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'pattern']);
const NOT_RENDERED = new Set(['$schema', 'description', 'default', 'additionalProperties', 'required', 'minLength', 'minItems', 'maxItems', 'format']);

function describeType(s: JsonSchema): string {
  const unknown = Object.keys(s).filter((k) => !RENDERED.has(k) && !NOT_RENDERED.has(k));
  if (unknown.length > 0) throw new Error(`scripts/config-reference.ts cannot describe schema keyword(s) ${unknown.join(', ')} of ${JSON.stringify(s)}`);
  if (s.anyOf) return s.anyOf.map(describeType).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const).replace(/"/g, "'");
  if (s.enum) return s.enum.map((v) => `'${String(v)}'`).join(' | ');
  if (Array.isArray(s.type)) return s.type.map((t) => describeType({ ...s, type: t })).join(' | ');
  switch (s.type) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'boolean';
    case 'string':
      return s.pattern ? `string matching ${s.pattern}` : 'string';
    case 'integer':
    case 'number': {
      const what = s.type === 'integer' ? 'integer' : 'number';
      // Each bound as zod states it, open or closed (train.momentum's `< 1` was left out: "number ≥ 0").
      const low = s.exclusiveMinimum !== undefined ? { open: true, at: s.exclusiveMinimum } : s.minimum !== undefined ? { open: false, at: s.minimum } : null;
      const high =
        s.exclusiveMaximum !== undefined ? { open: true, at: s.exclusiveMaximum } : s.maximum !== undefined && s.maximum < SAFE_MAX ? { open: false, at: s.maximum } : null;
      if (low && high) return `${what} in ${low.open ? '(' : '['}${low.at}, ${high.at}${high.open ? ')' : ']'}`;
      if (low) return `${what} ${low.open ? '>' : '≥'} ${low.at}`;
      if (high) return `${what} ${high.open ? '<' : '≤'} ${high.at}`;
      return what;
    }
    case 'array':
      if (s.prefixItems) return `[${s.prefixItems.map(describeType).join(', ')}]`;
      return `list of ${s.items ? describeType(s.items) : 'values'}`;
    case 'object':
      return `{${Object.entries(s.properties ?? {})
        .map(([k, v]) => `${k}: ${describeType(v)}`)
        .join(', ')}}`;
    default:
      return 'value';
  }
}

export interface KeyDoc {
  path: string;
  type: string;
  default: unknown;
  description: string;
}

function defaultAt(path: string): unknown {
  let v: unknown = DEFAULT_CONFIG;
  for (const k of path.split('.')) v = (v as Record<string, unknown>)[k];
  return v;
}

/** Every leaf key of the schema, in schema order. Throws when a key and the descriptions disagree. */
export function configKeys(): KeyDoc[] {
  // The zod that built the schema (its registry holds the descriptions).
  const root = zod().toJSONSchema(configSchema(), { io: 'input' }) as JsonSchema;
  const out: KeyDoc[] = [];
  const walk = (s: JsonSchema, prefix: string) => {
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v.type === 'object' && v.properties) {
        walk(v, path);
        continue;
      }
      const description = DESCRIPTIONS[path];
      if (description === undefined) throw new Error(`config key ${path} has no description in scripts/config-reference.ts`);
      out.push({ path, type: describeType(v), default: defaultAt(path), description });
    }
  };
  walk(root, '');
  const known = new Set(out.map((d) => d.path));
  const stale = Object.keys(DESCRIPTIONS).filter((p) => !known.has(p));
  if (stale.length > 0) throw new Error(`scripts/config-reference.ts describes keys the schema lacks: ${stale.join(', ')}`);
  return out;
}

export const BEGIN = '<!-- config-reference:begin (generated by scripts/config-reference.ts; do not edit by hand) -->';
export const END = '<!-- config-reference:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown between the markers (markers included). */
export function configReference(): string {
  const rows = configKeys().map(
    (d) => `| \`${d.path}\` | \`${cell(d.type)}\` | \`${cell(JSON.stringify(d.default))}\` | ${cell(d.description)} |`,
  );
  return [BEGIN, '', '| key | type | default | what it does |', '| --- | --- | --- | --- |', ...rows, '', END].join('\n');
}

/** README text with the generated section replaced; throws when the markers are missing. */
export function withReference(readme: string): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error('README.md has no config-reference markers');
  return readme.slice(0, a) + configReference() + readme.slice(b + END.length);
}

/** The generated section as README.md holds it now, or null when it has none. */
export function currentReference(readme: string): string | null {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  return a < 0 || b < a ? null : readme.slice(a, b + END.length);
}

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--write')) {
    await writeFile(README, withReference(await readFile(README, 'utf8')));
    process.stdout.write(`${README}: config reference updated\n`);
  } else {
    process.stdout.write(`${configReference()}\n`);
  }
}
