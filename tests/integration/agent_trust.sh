#!/usr/bin/env bash
# An agent that trusts one release key (`crowcast agent --trust`), offered releases through the
# tracker's rollouts: an unsigned release, then one signed by a key it does not trust. Each is
# refused before a byte of it is fetched (no `crowcast get` is started, nothing is published under
# DIR, its manifest is not saved, the activation hook never runs) and the refusal, with its reason,
# is reported to the tracker, whose rollout halts on it. Then the same content signed by the trusted
# key rolls out to the end: downloaded, verified, activated. Before all that the agent ran without
# --trust and activated an unsigned release, which it still has on disk: a rollback to it (what a
# taken-over tracker could order) is refused as well, by the `crowcast verify --trust` the agent
# runs on it, and the host stays on the signed release.
# The rollouts go through `crowcast rollout` (whatever the tracker's control plane asks of a client,
# the CLI speaks it, signed with the operator's key in CROWCAST_KEY); status is read with curl.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/control_lib.sh"
need_cmd curl python3
export CROWCAST_TRACKER CROWCAST_KEY

TP=$(free_port)
GP=$(free_port)
SP=$(free_port)
G1="239.255.$((RANDOM % 200 + 1)).$((RANDOM % 200 + 1))"
TRACKER="http://127.0.0.1:$TP"
CROWCAST_TRACKER=$TRACKER

mkdir -p "$WORK/keys"
"$CROWCAST" keygen "$WORK/keys/release" >/dev/null || fail "keygen failed"
"$CROWCAST" keygen "$WORK/keys/stranger" >/dev/null || fail "keygen failed"
random_file "$WORK/old/app.bin" $((4 << 20)) agent-trust-old
random_file "$WORK/src/app.bin" $((4 << 20)) agent-trust
mk() { "$CROWCAST" make "$WORK/$1/app.bin" -o "$WORK/$2.torrent" --piece-size 256K "${@:3}" >/dev/null ||
  fail "make $2 failed"; }
mk old old-unsigned
mk src unsigned
mk src stranger --sign "$WORK/keys/stranger"
mk src signed --sign "$WORK/keys/release"
id_of() { "$CROWCAST" inspect "$WORK/$1.torrent" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])'; }
ID=$(id_of signed)
OLD=$(id_of old-unsigned)
printf 'rack r1 127.0.1.0/24 %s:%s\n' "$G1" "$GP" >"$WORK/racks.conf"
new_identity operator op "$WORK/control"
new_identity agent host1 "$WORK/control"
CROWCAST_KEY=$WORK/control/op.key

spawn tracker "$CROWCAST" tracker --listen "127.0.0.1:$TP" --racks "$WORK/racks.conf" --interval 1 --state "$WORK/state" \
  --auth "$WORK/control/auth"
wait_until 15 grep -q "serving on" "$WORK/tracker.log" || fail "the tracker did not start"
cat >"$WORK/hook.sh" <<'HOOK'
#!/bin/sh
echo "$CROWCAST_ACTION $CROWCAST_RELEASE_ID" >>"$HOOK_LOG"
HOOK
chmod +x "$WORK/hook.sh"
start_agent() { # NAME [ARGS...]
  spawn "$1" env HOOK_LOG="$WORK/hooks.log" "$CROWCAST" agent --tracker "$TRACKER" --dir "$WORK/dir" \
    --key "$WORK/control/host1.key" --iface 127.0.1.1 --activate "$WORK/hook.sh" --seed-time 5 --poll-wait 2 --json "${@:2}"
  AGENT_PID=$SPAWNED_PID
}
start_agent agent-untrusting

status() { curl -sf "$TRACKER/rollout/status?format=json"; }
state_is() { status | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["state"] != sys.argv[1])' "$1"; }
registered() { status | grep -q '"host":"host1"'; }
wait_until 20 curl -sf "$TRACKER/rollout/status" || fail "no rollout status"
echo "wave r1" >"$WORK/plan"
rollout() { "$CROWCAST" rollout "$@" >"$WORK/rollout-$1.out" 2>&1 || fail "rollout $1 failed: $(cat "$WORK/rollout-$1.out")"; }
start() { rollout start "$WORK/$1.torrent" --plan "$WORK/plan" --distribute all; } # NAME: to rack r1
wait_until 20 registered || fail "the agent did not register: $(status)"

# Before --trust: the unsigned old release is downloaded and activated.
spawn seed-old "$CROWCAST" seed "$WORK/old-unsigned.torrent" "$WORK/old/app.bin" --tracker "$TRACKER/announce" \
  --iface 127.0.0.1 --listen "127.0.0.1:$(free_port)" --rate 50M --linger 60
start old-unsigned
wait_until 60 state_is done || fail "the unsigned release did not roll out to the untrusting agent: $(status)"
[[ $(cat "$WORK/hooks.log") == "activate $OLD" ]] || fail "the untrusting agent did not activate the old release"
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
start_agent agent --trust "$WORK/keys/release.pub"

refused() { # NAME REASON: the agent refuses NAME's rollout and the tracker hears why
  local name=$1 want=$2
  start "$name"
  wait_until 30 state_is halted || fail "the rollout of the $name release did not halt: $(status)"
  grep -q '"event":"step","host":"host1","step":"download","status":"failed".*"detail":"refused: '"$want" "$WORK/agent.log" ||
    fail "the agent did not report the $name release refused ($want): $(grep '"step"' "$WORK/agent.log")"
  wait_until 10 grep -q '"event":"reported","host":"host1","step":"download","status":"failed"' "$WORK/agent.log" ||
    fail "the tracker did not acknowledge the refusal of the $name release"
  status | grep -q "refused: $want" || fail "the tracker's status does not show why: $(status)"
  rollout abort
  wait_until 10 state_is aborted || fail "the rollout of $name did not abort: $(status)"
  log "$name: refused by the agent and reported: $(grep -o '"detail":"refused: [^"]*"' "$WORK/agent.log" | tail -1)"
}
refused unsigned "the release is not signed"
refused stranger "signed only by key [0-9a-f]*, which this host does not trust"
! grep -q "crowcast get, pid" "$WORK/agent.log" || fail "the agent started a download of a refused release"
[[ $(cat "$WORK/hooks.log") == "activate $OLD" && ! -e $WORK/dir/app.bin/$ID ]] || fail "a refused release was activated or published: $(ls -la "$WORK/dir/app.bin")"
[[ $(find "$WORK/dir/app.bin" -name '*.torrent') == "$WORK/dir/app.bin/.crowcast/$OLD.torrent" ]] ||
  fail "a refused release's manifest was saved: $(find "$WORK/dir/app.bin" -name '*.torrent')"
log "nothing of the refused releases was fetched, published or activated"

# The same content, signed by the trusted key: it rolls out.
spawn seed "$CROWCAST" seed "$WORK/signed.torrent" "$WORK/src/app.bin" --tracker "$TRACKER/announce" \
  --iface 127.0.0.1 --listen "127.0.0.1:$SP" --rate 50M --linger 60
start signed
wait_until 60 state_is done || fail "the signed release did not roll out: $(status)"
cmp "$WORK/src/app.bin" "$WORK/dir/app.bin/$ID/app.bin" || fail "published data differs"
[[ $(tail -n 1 "$WORK/hooks.log") == "activate $ID" ]] || fail "hook calls: $(cat "$WORK/hooks.log")"
grep -q "crowcast get, pid" "$WORK/agent.log" || fail "no download was started for the signed release"
log "signed: downloaded, verified and activated"

# A rollback to the unsigned release the host ran before --trust: the agent verifies it again first
# (this process never saw it verify), and verify --trust refuses it.
rollout rollback --reason "back to the release before --trust"
wait_until 30 grep -q '"event":"step","host":"host1","step":"rollback","status":"failed".*crowcast verify exited with 5' "$WORK/agent.log" ||
  fail "the rollback to the unsigned release was not refused: $(grep '"step"' "$WORK/agent.log" | tail -3)"
[[ $(cat "$WORK/hooks.log") == "activate $OLD"$'\n'"activate $ID" ]] ||
  fail "the host left the signed release: hook calls $(cat "$WORK/hooks.log")"
status | python3 -c '
import json, sys
hosts = [h for r in json.load(sys.stdin)["racks"] for h in r["hosts"]]
assert [h["current"] for h in hosts] == [sys.argv[1]], hosts
' "$ID" || fail "the tracker does not see the host on the signed release: $(status)"
log "rollback to the unsigned release on disk: refused, the host stays on the signed one"
log "ok"
