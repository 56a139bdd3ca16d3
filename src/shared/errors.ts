import { readFileSync } from 'node:fs';

/**
 * One error type for everything a user can get wrong or the world can break.
 * The code is stable (tests and scripts match on it); the message is one line
 * a person can act on. The CLI prints `error E_CODE: message` and exits with
 * `exitCode`.
 */
export type ErrorCode =
  | 'E_CONFIG' // bad config file, key, type or value
  | 'E_DATA' // missing, truncated or malformed dataset files
  | 'E_DOWNLOAD' // dataset download failed (offline, bad checksum, HTTP error)
  | 'E_BACKEND' // a requested backend cannot load or is not what was asked for
  | 'E_CHECKPOINT' // checkpoint missing, unreadable or from another run
  | 'E_MODEL' // unknown model, or weights that do not fit the model
  | 'E_PROTOCOL' // a frame or message that breaks the wire protocol
  | 'E_AUTH' // a peer that cannot prove the shared token
  | 'E_WORKER_LOST' // a worker died, hung or sent a bad gradient
  | 'E_NO_WORKERS' // no worker left to compute, past the deadline
  | 'E_TIMEOUT' // a wait that ran past its deadline
  | 'E_IO' // a file that could not be written (full disk, quota, file-size limit)
  | 'E_DIVERGED' // the loss or the weights are no longer finite numbers
  | 'E_VERIFY' // results of workers that cannot be reconciled, or used unverified from a worker caught lying
  | 'E_USAGE' // bad command-line usage
  | 'E_INTERNAL'; // a bug: an invariant of the trainer itself broke

/** The exit status of an error that the same command, run again unchanged, meets again. */
export const EXIT_NO_RETRY = 2;
/** The exit status of an error that another try may not meet (the world changed), and of a bug. */
export const EXIT_MAY_RETRY = 1;

/**
 * How a scheduler should take each code: EXIT_NO_RETRY where a restart of the same command fails
 * the same way (the Kubernetes Jobs fail on it at once, deploy/k8s), EXIT_MAY_RETRY where the
 * world may have changed by the next try (a network, a disk, a machine, a worker). E_CHECKPOINT
 * exited 1, as E_INTERNAL does: a coordinator Job with --auto-resume whose checkpoint was corrupt
 * restarted until its backoffLimit, each pod reading the same bytes (as E_DIVERGED did before it
 * was 2: the new pod diverged again, or waited for ever for the workers the run had sent away).
 */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  E_CONFIG: EXIT_NO_RETRY,
  E_USAGE: EXIT_NO_RETRY,
  // The files are read again as they are: a person fixes them (or copies the data in) first.
  E_DATA: EXIT_NO_RETRY,
  // Bytes that do not change, a config or data that differ from the run's, or a run another live
  // process holds (a second trainer on the folder: restarted, it waits on it again).
  E_CHECKPOINT: EXIT_NO_RETRY,
  E_MODEL: EXIT_NO_RETRY,
  // A worker and a coordinator of two builds: the same images meet again.
  E_PROTOCOL: EXIT_NO_RETRY,
  // The token comes from the same Secret or environment at every try.
  E_AUTH: EXIT_NO_RETRY,
  E_DIVERGED: EXIT_NO_RETRY,
  // Unverified results may be in the latest checkpoint: a person chooses the one to resume from,
  // where an automatic --auto-resume carried them on.
  E_VERIFY: EXIT_NO_RETRY,
  E_DOWNLOAD: EXIT_MAY_RETRY,
  // Per node and per device (a driver, a device plugin, a device lost): a new pod may land on another.
  E_BACKEND: EXIT_MAY_RETRY,
  E_WORKER_LOST: EXIT_MAY_RETRY,
  E_NO_WORKERS: EXIT_MAY_RETRY,
  E_TIMEOUT: EXIT_MAY_RETRY,
  // A full disk or a quota may be freed meanwhile.
  E_IO: EXIT_MAY_RETRY,
  // A bug may be a race: not known to fail again.
  E_INTERNAL: EXIT_MAY_RETRY,
};

export class TrainerError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainerError';
    this.code = code;
    this.exitCode = EXIT_CODES[code];
  }
}

export function isTrainerError(err: unknown, code?: ErrorCode): err is TrainerError {
  return err instanceof TrainerError && (code === undefined || err.code === code);
}

/** The soft limit on open files of this process (`ulimit -n`), from Linux's /proc; null where unknown. */
function openFilesLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * E_IO for a process out of file descriptors, from the error (or a thread's first line) that met it;
 * null for any other error. A low `ulimit -n` (a container's, a CI runner's, a shell's) stopped any
 * command with a Node stack trace while its modules loaded, `E_BACKEND: EMFILE ...` while the
 * compute threads did, and E_INTERNAL later: none said that the limit was what to change.
 */
export function openFilesError(err: unknown): TrainerError | null {
  const code = (err as { code?: unknown } | null)?.code;
  const text = typeof err === 'string' ? err : err instanceof Error ? err.message : '';
  const which = code === 'EMFILE' || /^(?:E_\w+: )?EMFILE\b/.test(text) ? 'EMFILE' : code === 'ENFILE' || /^(?:E_\w+: )?ENFILE\b/.test(text) ? 'ENFILE' : null;
  if (which === null) return null;
  if (which === 'ENFILE') return new TrainerError('E_IO', 'too many open files on this machine (ENFILE: the system-wide limit is reached): close other programs, or raise fs.file-max');
  const limit = openFilesLimit();
  const now = limit === null ? '' : ` of ${limit}`;
  return new TrainerError('E_IO', `too many open files (EMFILE): this process reached its limit${now} (ulimit -n); raise it, e.g. ulimit -n 4096, and run again`);
}

/** The soft limit on this process's address space (`ulimit -v`) in bytes, from Linux's /proc; null where unlimited or unknown. */
export function addressSpaceLimit(): number | null {
  try {
    const m = /^Max address space\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * What a limit on the address space (`ulimit -v`: SGE's h_vmem, a login's limits.conf) does to
 * WebAssembly, said where a wasm memory could not be made: V8 reserves about 10 GB of address space
 * for each (its guard regions), several in each compute thread, whatever the run's size. Empty where
 * no limit is set.
 */
export function addressSpaceNote(): string {
  const limit = addressSpaceLimit();
  if (limit === null) return '';
  const gb = (limit / 2 ** 30).toFixed(limit < 2 ** 30 ? 2 : 0);
  return `this process may use only ${gb} GiB of address space (ulimit -v ${Math.floor(limit / 1024)}), and WebAssembly reserves about 10 GiB of it for each memory, several in each compute thread: remove the limit (ulimit -v unlimited) or raise it`;
}

/**
 * E_BACKEND for a WebAssembly memory that could not be made (`WebAssembly.Memory(): could not
 * allocate memory`, `Out of memory: Cannot allocate Wasm memory`), with the address-space limit
 * that caused it where one is set; null for any other error. It was E_INTERNAL, a bug of ours.
 */
export function wasmMemoryError(err: unknown): TrainerError | null {
  const text = typeof err === 'string' ? err : err instanceof Error ? err.message : '';
  if (!/WebAssembly\.\w+\(\): (?:could not allocate memory|Out of memory)/.test(text)) return null;
  const why = addressSpaceNote();
  return new TrainerError('E_BACKEND', `WebAssembly could not reserve its memory (${text.split('\n')[0]}): ${why || 'this machine is out of memory'}`);
}

/** One line for a person: `E_CODE: message`, or the first line of an unknown error. */
export function describeError(err: unknown): string {
  if (err instanceof TrainerError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `E_INTERNAL: ${err.message.split('\n')[0] ?? ''}`;
  return `E_INTERNAL: ${String(err)}`;
}

/**
 * How a command ends on an error (the CLI's, the bench scripts'): one line `error E_CODE: message`
 * on stderr, the stack of an internal error too with TRAINER_DEBUG=1, and the error's exit status.
 */
export function fail(err: unknown): never {
  const limit = isTrainerError(err) ? null : (openFilesError(err) ?? wasmMemoryError(err));
  if (limit !== null) {
    process.stderr.write(`error ${describeError(limit)}\n`);
    if (process.env.TRAINER_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    process.exit(limit.exitCode);
  }
  process.stderr.write(`error ${describeError(err)}\n`);
  if (!isTrainerError(err) && process.env.TRAINER_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  process.exit(isTrainerError(err) ? err.exitCode : EXIT_CODES.E_INTERNAL);
}
