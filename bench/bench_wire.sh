#!/usr/bin/env bash
# TCP-only peer-wire throughput on loopback: crowcast -> crowcast against aria2c -> aria2c, on the
# same release, as a ratio.
#
# usage: bench/bench_wire.sh [SIZE] [RUNS]   SIZE of the release, default 1G; RUNS per pair, default 3
#   env CROWCAST=path/to/crowcast            default: build/crowcast, then build-*/crowcast
#   env BENCH_TIMEOUT=SECONDS                limit for each timed download, default 120
#   env BENCH_DIR=DIR                        where data goes, default /dev/shm when it has room
#                                            (tmpfs: crowcast's fsync on publish costs nothing
#                                            there, as aria2c does not fsync), else /tmp
#
# Both seeds run before timing starts and have hashed or checked their data:
#   - crowcast: `crowcast seed X.torrent PATH --listen 127.0.0.1:P`; the download is
#     `crowcast get X.torrent -o DIR --peer 127.0.0.1:P --no-mcast` (1 MiB requests between crowcast
#     peers, SHA-256 verification of every piece, atomic publish);
#   - aria2c: `aria2c -V --seed-ratio=0.0` seeds; `aria2c --seed-time=0` downloads (16 KiB
#     requests, SHA-1 verification), the two meeting through opentracker (whitelist mode: aria2c
#     finds peers only through a tracker); the seed is known to the tracker (scrape) before timing.
# Each download starts from an empty directory; the time is the downloader's wall clock from start
# to exit, so it includes connecting (and for aria2c announcing), verifying and writing the copy,
# which is compared with the original (cmp) after each run. The median of RUNS runs is reported.
# Output: a table (pair, each run's seconds, median MB/s with MB = 10^6 bytes) and one JSON line
# starting with {"bench":"wire". Not registered in ctest: with 1 GiB it takes about a minute.
set -euo pipefail

size_text=${1:-1G}
runs=${2:-3}
limit=${BENCH_TIMEOUT:-120}
root=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "bench_wire: $*" >&2; exit "${2:-3}"; }
if [[ -z ${CROWCAST:-} ]]; then
  for c in "$root/build/crowcast" "$root"/build-*/crowcast; do
    [[ -x $c ]] && { CROWCAST=$c; break; }
  done
fi
[[ -x ${CROWCAST:-} ]] || die "no crowcast binary; build first or set CROWCAST" 2
for c in aria2c opentracker openssl python3 ss cmp timeout; do
  command -v "$c" >/dev/null || die "'$c' is missing (tools/setup.sh)" 2
done
bytes=$(numfmt --from=iec "${size_text%B}") || die "bad size '$size_text'" 2
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "bad run count '$runs'" 2

base=${BENCH_DIR:-}
if [[ -z $base ]]; then
  base=/tmp
  avail=$(df --output=avail -B1 /dev/shm 2>/dev/null | tail -n 1 || echo 0)
  [[ $avail -gt $((3 * bytes)) ]] && base=/dev/shm
fi
work=$(mktemp -d "$base/crowcast-bench-wire.XXXXXX")
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
    ss -Hltun "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}
# wait_for SECONDS WHAT CMD...: polls CMD every 0.1 s.
wait_for() {
  local end=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [[ $SECONDS -lt $end ]] || die "timed out waiting for $what"
    sleep 0.1
  done
}
listening() { ss -Hltn "sport = :$1" | grep -q .; }
now() { date +%s.%N; }

mkdir -p "$work/seed/bench"
data=$work/seed/bench/data.bin
{ openssl enc -aes-128-ctr -pass pass:bench-wire -nosalt -pbkdf2 -in /dev/zero 2>/dev/null || true; } |
  head -c "$bytes" >"$data"
[[ $(stat -c %s "$data") -eq $bytes ]] || die "could not write $bytes bytes to $data"
tracker_port=$(free_port)
announce=http://127.0.0.1:$tracker_port/announce
timeout "$limit" "$CROWCAST" make "$work/seed/bench" -o "$work/bench.torrent" --tracker "$announce" \
  >"$work/make.log" 2>&1 || die "crowcast make failed: $(cat "$work/make.log")"
info_hash=$("$CROWCAST" inspect --json "$work/bench.torrent" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])')
echo "bench_wire: $size_text ($bytes bytes) in $work, $runs runs per pair, $(nproc) CPUs" >&2

# The seeds, started once.
cc_port=$(free_port)
# --no-tracker on crowcast's side: the manifest names opentracker (for aria2c), and crowcast
# measured against crowcast must neither announce there nor pull from the aria2c seed.
"$CROWCAST" seed "$work/bench.torrent" "$work/seed/bench" --listen "127.0.0.1:$cc_port" --no-tracker \
  --log-level warn >"$work/crowcast-seed.log" 2>&1 &
pids+=($!)
mkdir -p "$work/ot"
echo "$info_hash" >"$work/ot/whitelist.txt"
opentracker -i 127.0.0.1 -p "$tracker_port" -P "$tracker_port" -d "$work/ot" -w /whitelist.txt \
  >"$work/opentracker.log" 2>&1 &
pids+=($!)
closed_test=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false
  --disable-ipv6=true --console-log-level=warn --summary-interval=0 --file-allocation=falloc)
aria_port=$(free_port)
aria2c -V --seed-ratio=0.0 "${closed_test[@]}" --listen-port="$aria_port" --dir="$work/seed" \
  "$work/bench.torrent" >"$work/aria2c-seed.log" 2>&1 &
pids+=($!)
wait_for 10 "crowcast seed on port $cc_port" listening "$cc_port"
wait_for 10 "opentracker on port $tracker_port" listening "$tracker_port"
# The aria2c seed is ready once the tracker counts one complete peer (after its hash check).
seeded() {
  python3 - "$tracker_port" "$info_hash" <<'EOF'
import sys, urllib.parse, urllib.request
port, ih = sys.argv[1], bytes.fromhex(sys.argv[2])
url = "http://127.0.0.1:%s/scrape?info_hash=%s" % (port, urllib.parse.quote_from_bytes(ih))
body = urllib.request.urlopen(url, timeout=2).read()
sys.exit(0 if b"8:completei1e" in body else 1)
EOF
}
wait_for "$limit" "the aria2c seed to register with opentracker" seeded

# timed NAME CMD...: runs CMD in a fresh directory $work/dl (its output dir), prints seconds.
timed() {
  local name=$1 t0 t1 rc=0
  shift
  rm -rf "$work/dl"
  mkdir -p "$work/dl"
  t0=$(now)
  timeout "$limit" "$@" >"$work/$name.log" 2>&1 || rc=$?
  t1=$(now)
  [[ $rc -eq 0 ]] || die "$name exited $rc (limit ${limit}s): $(tail -n 5 "$work/$name.log")"
  cmp -s "$data" "$work/dl/bench/data.bin" || die "$name: the copy differs from the original"
  python3 -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1"
}

crowcast_times=() aria_times=()
for ((r = 1; r <= runs; r++)); do
  crowcast_times+=("$(timed crowcast-get "$CROWCAST" get "$work/bench.torrent" -o "$work/dl" \
    --peer "127.0.0.1:$cc_port" --no-mcast --no-tracker --iface 127.0.0.1 --log-level warn)")
  aria_times+=("$(timed aria2c-get aria2c --seed-time=0 "${closed_test[@]}" --listen-port="$(free_port)" \
    --dir="$work/dl" "$work/bench.torrent")")
  echo "bench_wire: run $r: crowcast ${crowcast_times[-1]} s, aria2c ${aria_times[-1]} s" >&2
done

python3 - "$bytes" "$runs" "${crowcast_times[*]}" "${aria_times[*]}" "$base" <<'EOF'
import json, statistics, sys
size, runs = int(sys.argv[1]), int(sys.argv[2])
cc = [float(x) for x in sys.argv[3].split()]
ar = [float(x) for x in sys.argv[4].split()]
mc, ma = statistics.median(cc), statistics.median(ar)
rc, ra = size / mc / 1e6, size / ma / 1e6
print("%-44s %-26s %10s %10s" % ("pair (TCP only, loopback)", "seconds per run", "median s", "MB/s"))
print("%-44s %-26s %10.3f %10.1f" % ("crowcast seed -> crowcast get", " ".join("%.2f" % t for t in cc), mc, rc))
print("%-44s %-26s %10.3f %10.1f" % ("aria2c seed -> aria2c (via opentracker)", " ".join("%.2f" % t for t in ar), ma, ra))
print("crowcast / aria2c throughput: %.2f" % (rc / ra))
print(json.dumps({
    "bench": "wire", "bytes": size, "runs": runs, "dir": sys.argv[5],
    "crowcast_seconds": cc, "aria2c_seconds": ar,
    "crowcast_median_s": mc, "aria2c_median_s": ma,
    "crowcast_mbps": round(rc, 1), "aria2c_mbps": round(ra, 1),
    "ratio_crowcast_vs_aria2c": round(rc / ra, 2),
}))
EOF
