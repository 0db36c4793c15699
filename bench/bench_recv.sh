#!/usr/bin/env bash
# Receiver CPU per datagram: `crowcast get` (decode, check, store, SHA-256, write) against the
# counting receiver of bench/sendto_baseline.c (recvmmsg 64 at a time, count only), both fed by the
# same `crowcast seed` on loopback, at each chunk size and receiver count, runs interleaved. The
# counting receiver also runs with UDP_GRO (as crowcast get reads), to show what reading alone costs.
#
# usage: bench/bench_recv.sh [SIZE]          (default 128M: the release sent once per run)
#   BENCH_RUNS=N          runs per scenario (default 5); the table gives the median and the worst
#   BENCH_CHUNKS="B..."   chunk sizes (default "1408 8192")
#   BENCH_RECEIVERS="N.." receiver counts (default "1 4")
#   BENCH_RATE=R          the seeder's --rate (default 100G: flat out); a receiver that falls behind
#                         drops datagrams and is charged only for those it read
#   BENCH_TIMEOUT=S       limit per process (default 60)
#   CROWCAST, SENDTO_BASELINE  the binaries (default build/crowcast, build/bench/sendto_baseline)
#
# CPU time is user + system time of every thread of the receiver (io_uring workers included) from
# wait4's rusage (bench/cpu_run.py), less what it had used when it reported that it joined the
# group (its CPU-time clock, which counts threads that ended too): what is left is the stream, the last hashes and
# writes, and the exit. ns per datagram = that CPU / the datagrams the receiver read. On loopback
# the kernel's receive path up to the socket runs in the sender's context, so these figures are the
# receiving process's own cost: a NIC's interrupt and softirq work comes on top, the same for both.
#
# Output: a table on stderr and one JSON line starting with {"bench":"recv"}: per chunk size and
# receiver count, ns per datagram for each side (median and worst over runs; each run's figure for
# four receivers is their mean), the ratio counting / crowcast per run (median and worst: 1 means
# crowcast costs what reading alone costs), and the cores a 10 and a 25 Gbit/s NIC at line rate
# would need at the median cost (Ethernet framing: chunk + 32 B header + 8 UDP + 20 IP + 38 L2/L1).
set -euo pipefail

size_text=${1:-128M}
runs=${BENCH_RUNS:-5}
limit=${BENCH_TIMEOUT:-60}
rate=${BENCH_RATE:-100G}
read -r -a chunks <<<"${BENCH_CHUNKS:-1408 8192}"
read -r -a receivers <<<"${BENCH_RECEIVERS:-1 4}"
root=$(cd "$(dirname "$0")/.." && pwd)
CROWCAST=${CROWCAST:-$root/build/crowcast}
BASE=${SENDTO_BASELINE:-$(dirname "$CROWCAST")/bench/sendto_baseline}
CPU_RUN=$root/bench/cpu_run.py
for b in "$CROWCAST" "$BASE"; do
  [[ -x $b ]] || { echo "bench_recv: no $b (build crowcast_cli and sendto_baseline)" >&2; exit 2; }
done
for c in python3 openssl timeout awk numfmt; do
  command -v "$c" >/dev/null || { echo "bench_recv: '$c' is missing (tools/setup.sh)" >&2; exit 2; }
done
bytes=$(numfmt --from=iec "${size_text%B}") || { echo "bench_recv: bad size '$size_text'" >&2; exit 2; }
[[ $runs =~ ^[1-9][0-9]?$ ]] || { echo "bench_recv: bad BENCH_RUNS '$runs'" >&2; exit 2; }
for n in "${receivers[@]}"; do
  [[ $n =~ ^[1-8]$ ]] || { echo "bench_recv: bad receiver count '$n' (1..8)" >&2; exit 2; }
done

BENCH_NAME=bench_recv
source "$root/bench/bench_lib.sh"
bench_workdir bench-recv
# cpu_at_join CPUFILE: ns of CPU the process has used so far, every thread it ever had included
# (its CPU-time clock, the clockid of clock_getcpuclockid(pid): (~pid << 3) | 2).
cpu_at_join() {
  local pid
  pid=$(sed -n 's/^pid=//p' "$1")
  python3 -c 'import sys, time; print(time.clock_gettime_ns((~int(sys.argv[1]) << 3) | 2))' "$pid"
}
# loop_at_join CPUFILE: ns of CPU the process's main thread (get's event loop) has used so far.
loop_at_join() {
  local pid
  pid=$(sed -n 's/^pid=//p' "$1")
  awk '{print $1}' "/proc/$pid/task/$pid/schedstat"
}
# cpu_of CPUFILE JOIN_NS: ns used after joining.
cpu_of() {
  local total
  total=$(sed -n 's/^cpu_ns=//p' "$1")
  [[ -n $total ]] || die "no CPU figure in $1"
  echo $((total - $2))
}

port=$((20000 + RANDOM % 40000))
run_id=0
seed_flat_out() { # seed_flat_out TORRENT
  local out
  out=$(timeout "$limit" "$CROWCAST" seed "$1" "$work/rel.bin" --mcast "$GROUP" --iface 127.0.0.1 --rate "$rate" \
    --json --mcast-key none 2>/dev/null | grep '"event":"mcast_done"') || die "crowcast seed failed"
  SENT=$(field "$out" datagrams)
}

# Each scenario appends "side chunk receivers run ns_per_datagram datagrams drops [loop_ns]" to
# $work/results (ns and datagrams are the receivers' means, drops their sum; get adds the CPU ns per
# datagram of its event loop's thread alone, from its own clock at the end).
# joined CPUFILE LOG: waits for the receiver to say it joined, and for cpu_run.py to name its pid
# (the child may print before its parent wrote the file).
joined() {
  wait_file 10 "$2" joined
  wait_file 10 "$1" '^pid='
}
scenario_count() { # scenario_count CHUNK N RUN [gro]
  local i pids=() joins=()
  for ((i = 1; i <= $2; i++)); do
    timeout "$limit" python3 "$CPU_RUN" "$work/c$run_id.$i.cpu" "$BASE" recv "$GROUP" "127.0.0.$((i + 1))" 500 "$limit" \
      ${4:+"$4"} >"$work/c$run_id.$i.out" 2>"$work/c$run_id.$i.err" &
    pids+=($!) PIDS+=($!)
  done
  for ((i = 1; i <= $2; i++)); do
    joined "$work/c$run_id.$i.cpu" "$work/c$run_id.$i.err"
    joins+=("$(cpu_at_join "$work/c$run_id.$i.cpu")")
  done
  seed_flat_out "$work/rel$1.torrent"
  wait_pids "$limit" "${pids[@]}"
  for ((i = 1; i <= $2; i++)); do
    local out
    out=$(cat "$work/c$run_id.$i.out")
    echo "$(cpu_of "$work/c$run_id.$i.cpu" "${joins[i - 1]}") $(field "$out" datagrams) $(field "$out" drops)"
  done | awk -v s="count${4:-} $1 $2 $3" '{ns += $1 / ($2 > 0 ? $2 : 1); d += $2; dr += $3}
    END {printf "%s %.1f %.0f %d\n", s, ns / NR, d / NR, dr}' >>"$work/results"
}
scenario_countgro() { scenario_count "$@" gro; }
scenario_get() { # scenario_get CHUNK N RUN
  local i pids=() joins=() loops=()
  for ((i = 1; i <= $2; i++)); do
    timeout "$limit" python3 "$CPU_RUN" "$work/g$run_id.$i.cpu" "$CROWCAST" get "$work/rel$1.torrent" \
      -o "$work/get$run_id.$i" --mcast "$GROUP" --iface "127.0.0.$((i + 1))" --mcast-timeout 0 --json \
      --mcast-key none >"$work/g$run_id.$i.log" 2>/dev/null &
    pids+=($!) PIDS+=($!)
  done
  for ((i = 1; i <= $2; i++)); do
    joined "$work/g$run_id.$i.cpu" "$work/g$run_id.$i.log"
    joins+=("$(cpu_at_join "$work/g$run_id.$i.cpu")") loops+=("$(loop_at_join "$work/g$run_id.$i.cpu")")
  done
  seed_flat_out "$work/rel$1.torrent"
  # a receiver that missed the END would wait: 10 s after the seeder is plenty to finish hashing
  wait_pids 10 "${pids[@]}"
  for ((i = 1; i <= $2; i++)); do
    local line
    line=$(grep -E '"event":"(complete|incomplete)"' "$work/g$run_id.$i.log" | tail -n 1) ||
      die "get $i (chunk $1, $2 receivers) printed no final event: $(tail -n 3 "$work/g$run_id.$i.log")"
    echo "$(cpu_of "$work/g$run_id.$i.cpu" "${joins[i - 1]}") $(field "$line" datagrams) $(field "$line" kernel_drops)" \
      "$(field "$line" cpu_loop_s) ${loops[i - 1]}"
  done | awk -v s="get $1 $2 $3" '{ns += $1 / ($2 > 0 ? $2 : 1); d += $2; dr += $3; loop += ($4 * 1e9 - $5) / ($2 > 0 ? $2 : 1)}
    END {printf "%s %.1f %.0f %d %.1f\n", s, ns / NR, d / NR, dr, loop / NR}' >>"$work/results"
  rm -rf "$work/get$run_id".*
}

echo "bench_recv: $size_text release, chunks ${chunks[*]}, receivers ${receivers[*]}, $runs runs, seed --rate $rate, $(nproc) CPUs" >&2
{ openssl enc -aes-128-ctr -pass pass:recv -nosalt -pbkdf2 -in /dev/zero 2>/dev/null || true; } |
  head -c "$bytes" >"$work/rel.bin"
for c in "${chunks[@]}"; do
  "$CROWCAST" make "$work/rel.bin" -o "$work/rel$c.torrent" --chunk-size "$c" >/dev/null 2>&1 ||
    die "crowcast make --chunk-size $c failed"
done
: >"$work/results"
for ((k = 1; k <= runs; k++)); do
  for c in "${chunks[@]}"; do
    for n in "${receivers[@]}"; do
      for s in count countgro get; do
        run_id=$((run_id + 1))
        GROUP="239.255.252.$((run_id % 250 + 1)):$port"
        "scenario_$s" "$c" "$n" "$k"
        echo "bench_recv: $(tail -n 1 "$work/results") (of $SENT sent)" >&2
      done
    done
  done
done

python3 - "$work/results" "$bytes" "$runs" "$rate" <<'EOF'
import json, statistics, sys
path, size, runs, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
res = {}
for line in open(path):
    side, chunk, n, run, ns, dgrams, drops, *loop = line.split()
    res.setdefault((int(chunk), int(n)), {}).setdefault(side, {})[int(run)] = (float(ns), float(dgrams), int(drops),
                                                                               float(loop[0]) if loop else 0.0)
out = {"bench": "recv", "release_bytes": size, "runs": runs, "rate": rate, "rows": []}
print("%6s %4s %12s %9s %10s %12s %9s %9s %7s %8s %9s %9s %7s" % ("chunk", "rcv", "count ns/dg", "(worst)",
      "+GRO ns/dg", "get ns/dg", "(worst)", "loop ns", "ratio", "(worst)", "get drops", "cores@10G", "@25G"),
      file=sys.stderr)
for (chunk, n), sides in sorted(res.items()):
    cnt, get, cgro = sides["count"], sides["get"], sides["countgro"]
    ratios = [cnt[k][0] / get[k][0] for k in get if k in cnt and get[k][0] > 0]
    c_ns = statistics.median(v[0] for v in cnt.values())
    cg_ns = statistics.median(v[0] for v in cgro.values())
    g_ns = statistics.median(v[0] for v in get.values())
    l_ns = statistics.median(v[3] for v in get.values())
    wire = chunk + 32 + 8 + 20 + 38
    cores = {g: round(g * 1e9 / 8 / wire * g_ns / 1e9, 2) for g in (10, 25)}
    row = {"chunk": chunk, "receivers": n, "count_ns": round(c_ns, 1), "count_ns_worst": round(max(v[0] for v in cnt.values()), 1),
           "count_gro_ns": round(cg_ns, 1), "get_ns": round(g_ns, 1), "get_loop_ns": round(l_ns, 1),
           "get_loop_cores_10g": round(10e9 / 8 / wire * l_ns / 1e9, 2), "get_ns_worst": round(max(v[0] for v in get.values()), 1),
           "ratio": round(statistics.median(ratios), 3), "ratio_worst": round(min(ratios), 3),
           "get_drops": statistics.median(v[2] for v in get.values()),
           "count_drops": statistics.median(v[2] for v in cnt.values()),
           "get_cores_10g": cores[10], "get_cores_25g": cores[25],
           "count_cores_10g": round(10e9 / 8 / wire * c_ns / 1e9, 2), "count_cores_25g": round(25e9 / 8 / wire * c_ns / 1e9, 2)}
    out["rows"].append(row)
    print("%6d %4d %12.0f %9.0f %10.0f %12.0f %9.0f %9.0f %7.2f %8.2f %9d %9.2f %7.2f" % (chunk, n, c_ns,
          row["count_ns_worst"], cg_ns, g_ns, row["get_ns_worst"], l_ns, row["ratio"], row["ratio_worst"],
          row["get_drops"], cores[10], cores[25]), file=sys.stderr)
print("ns/dg: CPU ns per datagram read (medians of %d runs, worst in brackets); +GRO: the counting receiver with"
      " UDP_GRO; loop ns: get's event-loop thread alone (the rest is io_uring's write workers); ratio: counting"
      " (without GRO) / crowcast per run; cores: crowcast get at line rate" % runs,
      file=sys.stderr)
print(json.dumps(out, separators=(",", ":")))
EOF
