#!/usr/bin/env bash
# Staged rollout on loopback with real processes: `crowcast tracker --state` (racks r1 = 127.0.1.0/24,
# r2 = 127.0.2.0/24), `crowcast seed`, three `crowcast agent`s (127.0.1.1 in r1, 127.0.2.1 and
# 127.0.2.2 in r2) and a 2-wave plan (canary r1, then r2). One agent is SIGKILLed in the middle of its
# download and restarted: it resumes from the staging area. Every agent ends with the verified release
# at DIR/<name>/<id>/<name>, `current` switched to it, its activation hook run once and health reported.
# The control plane is signed: the tracker has --auth, each agent its --key, the operator's requests
# are signed curl POSTs (control_lib.sh).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/control_lib.sh"
need_cmd curl python3 openssl

TP=$(free_port)
GP=$(free_port)
SP=$(free_port)
G1="239.255.$((RANDOM % 200 + 1)).$((RANDOM % 200 + 1))"
G2="239.255.$((RANDOM % 200 + 1)).$((RANDOM % 200 + 1))"
TRACKER="http://127.0.0.1:$TP"
SIZE=$((24 << 20))

random_file "$WORK/src/app.bin" $SIZE agent
"$CROWCAST" make "$WORK/src/app.bin" -o "$WORK/app.torrent" --piece-size 256K >/dev/null 2>&1
ID=$("$CROWCAST" inspect "$WORK/app.torrent" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])')
printf 'rack r1 127.0.1.0/24 %s:%s\nrack r2 127.0.2.0/24 %s:%s\n' "$G1" "$GP" "$G2" "$GP" >"$WORK/racks.conf"
KEYS=$WORK/keys
new_identity operator op "$KEYS"
for h in 1 2 3; do new_identity agent "host$h" "$KEYS"; done
op() { ctl "$KEYS/op.key" POST "$@"; }

# The activation hook of agents 2 and 3: records each call, then switches `current` itself.
cat >"$WORK/hook.sh" <<'HOOK'
#!/bin/sh
echo "$CROWCAST_ACTION $CROWCAST_RELEASE_ID prev=$CROWCAST_PREVIOUS_ID" >>"$HOOK_LOG"
[ -f "$CROWCAST_RELEASE_DIR/$CROWCAST_RELEASE_NAME" ] || exit 9
ln -s "$CROWCAST_RELEASE_ID" "$(dirname "$CROWCAST_RELEASE_DIR")/.hook.tmp" &&
  mv -T "$(dirname "$CROWCAST_RELEASE_DIR")/.hook.tmp" "$(dirname "$CROWCAST_RELEASE_DIR")/current"
HOOK
chmod +x "$WORK/hook.sh"

TRACKER_STARTS=0
start_tracker() {
  TRACKER_STARTS=$((TRACKER_STARTS + 1))
  spawn "tracker$TRACKER_STARTS" "$CROWCAST" tracker --listen "127.0.0.1:$TP" --racks "$WORK/racks.conf" \
    --interval 1 --state "$WORK/state" --auth "$KEYS/auth"
  TRACKER_PID=$SPAWNED_PID
  # Its own word, not a connect: a just-killed tracker's listener outlives it for a moment (its
  # io_uring is torn down asynchronously) and accepts connections nobody will answer.
  wait_until 15 grep -q "serving on" "$WORK/tracker$TRACKER_STARTS.log" || fail "the tracker did not start"
}
start_tracker

start_agent() { # H IFACE [ARGS...]
  local h=$1 ip=$2; shift 2
  spawn "agent-$h" env HOOK_LOG="$WORK/hooks-$h.log" "$CROWCAST" agent --tracker "$TRACKER" --dir "$WORK/dir-$h" \
    --key "$KEYS/host$h.key" --iface "$ip" --health "echo ok >>'$WORK/health-$h.log'" --seed-time 30 --poll-wait 5 --json "$@"
  eval "AGENT_$h=$SPAWNED_PID"
}
start_agent 1 127.0.1.1
start_agent 2 127.0.2.1 --activate "$WORK/hook.sh"
start_agent 3 127.0.2.2 --activate "$WORK/hook.sh"

status() { curl -sf "$TRACKER/rollout/status?format=json"; }
registered() { [[ $(status | grep -o '"host":"host[0-9]"' | sort -u | wc -l) -eq 3 ]]; }
# Agents register with their first poll, and a wave whose racks have no registered agent halts at
# once: the rollout starts once every agent has polled.
wait_until 20 curl -sf "$TRACKER/rollout/status" || fail "no rollout status"
wait_until 30 registered || fail "not every agent registered: $(status)"
PLAN=$(printf 'canary r1\nwave r2\n' | python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.stdin.read()))')
op "$TRACKER/rollout/start?torrent=$WORK/app.torrent&plan=$PLAN&distribute=all" -f >"$WORK/start.json" ||
  fail "rollout/start refused: $(op "$TRACKER/rollout/start?torrent=$WORK/app.torrent&plan=$PLAN")"
log "rollout started: $(cat "$WORK/start.json")"

# About 10 s of multicast at 20 Mbit/s: agent 3 is cut off in the middle of it.
spawn seed "$CROWCAST" seed "$WORK/app.torrent" "$WORK/src/app.bin" --tracker "$TRACKER/announce" \
  --iface 127.0.0.1 --listen "127.0.0.1:$SP" --rate 20M
STAGED="$WORK/dir-3/app.bin/.crowcast/$ID/.crowcast-staging/$ID/app.bin"
# get's progress, relayed by the agent: cut it off once a tenth of the pieces verified.
verified3() { grep -o '"event":"progress".*"verified":"[0-9]*"' "$WORK/agent-3.log" | tail -1 | grep -o '[0-9]*"$' | tr -d '"'; }
some_verified() { [[ $(verified3) -ge 10 ]]; }
wait_until 40 some_verified || fail "agent 3 did not start downloading"
[[ -f $STAGED && ! -e "$WORK/dir-3/app.bin/$ID" ]] || fail "agent 3 finished before it could be cut off"
get3=$(grep -o 'crowcast get, pid [0-9]*' "$WORK/agent-3.log" | head -1 | grep -o '[0-9]*$')
log "killing agent 3 (SIGKILL) mid-download ($(verified3) of 96 pieces verified; its get is pid $get3)"
kill -9 "$AGENT_3"
wait_until 10 bash -c "! kill -0 $get3" || fail "agent 3's get outlived it"
mv "$WORK/agent-3.log" "$WORK/agent-3-first.log"
start_agent 3 127.0.2.2 --activate "$WORK/hook.sh"

done_all() { status | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["state"] != "done")'; }
wait_until 120 done_all || fail "the rollout did not finish: $(status)"
log "rollout done: $(status | python3 -c 'import json,sys; d=json.load(sys.stdin); print([d[k] for k in ("state","activations_ordered")], [t["text"] for t in d["decisions"]])')"

grep -q "resuming: [1-9][0-9]* of 96 pieces" "$WORK/agent-3.log" || fail "the restarted agent 3 did not resume its download"
log "agent 3 after its restart: $(grep -o 'resuming: .*' "$WORK/agent-3.log")"
for h in 1 2 3; do
  cmp "$WORK/src/app.bin" "$WORK/dir-$h/app.bin/$ID/app.bin" || fail "agent $h: published data differs"
  [[ $(readlink "$WORK/dir-$h/app.bin/current") == "$ID" ]] || fail "agent $h: current is not switched"
  wait_until 10 grep -q '"event":"reported","host":"host'"$h"'","step":"health","status":"ok"' "$WORK/agent-$h.log" ||
    fail "agent $h: health not reported and acknowledged"
  [[ $(wc -l <"$WORK/health-$h.log") -eq 1 ]] || fail "agent $h: health ran $(wc -l <"$WORK/health-$h.log") times"
  [[ -f "$WORK/dir-$h/.crowcast-agent" ]] || fail "agent $h: no state file"
  [[ ! -d "$WORK/dir-$h/app.bin/.crowcast/$ID" ]] || fail "agent $h: download directory left behind"
done
for h in 2 3; do
  [[ $(cat "$WORK/hooks-$h.log") == "activate $ID prev=" ]] || fail "agent $h: hook calls: $(cat "$WORK/hooks-$h.log")"
done
status | python3 -c '
import json, sys
d = json.load(sys.stdin)
hosts = [h for r in d["racks"] for h in r["hosts"]]
assert len(hosts) == 3 and all(h["state"] == "healthy" and h["current"] == d["release"] for h in hosts), hosts
' || fail "the tracker does not see 3 healthy hosts on the release: $(status)"

# The tracker's state is lost (killed, its --state emptied, restarted), and the new tracker numbers
# rollouts from 1 again. Set-up: the release rolled out once more with a long canary soak, so that
# r2's agents finish the download order (rollout 1, this release) and nothing after it. Then the reset
# and the same rollout again: r2's agents get an order equal to the last one they finished, and must
# not take it for one already reported (they carry it out again; nothing is downloaded twice).
reset_tracker() {
  kill -KILL "$TRACKER_PID"
  wait "$TRACKER_PID" 2>/dev/null || true
  rm -rf "$WORK/state"
  start_tracker
  wait_until 30 registered || fail "the agents did not register again: $(status)"
}
downloads_reported() { # H: acknowledged download reports of a rollout 1 in agent H's log
  grep -c '"event":"reported","host":"host'"$1"'","step":"download","status":"ok","rollout":"1"' "$WORK/agent-$1.log"
}
host_downloaded() { [[ $(downloads_reported "$1") -ge $2 ]]; } # H N
declare -A before=([2]=$(downloads_reported 2) [3]=$(downloads_reported 3))
reset_tracker
SOAK_PLAN=$(printf 'canary r1 soak=1h\nwave r2\n' | python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.stdin.read()))')
op "$TRACKER/rollout/start?torrent=$WORK/app.torrent&plan=$SOAK_PLAN&distribute=all" -f >/dev/null ||
  fail "rollout/start after the first reset refused"
for h in 2 3; do
  wait_until 30 host_downloaded "$h" $((before[$h] + 1)) || fail "agent $h did not report the download again"
done
reset_tracker
op "$TRACKER/rollout/start?torrent=$WORK/app.torrent&plan=$PLAN&distribute=all" -f >/dev/null ||
  fail "rollout/start after the second reset refused"
wait_until 60 done_all || fail "the rollout after the tracker's reset did not finish: $(status)"
for h in 2 3; do
  grep -q "carrying it out again" "$WORK/agent-$h.log" || fail "agent $h did not redo the repeated order"
  [[ $(grep -c "^activate $ID" "$WORK/hooks-$h.log") -eq 1 ]] || fail "agent $h: hook calls: $(cat "$WORK/hooks-$h.log")"
done
log "after the tracker lost its state twice: the repeated download orders were carried out again, the rollout finished"

# The next build changes 1 MiB of the 24 (made with --previous): each agent's get takes the other
# 92 pieces from the release it runs, without a flag, and fetches 4.
cp "$WORK/src/app.bin" "$WORK/src2.bin" && mkdir -p "$WORK/src2" && mv "$WORK/src2.bin" "$WORK/src2/app.bin"
random_file "$WORK/patch.bin" $((1 << 20)) patch
dd if="$WORK/patch.bin" of="$WORK/src2/app.bin" bs=1M seek=10 conv=notrunc status=none
"$CROWCAST" make "$WORK/src2/app.bin" -o "$WORK/app2.torrent" --previous "$WORK/app.torrent" >/dev/null 2>&1 ||
  fail "make of the second build failed"
ID2=$("$CROWCAST" inspect "$WORK/app2.torrent" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])')
spawn seed2 "$CROWCAST" seed "$WORK/app2.torrent" "$WORK/src2/app.bin" --tracker "$TRACKER/announce" \
  --iface 127.0.0.1 --listen "127.0.0.1:$(free_port)" --rate 20M
op "$TRACKER/rollout/start?torrent=$WORK/app2.torrent&plan=$PLAN&distribute=all" -f >/dev/null ||
  fail "rollout/start of the second build refused"
on_second() { status | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (d["release"] == sys.argv[1] and d["state"] == "done"))' "$ID2"; }
wait_until 90 on_second || fail "the rollout of the second build did not finish: $(status)"
for h in 1 2 3; do
  cmp "$WORK/src2/app.bin" "$WORK/dir-$h/app.bin/$ID2/app.bin" || fail "agent $h: the second build differs"
  grep -q "took 92 of 96 pieces .* from the previous release at $WORK/dir-$h/app.bin/$ID/app.bin" "$WORK/agent-$h.log" ||
    fail "agent $h's get did not take the unchanged pieces from the release it ran: $(grep -o 'took .*' "$WORK/agent-$h.log")"
done
log "second build: every agent's get took 92 of 96 pieces from the release it ran and fetched 4"
log "ok"
