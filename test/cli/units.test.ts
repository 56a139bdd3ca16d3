// These unit tests of the CLI in one process (the folder's other tests spawn the CLI and keep a
// process of their own). Run one alone with node --test dist/test/cli/NAME.unit.js.
import './trace-file-flushes.unit.js';
import './trace-memory-bounded.unit.js';
import './trace-write-error.unit.js';
import './trace-replaces-only-traces.unit.js';
