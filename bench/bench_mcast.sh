#!/usr/bin/env bash
# Multicast send and receive on loopback: crowcast against a plain sendto() loop.
#
# usage: bench/bench_mcast.sh [SIZE]        SIZE of the release for the rate runs, default 256M
#   env CROWCAST=path/to/crowcast           default: build/crowcast, then build-*/crowcast
#   env SENDTO_BASELINE=path                default: bench/sendto_baseline next to crowcast
#   env BENCH_RUNS=N                        runs per scenario, default 3 (medians are reported)
#   env BENCH_TIMEOUT=SECONDS               limit for each process, default 60
#   env BENCH_MEM_SIZE=SIZE                 release for the memory runs, default 1G; 0 skips them
#   env BENCH_RECEIVERS="N..."              receiver counts, default "1 4" (each 1..8)
#   env BENCH_MCAST_KEY=FILE                seed and get authenticate every datagram with this
#                                           fleet secret (--mcast-key); unset: no key
#
# Scenarios, each with 1 and with 4 receivers (127.0.0.2..5) by default, everything unpaced:
#   sendto   sendto_baseline send: one sendto() per datagram of crowcast's DATA size (32-byte header
#            + chunk), as many as the release has chunks; receivers: sendto_baseline recv (recvmmsg
#            counters that only count).
#   crowcast crowcast seed --rate 100G (far above what loopback carries: flat out, GSO batches),
#            to the same counting receivers: the two senders face the same receivers.
#   get      crowcast seed --rate 100G to `crowcast get` receivers: crowcast's whole receive path
#            (io_uring multishot, reassembly, SHA-256, writes to /dev/shm).
# Sender: datagrams/s and Gbit/s at the IP level ((UDP payload + 28) x 8 per datagram; crowcast's
# own wire_bytes). Receiver goodput, per receiver (mean): counters: UDP payload bits / (last - first
# datagram); get: release bytes taken from multicast x 8 / (time from the seeder's start to the
# receiver's final event). "delivered" is the share of the stream a receiver got, "drops" the
# kernel's receive-buffer drops summed over receivers. Unpaced senders outrun receivers: drops are
# expected there; what matters is the rate each side reaches.
# Memory: peak RSS (/usr/bin/time -v) of `crowcast seed` and of one `crowcast get` for a 1 GiB
# release at 1 Gbit/s (and for the SIZE release, to show it does not grow with the release).
# Output: a table and one JSON line starting with {"bench":"mcast". Takes 1-3 minutes.
set -euo pipefail

size_text=${1:-256M}
runs=${BENCH_RUNS:-3}
limit=${BENCH_TIMEOUT:-60}
mem_text=${BENCH_MEM_SIZE:-1G}
read -r -a receivers <<<"${BENCH_RECEIVERS:-1 4}"
key_args=(--mcast-key none)
[[ -n ${BENCH_MCAST_KEY:-} ]] && key_args=(--mcast-key "$BENCH_MCAST_KEY")
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${CROWCAST:-} ]]; then
  for c in "$root/build/crowcast" "$root"/build-*/crowcast; do
    [[ -x $c ]] && { CROWCAST=$c; break; }
  done
fi
[[ -x ${CROWCAST:-} ]] || { echo "bench_mcast: no crowcast binary; build first or set CROWCAST" >&2; exit 2; }
BASE=${SENDTO_BASELINE:-$(dirname "$CROWCAST")/bench/sendto_baseline}
[[ -x $BASE ]] || { echo "bench_mcast: no sendto_baseline at $BASE (build the bench target)" >&2; exit 2; }
for c in openssl timeout awk /usr/bin/time; do
  command -v "$c" >/dev/null || { echo "bench_mcast: '$c' is missing (tools/setup.sh)" >&2; exit 2; }
done
bytes=$(numfmt --from=iec "${size_text%B}") || { echo "bench_mcast: bad size '$size_text'" >&2; exit 2; }
mem_bytes=$(numfmt --from=iec "${mem_text%B}") || { echo "bench_mcast: bad size '$mem_text'" >&2; exit 2; }
((${#receivers[@]} > 0)) || { echo "bench_mcast: BENCH_RECEIVERS is empty" >&2; exit 2; }
for n in "${receivers[@]}"; do
  [[ $n =~ ^[1-8]$ ]] || { echo "bench_mcast: bad receiver count '$n' (1..8)" >&2; exit 2; }
done

BENCH_NAME=bench_mcast
source "$root/bench/bench_lib.sh"
bench_workdir bench-mcast
now() { date +%s.%N; }

make_release() { # make_release NAME BYTES
  { openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -pbkdf2 -in /dev/zero 2>/dev/null || true; } |
    head -c "$2" >"$work/$1.bin"
  "$CROWCAST" make "$work/$1.bin" -o "$work/$1.torrent" >/dev/null 2>&1 || die "crowcast make $1 failed"
}

echo "bench_mcast: $size_text release, $runs runs per scenario, $(nproc) CPUs, data in $base_dir" >&2
make_release rel "$bytes"
info=$("$CROWCAST" inspect --json "$work/rel.torrent")
chunk=$(field "$info" chunk_size) plen=$(field "$info" piece_length) pieces=$(field "$info" pieces)
last=$((bytes - (pieces - 1) * plen))
chunks=$(((pieces - 1) * ((plen + chunk - 1) / chunk) + (last + chunk - 1) / chunk))
dgram=$((32 + chunk))
port=$((20000 + RANDOM % 40000))
run_id=0

# start_counters N: counting receivers on 127.0.0.2..N+1; sets RX_PIDS and RX_OUT (file prefix).
start_counters() {
  RX_PIDS=() RX_OUT=$work/rx$run_id
  for ((i = 1; i <= $1; i++)); do
    timeout "$limit" "$BASE" recv "$GROUP" "127.0.0.$((i + 1))" 1000 "$limit" >"$RX_OUT.$i" 2>"$RX_OUT.$i.err" &
    RX_PIDS+=($!) PIDS+=($!)
  done
  for ((i = 1; i <= $1; i++)); do wait_file 10 "$RX_OUT.$i.err" joined; done
}
# counters_result N: "goodput_gbps delivered_pct drops" over the counting receivers.
counters_result() {
  wait_pids "$limit" "${RX_PIDS[@]}"
  for ((i = 1; i <= $1; i++)); do cat "$RX_OUT.$i"; done |
    awk -v sent="$SENT" '{for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}
      if (v["seconds"] > 0) g += v["bytes"] * 8 / v["seconds"] / 1e9; d += v["datagrams"] / sent; dr += v["drops"]}
      END {printf "%.3f %.1f %d\n", g / NR, 100 * d / NR, dr}'
}
# seed_flat_out: crowcast seed unpaced; sets SENT, SEND_S, SEND_WIRE_BYTES.
seed_flat_out() {
  local out
  out=$(timeout "$limit" "$CROWCAST" seed "$work/rel.torrent" "$work/rel.bin" --mcast "$GROUP" \
    --iface 127.0.0.1 --rate 100G --json "${key_args[@]}" 2>/dev/null | grep '"event":"mcast_done"') ||
    die "crowcast seed failed"
  SENT=$(field "$out" datagrams) SEND_S=$(field "$out" elapsed) SEND_WIRE_BYTES=$(field "$out" wire_bytes)
}

# Each scenario appends "scenario receivers dps gbps rx_gbps delivered_pct drops" to $work/results.
scenario_sendto() {
  start_counters "$1"
  local out
  out=$(timeout "$limit" "$BASE" send "$GROUP" "$chunks" "$dgram" "$limit") || die "sendto_baseline send failed"
  SENT=$(field "$out" datagrams) SEND_S=$(field "$out" seconds) SEND_WIRE_BYTES=$((SENT * (dgram + 28)))
  echo "sendto $1 $(awk -v n="$SENT" -v s="$SEND_S" -v w="$SEND_WIRE_BYTES" 'BEGIN {printf "%.0f %.3f", n / s, w * 8 / s / 1e9}') $(counters_result "$1")" >>"$work/results"
}
scenario_crowcast() {
  start_counters "$1"
  seed_flat_out
  echo "crowcast $1 $(awk -v n="$SENT" -v s="$SEND_S" -v w="$SEND_WIRE_BYTES" 'BEGIN {printf "%.0f %.3f", n / s, w * 8 / s / 1e9}') $(counters_result "$1")" >>"$work/results"
}
scenario_get() {
  local pids=() t_get t_seed i
  t_get=$(now)
  for ((i = 1; i <= $1; i++)); do
    timeout "$limit" "$CROWCAST" get "$work/rel.torrent" -o "$work/get$run_id.$i" --mcast "$GROUP" \
      --iface "127.0.0.$((i + 1))" --mcast-timeout 0 --json "${key_args[@]}" >"$work/get$run_id.$i.log" 2>/dev/null &
    pids+=($!) PIDS+=($!)
  done
  for ((i = 1; i <= $1; i++)); do wait_file 10 "$work/get$run_id.$i.log" '"event":"joined"'; done
  t_seed=$(now)
  seed_flat_out
  # a receiver that missed the END would wait: 10 s after the seeder is plenty to finish hashing
  wait_pids 10 "${pids[@]}"
  local rx
  rx=$(for ((i = 1; i <= $1; i++)); do
    grep -E '"event":"(complete|incomplete)"' "$work/get$run_id.$i.log" | tail -n 1 || echo '{}'
  done | awk -v total="$bytes" -v lead="$(awk -v a="$t_seed" -v b="$t_get" 'BEGIN {print a - b}')" '
    {b = 0; e = 0; k = 0
     if (match($0, /"bytes_mcast":[0-9]+/)) b = substr($0, RSTART + 14, RLENGTH - 14)
     if (match($0, /"elapsed":[0-9.e+]+/)) e = substr($0, RSTART + 10, RLENGTH - 10)
     if (match($0, /"kernel_drops":[0-9]+/)) k = substr($0, RSTART + 15, RLENGTH - 15)
     if (e - lead > 0) g += b * 8 / (e - lead) / 1e9; d += b / total; dr += k}
    END {printf "%.3f %.1f %d\n", g / NR, 100 * d / NR, dr}')
  rm -rf "$work/get$run_id".*
  echo "get $1 $(awk -v n="$SENT" -v s="$SEND_S" -v w="$SEND_WIRE_BYTES" 'BEGIN {printf "%.0f %.3f", n / s, w * 8 / s / 1e9}') $rx" >>"$work/results"
}

: >"$work/results"
for ((k = 1; k <= runs; k++)); do
  for n in "${receivers[@]}"; do
    for s in sendto crowcast get; do
      run_id=$((run_id + 1))
      GROUP="239.255.250.$((run_id % 250 + 1)):$port"
      "scenario_$s" "$n"
      echo "bench_mcast: run $k: $(tail -n 1 "$work/results")" >&2
    done
  done
done

# Memory: peak RSS of the seeder and one receiver at 1 Gbit/s.
peak_rss() { # peak_rss NAME: seed and get NAME.torrent, prints "seed_kib get_kib"
  local g="239.255.251.1:$port" gp
  /usr/bin/time -v -o "$work/$1.get.time" timeout "$limit" "$CROWCAST" get "$work/$1.torrent" -o "$work/out-$1" \
    --mcast "$g" --iface 127.0.0.2 --json >"$work/$1.get.log" 2>/dev/null &
  gp=$!
  PIDS+=("$gp")
  wait_file 10 "$work/$1.get.log" '"event":"joined"'
  /usr/bin/time -v -o "$work/$1.seed.time" timeout "$limit" "$CROWCAST" seed "$work/$1.torrent" "$work/$1.bin" \
    --mcast "$g" --iface 127.0.0.1 --rate 1G --passes 2 >/dev/null 2>&1 || die "seed ($1) failed"
  wait "$gp" || die "get ($1) did not complete (exit $?)"
  cmp -s "$work/$1.bin" "$work/out-$1/$1.bin" || die "get ($1): the copy differs"
  rm -rf "$work/out-$1"
  echo "$(awk -F': ' '/Maximum resident/ {print $2}' "$work/$1.seed.time") $(awk -F': ' '/Maximum resident/ {print $2}' "$work/$1.get.time")"
}
mem_small="" mem_big=""
if ((mem_bytes > 0)); then
  mem_small=$(peak_rss rel)
  rm -f "$work/rel.bin"
  make_release mem "$mem_bytes"
  mem_big=$(peak_rss mem)
fi

awk -v runs="$runs" -v size="$bytes" -v dgram="$dgram" -v mem_size="$mem_bytes" -v small="$mem_small" \
  -v big="$mem_big" -v receivers="${receivers[*]}" '
function median(key, col,   n, i, j, t, a) {
  n = split(vals[key, col], a, " ")
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ for (c = 3; c <= 7; c++) vals[$1 " " $2, c] = vals[$1 " " $2, c] (vals[$1 " " $2, c] == "" ? "" : " ") $c }
END {
  printf "%-10s %4s %12s %9s %9s %12s %10s %9s %8s\n", "sender", "rcv", "datagrams/s", "Gbit/s", "vs sendto",
    "rcv Gbit/s", "delivered", "drops", "rcv vs"
  split("sendto crowcast get", names, " ")
  json = sprintf("{\"bench\":\"mcast\",\"release_bytes\":%d,\"datagram_bytes\":%d,\"runs\":%d", size, dgram, runs)
  nr = split(receivers, rcv, " ")
  for (r = 1; r <= nr; r++) for (s = 1; s <= 3; s++) {
    n = rcv[r]; k = names[s] " " n
    dps = median(k, 3); gb = median(k, 4); rx = median(k, 5); del = median(k, 6); dr = median(k, 7)
    base = median("sendto " n, 3); rbase = median("sendto " n, 5)
    rratio = rbase > 0 ? rx / rbase : 0
    printf "%-10s %4d %12.0f %9.3f %9.2f %12.3f %9.1f%% %9d %8.2f\n", names[s], n, dps, gb, dps / base, rx, del, dr, rratio
    p = names[s] "_" n
    json = json sprintf(",\"%s_dps\":%.0f,\"%s_gbps\":%.3f,\"%s_rx_gbps\":%.3f,\"%s_delivered_pct\":%.1f,\"%s_drops\":%d",
      p, dps, p, gb, p, rx, p, del, p, dr)
    if (s > 1) json = json sprintf(",\"%s_vs_sendto\":%.3f,\"%s_rx_vs_sendto\":%.3f", p, dps / base, p, rratio)
  }
  if (small != "") {
    split(small, ms, " "); split(big, mb, " ")
    printf "\npeak RSS at 1 Gbit/s, one receiver:  %d MiB release: seed %.1f MiB, get %.1f MiB;  %d MiB release: seed %.1f MiB, get %.1f MiB\n",
      size / 1048576, ms[1] / 1024, ms[2] / 1024, mem_size / 1048576, mb[1] / 1024, mb[2] / 1024
  }
  printf "medians of %d runs; rcv Gbit/s is per receiver (mean); drops summed over receivers; \"rcv vs\" compares with\n", runs
  printf "the counting receivers of the sendto row; \"get\" receivers verify and write what they take.\n"
  if (small != "")
    json = json sprintf(",\"rss_kib\":{\"seed_%d\":%d,\"get_%d\":%d,\"seed_%d\":%d,\"get_%d\":%d}", size, ms[1], size,
      ms[2], mem_size, mb[1], mem_size, mb[2])
  print json "}"
}' "$work/results"
