#!/bin/sh
# `npm test` after the build: Node's test runner, two test files at a time. The files listed in
# WAITING spend most of their time waiting (a Slurm cluster's scheduling, a stopped coordinator's
# silence) and run beside the two, one after the other, so they hold neither slot: on 2 cores they
# held one for ~75 s of the suite while using about a quarter of a core.
set -u
cd "$(dirname "$0")/.."
WAITING="dist/test/deploy/slurm.integration.test.js
dist/test/transports/ws/worker-silent-coordinator.integration.test.js"
side=$(mktemp)
trap 'rm -f "$side"' EXIT
# shellcheck disable=SC2086 # the lists are file names without spaces
node --test --test-concurrency=1 --test-timeout=240000 $WAITING > "$side" 2>&1 &
waiting=$!
node --test --test-concurrency=2 --test-timeout=240000 $(find dist/test -name '*.test.js' | sort | grep -v -x -F "$WAITING")
main=$?
wait "$waiting"
beside=$?
echo "# the files run beside the others ($(echo "$WAITING" | tr '\n' ' ')):"
cat "$side"
[ "$main" -eq 0 ] && [ "$beside" -eq 0 ]
