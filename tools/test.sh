#!/usr/bin/env bash
# Builds crowcast and runs the whole test suite (unit + integration) with ctest.
#   tools/test.sh              release build in build/
#   tools/test.sh --sanitize   ASan+UBSan build in build-asan/
# Extra arguments after the flag go to ctest (e.g. -R unit. or -L integration).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

dir=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ "${1:-}" == "--sanitize" ]]; then
  shift
  dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DCROW_SANITIZE=ON -DCROW_BENCH=OFF)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure -j2 "$@"
