#!/usr/bin/env bash
# Builds the Debian package from a source checkout: installs what is missing (tools/setup.sh),
# configures a Release build of its own (default build-deb/, no tests, no benchmarks) with
# Debian's hardening flags (dpkg-buildflags: fortify, stack protector, relro, bindnow), builds it,
# runs CPack and prints the path of the .deb.
#   tools/package.sh [BUILD_DIR]
# The same package from an existing build: cmake --build build --target package.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
dir=${1:-build-deb}

eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
jobs=$(nproc)
((jobs > 2)) && jobs=2 # the machines this is built on run benchmarks next to it
# The flags go on the command line, not through the environment, so that a reused BUILD_DIR
# picks up changes too.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCROW_TESTS=OFF -DCROW_BENCH=OFF -DCROW_SANITIZE=OFF \
  -DCMAKE_C_FLAGS="$CPPFLAGS $CFLAGS" -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" >/dev/null
cmake --build "$dir" -j"$jobs" >/dev/null
rm -f "$dir"/crowcast_*.deb
cmake --build "$dir" --target package >/dev/null
deb=$(ls "$dir"/crowcast_*.deb)
realpath "$deb"
