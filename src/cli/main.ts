#!/usr/bin/env node
/**
 * The `trainer` executable. Its static imports are two small modules that run before anything else
 * loads (an ES module's imports are all parsed before any of them runs, and with the command
 * line's, ~0.25 s, a SIGUSR1 in that time still opened the inspector): no-inspector.ts takes SIGUSR1
 * from Node, start-signals.ts answers SIGINT, SIGTERM and SIGHUP with a line until a command takes
 * them over.
 */
import './no-inspector.js';
import { answerStartSignals } from './start-signals.js';

answerStartSignals();

await import('./cli.js');
