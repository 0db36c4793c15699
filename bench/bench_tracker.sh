#!/usr/bin/env bash
# Announces per second and latency of `crowcast tracker` against opentracker, measured side by side in
# the same run with the same load: wrk (bench/tracker_load.lua) on loopback, every request an announce
# of a distinct peer (16 releases x 2000 ports, numwant=50, compact), two modes per tracker:
#   keepalive : persistent connections (HTTP/1.1 keep-alive)
#   close     : "Connection: close", a new TCP connection per announce
# opentracker runs in whitelist mode with the 16 hashes whitelisted.
#
# usage: bench/bench_tracker.sh
#   env CROWCAST=path/to/crowcast     default: build/crowcast, then build-*/crowcast
#   env BENCH_SECONDS=N               seconds per run (default 5; 4 runs, plus a warm-up each)
#   env BENCH_WARMUP=N                seconds of warm-up before each run (default 1; 0: none)
#   env BENCH_CONNECTIONS=N           wrk connections (default 50), one wrk thread
# Output: a table (target, mode, requests/s, p50 and p99 in ms, errors, server closes) and one JSON line starting
# with {"bench":"tracker" carrying the crowcast/opentracker ratios. Not registered in ctest.
set -euo pipefail

secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONNECTIONS:-50}
warmup=${BENCH_WARMUP:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${CROWCAST:-} ]]; then
  for c in "$root/build/crowcast" "$root"/build-*/crowcast; do
    [[ -x $c ]] && { CROWCAST=$c; break; }
  done
fi
[[ -x ${CROWCAST:-} ]] || { echo "bench_tracker: no crowcast binary; build first or set CROWCAST" >&2; exit 2; }
for c in wrk opentracker ss timeout; do
  command -v "$c" >/dev/null || { echo "bench_tracker: '$c' is missing (tools/setup.sh)" >&2; exit 2; }
done
((secs >= 1 && secs <= 60 && conns >= 1 && conns <= 1000 && warmup >= 0 && warmup <= 60)) || { echo "bench_tracker: bad limits" >&2; exit 2; }

work=$(mktemp -d /tmp/crowcast-bench-tracker.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}
listening() { ss -Hltn "sport = :$1" | grep -q .; }
wait_listen() { for _ in $(seq 1 100); do listening "$1" && return 0; sleep 0.05; done; return 1; }

hashes=()
for i in $(seq 1 16); do hashes+=("$(printf 'crowcast-bench-%02d' "$i" | sha1sum | cut -c1-40)"); done
mkdir -p "$work/ot"
printf '%s\n' "${hashes[@]}" >"$work/ot/whitelist.txt"
echo "rack lo 127.0.0.0/8 239.255.0.1:7000" >"$work/racks.conf"

cport=$(free_port)
"$CROWCAST" tracker --listen "127.0.0.1:$cport" --racks "$work/racks.conf" --log-level warn \
  >"$work/crowcast.log" 2>&1 &
cpid=$!
pids+=("$cpid")
oport=$(free_port)
opentracker -i 127.0.0.1 -p "$oport" -P "$oport" -d "$work/ot" -w /whitelist.txt >"$work/ot.log" 2>&1 &
pids+=("$!")
wait_listen "$cport" || { echo "bench_tracker: crowcast tracker did not start" >&2; exit 3; }
wait_listen "$oport" || { echo "bench_tracker: opentracker did not start" >&2; exit 3; }

export BENCH_HASHES
BENCH_HASHES=$(IFS=,; echo "${hashes[*]}")
# run PORT CLOSE: one bounded wrk run; prints "requests rps p50 p99 errors closed".
run() {
  if ((warmup > 0)); then # fills the peer tables
    BENCH_CLOSE=$2 timeout $((warmup + 10)) wrk -t 1 -c "$conns" -d "${warmup}s" -s "$root/bench/tracker_load.lua" \
      "http://127.0.0.1:$1/" >/dev/null 2>&1 || true
  fi
  BENCH_CLOSE=$2 timeout $((secs + 20)) wrk -t 1 -c "$conns" -d "${secs}s" --timeout 5s \
    -s "$root/bench/tracker_load.lua" "http://127.0.0.1:$1/" 2>&1 | awk '$1 == "RESULT" {print $2, $3, $4, $5, $6, $7}'
}
declare -A res
for mode in keepalive close; do
  close=$([[ $mode == close ]] && echo 1 || echo 0)
  res[crowcast,$mode]=$(run "$cport" "$close")
  res[opentracker,$mode]=$(run "$oport" "$close")
  for t in crowcast opentracker; do
    [[ -n ${res[$t,$mode]} ]] || { echo "bench_tracker: wrk gave no result for $t ($mode)" >&2; exit 3; }
  done
done
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$cpid/status")

printf '%-12s %-10s %12s %9s %9s %8s %10s\n' target mode "announces/s" "p50 ms" "p99 ms" errors "closed by"
for mode in keepalive close; do
  for t in crowcast opentracker; do
    read -r _ rps p50 p99 err closed <<<"${res[$t,$mode]}"
    printf '%-12s %-10s %12.0f %9.3f %9.3f %8d %10d\n' "$t" "$mode" "$rps" "$p50" "$p99" "$err" "$closed"
  done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
json="{\"bench\":\"tracker\",\"seconds\":$secs,\"connections\":$conns,\"crowcast_rss_kb\":$rss"
for mode in keepalive close; do
  read -r _ crps _ cp99 cerr cclosed <<<"${res[crowcast,$mode]}"
  read -r _ orps _ op99 oerr oclosed <<<"${res[opentracker,$mode]}"
  json+=",\"$mode\":{\"crowcast_rps\":$crps,\"opentracker_rps\":$orps,\"crowcast_p99_ms\":$cp99"
  json+=",\"opentracker_p99_ms\":$op99,\"crowcast_errors\":$cerr,\"opentracker_errors\":$oerr"
  json+=",\"crowcast_closed\":$cclosed,\"opentracker_closed\":$oclosed"
  json+=",\"rps_ratio\":$(ratio "$crps" "$orps"),\"p99_ratio\":$(ratio "$cp99" "$op99")}"
done
echo "ratios are crowcast / opentracker (rps: higher is better; p99: lower is better); crowcast RSS ${rss} kB"
echo "'closed by': connections the tracker ended after a reply (opentracker closes every one, even"
echo "with keep-alive asked for, so its keepalive row pays a reconnect per announce)"
echo "$json}"
