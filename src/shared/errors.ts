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

/**
 * 2: another try with the same command fails the same way (a scheduler should not restart it: the
 * Kubernetes coordinator Job fails on exit 2). A diverged run is one: it diverges again from its
 * checkpoint (it exited 1, the Job restarted it, and the new pod waited for ever for workers the
 * run had told to leave). Everything else, 1.
 */
const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  E_CONFIG: 2,
  E_USAGE: 2,
  E_DIVERGED: 2,
};

export class TrainerError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrainerError';
    this.code = code;
    this.exitCode = EXIT_CODES[code] ?? 1;
  }
}

export function isTrainerError(err: unknown, code?: ErrorCode): err is TrainerError {
  return err instanceof TrainerError && (code === undefined || err.code === code);
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
  process.stderr.write(`error ${describeError(err)}\n`);
  if (!isTrainerError(err) && process.env.TRAINER_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  process.exit(isTrainerError(err) ? err.exitCode : 1);
}
