/** `trainer worker --connect HOST:PORT`: compute micro-batches for a coordinator. */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { resolve } from 'node:path';
import { fsFaultText, removeTempsInFlight } from '../shared/atomic-file.js';
import { fileInTheWay } from '../shared/make-dir.js';
import { BACKENDS, type BackendName } from '../shared/config.js';
import { takesGpu } from '../shared/gpu-backends.js';
import { usableCpus } from '../shared/cpus.js';
import { TrainerError } from '../shared/errors.js';
import { resolveToken } from '../transports/ws/auth.js';
import { defaultCacheDir } from '../transports/ws/dataset-cache.js';
import { MAX_WORKER_NAME_CHARS, MAX_WORKER_THREADS, WORKER_NAME } from '../transports/ws/protocol.js';
import { runWsWorker } from '../transports/ws/worker.js';
import type { WorkerArgs } from './commands.js';
import { endStartSignals } from './start-signals.js';

/**
 * HOST:PORT, [v6]:PORT or a ws(s) URL, as a URL; HOST:PORT is wss:// when `tls` (--ca: trust for
 * TLS was asked for, and the worker went on in plain text, data, weights and gradients unencrypted).
 */
export function coordinatorUrl(connect: string, tls = false): string {
  const bad = (why = '') => new TrainerError('E_USAGE', `--connect must be HOST:PORT, ws://HOST:PORT or wss://HOST:PORT${why}, got ${JSON.stringify(connect)}`);
  // Each said by name (they had the general line alone, or the IPv6 hint): a variable left empty
  // in a script (`$HOST:$PORT`) and a pasted space are the usual ones.
  if (connect.trim() === '') throw bad(' (it is empty)');
  if (/\s/.test(connect)) throw bad(' (no spaces)');
  const PORT_RANGE = ' (a port from 1 to 65535)';
  const V6_HINT = ' (an IPv6 address goes in brackets: [fd00::5]:9000)';
  const NO_CREDENTIALS = ' (no user:password@: the token goes in --token or TRAINER_TOKEN)';
  // fd00::5:9000 cannot be split into an address and a port: the brackets are what tell them apart.
  const manyColons = (hostPort: string) =>
    bad(/^[\da-f:.]+$/i.test(hostPort) ? V6_HINT : ' (one colon, before the port; an IPv6 address goes in brackets: [fd00::5]:9000)');
  // [fd00::5]9000, [::1]x:9000: said as a bad port (the part after the last colon) before.
  const afterBracket = (hostPort: string) => /^\[[^\]]*\][^:]/.test(hostPort);
  const BRACKET_COLON = ' (a colon between the ] and the port: [fd00::5]:9000)';
  // `[::1:9000`, `[::1`: said as a bad port (the part after the last colon), or no port.
  const UNCLOSED = ' (a ] closes the IPv6 address: [fd00::5]:9000)';
  const unclosed = (hostPort: string) => hostPort.startsWith('[') && !hostPort.includes(']');
  // `all` is a coordinator's way to listen on every address (--host all), not a name to dial: it was
  // looked up, "host not found: all", and retried for a minute.
  const refuseAll = (host: string) => {
    if (host.toLowerCase() !== 'all') return;
    throw new TrainerError(
      'E_USAGE',
      `--connect ${connect}: all is how a coordinator listens on every address (--host all), not an address to reach it at: give the name or address of the coordinator's machine`,
    );
  };
  if (/^wss?:\/\//i.test(connect)) {
    // Checked here: the socket library threw "Invalid URL" (E_INTERNAL) for these, and took port 0.
    const authority = /^wss?:\/\/([^/?#]*)/i.exec(connect)?.[1] ?? '';
    if (authority.includes('@')) throw bad(NO_CREDENTIALS);
    if (!authority.startsWith('[') && authority.indexOf(':') !== authority.lastIndexOf(':')) throw manyColons(authority);
    if (afterBracket(authority)) throw bad(BRACKET_COLON);
    if (unclosed(authority)) throw bad(UNCLOSED);
    const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority);
    if (!hostPort?.[1]) throw bad(' (no host)');
    if (hostPort[2] === '') throw bad(' (no port after the colon)');
    refuseAll(hostPort[1]);
    if (hostPort[2] !== undefined && !(/^\d{1,5}$/.test(hostPort[2]) && Number(hostPort[2]) >= 1 && Number(hostPort[2]) <= 65535)) throw bad(PORT_RANGE);
    let url: URL;
    try {
      url = new URL(connect);
    } catch {
      throw bad(' (not a host name or address)');
    }
    if (url.hash !== '') throw bad(' (no #fragment)');
    if (tls && url.protocol === 'ws:') {
      throw new TrainerError('E_USAGE', `--ca is trust for TLS, and ${connect} is plain text: connect with wss://, or leave --ca out`);
    }
    return connect;
  }
  // Said by name: these had the IPv6 hint below (http://h:9000, u:p@h:9000) or none (h:0).
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(connect);
  if (scheme) throw bad(` (the scheme is ws:// or wss://, not ${scheme[1]}://: the coordinator's port speaks WebSocket)`);
  // ws:/h:9000, ws:h:9000 (ws:9000 is a host named ws).
  if (/^wss?:(?!\d+$)/i.test(connect)) throw bad(' (a URL starts ws:// or wss://)');
  if (connect.includes('@')) throw bad(NO_CREDENTIALS);
  const m = /^(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(connect);
  if (!m) {
    if (!connect.includes('[') && connect.indexOf(':') !== connect.lastIndexOf(':')) throw manyColons(connect);
    if (afterBracket(connect)) throw bad(BRACKET_COLON);
    if (unclosed(connect)) throw bad(UNCLOSED);
    const colon = connect.lastIndexOf(':');
    // `--connect 9000` (the port alone) read as a host named 9000 with "no port", which it has.
    if (/^\d+$/.test(connect)) throw bad(` (a port alone: give the coordinator's host too, HOST:${connect})`);
    if (colon < 0 || connect.endsWith(']')) throw bad(' (no port)');
    if (colon === connect.length - 1) throw bad(' (no port after the colon)');
    if (colon === 0) throw bad(' (no host before the colon)');
    if (connect.includes('/')) throw bad(' (a path goes in a URL: ws://HOST:PORT/PATH)');
    throw bad(PORT_RANGE);
  }
  if (Number(m[2]) > 65535 || Number(m[2]) === 0) throw bad(PORT_RANGE);
  refuseAll(m[1] ?? '');
  const url = `${tls ? 'wss' : 'ws'}://${m[1]}:${m[2]}`;
  // A host the URL parser refuses ([zz], a|b) was E_INTERNAL "Invalid URL" from the socket library.
  if (!URL.canParse(url)) throw bad(' (not a host name or address)');
  return url;
}

/** `--ca FILE`: PEM certificates (was E_INTERNAL for a missing file; a file of anything else was taken, and TLS then said "not trusted"). */
export function readCa(file: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new TrainerError('E_USAGE', `--ca ${file}: cannot read it: ${fsFaultText(err)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TrainerError('E_USAGE', `--ca ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the coordinator's certificate or its CA's, in PEM`);
  }
  return pem;
}

/** `--threads N` or `auto` (the CPUs this process may use: its cores, capped by a container's CPU quota). */
export function parseThreads(t: string | undefined): number {
  if (t === undefined) return 1;
  if (t === 'auto') return Math.min(usableCpus(), MAX_WORKER_THREADS);
  const n = /^\d+$/.test(t) ? Number(t) : Number.NaN; // not 0x2, 1e1 or " 2"
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKER_THREADS) {
    throw new TrainerError('E_USAGE', `--threads must be an integer from 1 to ${MAX_WORKER_THREADS} or auto, got ${JSON.stringify(t)}`);
  }
  return n;
}

export function parseBackend(b: string | undefined): BackendName | undefined {
  if (b === undefined) return undefined;
  if (!(BACKENDS as readonly string[]).includes(b)) throw new TrainerError('E_USAGE', `--backend must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(b)}`);
  return b as BackendName;
}

/**
 * What several compute threads cannot run, said at start: tfjs-node (tensorflow, tensorflow-gpu,
 * and auto with a GPU, which tries tensorflow-gpu first) loads in one thread per process. Without
 * --backend the threads took the run's backend, and auto became wasm, which then refused the GPU
 * ("--gpu 0 needs backend ..., got backend wasm", a backend nobody named) once a coordinator answered.
 */
export function threadsBackendRefusal(threads: number, backend: BackendName | undefined, gpu: number | undefined): string | null {
  if (threads < 2) return null;
  const perProcess = 'run one worker process per GPU, without --threads';
  if (backend === 'tensorflow' || backend === 'tensorflow-gpu') {
    return `backend ${backend} cannot run in more than one thread (tfjs-node loads once per process): ${perProcess}, or give --backend webgpu`;
  }
  if (gpu === undefined || backend === 'webgpu') return null;
  return backend === 'auto'
    ? `--gpu ${gpu} with --threads ${threads}: backend auto would try tensorflow-gpu, which loads once per process; give --backend webgpu (it runs in threads), or ${perProcess}`
    : `--gpu ${gpu} with --threads ${threads} needs --backend webgpu (it runs in threads): without --backend the threads take the run's backend, and auto would try tensorflow-gpu, which loads once per process; or ${perProcess}`;
}

/**
 * E_USAGE when the dataset cache cannot be a folder: it, or a folder above it, is a file. The
 * worker connected, was sent the whole dataset, then said "cannot cache the dataset: cannot write
 * F/datasets/….bin: ENOTDIR", at every start, and never cached. Other failures to write it (a
 * read-only home) stay a note at the write: training does not need the cache.
 */
export function checkCacheDir(dir: string, given: '--cache-dir' | 'TRAINER_CACHE_DIR' | 'the dataset cache'): void {
  const file = fileInTheWay(dir);
  if (file === null) return;
  const give = `give a folder for the dataset cache${given === '--cache-dir' ? '' : ' with --cache-dir'} (a missing one is made)`;
  throw new TrainerError(
    'E_USAGE',
    file === resolve(dir) ? `${given} ${dir} is a file, not a folder: ${give}` : `${given} ${dir} cannot be a folder: ${file} is a file; ${give}`,
  );
}

/** What a `--parent-pipe` worker says when the process that started it is gone. */
export const PARENT_GONE = 'leaving: the trainer process that started this worker is gone';

/**
 * `--parent-pipe` (`trainer train --procs` passes it): standard input is a pipe whose other end only
 * the process that started this worker holds, so its end is that process gone, by any death: a
 * `trainer train` killed outright (SIGKILL, the OOM killer) cannot reap its workers, and they
 * retried its coordinator, gone with it, for their --retry-for-ms (10 s). The worker leaves at once, as on a second signal (its dataset temporary
 * removed), with the status a hangup gives (128 + SIGHUP): what it served is gone. A kernel closes
 * the pipe at any exit, on Linux and macOS alike; a pid to poll could be reused meanwhile.
 */
function leaveWithParent(): void {
  const gone = () => {
    // Also with --quiet: an end this process did not choose.
    process.stderr.write(`${PARENT_GONE}\n`);
    removeTempsInFlight();
    process.exit(128 + osConstants.signals.SIGHUP);
  };
  const stdin = process.stdin;
  stdin.once('end', gone);
  stdin.once('close', gone);
  stdin.once('error', gone);
  // Read and dropped: nothing is sent on it, and reading is what sees its end.
  stdin.on('data', () => {});
  // The pipe alone keeps no process alive: when this worker is done stays its own to decide.
  (stdin as { unref?: () => void }).unref?.();
}

export async function workerCommand(a: WorkerArgs): Promise<void> {
  const url = coordinatorUrl(a.connect, a.ca !== undefined);
  if (a.retryForMs !== undefined && !(Number.isInteger(a.retryForMs) && a.retryForMs >= 0)) {
    throw new TrainerError('E_USAGE', `--retry-for-ms must be a non-negative integer, got ${JSON.stringify(a.retryForMs)}`);
  }
  if (a.gpu !== undefined && (!Number.isInteger(a.gpu) || a.gpu < 0)) {
    throw new TrainerError('E_USAGE', `--gpu must be a non-negative integer, got ${JSON.stringify(a.gpu)}`);
  }
  if (a.name !== undefined && (a.name.length > MAX_WORKER_NAME_CHARS || !WORKER_NAME.test(a.name))) {
    // Checked here: the coordinator refused the hello (4400) and the worker retried until its limit.
    throw new TrainerError('E_USAGE', `--name must be at most ${MAX_WORKER_NAME_CHARS} printable ASCII characters, got ${JSON.stringify(a.name.length > 40 ? `${a.name.slice(0, 40)}...` : a.name)}`);
  }
  if (a.token !== undefined && a.token.trim() === '') {
    // It was none, and TRAINER_TOKEN stood in for it without a word (`--token "$TOKEN"` with TOKEN unset or blank).
    throw new TrainerError('E_USAGE', `--token is blank, got ${JSON.stringify(a.token)}: give the token, or leave --token out to use TRAINER_TOKEN`);
  }
  const threads = parseThreads(a.threads);
  const log = a.quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
  const controller = new AbortController();
  // Exit 0 means the coordinator is done. A worker stopped by a signal leaves cleanly and exits
  // 128 + its number: a scheduler then sees that it did not finish (a Kubernetes Indexed Job
  // counted an evicted worker's index as complete, and the run went on one worker short).
  let stoppedBy: number | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    const status = 128 + (osConstants.signals[signal] ?? 2);
    if (controller.signal.aborted) {
      removeTempsInFlight();
      process.exit(status); // a second signal: at once
    }
    stoppedBy = status;
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  endStartSignals();
  if (a.parentPipe) leaveWithParent();
  try {
    const backend = parseBackend(a.backend);
    // Said at once, not when a coordinator first answers (a worker started by a scheduler waited for one to learn it).
    if (a.gpu !== undefined && backend !== undefined && !takesGpu(backend)) {
      throw new TrainerError('E_USAGE', `--gpu ${a.gpu} needs --backend tensorflow-gpu, webgpu or auto, got --backend ${backend}`);
    }
    const threadsRefusal = threadsBackendRefusal(threads, backend, a.gpu);
    if (threadsRefusal !== null) throw new TrainerError('E_USAGE', threadsRefusal);
    const cacheDir = a.cacheDir ?? defaultCacheDir();
    checkCacheDir(cacheDir, a.cacheDir !== undefined ? '--cache-dir' : process.env.TRAINER_CACHE_DIR ? 'TRAINER_CACHE_DIR' : 'the dataset cache');
    await runWsWorker({
      url,
      token: resolveToken(a.token ?? null),
      ...(a.token !== undefined ? { tokenFromFlag: true } : {}),
      ...(backend ? { backend } : {}),
      gpu: a.gpu ?? null,
      threads,
      ...(a.name ? { name: a.name } : {}),
      cacheDir,
      retryForMs: a.retryForMs ?? null,
      ...(a.ca ? { ca: readCa(a.ca) } : {}),
      log,
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  // A dataset still being written to the cache when a signal came is cut short by the exit: its
  // temporary goes with it (a SIGTERM just after the download left 157 MB there, for 10 minutes).
  if (stoppedBy !== null) removeTempsInFlight();
  // tfjs and timers of a finished session must not keep the process alive.
  process.exit(stoppedBy ?? 0);
}
