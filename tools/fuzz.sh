#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz, clang, ASan+UBSan) in build-fuzz/ and runs each for a
# bounded time, two at a time, from its checked-in seeds (tests/fuzz/corpus/NAME) plus what earlier
# runs found (build-fuzz/fuzz-corpus/NAME). Prints per harness the executions, exec/s and libFuzzer's
# coverage (cov: edges, ft: features); fails when any harness crashes, leaks, hits UB or times out,
# naming the input it saved (build-fuzz/fuzz-artifacts/NAME/).
#   tools/fuzz.sh                      every harness, 10 s each (CI: about 2.5 minutes on 2 cores)
#   tools/fuzz.sh --long               every harness, 10 minutes each
#   tools/fuzz.sh --seconds 60 wire    chosen harnesses, chosen time
#   tools/fuzz.sh --list               the harness names
# Reproduce a crash: build-fuzz/fuzz/fuzz_NAME build-fuzz/fuzz-artifacts/NAME/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }

seconds=10
list=0
names=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --seconds needs a positive number" >&2; exit 2; }
      seconds=$2
      shift 2
      ;;
    --long) seconds=600; shift ;;
    --list) list=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "fuzz: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done

all=$(sed -n 's/^crow_fuzz_harness(\([a-z_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt)
if [[ $list -eq 1 ]]; then
  echo "$all"
  exit 0
fi
[[ ${#names[@]} -gt 0 ]] || mapfile -t names <<<"$all"
for n in "${names[@]}"; do
  grep -qx "$n" <<<"$all" || { echo "fuzz: no harness '$n' (tools/fuzz.sh --list)" >&2; exit 2; }
done

# Which dictionary (tests/fuzz/*.dict) helps which harness.
dict_of() {
  case "$1" in
    http_request | http_response) echo http ;;
    bencode | manifest | agent_proto | agent_state | announce_response) echo bencode ;;
    announce_query | rollout_query | probe_report | tracker_registry) echo announce ;;
    journal | rollout_plan | rollout_start) echo journal ;;
    racks) echo racks ;;
  esac
}

# Inputs longer than libFuzzer's default 4 KiB for the formats whose limits lie beyond it (racks and
# prefixes, head size, outbox, a journal's racks list), so the limit checks are reached too.
max_len_of() {
  case "$1" in
    racks | journal) echo 40000 ;;
    http_request | agent_state | manifest) echo 20000 ;;
  esac
}

tools/setup.sh
command -v clang >/dev/null || { echo "fuzz: clang is missing (tools/setup.sh installs it)" >&2; exit 1; }
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n ? 0 : 0; }' >"$probe/p.c"
clang -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" 2>"$probe/err" || {
  echo "fuzz: clang cannot link libFuzzer (is libclang-rt-14-dev installed?):" >&2
  cat "$probe/err" >&2
  exit 1
}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCROW_FUZZ=ON -DCROW_TESTS=OFF \
  -DCROW_BENCH=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
symbolizer=$(command -v llvm-symbolizer || ls /usr/lib/llvm-*/bin/llvm-symbolizer 2>/dev/null | tail -1 || true)
[[ -z "$symbolizer" ]] || export ASAN_SYMBOLIZER_PATH=$symbolizer
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
logs=build-fuzz/fuzz-logs
rm -rf "$logs"
mkdir -p "$logs"

run() {
  local n=$1 seeds=tests/fuzz/corpus/$1 work=build-fuzz/fuzz-corpus/$1 art=build-fuzz/fuzz-artifacts/$1
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$art/")
  local d
  d=$(dict_of "$n")
  [[ -z "$d" ]] || args+=(-dict="tests/fuzz/$d.dict")
  d=$(max_len_of "$n")
  [[ -z "$d" ]] || args+=(-max_len="$d")
  mkdir -p "$work" "$art"
  set +e
  build-fuzz/fuzz/fuzz_"$n" "${args[@]}" "$work" "$seeds" >"$logs/$n.log" 2>&1
  echo $? >"$logs/$n.rc"
}

jobs=$(nproc)
echo "fuzz: ${#names[@]} harnesses, $seconds s each, $jobs at a time" >&2
start=$SECONDS
for n in "${names[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge $jobs ]]; do wait -n || true; done
  run "$n" &
done
wait

failed=0
printf '%-18s %12s %9s %6s %7s %7s  %s\n' harness executions exec/s cov ft corpus result
for n in "${names[@]}"; do
  log=$logs/$n.log
  rc=$(cat "$logs/$n.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
  result=ok
  if [[ "$rc" != 0 ]]; then
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-18s %12s %9s %6s %7s %7s  %s\n' "$n" "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}" "${corp:--}" "$result"
done
echo "fuzz: done in $((SECONDS - start)) s" >&2
if [[ $failed -ne 0 ]]; then
  for n in "${names[@]}"; do
    [[ $(cat "$logs/$n.rc") == 0 ]] && continue
    echo "--- $n ($logs/$n.log) ---" >&2
    grep -E 'ERROR|SUMMARY|invariant failed|runtime error|Test unit written|^ *#[0-9]+ 0x.* in [A-Za-z_]' "$logs/$n.log" \
      | grep -v 'in fuzzer::' | head -20 >&2
  done
  exit 1
fi
