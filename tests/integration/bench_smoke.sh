#!/usr/bin/env bash
# Smoke run of bench/datacenter.sh so the harness cannot rot: 2 racks x 2 hosts, a 2 MiB release,
# crowcast hybrid and central HTTP, no loss round. Asserts only that the table has both rows with
# every host verified and a finite time, crowcast's fixed costs, that the JSON and the plot exist
# and that the size fit reads the results. Needs root.
source "$(dirname "$0")/lib.sh"
need_root
need_cmd nginx curl python3 gnuplot

set +e
bash "$CROW_SOURCE_DIR/bench/datacenter.sh" --racks 2 --hosts 2 --size 2M --loss 0 --budget 120 \
  --tools crowcast,http --out "$WORK/out" >"$WORK/bench.log" 2>&1
rc=$?
set -e
[[ $rc -eq 77 ]] && skip "$(grep -m1 SKIP "$WORK/bench.log")"
[[ $rc -eq 0 ]] || { cat "$WORK/bench.log" >&2; fail "bench/datacenter.sh exited $rc"; }

table=$WORK/out/results.md
for tool in crowcast http; do
  row=$(grep -E "^\| noloss \| $tool \|" "$table") || { cat "$table" >&2; fail "no $tool row in the table"; }
  # | round | tool | hosts verified | last host (s) | ...
  verified=$(awk -F'|' '{gsub(/ /, "", $4); print $4}' <<<"$row")
  last=$(awk -F'|' '{gsub(/ /, "", $5); print $5}' <<<"$row")
  [[ $verified == 4/4 ]] || fail "$tool: $verified hosts verified: $row"
  [[ $last =~ ^[0-9]+\.[0-9]+$ ]] || fail "$tool: no last-host time: $row"
done
python3 - "$WORK/out/results.json" <<'PY' || fail "results.json: not both scenarios with every host timed, or no crowcast fixed costs"
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"]
assert sorted(x["tool"] for x in s) == ["crowcast", "http"], s
for x in s:
    assert x["status"] == "ok" and all(t is not None for t in x["per_host_s"].values()), x
    assert len(x["uplink_copies"]) == 2 and x["seeder_copies"] > 0.9, x
# crowcast's fixed costs come from the processes' stamped log lines: each present and plausible.
c = next(x for x in s if x["tool"] == "crowcast")
for k in ("first_datagram_s", "tail_s", "hook_s", "get_join_s"):
    assert k in c and -1 < c[k] < 10, (k, c)
PY
# The size fit runs on the result directories (one size here: no line, but a row per tool).
mkdir -p "$WORK/fit"
python3 "$CROW_SOURCE_DIR/bench/datacenter_fit.py" "$WORK/fit" "$WORK/out" "$WORK/out" ||
  fail "datacenter_fit.py failed"
grep -qE '^\| crowcast \|' "$WORK/fit/fit.md" || { cat "$WORK/fit/fit.md" >&2; fail "no crowcast row in fit.md"; }
[[ -s $WORK/out/cdf-noloss.png ]] || fail "no CDF plot"
log "ok: $(grep -c '^| noloss' "$table") rows, every host verified"
