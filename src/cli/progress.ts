/**
 * What a training command prints, on which stream. Results (the epoch lines,
 * the end of the run, the model's path) go to stdout, so `trainer train > log`
 * keeps them; progress and diagnostics go to stderr: on a terminal one bar per
 * epoch (images/s, running loss, ETA, workers alive), redrawn at most every
 * `minRedrawMs` and cleared before any line is written; anywhere else no bar,
 * so logs and CI output stay plain lines with no carriage returns or escapes.
 */
import type { StepInfo } from '../coordinator/train-loop.js';

export interface ProgressView {
  epoch: number;
  epochs: number;
  stepInEpoch: number;
  stepsInEpoch: number;
  /** Mean loss over the epoch's steps so far. */
  loss: number;
  imagesPerSec: number;
  /** Seconds to the end of the epoch's training steps; null when unknown. */
  etaSec: number | null;
  workers: number;
}

export function progressView(s: StepInfo, epochs: number): ProgressView {
  const perStep = s.stepInEpoch > 0 ? s.examples / s.stepInEpoch : 0;
  const remaining = (s.stepsInEpoch - s.stepInEpoch) * perStep;
  return {
    epoch: s.epoch + 1,
    epochs,
    stepInEpoch: s.stepInEpoch,
    stepsInEpoch: s.stepsInEpoch,
    loss: s.examples > 0 ? s.lossSum / s.examples : Number.NaN,
    imagesPerSec: s.imagesPerSec,
    etaSec: s.imagesPerSec > 0 && Number.isFinite(s.imagesPerSec) ? remaining / s.imagesPerSec : null,
    workers: s.workers,
  };
}

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatDuration(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) return '--:--';
  const t = Math.round(sec);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * One line, at most `columns` characters: the bar shrinks to fit the figures
 * and disappears on very narrow terminals.
 */
export function renderProgress(v: ProgressView, columns = 80): string {
  const head = `epoch ${v.epoch}/${v.epochs}`;
  const steps = `${v.stepInEpoch}/${v.stepsInEpoch}`;
  const tail =
    `${steps} ${Math.round(v.imagesPerSec)} img/s loss ${Number.isFinite(v.loss) ? v.loss.toFixed(4) : '-'}` +
    ` ETA ${formatDuration(v.etaSec)} workers ${v.workers}`;
  const barWidth = Math.min(20, columns - head.length - tail.length - 4);
  if (barWidth < 5) {
    // Whole figures only, dropped from the end: cut mid-number, "2190 img/s" read "219".
    const fields = [head, steps, `${Math.round(v.imagesPerSec)} img/s`, `loss ${Number.isFinite(v.loss) ? v.loss.toFixed(4) : '-'}`, `ETA ${formatDuration(v.etaSec)}`, `workers ${v.workers}`];
    while (fields.length > 1 && fields.join(' ').length > columns - 1) fields.pop();
    return fields.join(' ').slice(0, Math.max(0, columns - 1));
  }
  const frac = v.stepsInEpoch > 0 ? Math.min(1, v.stepInEpoch / v.stepsInEpoch) : 0;
  const done = Math.round(frac * barWidth);
  return `${head} [${'#'.repeat(done)}${'.'.repeat(barWidth - done)}] ${tail}`;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** Progress and diagnostics (stderr): the bar, on a terminal, and the `log` lines. */
  stream: ProgressStream;
  /** Results (stdout): the `result` lines. */
  out: ProgressStream;
  epochs: number;
  /** Print nothing but errors. */
  quiet: boolean;
  /** stdout carries JSON (`--json`): result lines go to `stream` instead. */
  json: boolean;
  /** Whether `out` was closed by its reader: result lines then go to `stream`, so the run's end is still told. */
  outClosed?: () => boolean;
  /**
   * A terminal that takes no escape sequences (default: TERM=dumb, as Emacs' shell and compilation
   * buffers and some CI log viewers set it): the bar is cleared by overwriting it with spaces.
   */
  plain?: boolean;
  /** Least time between two redraws of the bar, ms (default 100: at most ~10 per second). */
  minRedrawMs?: number;
  now?: () => number;
}

export interface Progress {
  /** Progress and diagnostics: start-up lines, notes, the dashboard's address (stderr). */
  log: (line: string) => void;
  /** Results: the epoch lines, the end of the run, the model's path (stdout, or stderr with --json). */
  result: (line: string) => void;
  /** Per step: redraws the bar; undefined when no bar is drawn (not a terminal, or quiet). */
  onStep: ((s: StepInfo) => void) | undefined;
  /** Clears the bar, e.g. before the process exits. */
  done: () => void;
}

const CLEAR_LINE = '\r\x1b[2K';

export function createProgress(o: ProgressOptions): Progress {
  const { stream } = o;
  if (o.quiet) return { log: () => {}, result: () => {}, onStep: undefined, done: () => {} };
  const bar = stream.isTTY === true;
  const minRedrawMs = o.minRedrawMs ?? 100;
  const now = o.now ?? (() => performance.now());
  let shown = false;
  let lastDraw = -Infinity;
  // On TERM=dumb, CLEAR_LINE's escape sequence was shown as it is (`^[[2K` before every redraw).
  const plain = o.plain ?? process.env.TERM === 'dumb';
  let drawnLength = 0;
  const erase = () => (plain ? `\r${' '.repeat(drawnLength)}\r` : CLEAR_LINE);
  const clear = () => {
    if (shown) stream.write(erase());
    shown = false;
  };
  const to = (s: ProgressStream) => (line: string) => {
    clear();
    s.write(`${line}\n`);
  };
  const log = to(stream);
  const toOut = to(o.out);
  const result = o.json ? log : (line: string) => (o.outClosed?.() ? log(line) : toOut(line));
  return {
    log,
    result,
    onStep: bar
      ? (s) => {
          const t = now();
          // The epoch's last step is drawn regardless, so the bar ends full.
          if (t - lastDraw < minRedrawMs && s.stepInEpoch !== s.stepsInEpoch) return;
          lastDraw = t;
          const line = renderProgress(progressView(s, o.epochs), stream.columns || 80);
          stream.write(`${shown ? erase() : ''}${line}`);
          drawnLength = line.length;
          shown = true;
        }
      : undefined,
    done: clear,
  };
}
