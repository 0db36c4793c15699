#!/usr/bin/env bash
# Announces per second and latency of `crowcast tracker` against opentracker, measured side by side in
# the same run with the same load: wrk (bench/tracker_load.lua) on loopback, every request an announce
# of a distinct peer (16 releases x 2000 ports, numwant=50, compact), two modes per tracker:
#   keepalive : persistent connections (HTTP/1.1 keep-alive)
#   close     : "Connection: close", a new TCP connection per announce
# opentracker runs in whitelist mode with the 16 hashes whitelisted. The crowcast tracker runs with its
# per-address limits lifted (--rate-per-address, --max-per-address): every wrk connection comes from
# 127.0.0.1, and the default 200 requests/s per address would answer most of the load with 429.
# BENCH_TLS=1 measures the cost of TLS instead: crowcast over HTTPS (--tls-cert, a throwaway P-256
# certificate) against the same tracker over plain HTTP, the same two modes (close: a TLS handshake
# per announce), plus the tracker's CPU time per announce (utime+stime from /proc).
#
# usage: bench/bench_tracker.sh
#   env CROWCAST=path/to/crowcast     default: build/crowcast, then build-*/crowcast
#   env BENCH_SECONDS=N               seconds per run (default 5; 4 runs, plus a warm-up each)
#   env BENCH_WARMUP=N                seconds of warm-up before each run (default 1; 0: none)
#   env BENCH_CONNECTIONS=N           wrk connections (default 50), one wrk thread
#   env BENCH_TLS=1                   crowcast HTTPS against crowcast HTTP (no opentracker)
# Output: a table (target, mode, requests/s, p50 and p99 in ms, errors, server closes, tracker CPU
# per announce) and one JSON line starting with {"bench":"tracker" (or "tracker_tls") carrying the
# crowcast/opentracker (or https/http) ratios. Not registered in ctest.
set -euo pipefail

secs=${BENCH_SECONDS:-5}
conns=${BENCH_CONNECTIONS:-50}
warmup=${BENCH_WARMUP:-1}
tls=${BENCH_TLS:-0}
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${CROWCAST:-} ]]; then
  for c in "$root/build/crowcast" "$root"/build-*/crowcast; do
    [[ -x $c ]] && { CROWCAST=$c; break; }
  done
fi
[[ -x ${CROWCAST:-} ]] || { echo "bench_tracker: no crowcast binary; build first or set CROWCAST" >&2; exit 2; }
for c in wrk ss timeout $([[ $tls == 1 ]] && echo openssl || echo opentracker); do
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

# --rate-per-address, --max-per-address: the load comes from one address (see above).
unlimited=(--rate-per-address 1000000 --max-per-address 1000000)
cport=$(free_port)
"$CROWCAST" tracker --listen "127.0.0.1:$cport" --racks "$work/racks.conf" --log-level warn "${unlimited[@]}" \
  >"$work/crowcast.log" 2>&1 &
cpid=$!
pids+=("$cpid")
oport=$(free_port)
if [[ $tls == 1 ]]; then
  other=crowcast-tls
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls.key" -out "$work/tls.pem" \
    -days 1 -subj /CN=bench -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  "$CROWCAST" tracker --listen "127.0.0.1:$oport" --racks "$work/racks.conf" --log-level warn "${unlimited[@]}" \
    --tls-cert "$work/tls.pem" --tls-key "$work/tls.key" >"$work/tls.log" 2>&1 &
else
  other=opentracker
  opentracker -i 127.0.0.1 -p "$oport" -P "$oport" -d "$work/ot" -w /whitelist.txt >"$work/ot.log" 2>&1 &
fi
opid=$!
pids+=("$opid")
wait_listen "$cport" || { echo "bench_tracker: crowcast tracker did not start" >&2; exit 3; }
wait_listen "$oport" || { echo "bench_tracker: $other did not start" >&2; exit 3; }
declare -A port=([crowcast]=$cport [$other]=$oport) pid=([crowcast]=$cpid [$other]=$opid)
declare -A scheme=([crowcast]=http [$other]=$([[ $tls == 1 ]] && echo https || echo http))

export BENCH_HASHES
BENCH_HASHES=$(IFS=,; echo "${hashes[*]}")
# cpu_ms PID: the process's user+system CPU time so far, in ms.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.0f", ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
# run TARGET CLOSE: one bounded wrk run; prints "requests rps p50 p99 errors closed cpu_us_per_request".
run() {
  local url="${scheme[$1]}://127.0.0.1:${port[$1]}/" before out
  if ((warmup > 0)); then # fills the peer tables
    BENCH_CLOSE=$2 timeout $((warmup + 10)) wrk -t 1 -c "$conns" -d "${warmup}s" -s "$root/bench/tracker_load.lua" \
      "$url" >/dev/null 2>&1 || true
  fi
  before=$(cpu_ms "${pid[$1]}")
  out=$(BENCH_CLOSE=$2 timeout $((secs + 20)) wrk -t 1 -c "$conns" -d "${secs}s" --timeout 5s \
    -s "$root/bench/tracker_load.lua" "$url" 2>&1 | awk '$1 == "RESULT" {print $2, $3, $4, $5, $6, $7}')
  [[ -n $out ]] || return 0
  awk -v o="$out" -v cpu=$(($(cpu_ms "${pid[$1]}") - before)) \
    'BEGIN { split(o, f, " "); printf "%s %.1f\n", o, (f[1] > 0 ? cpu * 1000 / f[1] : 0) }'
}
declare -A res
for mode in keepalive close; do
  close=$([[ $mode == close ]] && echo 1 || echo 0)
  for t in crowcast "$other"; do
    res[$t,$mode]=$(run "$t" "$close")
    [[ -n ${res[$t,$mode]} ]] || { echo "bench_tracker: wrk gave no result for $t ($mode)" >&2; exit 3; }
  done
done
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$cpid/status")

printf '%-12s %-10s %12s %9s %9s %8s %10s %12s\n' target mode "announces/s" "p50 ms" "p99 ms" errors "closed by" \
  "cpu us/req"
for mode in keepalive close; do
  for t in crowcast "$other"; do
    read -r _ rps p50 p99 err closed cpu <<<"${res[$t,$mode]}"
    printf '%-12s %-10s %12.0f %9.3f %9.3f %8d %10d %12.1f\n' "$t" "$mode" "$rps" "$p50" "$p99" "$err" "$closed" "$cpu"
  done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# json_mode MODE A NA B NB: one mode's JSON object, target A (keys NA_...) against target B (NB_...).
json_mode() {
  local arps ap99 aerr aclosed acpu brps bp99 berr bclosed bcpu
  read -r _ arps _ ap99 aerr aclosed acpu <<<"${res[$2,$1]}"
  read -r _ brps _ bp99 berr bclosed bcpu <<<"${res[$4,$1]}"
  printf ',"%s":{"%s_rps":%s,"%s_rps":%s,"%s_p99_ms":%s,"%s_p99_ms":%s' "$1" "$3" "$arps" "$5" "$brps" "$3" "$ap99" "$5" "$bp99"
  printf ',"%s_errors":%s,"%s_errors":%s,"%s_closed":%s,"%s_closed":%s' "$3" "$aerr" "$5" "$berr" "$3" "$aclosed" "$5" "$bclosed"
  printf ',"%s_cpu_us":%s,"%s_cpu_us":%s,"rps_ratio":%s,"p99_ratio":%s}' "$3" "$acpu" "$5" "$bcpu" \
    "$(ratio "$arps" "$brps")" "$(ratio "$ap99" "$bp99")"
}
if [[ $tls == 1 ]]; then
  json="{\"bench\":\"tracker_tls\",\"seconds\":$secs,\"connections\":$conns"
  for mode in keepalive close; do json+=$(json_mode "$mode" crowcast-tls https crowcast http); done
  echo "ratios are https / http (rps: higher is better; p99: lower is better); cpu: the tracker's, per announce"
  echo "$json}"
  exit 0
fi
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$cpid/status")
json="{\"bench\":\"tracker\",\"seconds\":$secs,\"connections\":$conns,\"crowcast_rss_kb\":$rss"
for mode in keepalive close; do json+=$(json_mode "$mode" crowcast crowcast opentracker opentracker); done
echo "ratios are crowcast / opentracker (rps: higher is better; p99: lower is better); crowcast RSS ${rss} kB"
echo "'closed by': connections the tracker ended after a reply (opentracker closes every one, even"
echo "with keep-alive asked for, so its keepalive row pays a reconnect per announce)"
echo "$json}"
