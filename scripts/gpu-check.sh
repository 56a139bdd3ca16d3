#!/usr/bin/env bash
# The GPU check for a GPU machine: every backend's availability, the adapters Dawn
# sees, whether tfjs-node-gpu loads and sees a device, then one epoch of
# configs/demo.yaml on each usable GPU backend and on wasm with images/s and the
# weights hash of each; webgpu on a GPU also on 2 threads, which must give the
# in-process weights and exit cleanly. Unattended, bounded (under 5 minutes). Prints its table and
# exits 0 even where a backend is missing (its row says why); exits with trainer
# doctor's status where a backend loads but cannot train or breaks parity (1) or a
# flag is wrong (2),
# 124 after 290 s, and 1 when the project cannot be built: a script or CI job sees it.
#   scripts/gpu-check.sh [extra trainer doctor flags]
set -uo pipefail
cd "$(dirname "$0")/.."
[ -f dist/src/cli/main.js ] || npm run build > /dev/null || { echo "gpu-check: npm run build failed (run npm ci first)" >&2; exit 1; }
timeout 290 node dist/src/cli/main.js doctor --train "$@"
status=$?
[ "$status" -eq 124 ] && echo "gpu-check: stopped after 290 s" >&2
exit "$status"
