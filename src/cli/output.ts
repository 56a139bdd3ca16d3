/** How the CLI talks to people: one-line errors and notes on stderr, progress only on a terminal, Ctrl-C. */
import { constants as osConstants } from 'node:os';
import { TrainerError, fail } from '../shared/errors.js';
import { STOP_WITH_PID, watchLauncher } from './launcher-watch.js';
import { takeEarlyUsr1 } from './no-inspector.js';
import { endStartSignals } from './start-signals.js';
import type { DownloadProgress } from '../data/download.js';


/**
 * A download bar on a terminal, unless --quiet; nothing otherwise. Its line is ended when the
 * download ends, however it ends: an error, a stop or the next line was written onto the bar.
 */
export function downloadProgress(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): DownloadProgress | undefined {
  if (!stream.isTTY || quiet) return undefined;
  let lastDraw = 0;
  let open = false;
  return (received, total, ended = false) => {
    const now = Date.now();
    if (!ended && now - lastDraw < 100 && received !== total) return;
    lastDraw = now;
    const mb = (x: number) => (x / 1e6).toFixed(1);
    if (!ended || open) {
      if (total) {
        const width = 30;
        const done = Math.round((Math.min(received, total) / total) * width);
        stream.write(`\rdownloading [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${mb(received)}/${mb(total)} MB`);
      } else {
        stream.write(`\rdownloading ${mb(received)} MB`);
      }
      open = true;
    }
    if (open && (ended || (total !== null && received >= total))) {
      stream.write('\n');
      open = false;
    }
  };
}

/**
 * Where stderr is no terminal (a scheduler's log, `2> log`), unless --quiet: a line as the download
 * starts (`what`: the URL and the folder), one every `everyMs` while it goes on, and one when it is
 * complete. There the bar draws nothing, and a run downloading CIFAR-10's 163 MB wrote not a line
 * until its data line, minutes later: a job's log could not tell a download from a hang. A
 * download that fails says nothing more here: its error line follows.
 */
export function downloadLines(
  quiet: boolean,
  what: string,
  stream: { write(s: string): unknown } = process.stderr,
  everyMs = 30_000,
  now: () => number = Date.now,
): DownloadProgress | undefined {
  if (quiet) return undefined;
  const mb = (x: number) => (x / 1e6).toFixed(1);
  let started: number | null = null;
  let last = 0;
  return (received, total, ended = false) => {
    const t = now();
    if (started === null) {
      started = last = t;
      stream.write(`downloading ${what}${total === null ? '' : ` (${mb(total)} MB)`}\n`);
    }
    if (ended) {
      if (total === null || received >= total) stream.write(`downloaded ${mb(received)} MB in ${((t - started) / 1000).toFixed(1)} s\n`);
    } else if (t - last >= everyMs && (total === null || received < total)) {
      last = t;
      stream.write(`downloading: ${mb(received)}${total === null ? '' : ` of ${mb(total)}`} MB\n`);
    }
  };
}

/** A line for people on stderr, unless --quiet. */
export const note = (quiet: boolean) => (quiet ? () => {} : (line: string) => void process.stderr.write(`${line}\n`));

/** The exit status of a process whose output pipe closed (128 + SIGPIPE), as a shell reports it. */
export const CLOSED_OUTPUT_EXIT = 141;

let outputClosed = false;
/** The code of the error that a write to standard output met, other than its reader closing it (watchOutput). */
let outputError: string | null = null;
let onOutputClosed: (() => void) | null = null;
/** The SIGINT, SIGTERM or SIGHUP that asked the run to stop (stopOnSignal), or null for none. */
let stopSignal: NodeJS.Signals | null = null;

/**
 * Standard output and error closed by their reader (`trainer train | head -1`): Node reports EPIPE
 * as an 'error' event, which unheard was an uncaught exception that lost the run in progress.
 * Now a closed stdout stops a training run as Ctrl-C does (stopOnSignal: at the next step, with
 * a checkpoint; exit status CLOSED_OUTPUT_EXIT) and ends any other command quietly with that
 * status; a closed stderr is only no longer written to. Called once, at start-up.
 */
export function watchOutput(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') {
      // In a training run, a write that fails (ENOSPC: `> log` on a full disk) stops it as a closed
      // pipe does, with a checkpoint, then ends it with E_IO (outputWriteError): it ended the process
      // at once, and the epoch just printed, whose checkpoint was next, was lost.
      if (onOutputClosed === null) fail(new TrainerError('E_IO', `cannot write standard output: ${err.code ?? err.message}`));
      outputError ??= err.code ?? err.message;
    }
    if (outputClosed) return;
    outputClosed = true;
    if (onOutputClosed) onOutputClosed();
    else process.exit(CLOSED_OUTPUT_EXIT);
  });
  process.stderr.on('error', () => {});
}

/**
 * The E_IO of a training run stopped because its standard output could not be written (not closed
 * by its reader: a full disk, an I/O error), said once the run has stopped; null for none.
 */
export function outputWriteError(): TrainerError | null {
  if (outputError === null) return null;
  return new TrainerError('E_IO', `cannot write standard output: ${outputError}; the run stopped at a step boundary, its checkpoint written: --resume continues it`);
}

/** Whether standard output was closed by its reader (watchOutput). */
export function isOutputClosed(): boolean {
  return outputClosed;
}

/** What stopOnSignal is told as the run ends. */
export interface RunSignals {
  /**
   * Training is finished, its model saved; closing the pool is left (a ws pool may wait seconds
   * for workers to read the end). A signal now ends that wait; a second quits at once with the
   * command's status, as over's does: there is no next step to stop at, nor anything to lose.
   */
  finished(): void;
  /**
   * The run's last step is done: its evaluation and model are left, and a stop now does not stop
   * it (there is no step boundary left to stop at): it finishes, in seconds.
   */
  lastStep(): void;
  /** The run is over (more than once is once): a signal from now on exits at once, with the status the command set. */
  over(): void;
}

/** The same signal again within this long of the first is the same stop, not a second one (stopOnSignal). */
export const REPEAT_IS_SAME_MS = 300;

/**
 * Ctrl-C (or SIGTERM, or SIGHUP: the terminal or SSH session went away), or standard output
 * closed (watchOutput): stop at the next step boundary, with a checkpoint; a second Ctrl-C quits
 * at once (the same signal within REPEAT_IS_SAME_MS is the first one delivered twice). Returns what
 * ends this as the run ends (RunSignals).
 */
export function stopOnSignal(controller: AbortController, beforeNote: () => void = () => {}, quiet = false): RunSignals {
  // --quiet prints only errors: the notes go, the stop is the same.
  const note = (text: string) => {
    beforeNote();
    if (!quiet) process.stderr.write(text);
  };
  stopSignal = null;
  // A second SIGINT, SIGTERM or SIGHUP quits at once (128 + its number; once trained, the command's
  // status); a SIGUSR1 before them does not count.
  let signalled = false;
  // After the last step, "stopping at the next step" was said of a run that had none left.
  let trained = false;
  let lastStepDone = false;
  const stopping = (already = false) => {
    const a = already ? 'already ' : '';
    if (trained) return `training is finished, its model saved: ${a}ending`;
    // It then finished and exited 0, model saved, after saying it would stop at a step it never took.
    if (lastStepDone) return `the last step is done: ${a}finishing (its last evaluation and the model are left)`;
    return `${a}stopping at the next step`;
  };
  let firstSignalMs = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      // One stop delivered twice: a forwarder (timeout(1), a supervisor) signals this process and
      // its process group, and both reached it. Taken as "again", it quit at once with no checkpoint.
      if (signal === stopSignal && performance.now() - firstSignalMs < REPEAT_IS_SAME_MS) return;
      process.exit(trained ? (process.exitCode ?? 0) : signalExit(signal));
    }
    signalled = true;
    firstSignalMs = performance.now();
    // Also after a SIGUSR1 began the stop: scancel's SIGTERM reaches the coordinator beside the
    // SIGUSR1 that trainer.sbatch passes on, in either order, and the status is the SIGTERM's.
    stopSignal = signal;
    const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal';
    if (controller.signal.aborted) return note(`\n${stopping(true)} (${again} to quit at once)\n`);
    note(`\n${stopping()} (${again} to quit at once)\n`);
    controller.abort();
  };
  // SIGUSR1 asks for a stop and never quits at once: Slurm's "time limit near", and the batch
  // script's way to pass on a SIGTERM (scancel -b) that may have reached this process as well.
  const onUsr1 = () => {
    if (controller.signal.aborted) return;
    note(`\nSIGUSR1: ${stopping()}\n`);
    controller.abort();
  };
  const onClosed = () => {
    if (controller.signal.aborted) return;
    note(`\nstandard output ${outputError === null ? 'was closed' : `cannot be written (${outputError})`}: ${stopping()}\n`);
    controller.abort();
  };
  const endLauncherWatch = watchLauncher((pid) => {
    if (controller.signal.aborted) return;
    note(`\nthe process that launched it (pid ${pid}, ${STOP_WITH_PID}) is gone: ${stopping()}\n`);
    controller.abort();
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  endStartSignals();
  process.on('SIGUSR1', onUsr1);
  if (takeEarlyUsr1()) onUsr1();
  onOutputClosed = onClosed;
  let ended = false;
  const over = () => {
    if (ended) return;
    ended = true;
    endLauncherWatch();
    // The run is over, only its files and the exit are left: a signal now ends the process with the
    // status it has (Node's default action made a finished run, model saved, exit 143).
    const onLate = () => process.exit(process.exitCode ?? 0);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, onLate); // first: between the two, the signal had its default action
      process.off(sig, onSignal);
    }
    process.on('SIGUSR1', () => {}); // never no listener: Node would open its inspector on the next one
    process.off('SIGUSR1', onUsr1);
    if (onOutputClosed === onClosed) onOutputClosed = null;
  };
  const finished = () => {
    trained = true;
  };
  const lastStep = () => {
    lastStepDone = true;
  };
  return { finished, lastStep, over };
}

/**
 * The exit status of a run that stopped before its end. After its output closed: CLOSED_OUTPUT_EXIT.
 * Stopped by a signal before its first step (`not-started`: loading or downloading the data,
 * waiting for workers), when nothing was trained or written: 128 + the signal's number (130 for
 * SIGINT, 143 for SIGTERM, 129 for SIGHUP), as the same signal a moment earlier, in the command's
 * start (start-signals.ts), ends it by the signal itself. A SIGUSR1 is a request to stop, which
 * never ends the process: no death to mirror, 130.
 * Stopped at a step boundary with its checkpoint written: 130, whatever signal asked for the stop.
 * That status says "stopped cleanly, checkpoint written, --resume continues it": trainer.sbatch
 * (deploy/slurm) tells it from a death by a signal and says so, where 143 reads as killed by a
 * SIGTERM before it could stop; and a SIGTERM is how Slurm's scancel and Kubernetes ask for it.
 */
export function stoppedExit(outcome: 'stopped' | 'not-started'): number {
  if (outputClosed) return CLOSED_OUTPUT_EXIT;
  if (outcome === 'not-started' && stopSignal !== null) return signalExit(stopSignal);
  return 130;
}

/** The status a shell reports for a process ended by `signal`: 128 + its number. */
function signalExit(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 2);
}
