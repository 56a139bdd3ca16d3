// This folder's unit tests in one process (tests of other files spawn processes, set globals or
// serve sockets, and keep a process of their own): a process for each of these took ~0.3 s of CPU apiece.
// Run one alone with node --test dist/test/dashboard/NAME.unit.js.
import './end-shown.unit.js';
import './final-evaluation-eta.unit.js';
import './host-check.unit.js';
import './loss-curve-per-step.unit.js';
import './mixed-backends.unit.js';
import './prometheus-text.unit.js';
import './resumed-long-history.unit.js';
import './worker-speed-threads.unit.js';
