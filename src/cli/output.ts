/** How the CLI talks to people: one-line errors and notes on stderr, progress only on a terminal, Ctrl-C. */
import { describeError, isTrainerError } from '../shared/errors.js';

export function fail(err: unknown): never {
  process.stderr.write(`error ${describeError(err)}\n`);
  if (!isTrainerError(err) && process.env.TRAINER_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
  process.exit(isTrainerError(err) ? err.exitCode : 1);
}

/** A download bar on a terminal; nothing otherwise. */
export function downloadProgress(stream: NodeJS.WriteStream = process.stderr) {
  if (!stream.isTTY) return undefined;
  let lastDraw = 0;
  return (received: number, total: number | null) => {
    const now = Date.now();
    if (now - lastDraw < 100 && received !== total) return;
    lastDraw = now;
    const mb = (x: number) => (x / 1e6).toFixed(1);
    if (total) {
      const width = 30;
      const done = Math.round((received / total) * width);
      stream.write(`\rdownloading [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${mb(received)}/${mb(total)} MB`);
    } else {
      stream.write(`\rdownloading ${mb(received)} MB`);
    }
    if (total !== null && received >= total) stream.write('\n');
  };
}

/** A line for people on stderr, unless --quiet. */
export const note = (quiet: boolean) => (quiet ? () => {} : (line: string) => void process.stderr.write(`${line}\n`));

/**
 * Ctrl-C (or SIGTERM): stop at the next step boundary, with a checkpoint; a
 * second one quits at once. Returns the function that removes the handlers.
 */
export function stopOnSignal(controller: AbortController, beforeNote: () => void = () => {}): () => void {
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    beforeNote();
    process.stderr.write('\nstopping at the next step (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
