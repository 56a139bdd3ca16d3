// This folder's unit tests in one process (tests of other files spawn processes, set globals or
// serve sockets, and keep a process of their own): a process for each of these took ~0.3 s of CPU apiece.
// Run one alone with node --test dist/test/shared/NAME.unit.js.
import './atomic-file-temps-in-flight.unit.js';
import './backend-kind.unit.js';
import './config-alias-loop.unit.js';
import './config-cluster-host.unit.js';
import './config-cluster-limits.unit.js';
import './config-cluster-token.unit.js';
import './config-file-encoding.unit.js';
import './config-float32-step.unit.js';
import './config-gpus.unit.js';
import './config-home-paths.unit.js';
import './config-integer-bound.unit.js';
import './config-md5.unit.js';
import './config-merge-key.unit.js';
import './config-normalize-empty-section.unit.js';
import './config-slash-comment.unit.js';
import './config-space-after-colon.unit.js';
import './config-task-limits.unit.js';
import './config-text-flags.unit.js';
import './config-timer-limit.unit.js';
import './config-written-numbers.unit.js';
import './config.unit.js';
import './cpus.unit.js';
import './exit-codes.unit.js';
import './fs-fault.unit.js';
import './make-dir.unit.js';
import './rng.unit.js';
import './shell.unit.js';
