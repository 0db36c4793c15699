#!/usr/bin/env bash
# hostile_control: the tracker's control plane under attack, on loopback. The tracker runs with --auth
# (an operator, agents h1 h2 in r1 = 127.0.1.0/24, h3 in r2 = 127.0.2.0/24), --state and a 3 s
# --host-expiry. Refused, with a clear reason and nothing journaled (the journal file is compared byte
# for byte): unsigned and wrongly signed rollout and agent requests (no header, an identity not in the
# keys file, a wrong secret, the wrong kind of identity, an agent speaking for another host), a GET on
# every state-changing endpoint (405, Allow: POST), a replayed request, a stale timestamp, a poll for
# a host that has no key, a FIFO and a directory as the torrent path (answered at once: announces go
# on being served). A host that registered and went silent expires (journaled, with its reason) and
# the rollout finishes without it. An operator's reason full of terminal escapes reaches `rollout
# status` escaped. SIGHUP revokes a deleted identity. Without --auth state changes are refused;
# --insecure-control is refused off loopback; --closed-reads closes /status (no info hashes) to the
# unsigned. An impostor tracker's unsigned orders are dropped by a real agent, which activates
# nothing. Per-address limits: connections over --max-per-address are closed at once and requests
# over --rate-per-address answered 429, each with one log line, while other addresses are served.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/control_lib.sh"
need_cmd curl openssl python3

port=$(free_port)
T=http://127.0.0.1:$port
STATE=$WORK/state
JOURNAL=$STATE/rollout.journal
KEYS=$WORK/keys
new_identity operator op "$KEYS"
for h in h1 h2 h3; do new_identity agent "$h" "$KEYS"; done
# mallory has a well-formed key the tracker never heard of.
"$CROWCAST" token new operator mallory -o "$WORK/mallory.key" >/dev/null || fail "token new mallory"
# A copy of op's key with another secret: the right identity, the wrong secret.
echo "operator op $(openssl rand -hex 32)" >"$WORK/op-wrong.key"
chmod 600 "$WORK/op-wrong.key"
printf 'rack r1 127.0.1.0/24 239.255.7.1:7001\nrack r2 127.0.2.0/24 239.255.7.2:7001\n' >"$WORK/racks.conf"
declare -A ADDR=([h1]=127.0.1.1 [h2]=127.0.1.2 [h3]=127.0.2.1)

spawn tracker "$CROWCAST" tracker --listen "127.0.0.1:$port" --state "$STATE" --racks "$WORK/racks.conf" \
  --auth "$KEYS/auth" --host-expiry 3 --log-level info
TPID=$SPAWNED_PID
wait_until 15 grep -q "serving on" "$WORK/tracker.log" || fail "tracker did not start"
grep -q "control plane: 1 operator(s) and 3 agent(s)" "$WORK/tracker.log" || fail "keys not loaded: $(cat "$WORK/tracker.log")"

expect() { [[ $2 == "$3" ]] || fail "$1: got '$2', want '$3'"; }
# code_of NAME CURLCMD...: runs CURLCMD with -o $WORK/body -w %{http_code}; the status in $code.
code_of() { local what=$1; shift; code=$("$@" -o "$WORK/body" -w '%{http_code}'); }
expect_refusal() { # WHAT STATUS TEXT CURLCMD...
  local what=$1 status=$2 text=$3; shift 3
  code_of "$what" "$@"
  expect "$what: HTTP" "$code" "$status"
  grep -qF -- "$text" "$WORK/body" || fail "$what: no '$text' in: $(cat "$WORK/body")"
}
journal_sum() { sha256sum "$JOURNAL" | cut -d' ' -f1; }
agent() { local h=$1; shift; ctl "$KEYS/$h.key" POST "$@" --interface "${ADDR[$h]}"; }
op() { ctl "$KEYS/op.key" POST "$@"; }
sjson() { curl -s "$T/rollout/status?format=json"; }
state() { sjson | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
ANNOUNCE="$T/announce?info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&peer_id=-PR0001-7f0001170000&port=6881&uploaded=0&downloaded=0&left=5"
announce_answered() { curl -s --max-time 2 "$ANNOUNCE" | grep -q '8:intervali'; }

random_file "$WORK/rel/app.bin" 100000
"$CROWCAST" make "$WORK/rel/app.bin" -o "$WORK/app.torrent" >/dev/null 2>&1 || fail "make"
PLAN=$(printf 'canary r1\nwave r2\n' | python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.stdin.read()))')
START="$T/rollout/start?torrent=$WORK/app.torrent&plan=$PLAN"

# Every host registers once (h1 and h3 keep polling below; h2 never polls again).
for h in h1 h2 h3; do agent "$h" "$T/agent/poll?host=$h&current=&wait=0" | grep -q '5:order4:none' || fail "$h poll"; done
wait_until 10 bash -c "grep -c 't=2&' '$JOURNAL' | grep -qx 3" || fail "3 registrations not journaled"
sum=$(journal_sum)

# --- unsigned and wrongly signed: 401/403, nothing journaled --------------------------------------
for v in start pause resume abort rollback; do
  expect_refusal "unsigned $v" 401 "no Authorization header" curl -s -X POST "$T/rollout/$v"
done
expect_refusal "unsigned poll" 401 "no Authorization header" curl -s -X POST "$T/agent/poll?host=h1&current=&wait=0"
expect_refusal "unsigned report" 401 "no Authorization header" curl -s -X POST "$T/agent/report?host=h1&rollout=1&step=download&status=ok"
expect_refusal "unknown identity" 401 "unknown identity" ctl "$WORK/mallory.key" POST "$START"
expect_refusal "wrong secret" 401 "bad signature" ctl "$WORK/op-wrong.key" POST "$START"
expect_refusal "agent starts a rollout" 403 "is for operator identities" ctl "$KEYS/h1.key" POST "$START"
expect_refusal "operator polls" 403 "is for agent identities" ctl "$KEYS/op.key" POST "$T/agent/poll?host=h1&current=&wait=0"
expect_refusal "h1 polls for h2" 403 "agent h1 cannot speak for host h2" agent h1 "$T/agent/poll?host=h2&current=&wait=0"
expect_refusal "h1 reports for h2" 403 "agent h1 cannot speak for host h2" agent h1 "$T/agent/report?host=h2&rollout=1&step=download&status=ok"
# A signed request altered on the way: the signature covers the query.
auth=$(ctl_auth "$KEYS/op.key" POST "/rollout/pause?reason=a")
expect_refusal "altered query" 401 "bad signature" curl -s -X POST -H "Authorization: $auth" "$T/rollout/pause?reason=b"
expect_refusal "stale timestamp" 401 "outside the replay window" \
  curl -s -X POST -H "Authorization: $(ctl_auth "$KEYS/op.key" POST /rollout/abort $(($(date +%s) - 120)))" "$T/rollout/abort"
expect_refusal "garbage header" 401 "not Crowcast-HMAC-SHA256" curl -s -X POST -H "Authorization: Basic b3A6b3A=" "$T/rollout/abort"
# A poll for a host that has no key: refused whoever signs it.
expect_refusal "unsigned ghost poll" 401 "no Authorization header" curl -s -X POST "$T/agent/poll?host=ghost&current=&wait=0"
expect_refusal "h1 polls for ghost" 403 "cannot speak for host ghost" agent h1 "$T/agent/poll?host=ghost&current=&wait=0"
# The CLI without a key names the cause.
set +e
CROWCAST_KEY= "$CROWCAST" rollout abort --tracker "$T" 2>"$WORK/err"
rc=$?
set -e
expect "rollout abort without a key: exit" "$rc" 1
grep -q "no Authorization header" "$WORK/err" || fail "CLI without a key: $(cat "$WORK/err")"
expect "journal after refused requests" "$(journal_sum)" "$sum"
log "unsigned, unknown, wrong-secret, wrong-kind, wrong-host, altered and stale requests refused; journal unchanged"

# --- GET on every state-changing endpoint: 405, Allow: POST, even signed --------------------------
for p in rollout/start rollout/pause rollout/resume rollout/abort rollout/rollback agent/poll agent/report; do
  curl -s -i -H "Authorization: $(ctl_auth "$KEYS/op.key" GET "/$p")" "$T/$p" >"$WORK/get"
  head -1 "$WORK/get" | grep -q "^HTTP/1.1 405" || fail "GET /$p: $(head -1 "$WORK/get")"
  grep -qi "^Allow: POST" "$WORK/get" || fail "GET /$p: no Allow: POST"
done
expect "journal after GETs" "$(journal_sum)" "$sum"

# --- a FIFO and a directory as the torrent path: refused at once, the loop goes on --------------------
mkfifo "$WORK/fifo.torrent"
mkdir "$WORK/dir.torrent"
for p in fifo dir; do
  before=$SECONDS
  expect_refusal "$p torrent" 400 "not a regular file" \
    op "$T/rollout/start?torrent=$WORK/$p.torrent&plan=$PLAN" --max-time 5
  ((SECONDS - before < 3)) || fail "$p torrent: the answer took $((SECONDS - before)) s"
  announce_answered || fail "no announce answered after the $p torrent"
done
expect "journal after FIFO and directory" "$(journal_sum)" "$sum"
log "GETs on state changes 405; FIFO and directory torrents refused at once, announces answered"

# --- a replayed request: refused, nothing journaled -------------------------------------------------
# From here h1 and h3 do what they are told; h2, silent since it registered, never polls again.
play() { # HOST: one poll (wait=0) and the report of the order it brings, if any
  local h=$1 a o
  a=$(agent "$h" "$T/agent/poll?host=$h&current=&wait=0")
  o=$(grep -o '5:order[0-9]*:[a-z]*' <<<"$a" | sed 's/.*://')
  case $o in
  download) agent "$h" "$T/agent/report?host=$h&rollout=1&step=download&status=ok&seq=$((++SEQ))" >/dev/null ;;
  activate)
    agent "$h" "$T/agent/report?host=$h&rollout=1&step=activate&status=ok&seq=$((++SEQ))" >/dev/null
    agent "$h" "$T/agent/report?host=$h&rollout=1&step=health&status=ok&seq=$((++SEQ))" >/dev/null
    ;;
  esac
}
SEQ=$(date +%s%N | cut -c1-16)
# Their agents poll on while the test works (a slow machine must not let them expire too): every
# 0.5 s for at most 2 minutes, stopped once the rollout is done.
(for _ in $(seq 1 240); do
  for h in h1 h3; do agent "$h" "$T/agent/poll?host=$h&current=&wait=0" >/dev/null || true; done
  sleep 0.5
done) &
HEARTBEAT=$!
PIDS+=("$HEARTBEAT")
play h1
play h3
out=$(op "$START") || fail "start: $out"
grep -q '"state":"running"' <<<"$out" || fail "start: $out"
auth=$(ctl_auth "$KEYS/op.key" POST "/rollout/pause")
code_of "pause" curl -s -X POST -H "Authorization: $auth" "$T/rollout/pause"
expect "pause: HTTP" "$code" 200
op "$T/rollout/resume" | grep -q '"state":"running"' || fail "resume"
# The coordinator goes on journaling its own decisions meanwhile: count the operator's records.
controls() { grep -c '^[0-9a-f]* t=6&' "$JOURNAL" || true; }
expect "operator records" "$(controls)" 2
expect_refusal "replayed pause" 401 "replayed request" curl -s -X POST -H "Authorization: $auth" "$T/rollout/pause"
expect "state after the replay" "$(state)" running
expect "operator records after the replay" "$(controls)" 2
log "a replayed pause was refused and the rollout kept running"

# --- h2 went silent: it expires, the canary goes on without it --------------------------------------
finished() { play h1; play h3; [[ $(state) == done ]]; }
wait_until 30 finished || fail "the rollout did not finish without h2: $(sjson)"
grep -Eq "host h2 expired: no poll for [0-9]+ s \(host expiry 3 s\)" "$WORK/tracker.log" || fail "no expiry logged"
grep -q "t=8&r=1&.*h=h2&x=no%20poll%20for" "$JOURNAL" || fail "the expiry is not journaled"
sjson | python3 -c '
import json, sys
d = json.load(sys.stdin)
hosts = {h["host"]: h["state"] for r in d["racks"] for h in r["hosts"]}
assert hosts == {"h1": "healthy", "h2": "expired", "h3": "healthy"}, hosts
assert d["waves"][0]["hosts"] == 1, d["waves"][0]
' || fail "status after the expiry: $(sjson)"
kill "$HEARTBEAT"
log "h2 expired after 3 s of silence; the rollout finished with h1 and h3"

# --- terminal escapes in an operator's reason reach the status text escaped -------------------------
op "$T/rollout/rollback?reason=%1B%5B2J%1B%5D0%3Bowned%07" | grep -q '"state":"rolling-back"' || fail "rollback"
"$CROWCAST" rollout status --tracker "$T" >"$WORK/status.txt" || fail "rollout status"
grep -q $'\x1b' "$WORK/status.txt" && fail "rollout status prints a raw ESC"
grep -q $'\x07' "$WORK/status.txt" && fail "rollout status prints a raw BEL"
grep -qF 'operator: rollback: \x1b[2J\x1b]0;owned\x07' "$WORK/status.txt" || fail "escaped reason missing: $(cat "$WORK/status.txt")"

# --- SIGHUP: a deleted line is revoked, an added one issued ----------------------------------------
grep -v '^agent h3 ' "$KEYS/auth" >"$WORK/auth.new" && cat "$WORK/auth.new" >"$KEYS/auth"
kill -HUP "$TPID"
wait_until 10 grep -q "control plane: 1 operator(s) and 2 agent(s)" "$WORK/tracker.log" || fail "SIGHUP did not reload"
expect_refusal "revoked h3" 401 "unknown identity" agent h3 "$T/agent/poll?host=h3&current=&wait=0"
echo "garbage" >>"$KEYS/auth"
kill -HUP "$TPID"
wait_until 10 grep -q "SIGHUP: the keys in use stay" "$WORK/tracker.log" || fail "a bad keys file was taken"
code_of "h1 after a bad reload" agent h1 "$T/agent/poll?host=h1&current=&wait=0"
expect "h1 after a bad reload: HTTP" "$code" 200
log "SIGHUP revoked h3; a broken keys file left the keys in use"

# --- secure by default, insecure only on loopback, closed reads -------------------------------------
p2=$(free_port)
spawn open "$CROWCAST" tracker --listen "127.0.0.1:$p2" --state "$WORK/state2" --max-per-address 4 \
  --rate-per-address 5
wait_until 10 curl -sf "http://127.0.0.1:$p2/status" || fail "tracker without --auth did not start"
grep -q "no --auth FILE: rollout and agent state changes are refused" "$WORK/open.log" || fail "no warning without --auth"
expect_refusal "start without --auth" 403 "this tracker has no --auth FILE" \
  curl -s -X POST "http://127.0.0.1:$p2/rollout/start?torrent=$WORK/app.torrent&plan=$PLAN"
[[ ! -s $WORK/state2/rollout.journal ]] || fail "a tracker without --auth journaled a start"
# Per-address limits (the tracker without --auth has 4 connections and 5 requests a second each).
PROBE=$CROW_BUILD_DIR/tests/http_probe
held=$("$PROBE" hold --to "127.0.0.1:$p2" --from 127.0.9.1 --count 10 --seconds 1 | tail -n 1)
closed=$(awk '{print $4}' <<<"$held")
((closed >= 6)) || fail "over --max-per-address 4, connections were not closed: $held"
grep -q "127.0.9.1: over the per-address limit of 4 open connections" "$WORK/open.log" || fail "no log line for the connections"
codes=$(for i in $(seq 1 30); do curl -s -o /dev/null -w '%{http_code}\n' --interface 127.0.9.3 "http://127.0.0.1:$p2/status"; done | sort | uniq -c)
grep -q " 429$" <<<"$codes" || fail "30 requests at once from one address were not limited: $codes"
grep -q " 200$" <<<"$codes" || fail "the first requests were refused too: $codes"
# One line when refusals start, again only after a request was let through in between (refilled).
lines=$(grep -c '127.0.9.3: over the per-address limit of 5 requests a second' "$WORK/open.log" || true)
refused=$(awk '$2 == 429 {print $1}' <<<"$codes")
((lines >= 1 && lines < refused)) || fail "$lines log lines for $refused refused requests"
code=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.9.4 "http://127.0.0.1:$p2/status")
expect "another address beside the limited ones: HTTP" "$code" 200
curl -s "http://127.0.0.1:$p2/metrics" | grep -q 'crowcast_tracker_address_refusals_total{limit="rate"} [1-9]' ||
  fail "/metrics lacks the rate refusals"
log "per-address limits: $held; 30 requests: $(echo $codes)"
set +e
"$CROWCAST" tracker --listen "0.0.0.0:$(free_port)" --state "$WORK/state3" --insecure-control 2>"$WORK/err"
rc=$?
set -e
expect "--insecure-control off loopback: exit" "$rc" 2
grep -q "serves only a loopback address" "$WORK/err" || fail "--insecure-control: $(cat "$WORK/err")"
p3=$(free_port)
grep -v garbage "$KEYS/auth" >"$KEYS/auth.ok"
chmod 600 "$KEYS/auth.ok"
spawn closed "$CROWCAST" tracker --listen "127.0.0.1:$p3" --state "$WORK/state4" --auth "$KEYS/auth.ok" --closed-reads
wait_until 10 grep -q "serving on" "$WORK/closed.log" || fail "closed tracker did not start: $(cat "$WORK/closed.log")"
curl -s "http://127.0.0.1:$p3/announce?info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&peer_id=-PR0001-7f0001170000&port=6881&uploaded=0&downloaded=0&left=5" |
  grep -q '8:intervali' || fail "closed reads: the announce is not answered"
for p in status metrics rollout/status; do
  expect_refusal "unsigned /$p, closed reads" 401 "no Authorization header" curl -s "http://127.0.0.1:$p3/$p"
done
grep -q "0102030405" "$WORK/body" && fail "closed reads: an info hash leaked"
code_of "signed /status" ctl "$KEYS/h1.key" GET "http://127.0.0.1:$p3/status"
expect "signed /status, closed reads: HTTP" "$code" 200
grep -q '"info_hash":"0102030405' "$WORK/body" || fail "signed /status lacks the swarm: $(head -c 300 "$WORK/body")"
log "secure by default; --insecure-control refused on 0.0.0.0; closed reads refuse the unsigned"

# --- --insecure-control on loopback: unsigned state changes are believed (a demo), GETs still refused
p5=$(free_port)
spawn insecure "$CROWCAST" tracker --listen "127.0.0.1:$p5" --state "$WORK/state5" --insecure-control
wait_until 10 curl -sf "http://127.0.0.1:$p5/status" || fail "insecure tracker did not start"
grep -q "insecure-control: anyone who reaches" "$WORK/insecure.log" || fail "no warning for --insecure-control"
expect_refusal "unsigned pause, insecure" 409 "no rollout yet" curl -s -X POST "http://127.0.0.1:$p5/rollout/pause"
expect_refusal "GET pause, insecure" 405 "POST it" curl -s "http://127.0.0.1:$p5/rollout/pause"

# --- an impostor tracker (anyone on the path) hands an agent an order: dropped, nothing done -------
fake=$(free_port)
spawn fake python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = b"d8:intervali1e4:name7:app.bin5:order8:download7:release64:" + b"a" * 64 + b"7:rollouti1ee"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$fake"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$fake" || fail "the impostor did not start"
spawn agent-h1 "$CROWCAST" agent --tracker "http://127.0.0.1:$fake" --dir "$WORK/dir-h1" --key "$KEYS/h1.key" \
  --iface 127.0.1.1 --poll-wait 0 --json
wait_until 15 bash -c "[[ \$(grep -c \"without the tracker's signature\" '$WORK/agent-h1.log') -ge 2 ]]" ||
  fail "the agent did not drop the impostor's answers: $(cat "$WORK/agent-h1.log")"
grep -q '"event":"order"' "$WORK/agent-h1.log" && fail "the agent took the impostor's order"
[[ ! -e $WORK/dir-h1/app.bin ]] || fail "the agent acted on the impostor's order"
log "an impostor tracker's unsigned orders were dropped"
log "ok"
