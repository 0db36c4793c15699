#!/usr/bin/env bash
# tracker_rollout: `crowcast tracker --state DIR` coordinating a 2-rack rollout driven by
# `crowcast rollout` (CLI) while curl plays four agents (a1,a2 in r1; b1,b2 in r2):
# plan errors name their line; pause/resume/abort/rollback answer 409 when not allowed; a long poll
# returns as soon as its order appears (well before its wait); pause holds activations back; the
# tracker killed with SIGKILL mid-rollout resumes from its journal with the same state and without
# ordering an activation twice; waves advance to done; rollback returns hosts wave by wave in
# reverse; a journal with a torn last record is repaired at start; /status and /metrics show the
# rollout; without --state the endpoints refuse; an unreachable tracker is exit status 3.
# The tracker runs with --auth: the CLI signs with an operator key (CROWCAST_KEY), each curl agent with
# its own, from its rack's address (the racks file decides the rack: r1 127.0.1.0/24, r2 127.0.2.0/24).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/control_lib.sh"
need_cmd curl openssl

port=$(free_port)
T=http://127.0.0.1:$port
STATE=$WORK/state
export CROWCAST_TRACKER=$T/announce # the CLI's default tracker; --tracker overrides it below
KEYS=$WORK/keys
new_identity operator op "$KEYS"
for h in a1 a2 b1 b2 c9; do new_identity agent "$h" "$KEYS"; done
export CROWCAST_KEY=$KEYS/op.key
printf 'rack r1 127.0.1.0/24 239.255.1.1:7001\nrack r2 127.0.2.0/24 239.255.1.2:7001\n' >"$WORK/racks.conf"
declare -A ADDR=([a1]=127.0.1.1 [a2]=127.0.1.2 [b1]=127.0.2.1 [b2]=127.0.2.2 [c9]=127.0.2.9)

start_tracker() {
  spawn "tracker$1" "$CROWCAST" tracker --listen "127.0.0.1:$port" --state "$STATE" --log-level info \
    --auth "$KEYS/auth" --racks "$WORK/racks.conf"
  TPID=$SPAWNED_PID
  # Its own word first: a just-killed tracker's listener outlives it for a moment (its io_uring is
  # torn down asynchronously) and accepts connections nobody will answer.
  wait_until 15 grep -q "serving on" "$WORK/tracker$1.log" || fail "tracker did not start (start $1)"
  wait_until 10 curl -sf --max-time 2 "$T/rollout/status" || fail "tracker did not serve (start $1)"
}

# Fake agent requests, signed with the host's key from its address. poll HOST RACK WAIT -> the
# bencoded answer (RACK only says where the racks file puts HOST's address).
OLD=1111111111111111111111111111111111111111111111111111111111111111
agent() { local h=$1; shift; ctl "$KEYS/$h.key" POST "$@" --interface "${ADDR[$h]}"; }
poll() { agent "$1" "$T/agent/poll?host=$1&current=$OLD&wait=$3" --max-time 40; }
order() { grep -o '5:order[0-9]*:[a-z]*' <<<"$1" | sed 's/.*://'; }
report() { agent "$1" "$T/agent/report?host=$1&rollout=1&step=$2&status=${3:-ok}"; }
op() { ctl "$KEYS/op.key" POST "$@"; }
ok_report() { local r; r=$(report "$@"); [[ $r == d2:oki1ee ]] || fail "report $*: $r"; }
sjson() { curl -s "$T/rollout/status?format=json"; }
# The first (top-level) string value of a key in the status JSON.
sfield() { sjson | grep -o "\"$1\":\"[^\"]*\"" | head -1 | cut -d'"' -f4; }
expect() { [[ $2 == "$3" ]] || fail "$1: got '$2', want '$3'"; }
expect_order() { # HOST RACK WAIT WANT
  local a; a=$(poll "$1" "$2" "$3"); expect "order for $1" "$(order "$a")" "$4"
}
rollout() { "$CROWCAST" rollout "$@"; }
# rc_of CMD...: runs CMD, its exit status in $rc and its stderr in $WORK/err.
rc_of() { set +e; "$@" 2>"$WORK/err"; rc=$?; set -e; }

start_tracker 1
rel_dir=$WORK/rel
random_file "$rel_dir/app.bin" 200000
"$CROWCAST" make "$rel_dir/app.bin" -o "$WORK/app.torrent" >/dev/null 2>&1 || fail "make"

# --- before any rollout -----------------------------------------------------------------------------
for h in a1:r1 a2:r1 b1:r2 b2:r2; do expect_order "${h%:*}" "${h#*:}" 0 none; done
rc_of rollout pause
expect "pause with no rollout: exit" "$rc" 1
grep -q "no rollout yet" "$WORK/err" || fail "pause with no rollout: $(cat "$WORK/err")"
code=$(op "$T/rollout/rollback" -o /dev/null -w '%{http_code}')
expect "rollback with no rollout: HTTP" "$code" 409
rc_of rollout status --watch 5
expect "status --watch 5 (a stray argument): exit" "$rc" 2
grep -q "got '5' (an interval goes --watch=S)" "$WORK/err" || fail "status --watch 5: $(cat "$WORK/err")"

# --- plan errors come back with their line --------------------------------------------------------
printf '# canary first\ncanary r1\nwave r2 healthy=90%% bogus=1\n' >"$WORK/bad.plan"
rc_of rollout start "$WORK/app.torrent" --plan "$WORK/bad.plan"
expect "bad plan: exit" "$rc" 2
grep -q "bad.plan: line 3" "$WORK/err" || fail "bad plan: no line 3 in: $(cat "$WORK/err")"
printf 'canary r1\nwave r9\n' >"$WORK/unknown.plan"
rc_of rollout start "$WORK/app.torrent" --plan "$WORK/unknown.plan"
expect "unknown rack: exit" "$rc" 2
grep -q "line 2" "$WORK/err" || fail "unknown rack: $(cat "$WORK/err")"
rc_of rollout start "$WORK/missing.torrent" --plan "$WORK/unknown.plan"
expect "missing torrent: exit" "$rc" 2

# --- start: 2 waves, distribution to all at once ---------------------------------------------------
printf '# two racks\ncanary r1\nwave r2 soak=0\n' >"$WORK/good.plan"
out=$(rollout start "$WORK/app.torrent" --plan "$WORK/good.plan" --tracker "$T") || fail "start: $out"
grep -q "^rollout 1: app.bin" <<<"$out" || fail "start said: $out"
rc_of rollout start "$WORK/app.torrent" --plan "$WORK/good.plan"
expect "second start while running: exit" "$rc" 1
release=$(sfield release)
[[ ${#release} == 64 ]] || fail "no release id in status"
curl -s "$T/agent/torrent?release=$release" -o "$WORK/fetched.torrent"
cmp "$WORK/app.torrent" "$WORK/fetched.torrent" || fail "/agent/torrent differs from the torrent"
[[ -f $STATE/releases/$release.torrent ]] || fail "torrent not copied into the state directory"
expect "unknown torrent" "$(curl -s -o /dev/null -w '%{http_code}' "$T/agent/torrent?release=${OLD}")" 404

# Every host of both racks is told to download (distribute all).
for h in a1:r1 a2:r1 b1:r2 b2:r2; do expect_order "${h%:*}" "${h#*:}" 5 download; done
a=$(poll a1 r1 0)
grep -q "7:release64:$release" <<<"$a" || fail "download order without the release: $a"
r=$(report c9 download) # a host with a key that never polled
grep -q "unknown host c9: poll first" <<<"$r" || fail "report from an unknown host: $r"
r=$(agent a1 "$T/agent/report?host=a1&rollout=7&step=download&status=ok")
grep -q "report for rollout 7" <<<"$r" || fail "report for another rollout: $r"
for h in a1 b1 b2; do ok_report "$h" download; done
ok_report a1 download # a repeated report (an agent re-reporting after a reconnect) is acknowledged

# --- a long poll returns when the order appears, well before its wait -----------------------------
agent a1 "$T/agent/poll?host=a1&current=$OLD&wait=20" --max-time 40 -o "$WORK/longpoll" -w '%{time_total}' \
  >"$WORK/longpoll.time" &
LP=$!
sleep 1 # nothing to do for a1 until a2 has the release: the poll is held
kill -0 "$LP" 2>/dev/null || fail "the long poll was answered before there was an order: $(cat "$WORK/longpoll")"
ok_report a2 download
wait "$LP" || fail "long poll failed"
lp=$(cat "$WORK/longpoll.time")
expect "long poll answer" "$(order "$(cat "$WORK/longpoll")")" activate
awk -v t="$lp" 'BEGIN { exit !(t < 5) }' || fail "long poll took ${lp}s (wait was 20)"
log "long poll answered after ${lp}s (wait=20, order appeared after ~1s)"
# failures=1: one host of the wave activates at a time.
expect_order a2 r1 0 none

# --- pause holds the next activation back ---------------------------------------------------------
out=$(rollout pause) || fail "pause: $out"
expect "pause" "$out" "rollout 1: paused"
out=$(rollout pause) || fail "pause again: $out" # already paused: nothing to do, not an error
ok_report a1 activate
ok_report a1 health
expect_order a2 r1 1 none
expect "state while paused" "$(sfield state)" paused
out=$(rollout resume) || fail "resume: $out"
expect "resume" "$out" "rollout 1: running"
expect_order a2 r1 10 activate

# --- SIGKILL mid-rollout: the restarted tracker resumes, a2 is not ordered twice -------------------
# The whole status but the soak countdown (a function of the clock): waves, hosts, decisions, counters.
snapshot() { sjson | sed 's/"soak_left_s":[0-9]*//g'; }
before=$(snapshot)
activations() { grep -c "t=3&r=1&.*c=2&h=$1&" "$STATE/rollout.journal" || true; }
expect "activation orders for a2 in the journal" "$(activations a2)" 1
kill -9 "$TPID"
wait "$TPID" 2>/dev/null || true
start_tracker 2
after=$(snapshot)
[[ $before == "$after" ]] || fail "state after restart differs:
$before
---
$after"
grep -q "rollout 1 (app.bin) is running" "$WORK/tracker2.log" || fail "restart did not report the resumed rollout"
expect_order a2 r1 0 activate # the outstanding order is repeated to the agent, not issued again
expect "activation orders for a2 after restart" "$(activations a2)" 1
ok_report a2 activate
r=$(report a2 activate)
[[ $r == d2:oki1ee ]] || fail "re-report after reconnect: $r"
ok_report a2 health

# --- wave 2 after the canary ----------------------------------------------------------------------
expect_order b1 r2 10 activate
ok_report b1 activate
ok_report b1 health
expect_order b2 r2 10 activate
ok_report b2 activate
ok_report b2 health
wait_until 10 bash -c "curl -s '$T/rollout/status?format=json' | grep -q '\"state\":\"done\",\"release\"'" ||
  fail "rollout not done: $(sjson)"
text=$(rollout status)
grep -q "^rollout 1: app.bin .* done" <<<"$text" || fail "status text: $text"
grep -q "wave 2 (r2) done" <<<"$text" || fail "status text lacks the decisions: $text"
rollout status --json | grep -q '^{"rollout":1,"state":"done",' || fail "status --json"
timeout 20 "$CROWCAST" rollout status --watch=0.2 >/dev/null || fail "status --watch did not end on a done rollout"
curl -s "$T/status" | grep -q '"rollout":{"rollout":1,"state":"done",' || fail "/status lacks the rollout"
curl -s "$T/metrics" | grep -q '^crowcast_rollout_state{state="done"} 1$' || fail "/metrics lacks the rollout"
curl -s "$T/metrics" | grep -q '^crowcast_rollout_activations_total 4$' || fail "4 activations in /metrics"
grep -q "wave 1 (r1) done" "$WORK/tracker2.log" || fail "decisions not logged"
for v in pause resume abort; do
  code=$(op "$T/rollout/$v" -o "$WORK/body" -w '%{http_code}')
  expect "$v when done: HTTP" "$code" 409
  grep -q '"error":"cannot '"$v"': rollout 1 is done"' "$WORK/body" || fail "$v when done: $(cat "$WORK/body")"
done

# --- rollback: r2 first, then the canary, hosts back on what they ran -------------------------------
out=$(rollout rollback --reason "bad build") || fail "rollback: $out"
expect "rollback" "$out" "rollout 1: rolling-back"
a=$(poll b1 r2 10)
expect "rollback order" "$(order "$a")" rollback
grep -q "7:release64:$OLD" <<<"$a" || fail "rollback is not to the previous release: $a"
expect_order a1 r1 0 none # the canary goes back after r2
for h in b1 b2; do expect_order "$h" r2 10 rollback; ok_report "$h" rollback; done
for h in a1 a2; do expect_order "$h" r1 10 rollback; ok_report "$h" rollback; done
wait_until 10 bash -c "curl -s '$T/rollout/status?format=json' | grep -q '\"state\":\"rolled-back\"'" ||
  fail "not rolled back: $(sjson)"
rc_of rollout rollback
expect "second rollback: exit" "$rc" 1

# --- a torn last record is cut off at start -------------------------------------------------------
before=$(snapshot)
kill -9 "$TPID"
wait "$TPID" 2>/dev/null || true
size=$(stat -c %s "$STATE/rollout.journal")
printf '0badc0de t=4&r=1&h=a1&c=3' >>"$STATE/rollout.journal"
start_tracker 3
grep -q "cut off a torn last record" "$WORK/tracker3.log" || fail "torn record not reported"
expect "journal size after repair" "$(stat -c %s "$STATE/rollout.journal")" "$size"
expect "state after repair" "$(snapshot)" "$before"

# --- without --state, and an unreachable tracker ----------------------------------------------------
port2=$(free_port)
spawn plain "$CROWCAST" tracker --listen "127.0.0.1:$port2"
wait_until 10 curl -sf "http://127.0.0.1:$port2/status" || fail "plain tracker did not start"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "http://127.0.0.1:$port2/rollout/status")
expect "no --state: HTTP" "$code" 409
grep -q "without --state" "$WORK/body" || fail "no --state: $(cat "$WORK/body")"
grep -q "failure reason" <(curl -s "http://127.0.0.1:$port2/agent/poll?host=x") || fail "no --state: agent poll"
dead=$(free_port)
rc_of rollout status --tracker "http://127.0.0.1:$dead" --timeout 3
expect "unreachable tracker: exit" "$rc" 3
grep -q "cannot reach the tracker" "$WORK/err" || fail "unreachable: $(cat "$WORK/err")"
# A server that closes without a byte of answer is named so (it was "malformed input").
mute=$(free_port)
spawn mute python3 -c 'import socket, sys
s = socket.create_server(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
for _ in range(10):
    c, _ = s.accept()
    c.recv(4096)
    c.close()' "$mute"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$mute" || fail "the mute server did not start"
rc_of rollout status --tracker "http://127.0.0.1:$mute" --timeout 5
expect "mute tracker: exit" "$rc" 3
grep -q "connection closed$" "$WORK/err" || fail "mute tracker: $(cat "$WORK/err")"
log "ok"
