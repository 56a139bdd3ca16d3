#!/usr/bin/env node
/**
 * The `trainer` executable. Its one static import takes SIGUSR1 from Node (no-inspector.ts) before
 * anything else loads: an ES module's imports are all parsed before any of them runs, and with the
 * command line's (~0.25 s) a SIGUSR1 in that time still opened the inspector.
 */
import './no-inspector.js';

await import('./cli.js');
