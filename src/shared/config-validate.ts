/**
 * One validation of a merged config (config.ts's schema, then the checks across keys that a
 * schema of single keys cannot make): each refusal is one E_CONFIG line naming the key path and
 * quoting the bad value, made with the flags, before any data loads or worker starts.
 */
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CIFAR10_CLASSES } from '../data/cifar-format.js';
import { arrayFrameBytes, CONFIG_SECTIONS, configKeys, configSchema, FRAME_OVERHEAD_BYTES, MAX_MICRO_BATCHES, MAX_STEP_GRADIENT_BYTES, MAX_TASK_EXAMPLES, MODEL_PARAMETERS, TASK_LIMIT_WHY, type Config } from './config.js';
import { quote, quoteIn, valueAt } from './config-values.js';
import { TrainerError } from './errors.js';
import { takesGpu } from './gpu-backends.js';
import { didYouMean } from './suggest.js';
import { hideCredentials, httpUrl } from './url.js';

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
  c.cluster.host = clusterHost(c.cluster.host);
  // A blank token was none: TRAINER_TOKEN stood in for it, or nothing, without a word (`token: ""`
  // in a YAML file meant as none, `--cluster.token "$TOKEN"` with TOKEN a line of spaces).
  if (c.cluster.token !== null && c.cluster.token.trim() === '') {
    throw new TrainerError('E_CONFIG', `cluster.token is blank, got ${quote(c.cluster.token)}: give the token, or null for none (TRAINER_TOKEN is then read)`);
  }
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
  // The local transport computes in this process, on one worker: `--cluster.workers 2` trained on one,
  // said nothing, and stored 2 in the run's config.
  if (c.cluster.transport === 'local' && c.cluster.workers > 1) {
    throw new TrainerError(
      'E_CONFIG',
      `cluster.workers ${c.cluster.workers} with cluster.transport local: it computes in this process, on one worker; ` +
        `give --threads ${c.cluster.workers} (or --procs ${c.cluster.workers}) for more, or leave cluster.workers at 1`,
    );
  }
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

/**
 * cluster.host as the listen call takes it: an IPv6 address in brackets (`[::1]`, as a URL and a
 * worker's --connect write it) without them, and E_CONFIG for a value that is no address or name.
 * Given as a config key (YAML, --cluster.host), `[::1]` was "needs a shared token" (not seen as
 * loopback), and with a token "cannot listen for workers on [[::1]]:0: ... ENOTFOUND"; a port or
 * a scheme in it (`hostA:9000`, `ws://127.0.0.1`) was also called a name that does not resolve,
 * once the data had loaded, or "needs a shared token", neither saying the port goes in cluster.port.
 */
function clusterHost(host: string): string {
  const inBrackets = /^\[(.+)\]$/.exec(host)?.[1];
  if (inBrackets !== undefined && isIP(inBrackets) === 6) return inBrackets;
  if (isIP(host) !== 0) return host;
  const fault = (why: string) => new TrainerError('E_CONFIG', `cluster.host ${quote(host)} ${why}`);
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(host);
  const authority = url?.[1] ?? host;
  const withPort = /^(\[[^\]]*\]|[^:[\]]*):(\d+)$/.exec(authority);
  const name = withPort?.[1] ?? authority;
  const alone = `${name !== '' ? `--host ${name} ` : ''}and the port in cluster.port (--port${withPort ? ` ${withPort[2]}` : ''})`;
  if (url !== null) throw fault(`is a URL: give the address or name to listen on alone, ${alone}`);
  if (withPort !== null) throw fault(`holds a port: give the address or name alone, ${alone}`);
  // A name of letters, digits, '-', '_' and dots (or an IPv4-looking one, which the listen call judges).
  if (!/^[a-z0-9_.-]+$/i.test(host)) {
    throw fault('is not an IP address or a host name (an IPv6 address goes bare or in brackets: ::1 or [::1]; all for every address)');
  }
  const why = hostNameFault(host);
  if (why !== null) throw new TrainerError('E_CONFIG', `cluster.host ${quote(host)}: ${why}`);
  // Names are case-blind: LOCALHOST (or ALL) was a name to resolve, and without a token "needs a shared token".
  return host.toLowerCase();
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
