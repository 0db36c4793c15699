#!/usr/bin/env bash
# Every microbenchmark in one command, each against its baseline measured in the same run:
#
#   hashing      bench_hash.sh    crowcast make (SHA-1 + SHA-256, all cores) vs the openssl ceiling for
#                                 both digests on all cores, and vs sha256sum (SHA-256, one core)
#   codec        bench_codec      DATA datagram encode / header encode / decode+check vs a plain copy
#                                 of the same bytes (see bench/bench_codec.c)
#   sender       bench_mcast.sh   crowcast seed flat out vs a plain sendto() loop, datagrams/s on
#                                 loopback to the same counting receivers
#   receiver     bench_mcast.sh   crowcast get goodput vs the counting receivers (recvmmsg, count
#                                 only), both fed by the same crowcast seed flat out
#   receiver CPU bench_recv.sh    crowcast get's CPU per datagram vs the counting receiver's, at
#                                 1408 B and 8 KiB chunks (as datagrams per CPU-second)
#   tracker      bench_tracker.sh announces/s under wrk vs opentracker, keep-alive and a connection
#                                 per announce (skipped, with the reason, without wrk or opentracker)
#
# usage: bench/run_micro.sh [--quick] [--out FILE] [--build-dir DIR] [--no-build]
#                           [--hash-size SIZE] [--mcast-size SIZE] [--runs N] [--receivers "N..."]
#                           [--codec-seconds S] [--tracker-seconds S] [--mcast-key FILE]
#                           [--recv-size SIZE]
#   --quick           tiny sizes, no tracker warm-up (CI smoke: ~15-30 s); the figures only show
#                     that everything runs
#   default           hash 512M, mcast 256M x 3 runs to 1 and 4 receivers, receiver CPU 128M x 3
#                     runs, codec 3 s (7 rounds), tracker 5 s per target and mode: ~3-5 minutes
#   --out FILE        the JSON result (default bench/results/micro.json)
#   --build-dir DIR   where crowcast and the bench programs are built (default $CROW_BUILD_DIR or
#                     build/); it is configured if needed and the three targets built, unless --no-build
#   --mcast-key FILE  the sender and receiver runs authenticate every datagram with this fleet
#                     secret (seed and get --mcast-key); compare with a run without it
#
# Output: the scripts' own tables on stderr as they finish, then one markdown table on stdout
# (benchmark, what it is against, unit, crowcast, baseline, crowcast / baseline: every ratio is a rate
# over a rate, higher is better) and the JSON file with the same rows plus each script's JSON line.
# Exit status: 0, 2 for bad usage or a missing tool, 3 when a benchmark failed (its log is shown).
# Multicast stays on loopback (the scripts send with IP_MULTICAST_IF 127.0.0.1, TTL 1).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "run_micro: $1" >&2; exit "${2:-3}"; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

quick=0 build_flag=1 out=$root/bench/results/micro.json build=${CROW_BUILD_DIR:-$root/build}
hash_size="" mcast_size="" runs="" receivers="" codec_secs="" tracker_secs="" mcast_key="" recv_size=""
while (($#)); do
  case $1 in
  --quick) quick=1 ;;
  --no-build) build_flag=0 ;;
  --out | --build-dir | --hash-size | --mcast-size | --runs | --receivers | --codec-seconds | --tracker-seconds | \
    --mcast-key | --recv-size)
    (($# >= 2)) || die "$1 needs a value" 2
    case $1 in
    --out) out=$2 ;;
    --build-dir) build=$2 ;;
    --hash-size) hash_size=$2 ;;
    --mcast-size) mcast_size=$2 ;;
    --runs) runs=$2 ;;
    --receivers) receivers=$2 ;;
    --codec-seconds) codec_secs=$2 ;;
    --tracker-seconds) tracker_secs=$2 ;;
    --mcast-key) mcast_key=$2 ;;
    --recv-size) recv_size=$2 ;;
    esac
    shift ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown argument '$1'" 2 ;;
  esac
  shift
done
if ((quick)); then
  : "${hash_size:=16M}" "${mcast_size:=8M}" "${runs:=1}" "${receivers:=1}" "${codec_secs:=0.3}" "${tracker_secs:=1}"
  : "${recv_size:=8M}"
  ossl_secs=1 codec_reps=3 tracker_warmup=0 limit=120
else
  : "${hash_size:=512M}" "${mcast_size:=256M}" "${runs:=3}" "${receivers:=1 4}" "${codec_secs:=3}" "${tracker_secs:=5}"
  : "${recv_size:=128M}"
  ossl_secs=3 codec_reps=7 tracker_warmup=1 limit=900
fi
[[ $runs =~ ^[1-9][0-9]?$ ]] || die "bad --runs '$runs'" 2

for c in python3 timeout cmake; do
  command -v "$c" >/dev/null || die "'$c' is missing (tools/setup.sh installs it)" 2
done
targets=(crowcast_cli sendto_baseline bench_codec)
if ((build_flag)); then
  if [[ ! -f $build/CMakeCache.txt ]]; then
    echo "run_micro: configuring $build" >&2
    cmake -S "$root" -B "$build" -DCROW_BENCH=ON >"${TMPDIR:-/tmp}/run_micro-cmake.log" 2>&1 ||
      die "cmake -S $root -B $build failed: see ${TMPDIR:-/tmp}/run_micro-cmake.log"
  fi
  echo "run_micro: building ${targets[*]} in $build" >&2
  cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" >/dev/null ||
    die "cmake --build $build --target ${targets[*]} failed (run it to see why)"
fi
export CROWCAST=$build/crowcast SENDTO_BASELINE=$build/bench/sendto_baseline
codec=$build/bench/bench_codec
for b in "$CROWCAST" "$SENDTO_BASELINE" "$codec"; do
  [[ -x $b ]] || die "no $b: build it (cmake --build $build --target ${targets[*]}) or drop --no-build" 2
done

work=$(mktemp -d /tmp/crowcast-run-micro.XXXXXX)
running="" # the timeout process of the benchmark in progress
# timeout runs in a process group of its own, which a Ctrl-C on this script does not reach: end it
# here (it passes the signal on to the benchmark's whole group, whose own traps clean up).
trap '[[ -n $running ]] && kill "$running" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# bench NAME CMD...: runs one benchmark under the time limit, its table to stderr; its JSON line
# (the last line starting with {"bench") goes to $work/NAME.json. Any failure ends the run.
bench() {
  local name=$1 rc=0 t0=$SECONDS
  shift
  echo "run_micro: $name: $*" >&2
  timeout "$limit" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  running=$!
  wait "$running" || rc=$?
  running=""
  if ((rc != 0)); then
    tail -n 20 "$work/$name.err" "$work/$name.out" >&2
    ((rc == 124)) && die "$name exceeded ${limit}s"
    die "$name failed (exit $rc)"
  fi
  grep -v '^{"bench"' "$work/$name.out" >&2 || true
  grep '^{"bench"' "$work/$name.out" | tail -n 1 >"$work/$name.json"
  [[ -s $work/$name.json ]] || die "$name printed no JSON line"
  echo "run_micro: $name done in $((SECONDS - t0)) s" >&2
}

BENCH_OPENSSL_SECONDS=$ossl_secs BENCH_TIMEOUT=$limit bench hash bash "$root/bench/bench_hash.sh" "$hash_size"
bench codec "$codec" --seconds "$codec_secs" --reps "$codec_reps"
BENCH_RUNS=$runs BENCH_MEM_SIZE=0 BENCH_RECEIVERS=$receivers BENCH_TIMEOUT=60 BENCH_MCAST_KEY=$mcast_key \
  bench mcast bash "$root/bench/bench_mcast.sh" "$mcast_size"
BENCH_RUNS=$runs BENCH_RECEIVERS=$receivers BENCH_TIMEOUT=60 bench recv bash "$root/bench/bench_recv.sh" "$recv_size"
tracker_skip=""
for c in wrk opentracker ss; do
  command -v "$c" >/dev/null || { tracker_skip="'$c' is not installed (tools/setup.sh installs it)"; break; }
done
if [[ -z $tracker_skip ]]; then
  BENCH_SECONDS=$tracker_secs BENCH_WARMUP=$tracker_warmup bench tracker bash "$root/bench/bench_tracker.sh"
else
  echo "run_micro: tracker: SKIPPED: $tracker_skip" >&2
fi

mkdir -p "$(dirname "$out")"
python3 - "$work" "$out" "$quick" "$receivers" "$tracker_skip" "$load_start" "$runs" "$tracker_secs" \
  "$ossl_secs" <<'EOF'
import json, os, sys
work, out, quick, receivers, tracker_skip, load_start, runs, tracker_secs, ossl_secs = sys.argv[1:10]
raw = {}
for name in ("hash", "codec", "mcast", "recv", "tracker"):
    path = os.path.join(work, name + ".json")
    if os.path.exists(path):
        raw[name] = json.load(open(path))
rows = []
def row(bench, against, unit, crowcast, baseline):
    rows.append({"benchmark": bench, "baseline": against, "unit": unit, "crowcast": crowcast,
                 "baseline_figure": baseline, "ratio": round(crowcast / baseline, 3) if baseline else 0})

h = raw["hash"]
cores = h["cpus"]
row("hashing: crowcast make, SHA-1 + SHA-256, %d cores" % cores,
    "openssl speed sha1+sha256 ceiling, %d cores" % cores, "MB/s", h["crowcast_make_mbps"], h["openssl_both_all_mbps"])
row("hashing: crowcast make, SHA-1 + SHA-256, %d cores" % cores, "sha256sum (SHA-256 only, 1 core)", "MB/s",
    h["crowcast_make_mbps"], h["sha256sum_mbps"])
c = raw["codec"]
for key, what, against in (("encode", "DATA encode (header + %d B payload)" % c["chunk_size"], "memcpy of the same bytes"),
                           ("header", "DATA header encode (the seeder's path)", "memcpy of the 32 header bytes"),
                           ("decode", "DATA decode + check against the manifest", "header struct copy, no checks")):
    row("codec: " + what, against, "M datagrams/s", round(c[key + "_dps"] / 1e6, 2),
        round(c[key + "_baseline_dps"] / 1e6, 2))
m = raw["mcast"]
for n in receivers.split():
    rcv = "1 receiver" if n == "1" else n + " receivers"
    row("sender: crowcast seed flat out, %s" % rcv, "sendto() loop, same receivers", "datagrams/s",
        m["crowcast_%s_dps" % n], m["sendto_%s_dps" % n])
    row("receiver: crowcast get goodput, %s" % rcv, "counting receiver (recvmmsg), same sender",
        "Gbit/s", m["get_%s_rx_gbps" % n], m["crowcast_%s_rx_gbps" % n])
for r in raw["recv"]["rows"]:
    rcv = "1 receiver" if r["receivers"] == 1 else "%d receivers" % r["receivers"]
    # 1e6 / ns per datagram: thousands of datagrams per second of CPU, so that higher is better
    row("receiver CPU: crowcast get, %d B chunks, %s" % (r["chunk"], rcv), "counting receiver (recvmmsg), same sender",
        "k datagrams per CPU-second", round(1e6 / r["get_ns"], 1), round(1e6 / r["count_ns"], 1))
skipped = []
if "tracker" in raw:
    t = raw["tracker"]
    for mode, what in (("keepalive", "keep-alive"), ("close", "a connection per announce")):
        row("tracker: announces/s, %s" % what, "opentracker, same load", "announces/s",
            t[mode]["crowcast_rps"], t[mode]["opentracker_rps"])
else:
    skipped.append({"benchmark": "tracker", "reason": tracker_skip})

def fmt(v):
    return "%.0f" % v if v >= 1000 else "%.3g" % v if v < 10 else "%.1f" % v
print("| benchmark | against | unit | crowcast | baseline | crowcast / baseline |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %s | %s | %s | %.2f |" % (r["benchmark"], r["baseline"], r["unit"], fmt(r["crowcast"]),
                                              fmt(r["baseline_figure"]), r["ratio"]))
for s in skipped:
    print("\nskipped: %s: %s" % (s["benchmark"], s["reason"]))
load_end = open("/proc/loadavg").read().split()[:3]
mode = "quick" if quick == "1" else "default"
print("\n%s run, %d CPUs, load average %s at the start, %s at the end" % (mode, cores, load_start, " ".join(load_end)))
print("hashing: %d MiB once, openssl speed %s s per digest; codec: medians of %d rounds; sender and receiver:"
      " medians of %s runs of %d MiB; receiver CPU: of %s runs of %d MiB%s"
      % (h["bytes"] >> 20, ossl_secs, c["reps"], runs, m["release_bytes"] >> 20, runs, raw["recv"]["release_bytes"] >> 20,
         "; tracker: %s s per target and mode" % tracker_secs if "tracker" in raw else ""))
with open(out, "w") as f:
    json.dump({"mode": mode, "cpus": cores, "loadavg_start": load_start, "loadavg_end": " ".join(load_end),
               "rows": rows, "skipped": skipped, "raw": raw}, f, indent=1)
    f.write("\n")
EOF
echo "run_micro: wrote $out" >&2
