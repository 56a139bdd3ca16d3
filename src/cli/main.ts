#!/usr/bin/env node
/**
 * The `trainer` executable. Its static imports are two small modules that run before anything else
 * loads (an ES module's imports are all parsed before any of them runs, and with the command
 * line's, ~0.25 s, a SIGUSR1 in that time still opened the inspector): no-inspector.ts takes SIGUSR1
 * from Node, start-signals.ts answers SIGINT, SIGTERM and SIGHUP with a line until a command takes
 * them over.
 */
import './no-inspector.js';
import { fail, openFilesError } from '../shared/errors.js';
import { answerStartSignals } from './start-signals.js';

answerStartSignals();

try {
  await import('./cli.js');
} catch (err) {
  // Node loads the modules' files many at once: a low `ulimit -n` met here was a stack trace.
  if (openFilesError(err) === null) throw err;
  fail(err);
}
