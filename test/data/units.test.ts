// This folder's unit tests in one process (tests of other files spawn processes, set globals or
// serve sockets, and keep a process of their own): a process for each of these took ~0.3 s of CPU apiece.
// Run one alone with node --test dist/test/data/NAME.unit.js.
import './cifar-format-label-out-of-range.unit.js';
import './cifar-format-missing-file.unit.js';
import './cifar-format-round-trip.unit.js';
import './cifar-format-truncated.unit.js';
import './dataset-class-selection.unit.js';
import './dataset-empty-batch-file.unit.js';
import './dataset-extract-existing-tarball.unit.js';
import './dataset-foreign-tarball.unit.js';
import './dataset-limits.unit.js';
import './dataset-missing-no-download.unit.js';
import './dataset-partial-folder-beside-archive.unit.js';
import './dataset-path-is-batches-folder.unit.js';
import './dataset-reads-batches-in-order.unit.js';
import './dataset-unknown-class.unit.js';
import './no-data-hint.unit.js';
import './normalize-batch-nhwc.unit.js';
import './normalize-channel-stats.unit.js';
import './normalize-table.unit.js';
import './synthetic-balanced-labels.unit.js';
import './synthetic-deterministic.unit.js';
import './synthetic-through-reader.unit.js';
