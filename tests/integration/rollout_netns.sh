#!/usr/bin/env bash
# Staged rollouts across emulated hosts: 3 racks x 3 hosts in network namespaces, each running
# `crowcast agent`, a tracker with --racks and --state and seeders on their own hosts (netns.sh).
#   1. an old release goes everywhere (one wave of every rack);
#   2. a new one with the plan canary r1 -> r2 -> r3 (failures=1 a wave) while r2's health check fails:
#      the rollout halts with r1 on the new release, at most one r2 host activated, r3 on the old one;
#      meanwhile one r3 agent is SIGKILLed mid-download and restarted: it resumes and ends verified;
#   3. `crowcast rollout rollback` puts r1 and r2 back on the old release (r3 is left alone);
#   4. r2 healthy again, a clean rollout completes all three waves although the tracker is SIGKILLed
#      and restarted during the canary's soak: it resumes from its journal and no host activates twice.
# Each agent's activation hook logs every call (action and release) and switches DIR/app.bin/current.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/netns.sh"
need_cmd python3
"$CROWCAST" help | grep -q '^  agent' || skip "this build has no 'crowcast agent'"
"$CROWCAST" help | grep -q '^  rollout' || skip "this build has no 'crowcast rollout'"

topo_create 3 3 200 400
port=$((30000 + RANDOM % 20000))
cat >"$WORK/racks.conf" <<RACKS
rack r1 10.99.1.0/24 239.255.73.1:$port
rack r2 10.99.2.0/24 239.255.73.2:$port
rack r3 10.99.3.0/24 239.255.73.3:$port
RACKS
TRACKER=http://10.99.0.2:7070
# Old and new release share their name (app.bin), so both live under DIR/app.bin/.
random_file "$WORK/old/app.bin" $((1 << 20)) old
random_file "$WORK/new/app.bin" $((8 << 20)) new
for v in old new; do
  "$CROWCAST" make "$WORK/$v/app.bin" -o "$WORK/$v.torrent" --piece-size 256K >/dev/null 2>&1
done
release_id() { "$CROWCAST" inspect "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])'; }
OLD=$(release_id "$WORK/old.torrent")
NEW=$(release_id "$WORK/new.torrent")

cat >"$WORK/activate.sh" <<'HOOK'
#!/bin/sh
# $1: host. Logs the call, then switches current like the agent's default does.
echo "$CROWCAST_ACTION $CROWCAST_RELEASE_ID" >>"$(dirname "$0")/acts-$1.log"
[ -f "$CROWCAST_RELEASE_DIR/$CROWCAST_RELEASE_NAME" ] || exit 9
top=$(dirname "$CROWCAST_RELEASE_DIR")
ln -sfn "$CROWCAST_RELEASE_ID" "$top/.current-$1" && mv -T "$top/.current-$1" "$top/current"
HOOK
cat >"$WORK/health.sh" <<'HEALTH'
#!/bin/sh
# $1: host. Unhealthy after an activation while the flag file sick-HOST exists.
[ "$CROWCAST_ACTION" = activate ] && [ -e "$(dirname "$0")/sick-$1" ] && { echo "flagged sick" >&2; exit 1; }
exit 0
HEALTH
chmod +x "$WORK/activate.sh" "$WORK/health.sh"

# The control plane is signed: one operator identity for `crowcast rollout`, one per agent's host.
for r in 1 2 3; do for h in 1 2 3; do
  "$CROWCAST" token new agent "r${r}h$h" -o "$WORK/r${r}h$h.key" >>"$WORK/auth" || fail "token new"
done; done
"$CROWCAST" token new operator ops -o "$WORK/ops.key" >>"$WORK/auth" || fail "token new"
chmod 600 "$WORK/auth"
start_tracker() {
  spawn "tracker$1" in_ns "$NS_TRACK" "$CROWCAST" tracker --listen 10.99.0.2:7070 --racks "$WORK/racks.conf" \
    --interval 2 --state "$WORK/state" --auth "$WORK/auth"
  TRACKER_PID=$SPAWNED_PID
  # Its own word, not a connect: a just-killed tracker's listener outlives it for a moment (its
  # io_uring is torn down asynchronously) and accepts connections nobody will answer.
  wait_until 15 grep -q "serving on" "$WORK/tracker$1.log" || fail "the tracker did not start: $(cat "$WORK/tracker$1.log")"
}
declare -A AGENT
start_agent() { # R H
  local h="r$1h$2"
  [[ -f "$WORK/agent-$h.log" ]] && mv "$WORK/agent-$h.log" "$WORK/agent-$h-before-restart.log"
  spawn "agent-$h" in_ns "$(host_ns "$1" "$2")" "$CROWCAST" agent --tracker "$TRACKER" --dir "$WORK/dir-$h" \
    --key "$WORK/$h.key" --iface "$(host_ip "$1" "$2")" --activate "$WORK/activate.sh $h" --health "$WORK/health.sh $h" \
    --poll-wait 5 --seed-time 20 --json
  AGENT[$h]=$SPAWNED_PID
}
rollout() { in_ns "$NS_SEED" "$CROWCAST" rollout "$@" --tracker "$TRACKER" --key "$WORK/ops.key"; }
# query PYTHON: runs PYTHON with d = the rollout status (JSON); its exit status is the answer.
query() { rollout status --json 2>/dev/null | python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }
state_is() { query "sys.exit(d['state'] != '$1')"; }
wave_state_is() { query "sys.exit(d['waves'][$1]['state'] != '$2')"; }
current_of() { readlink "$WORK/dir-$1/app.bin/current" 2>/dev/null || echo none; }
acts() { cat "$WORK/acts-$1.log" 2>/dev/null || true; }
HOSTS=(r1h1 r1h2 r1h3 r2h1 r2h2 r2h3 r3h1 r3h2 r3h3)

setup=$SECONDS
start_tracker 1
for r in 1 2 3; do for h in 1 2 3; do start_agent $r $h; done; done
registered() { query "sys.exit(sum(len(r['hosts']) for r in d['racks']) != 9)"; }
begin=$SECONDS

# --- 1. the old release everywhere
printf 'wave rest failures=9\n' >"$WORK/plan-old"
# Agents register with their first poll: a wave whose racks have no agent yet would halt.
wait_until 30 registered || fail "not every agent registered: $(rollout status)"
rollout start "$WORK/old.torrent" --plan "$WORK/plan-old" >"$WORK/start-old.out" || fail "start refused: $(cat "$WORK/start-old.out")"
spawn seed-old in_ns "$NS_SEED" "$CROWCAST" seed "$WORK/old.torrent" "$WORK/old/app.bin" --tracker "$TRACKER/announce" \
  --iface 10.99.0.1 --listen 10.99.0.1:7071 --rate 100M
wait_until 60 state_is done || fail "the old release did not go out: $(rollout status)"
for h in "${HOSTS[@]}"; do
  [[ $(current_of "$h") == "$OLD" ]] || fail "$h: current is $(current_of "$h"), not the old release"
  [[ $(acts "$h") == "activate $OLD" ]] || fail "$h: hook calls: $(acts "$h")"
done
log "1. old release active on 9 hosts after $((SECONDS - begin))s (setup took ${setup}s)"

# --- 2. the new release; r2 is sick, r3h2 loses its agent mid-download
for h in r2h1 r2h2 r2h3; do touch "$WORK/sick-$h"; done
printf 'canary r1\nwave r2 failures=1\nwave r3 failures=1\n' >"$WORK/plan"
t2=$SECONDS
rollout start "$WORK/new.torrent" --plan "$WORK/plan" >"$WORK/start-new.out" || fail "start refused: $(cat "$WORK/start-new.out")"
# 8 MiB at 24 Mbit/s: about 3 s of multicast to cut r3h2 off in.
spawn seed-new in_ns "$NS_SEED" "$CROWCAST" seed "$WORK/new.torrent" "$WORK/new/app.bin" --tracker "$TRACKER/announce" \
  --iface 10.99.0.1 --listen 10.99.0.1:7072 --rate 24M
verified_r3h2() { grep -o '"event":"progress".*"verified":"[0-9]*"' "$WORK/agent-r3h2.log" | tail -1 | grep -o '[0-9]*"$' | tr -d '"'; }
some_verified() { [[ $(verified_r3h2) -ge 3 ]]; }
wait_until 40 some_verified || fail "r3h2 did not start downloading"
[[ ! -e "$WORK/dir-r3h2/app.bin/$NEW" ]] || fail "r3h2 finished before it could be cut off"
get_pid=$(grep -o 'crowcast get, pid [0-9]*' "$WORK/agent-r3h2.log" | tail -1 | grep -o '[0-9]*$')
log "2. killing r3h2's agent (SIGKILL) with $(verified_r3h2) of 32 pieces verified"
{ kill -9 "${AGENT[r3h2]}" && wait "${AGENT[r3h2]}"; } 2>/dev/null || true
[[ -z $get_pid ]] || wait_until 10 bash -c "! kill -0 $get_pid" || fail "r3h2's get outlived its agent"
start_agent 3 2
wait_until 60 state_is halted || fail "the rollout did not halt: $(rollout status)"
log "2. halted $((SECONDS - t2))s after the start:"
rollout status | tee "$WORK/status-halted.txt" >&2
for h in r1h1 r1h2 r1h3; do
  [[ $(current_of "$h") == "$NEW" ]] || fail "$h (canary): current is $(current_of "$h")"
  [[ $(acts "$h" | grep -c "activate $NEW") -eq 1 ]] || fail "$h: hook calls: $(acts "$h")"
done
activated_r2=0
for h in r2h1 r2h2 r2h3; do
  n=$(acts "$h" | grep -c "activate $NEW" || true)
  activated_r2=$((activated_r2 + n))
  [[ $n -eq 1 ]] || [[ $(current_of "$h") == "$OLD" ]] || fail "$h: not activated, yet current is $(current_of "$h")"
done
[[ $activated_r2 -eq 1 ]] || fail "$activated_r2 r2 hosts activated; failures=1 allows exactly one before the halt"
query "sys.exit(d['waves'][1]['state'] != 'halted' or d['waves'][2]['state'] != 'pending')" ||
  fail "wave states: $(rollout status)"
for h in r3h1 r3h2 r3h3; do
  [[ $(current_of "$h") == "$OLD" && $(acts "$h") == "activate $OLD" ]] || fail "$h was touched: $(acts "$h")"
done
# r3h2's restarted agent goes on with the download it was ordered (distribution to every rack).
wait_until 40 test -f "$WORK/dir-r3h2/app.bin/$NEW/app.bin" || fail "r3h2 did not finish its download"
cmp "$WORK/new/app.bin" "$WORK/dir-r3h2/app.bin/$NEW/app.bin" || fail "r3h2: published data differs"
grep -q 'resuming: [1-9][0-9]* of 32 pieces' "$WORK/agent-r3h2.log" || fail "r3h2 did not resume its download"
log "2. r3h2 after its restart: $(grep -o 'resuming: [^"]*' "$WORK/agent-r3h2.log" | head -1), verified"

# --- 3. rollback: r2's activated host, then r1, back to the old release
t3=$SECONDS
rollout rollback --reason "r2 health checks fail" >/dev/null || fail "rollback refused"
wait_until 40 state_is rolled-back || fail "the rollback did not finish: $(rollout status)"
for h in r1h1 r1h2 r1h3 r2h1 r2h2 r2h3; do
  [[ $(current_of "$h") == "$OLD" ]] || fail "$h: current is $(current_of "$h") after the rollback"
done
for h in r3h1 r3h2 r3h3; do
  [[ $(acts "$h") == "activate $OLD" ]] || fail "$h was touched by the rollback: $(acts "$h")"
done
[[ $(cat "$WORK"/acts-r*.log | grep -c "rollback $OLD") -eq 4 ]] || fail "expected 4 rollbacks: $(grep -H . "$WORK"/acts-*.log)"
log "3. rolled back after $((SECONDS - t3))s: r1 and r2 on the old release, r3 untouched"

# --- 4. clean rollout, tracker killed and restarted during the canary's soak
rm -f "$WORK"/sick-*
declare -A MARK
for h in "${HOSTS[@]}"; do MARK[$h]=$(acts "$h" | wc -l); done
printf 'canary r1 soak=4s\nwave r2\nwave r3\n' >"$WORK/plan-clean"
t4=$SECONDS
rollout start "$WORK/new.torrent" --plan "$WORK/plan-clean" >/dev/null || fail "clean rollout refused"
wait_until 40 wave_state_is 0 soaking || fail "the canary did not reach its soak: $(rollout status)"
log "4. killing the tracker (SIGKILL) while the canary soaks"
{ kill -9 "$TRACKER_PID" && wait "$TRACKER_PID"; } 2>/dev/null || true
start_tracker 2
query "sys.exit(d['rollout'] != 3 or d['state'] not in ('running', 'done'))" || fail "the restarted tracker lost the rollout: $(rollout status)"
wait_until 60 state_is done || fail "the clean rollout did not finish after the restart: $(rollout status)"
log "4. done $((SECONDS - t4))s after the start:"
rollout status | tee "$WORK/status-done.txt" >&2
for h in "${HOSTS[@]}"; do
  [[ $(current_of "$h") == "$NEW" ]] || fail "$h: current is $(current_of "$h") after the clean rollout"
  since=$(acts "$h" | tail -n +$((MARK[$h] + 1)))
  [[ $since == "activate $NEW" ]] || fail "$h: hook calls in the clean rollout: $since"
done
query "sys.exit(d['activations_ordered'] != 9)" || fail "activations ordered: $(rollout status --json)"
log "ok: 4 phases in $((SECONDS - begin))s"
