# Shared helpers for integration tests (sourced). Tests start real processes on loopback or in
# network namespaces they create; everything they start is ended by PID on exit.
set -euo pipefail

: "${CROWCAST:?set CROWCAST to the crowcast binary (ctest does this)}"
: "${CROW_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CROW_BUILD_DIR=${CROW_BUILD_DIR:-$(dirname "$CROWCAST")}

TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/crowcast-${TEST_NAME}.XXXXXX")
PIDS=()
CLEANUPS=()

log() { echo "[$TEST_NAME] $*" >&2; }
fail() { echo "[$TEST_NAME] FAIL: $*" >&2; exit 1; }
skip() { echo "[$TEST_NAME] SKIP: $*" >&2; exit 77; }
need_cmd() { for c in "$@"; do command -v "$c" >/dev/null || skip "'$c' is not installed (tools/setup.sh installs it)"; done; }
need_root() { [[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces); run as root to include it"; }

# spawn NAME CMD...: starts CMD in the background, output to $WORK/NAME.log; sets SPAWNED_PID.
spawn() {
  local name=$1; shift
  # `in_ns` is a shell function: run `ip netns exec` itself, so the PID recorded is the process's
  # own (a function would run in a subshell whose PID cleanup would kill instead).
  [[ $1 == in_ns ]] && { shift; set -- ip netns exec "$@"; }
  "$@" >"$WORK/$name.log" 2>&1 &
  SPAWNED_PID=$!
  PIDS+=("$SPAWNED_PID")
}

# at_exit CMD: runs CMD (a string, eval'd) during cleanup, last registered first.
at_exit() { CLEANUPS=("$1" "${CLEANUPS[@]}"); }

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for c in "${CLEANUPS[@]}"; do eval "$c" || true; done
  if [[ $rc -ne 0 && $rc -ne 77 ]]; then
    for f in "$WORK"/*.log; do [[ -f $f ]] && { echo "--- $f (last 20 lines)"; tail -n 20 "$f"; }; done >&2
  fi
  if [[ -n "${KEEP_WORK:-}" ]]; then echo "[$TEST_NAME] kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# random_file PATH BYTES [SEED]: deterministic pseudo-random content (AES-CTR keystream).
random_file() {
  local path=$1 bytes=$2 seed=${3:-crowcast}
  mkdir -p "$(dirname "$path")"
  # head closes the pipe once it has enough: openssl's SIGPIPE is expected, so pipefail is off here
  (set +o pipefail; openssl enc -aes-128-ctr -pass "pass:$seed" -nosalt -pbkdf2 -in /dev/zero 2>/dev/null |
    head -c "$bytes" >"$path")
  [[ $(stat -c %s "$path") -eq $bytes ]] || fail "random_file: could not write $bytes bytes to $path"
}

# free_port: a TCP/UDP port that no socket uses now, below the kernel's ephemeral range (32768 and
# up by default) so that an outgoing connection cannot take it between this check and the bind.
free_port() {
  local p low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((low > 20000)) || low=32768
  while :; do
    p=$((10000 + RANDOM % (low - 10000)))
    ss -Htuan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds; fails after SECONDS.
wait_until() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [[ $SECONDS -lt $end ]] || return 1
    sleep 0.1
  done
}

# wait_pid_timeout SECONDS PID: waits for PID to exit, returns its status, kills it after SECONDS.
wait_pid_timeout() {
  local limit=$1 pid=$2 end=$((SECONDS + $1))
  while kill -0 "$pid" 2>/dev/null; do
    if [[ $SECONDS -ge $end ]]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return 124; fi
    sleep 0.1
  done
  wait "$pid"
}
