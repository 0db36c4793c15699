#!/usr/bin/env bash
# demo_phases: `crowcast demo` names the phase it is in from its first frame (drawn within the first
# tenth of a second), then each phase in order: generating the release, hashing it, waiting for the
# peers to join (how many are left), the multicast pass (its share sent), done; in the line mode
# (stderr not a terminal) and in the live view (a pseudo-terminal, through script(1)).
source "$(dirname "$0")/lib.sh"
need_cmd script

demo_args=(demo --size 16M --racks 1 --peers-per-rack 2 --loss 0.5 --timeout 120)

# --- line mode ---
rc=0
timeout 180 "$CROWCAST" "${demo_args[@]}" --workdir "$WORK/lines" >"$WORK/report.txt" 2>"$WORK/view.txt" || rc=$?
[[ $rc -eq 0 ]] || fail "crowcast demo exited $rc: $(tail -n 5 "$WORK/view.txt")"
first=$(grep -m1 '^demo: ' "$WORK/view.txt")
[[ $first =~ ^demo:\ +0\.[01]\ s\ +generating\ the\ release ]] || fail "the first line names no phase at 0.0 s: $first"
# each phase once at least, in this order
python3 - "$WORK/view.txt" <<'PY' || fail "phases out of order or missing: $(grep '^demo: ' "$WORK/view.txt")"
import re, sys
want = ["generating the release", "hashing the release", "waiting for 2 peers to join", "multicast pass: ",
        "done: 2 of 2 peers"]
lines = [l for l in open(sys.argv[1]) if l.startswith("demo: ")]
at = 0
for l in lines:
    if at < len(want) and want[at] in l:
        at += 1
sys.exit(0 if at == len(want) else 1)
PY
grep -q "waiting for 2 peers to join their racks' multicast groups (2 left)" "$WORK/view.txt" ||
  fail "the join phase does not say how many peers are left"
grep -Eq "multicast pass: [0-9]+% sent" "$WORK/view.txt" || fail "the multicast pass shows no share"
grep -q "2 of 2 peers verified" "$WORK/report.txt" || fail "the report: $(cat "$WORK/report.txt")"

# --- live view on a terminal ---
rc=0
timeout 180 script -qfec "$(printf '%q ' "$CROWCAST" "${demo_args[@]}" --workdir "$WORK/live")" "$WORK/live.txt" \
  >/dev/null 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "crowcast demo on a terminal exited $rc"
frame=$(grep -a -o -m1 $'\e\\[Kcrowcast demo  *[0-9.]* s  [a-z ]*' "$WORK/live.txt" | tr -d '\033' | head -n 1)
[[ $frame =~ crowcast\ demo\ +0\.[01]\ s\ +generating\ the\ release ]] || fail "the first frame names no phase: $frame"
grep -aq "done: 2 of 2 peers verified" "$WORK/live.txt" || fail "the live view never said done"
log "the demo names its phase from its first frame ($first), in order, in both views"
