#!/usr/bin/env bash
# Installs every Debian 12 package that crowcast's build, tests and benchmarks need.
# Idempotent and quiet: it asks dpkg what is missing and runs apt-get (update + install) only then.
set -euo pipefail

packages=(
  # build
  gcc cmake make pkg-config liburing-dev libssl-dev libpcap-dev check clang-format
  # fuzzing (tools/fuzz.sh): clang, its sanitizer and libFuzzer runtimes (not a dependency of clang-14 on
  # Debian 12), llvm-symbolizer for readable crash stacks
  clang libclang-rt-14-dev llvm-14
  # stock peers and baselines for interoperability tests and benchmarks
  aria2 transmission-cli opentracker mktorrent udpcast uftp nginx-light wrk
  # captures, network emulation, plots
  tshark iproute2 iputils-ping nftables ethtool gnuplot-nox procps psmisc python3
  # the Debian package (tools/package.sh) and its test: man pages, checks, systemd-analyze
  help2man dpkg-dev lintian man-db systemd
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
