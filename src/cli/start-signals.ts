/**
 * From the command line's first moment (main.ts, before anything that takes time to load) until a
 * command takes SIGINT, SIGTERM and SIGHUP over (a run's stop at the next step, a worker's leave),
 * one of them ends the process as before, by the signal itself (a shell and a scheduler see 128 +
 * its number), but says so on stderr first: a scheduler's SIGTERM in the first ~0.4 s of
 * `trainer train` or `trainer coordinator` (loading, the flags, the config, a resume's checkpoint
 * read) ended it with 143 and not a word, where one a moment later said what it stopped and what it
 * wrote. Nothing is written by then: a run's folder is claimed after its command has taken the
 * signals over.
 */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function stopWhileStarting(signal: NodeJS.Signals): void {
  // On a terminal, off the line that Ctrl-C's ^C began. Standard error is written synchronously.
  process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}stopped by ${signal} while starting; nothing written\n`);
  // With no listener left Node gives the signal its default action back, and it ends the process at
  // once: process.exit() waited for the thread pool, which a read of a config from a FIFO nobody had
  // written to yet held for ever.
  endStartSignals();
  process.kill(process.pid, signal);
}

/** Answers the signals with stopWhileStarting's line; not on import, so that a test that imports the CLI's modules keeps its own. */
export function answerStartSignals(): void {
  for (const signal of SIGNALS) process.on(signal, stopWhileStarting);
}

/**
 * Ends the start's answer to SIGINT, SIGTERM and SIGHUP: called once a command has its own
 * listeners (after them: in between, Node's default action would answer), or when a command that
 * leaves them to Node starts its work. More than once is once.
 */
export function endStartSignals(): void {
  for (const signal of SIGNALS) process.off(signal, stopWhileStarting);
}
