# Helpers of the multicast benchmarks (bench_mcast.sh, bench_recv.sh); source it after setting
# BENCH_NAME (the prefix of messages). bench_workdir NAME makes $work in /dev/shm (or /tmp), removed
# on exit with every process in PIDS ended.

die() { echo "$BENCH_NAME: $*" >&2; exit 3; }
# field TEXT KEY: the number after KEY= or "KEY": in TEXT.
field() { grep -oE "(\"$2\":|(^| )$2=)-?[0-9][0-9.e+]*" <<<"$1" | head -n 1 | sed -E 's/.*[:=]//'; }
# wait_file SECONDS FILE PATTERN
wait_file() {
  local end=$((SECONDS + $1))
  until grep -q "$3" "$2" 2>/dev/null; do
    ((SECONDS < end)) || die "timed out waiting for '$3' in $2"
    sleep 0.05
  done
}
# wait_pids SECONDS PID...: waits for each; ends (SIGTERM) what is left after SECONDS.
wait_pids() {
  local end=$((SECONDS + $1)); shift
  for p in "$@"; do
    while kill -0 "$p" 2>/dev/null && ((SECONDS < end)); do sleep 0.05; done
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done # before their files go
  rm -rf "$work"
}
bench_workdir() { # bench_workdir NAME: sets work, base_dir and PIDS, and the traps
  base_dir=/dev/shm
  [[ -w $base_dir ]] || base_dir=/tmp
  work=$(mktemp -d "$base_dir/crowcast-$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}
