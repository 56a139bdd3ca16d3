#!/usr/bin/env bash
# The GPU check for a GPU machine: every backend's availability, the adapters Dawn
# sees, whether tfjs-node-gpu loads and sees a device, then one epoch of
# configs/demo.yaml on each usable GPU backend and on wasm with images/s and the
# weights hash of each. Unattended, bounded (under 5 minutes), exits 0 with its
# table even where a backend is missing.
#   scripts/gpu-check.sh [extra trainer doctor flags]
set -uo pipefail
cd "$(dirname "$0")/.."
[ -f dist/src/cli/main.js ] || npm run build > /dev/null || { echo "gpu-check: npm run build failed (run npm ci first)"; exit 0; }
timeout 290 node dist/src/cli/main.js doctor --train "$@"
status=$?
[ "$status" -eq 124 ] && echo "gpu-check: stopped after 290 s"
exit 0
