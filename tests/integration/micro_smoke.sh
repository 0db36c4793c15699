#!/usr/bin/env bash
# Smoke run of bench/run_micro.sh --quick so the microbenchmark harness cannot rot: every benchmark
# runs (hashing, datagram codec, sender, receiver, receiver CPU, tracker unless wrk/opentracker are
# missing) and every row of the markdown table and of the JSON carries a positive crowcast figure, a
# positive baseline and their ratio. Speed is not asserted. Also: bad usage and a missing build fail clearly.
source "$(dirname "$0")/lib.sh"
need_cmd python3 openssl cmake
[[ -x $CROW_BUILD_DIR/bench/bench_codec && -x $CROW_BUILD_DIR/bench/sendto_baseline ]] ||
  skip "the bench programs are not built (configure with -DCROW_BENCH=ON)"
run_micro=$CROW_SOURCE_DIR/bench/run_micro.sh

# Usage errors exit 2 with a reason, before anything runs.
set +e
bash "$run_micro" --runs x >"$WORK/usage.log" 2>&1
rc_usage=$?
bash "$run_micro" --no-build --build-dir "$WORK/nowhere" >"$WORK/nobuild.log" 2>&1
rc_nobuild=$?
set -e
[[ $rc_usage -eq 2 ]] && grep -q "bad --runs 'x'" "$WORK/usage.log" || fail "--runs x: exit $rc_usage: $(cat "$WORK/usage.log")"
[[ $rc_nobuild -eq 2 ]] && grep -q "no $WORK/nowhere/crowcast: build it" "$WORK/nobuild.log" ||
  fail "missing build: exit $rc_nobuild: $(cat "$WORK/nobuild.log")"

tracker=1
command -v wrk >/dev/null && command -v opentracker >/dev/null || tracker=0
start=$SECONDS
bash "$run_micro" --quick --no-build --build-dir "$CROW_BUILD_DIR" --out "$WORK/micro.json" \
  >"$WORK/table.md" 2>"$WORK/run.log" || { cat "$WORK/table.md" >&2; fail "run_micro.sh --quick failed"; }
log "run_micro.sh --quick took $((SECONDS - start)) s"

python3 - "$WORK/micro.json" "$WORK/table.md" "$tracker" <<'PY' || fail "rows missing or not positive (table above)"
import json, re, sys
res = json.load(open(sys.argv[1]))
table = [l for l in open(sys.argv[2]) if l.startswith("| ") and not l.startswith("| benchmark")]
tracker = sys.argv[3] == "1"
want = {"hashing": 2, "codec": 3, "sender": 1, "receiver": 1, "receiver CPU": 2, "tracker": 2 if tracker else 0}
got = {}
for r in res["rows"]:
    kind = r["benchmark"].split(":")[0]
    got[kind] = got.get(kind, 0) + 1
    assert r["crowcast"] > 0 and r["baseline_figure"] > 0 and r["ratio"] > 0, r
    assert abs(r["ratio"] - r["crowcast"] / r["baseline_figure"]) <= 0.01 * r["ratio"], r
assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}, (got, want)
if not tracker:
    assert [s["benchmark"] for s in res["skipped"]] == ["tracker"] and "not installed" in res["skipped"][0]["reason"], res
else:
    assert res["skipped"] == [], res["skipped"]
assert len(table) == len(res["rows"]), (len(table), len(res["rows"]))
for line, r in zip(table, res["rows"]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    assert cells[0] == r["benchmark"] and len(cells) == 6, line
    assert all(float(c) > 0 for c in cells[3:]), line
assert set(res["raw"]) == {"hash", "codec", "mcast", "recv"} | ({"tracker"} if tracker else set()), res["raw"].keys()
PY
cat "$WORK/table.md" >&2
log "ok: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["rows"]))' "$WORK/micro.json") rows, all positive"
