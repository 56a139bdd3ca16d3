#!/bin/sh
# `npm test` after the build: Node's test runner, two test files at a time, and beside it a third
# lane, one file after another, for the files listed in WAITING. Those spend most of their time
# waiting (a Slurm cluster's scheduling, timeouts, back-offs, a stopped coordinator's silence): run
# alone on 2 cores (2026-12-02), their walls summed 158 s for 51 s of CPU, and in the two slots
# they held one idle for a tenth of the suite. The last two joined on 2026-12-04: 13.5 s of wall for
# 4.4 of CPU, and 22.8 for 12.8. The side lane's output is printed after the main
# run's; the exit status is non-zero if either lane failed.
set -u
cd "$(dirname "$0")/.."
WAITING="dist/test/deploy/slurm.integration.test.js
dist/test/transports/ws/stalling-worker.integration.test.js
dist/test/transports/ws/admission.integration.test.js
dist/test/transports/ws/worker-silent-coordinator.integration.test.js
dist/test/transports/ws/network-faults.integration.test.js
dist/test/transports/ws/joining-timeout.integration.test.js
dist/test/transports/ws/resume-fewer-workers.integration.test.js
dist/test/transports/ws/worker-connect-errors.integration.test.js
dist/test/transports/ws/frame-limit.integration.test.js
dist/test/transports/ws/worker-foreign-server.integration.test.js
dist/test/coordinator/run-lock-same-host.test.js
dist/test/cli/coordinator-start-timeout.integration.test.js
dist/test/cli/procs-worker-stderr-held.integration.test.js"
# A file renamed or removed would otherwise drop out of both lanes without a word.
for f in $WAITING; do
  [ -f "$f" ] || { echo "scripts/test.sh: $f is listed in WAITING but was not built: update the list" >&2; exit 2; }
done
side=$(mktemp)
# Every temporary folder the tests make (and the programs they run: runs, data, Chromium's and
# Slurm's state) goes in one folder of this run's, removed at the end: a run of the suite left
# about 250 folders, 700 MB, in /tmp, for good. The workers' dataset cache too: tests that start
# `trainer worker` without --cache-dir read and wrote the user's ~/.cache/trainer.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/trainer-test.XXXXXX")
# As /tmp is: tests run as root run some children as nobody (permission tests), which mktemp's 0700 shut out.
chmod 1777 "$scratch"
trap 'rm -rf "$side" "$scratch"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export TMPDIR="$scratch"
export TRAINER_CACHE_DIR="$scratch/cache"
# shellcheck disable=SC2086 # the lists are file names without spaces
node --test --test-concurrency=1 --test-timeout=240000 $WAITING > "$side" 2>&1 &
waiting=$!
# shellcheck disable=SC2046
node --test --test-concurrency=2 --test-timeout=240000 $(find dist/test -name '*.test.js' | sort | grep -v -x -F "$WAITING")
main=$?
wait "$waiting"
beside=$?
echo "# the files run beside the others, one at a time:"
cat "$side"
[ "$main" -eq 0 ] && [ "$beside" -eq 0 ]
