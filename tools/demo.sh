#!/usr/bin/env bash
# Installs what is missing, builds crowcast and runs its main job on this machine.
# Arguments are passed to the job.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec build/crowcast demo "$@"
