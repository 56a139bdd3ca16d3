// This folder's unit tests in one process (tests of other files spawn processes, set globals or
// serve sockets, and keep a process of their own): a process for each of these took ~0.3 s of CPU apiece.
// Run one alone with node --test dist/test/report/NAME.unit.js.
import './compare-accuracy-epoch.unit.js';
import './compare-diverged-loss-log-axis.unit.js';
import './compare-epoch-marks.unit.js';
import './compare-last-loss-before-first-epoch.unit.js';
import './compare-same-folder-spelled-twice.unit.js';
import './compare-same-name.unit.js';
import './large-y-labels-fit.unit.js';
import './legend-wraps.unit.js';
import './one-point-series-dot.unit.js';
import './read-run-skips-torn-lines.unit.js';
import './report-before-first-epoch.unit.js';
import './report-escapes-config.unit.js';
import './report-mixed-backends.unit.js';
import './report-says-diverged.unit.js';
import './step-points.unit.js';
import './steps-after-last-epoch.unit.js';
import './svg-chart.unit.js';
import './workers-threads.unit.js';
import './y-tick-labels-exact.unit.js';
