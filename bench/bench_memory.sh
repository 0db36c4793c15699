#!/usr/bin/env bash
# Peak memory (VmHWM) of `crowcast seed` and `crowcast get` for a large release: memory is bounded
# by configuration (piece buffers, read-ahead, the direct-write cap), not by the release size.
#   CROWCAST=build/crowcast bench/bench_memory.sh [SIZE] [RATE]      default 4G at 1G
# Prints a table and a JSON line. Multicast on loopback only (127.0.0.1, TTL 1).
set -euo pipefail
CROWCAST=${CROWCAST:-$(dirname "$0")/../build/crowcast}
SIZE=${1:-4G}
RATE=${2:-1G}
work=$(mktemp -d /tmp/crowcast-bench-memory.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

bytes=$(numfmt --from=iec "$SIZE")
echo "generating $SIZE ..." >&2
head -c "$bytes" /dev/urandom >"$work/rel.bin"
"$CROWCAST" make "$work/rel.bin" -o "$work/rel.torrent" >/dev/null 2>&1
group="239.255.$((RANDOM % 200 + 1)).$((RANDOM % 200 + 1)):$((20000 + RANDOM % 20000))"

# peak RSS of a running PID, sampled until it exits (VmHWM is the kernel's own high-water mark)
watch_hwm() { local pid=$1 out=$2 v; echo 0 >"$out"; while kill -0 "$pid" 2>/dev/null; do
  v=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [[ -n "$v" ]] && echo "$v" >"$out"; sleep 0.2; done; }

"$CROWCAST" get "$work/rel.torrent" -o "$work/out" --mcast "$group" --iface 127.0.0.2 --json \
  >"$work/get.json" 2>"$work/get.log" &
get_pid=$!; pids+=("$get_pid")
watch_hwm "$get_pid" "$work/get.hwm" & pids+=($!)
sleep 0.5
start=$(date +%s.%N)
"$CROWCAST" seed "$work/rel.torrent" "$work/rel.bin" --mcast "$group" --rate "$RATE" --passes 2 \
  --listen "127.0.0.1:$((20000 + RANDOM % 20000))" --linger 120 >"$work/seed.log" 2>&1 &
seed_pid=$!; pids+=("$seed_pid")
watch_hwm "$seed_pid" "$work/seed.hwm" & pids+=($!)
wait "$get_pid" || { echo "get failed:"; tail -5 "$work/get.log"; exit 1; }
end=$(date +%s.%N)
seed_hwm=$(cat "$work/seed.hwm")
kill "$seed_pid" 2>/dev/null || true
get_hwm=$(cat "$work/get.hwm")
cmp -s "$work/rel.bin" "$work/out/rel.bin" && verified=yes || verified=NO
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
printf '| role | release | peak RSS |\n|---|---|---|\n| seed | %s | %d MiB |\n| get | %s | %d MiB |\n' \
  "$SIZE" $((seed_hwm / 1024)) "$SIZE" $((get_hwm / 1024))
echo "get finished in ${secs}s, data verified: $verified"
printf '{"bench":"memory","release_bytes":%s,"seed_peak_kib":%s,"get_peak_kib":%s,"seconds":%s,"verified":"%s"}\n' \
  "$bytes" "$seed_hwm" "$get_hwm" "$secs" "$verified"
