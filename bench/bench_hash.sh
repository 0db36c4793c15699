#!/usr/bin/env bash
# Hashing throughput of `crowcast make` against sha256sum and `openssl speed`, on the same data.
#
# usage: bench/bench_hash.sh [SIZE]          SIZE of the generated release, default 512M
#   env CROWCAST=path/to/crowcast            default: build/crowcast, then build-*/crowcast
#   env BENCH_TIMEOUT=SECONDS                limit for each timed step, default 120
#   env BENCH_OPENSSL_SECONDS=N              seconds of each `openssl speed` run, default 3
#
# It writes SIZE bytes of pseudo-random data to a temporary directory under /tmp (removed on
# exit), reads it once so every tool hashes from the page cache, then times:
#   - crowcast make  : SHA-1 AND SHA-256 of every piece, all cores (hashing threads = CPUs);
#   - sha256sum      : SHA-256 only, one core;
#   - openssl speed -elapsed -evp sha256 -bytes 16384 -seconds N (3): the per-core SHA-256
#     ceiling, times the number of cores for "all cores"; likewise for SHA-1, from which the
#     ceiling of doing both digests on every byte follows: 1 / (1/sha1 + 1/sha256) per core.
# Output: a table (tool, MB/s with MB = 10^6 bytes, ratio of crowcast's rate to the tool's) and
# one JSON line starting with {"bench":"hash". Not registered in ctest: it takes ~20-40 s.
set -euo pipefail

size_text=${1:-512M}
limit=${BENCH_TIMEOUT:-120}
ossl_secs=${BENCH_OPENSSL_SECONDS:-3}
[[ $ossl_secs =~ ^[1-9][0-9]?$ ]] || { echo "bench_hash: bad BENCH_OPENSSL_SECONDS '$ossl_secs' (1..99)" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${CROWCAST:-} ]]; then
  for c in "$root/build/crowcast" "$root"/build-*/crowcast; do
    [[ -x $c ]] && { CROWCAST=$c; break; }
  done
fi
[[ -x ${CROWCAST:-} ]] || { echo "bench_hash: no crowcast binary; build first or set CROWCAST" >&2; exit 2; }
for c in openssl sha256sum timeout python3; do
  command -v "$c" >/dev/null || { echo "bench_hash: '$c' is missing (tools/setup.sh)" >&2; exit 2; }
done
bytes=$(numfmt --from=iec "${size_text%B}") || { echo "bench_hash: bad size '$size_text'" >&2; exit 2; }
cpus=$(nproc)

work=$(mktemp -d /tmp/crowcast-bench-hash.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# Pseudo-random data (AES-CTR keystream): incompressible, and quick to make.
mkdir "$work/release"
data=$work/release/data.bin
{ openssl enc -aes-128-ctr -pass pass:bench -nosalt -pbkdf2 -in /dev/zero 2>/dev/null || true; } |
  head -c "$bytes" >"$data"
[[ $(stat -c %s "$data") -eq $bytes ]] || { echo "bench_hash: could not write $bytes bytes to $data" >&2; exit 3; }
cat "$data" >/dev/null

now() { date +%s.%N; }
# mbps BYTES SECONDS
mbps() { python3 -c 'import sys; print("%.1f" % (int(sys.argv[1]) / float(sys.argv[2]) / 1e6))' "$1" "$2"; }
# timed CMD...: runs CMD under the time limit, prints its wall-clock seconds.
timed() {
  local t0 t1
  t0=$(now)
  timeout "$limit" "$@" >/dev/null || { echo "bench_hash: '$*' failed or exceeded ${limit}s" >&2; exit 3; }
  t1=$(now)
  python3 -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1"
}
# openssl_rate DIGEST: per-core MB/s for 16 KiB blocks over $ossl_secs seconds. -elapsed divides by
# wall-clock time, as every other figure here is (by default openssl divides by its CPU time, which
# on a busy machine would make the ceiling look higher than anything timed by the clock could reach).
openssl_rate() {
  timeout "$limit" openssl speed -elapsed -evp "$1" -bytes 16384 -seconds "$ossl_secs" 2>/dev/null |
    awk -v d="$1" '$1 == d { v = $NF; sub(/k$/, "", v); printf "%.1f\n", v / 1000 }'
}

echo "bench_hash: $size_text ($bytes bytes) in $work, $cpus CPUs, data in the page cache" >&2
t_make=$(timed "$CROWCAST" make "$data" -o "$work/out.torrent")
t_sum=$(timed sha256sum "$data")
sha256_core=$(openssl_rate sha256)
sha1_core=$(openssl_rate sha1)
[[ -n $sha256_core && -n $sha1_core ]] || { echo "bench_hash: could not parse openssl speed" >&2; exit 3; }

python3 - "$bytes" "$cpus" "$t_make" "$t_sum" "$sha256_core" "$sha1_core" <<'EOF'
import json, sys
size, cpus = int(sys.argv[1]), int(sys.argv[2])
t_make, t_sum, sha256_core, sha1_core = map(float, sys.argv[3:7])
make = size / t_make / 1e6
both_core = 1 / (1 / sha1_core + 1 / sha256_core)
rows = [
    ("crowcast make (SHA-1 + SHA-256, %d cores)" % cpus, make),
    ("sha256sum (SHA-256, 1 core)", size / t_sum / 1e6),
    ("openssl speed sha256, 1 core", sha256_core),
    ("openssl speed sha256 x %d cores" % cpus, sha256_core * cpus),
    ("openssl sha1+sha256 ceiling x %d cores" % cpus, both_core * cpus),
]
print("%-44s %10s %16s" % ("tool", "MB/s", "crowcast / tool"))
for name, rate in rows:
    print("%-44s %10.1f %16.2f" % (name, rate, make / rate))
print("note: crowcast make computes SHA-1 and SHA-256 of every byte; the others compute SHA-256 only,")
print("      except the last row, the openssl ceiling for both digests on all cores.")
print(json.dumps({
    "bench": "hash", "bytes": size, "cpus": cpus,
    "crowcast_make_mbps": round(make, 1), "crowcast_make_seconds": t_make,
    "sha256sum_mbps": round(size / t_sum / 1e6, 1),
    "openssl_sha256_core_mbps": sha256_core, "openssl_sha1_core_mbps": sha1_core,
    "openssl_sha256_all_mbps": round(sha256_core * cpus, 1),
    "openssl_both_all_mbps": round(both_core * cpus, 1),
    "ratio_vs_sha256sum": round(make / (size / t_sum / 1e6), 3),
    "ratio_vs_openssl_sha256_all": round(make / (sha256_core * cpus), 3),
    "ratio_vs_openssl_both_all": round(make / (both_core * cpus), 3),
}))
EOF
