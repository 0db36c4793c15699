#!/usr/bin/env bash
# tracker_tls: `crowcast tracker --tls-cert --tls-key` serves HTTPS only, with a throwaway CA and
# certificates made by the openssl CLI here. curl --cacert reads it; `crowcast seed` and `get` announce
# over https (--tls-ca) and the get completes; a staged rollout runs with signed requests over https
# (the operator's `crowcast rollout`, an agent whose spawned get gets --tls-ca); aria2c announces to it
# with --ca-certificate. Refused, each with a clear error: a client trusting another CA, a certificate
# for another address, plaintext HTTP on the TLS port. Handshakes that never finish are dropped after
# --header-timeout; SIGHUP rotates the certificate (new connections see the new one); /metrics
# counts the handshakes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/control_lib.sh"
need_cmd curl openssl python3 aria2c cmp

# --- a CA, the tracker's certificate (IP:127.0.0.1), a rotated one, one for another address ----------
PKI=$WORK/pki
mkdir -p "$PKI"
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" 2>>"$PKI/openssl.log"; }
ec -x509 -keyout "$PKI/ca.key" -out "$PKI/ca.pem" -days 2 -subj "/CN=crowcast test CA" || fail "CA"
ec -x509 -keyout "$PKI/other-ca.key" -out "$PKI/other-ca.pem" -days 2 -subj "/CN=another CA" || fail "other CA"
issue() { # NAME SAN
  ec -keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "/CN=$1" || fail "key $1"
  printf 'subjectAltName=%s\n' "$2" >"$PKI/$1.ext"
  openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
    -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" 2>>"$PKI/openssl.log" || fail "certificate $1"
  chmod 600 "$PKI/$1.key"
}
issue tracker IP:127.0.0.1
issue rotated IP:127.0.0.1
issue elsewhere IP:127.0.0.9
cp "$PKI/tracker.pem" "$PKI/live.pem"
cp -p "$PKI/tracker.key" "$PKI/live.key"
serial_of() { openssl x509 -noout -serial -in "$1" | cut -d= -f2; }

TP=$(free_port)
T=https://127.0.0.1:$TP
G="239.255.$((RANDOM % 200 + 1)).$((RANDOM % 200 + 1))"
GP=$(free_port)
printf 'rack seeders 127.0.0.0/24 %s:%s\nrack r1 127.0.1.0/24 %s:%s\n' "$G" "$GP" "$G" "$GP" >"$WORK/racks.conf"
KEYS=$WORK/keys
new_identity operator op "$KEYS"
new_identity agent host1 "$KEYS"
spawn tracker "$CROWCAST" tracker --listen "127.0.0.1:$TP" --racks "$WORK/racks.conf" --interval 1 \
  --state "$WORK/state" --auth "$KEYS/auth" --tls-cert "$PKI/live.pem" --tls-key "$PKI/live.key" \
  --header-timeout 2
TRACKER_PID=$SPAWNED_PID
wait_until 15 grep -q "serving on 127.0.0.1:$TP (HTTPS only)" "$WORK/tracker.log" || fail "the tracker did not start"
tls() { curl -sS --cacert "$PKI/ca.pem" --max-time 5 "$@"; }
metric() { tls "$T/metrics" | awk -v k="crowcast_tracker_tls_handshakes_total{result=\"$1\"}" '$1 == k {print $2}'; }

# --- curl, and what is refused ------------------------------------------------------------------------
tls "$T/status" >"$WORK/status.json" || fail "curl --cacert could not read /status"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$WORK/status.json" || fail "/status: $(cat "$WORK/status.json")"
rc=0
curl -sS --max-time 5 "$T/status" >/dev/null 2>"$WORK/curl-noca.err" || rc=$?
[[ $rc -eq 60 ]] || fail "curl without the CA: exit $rc, want 60 (certificate problem): $(cat "$WORK/curl-noca.err")"
rc=0
curl -sS --max-time 5 "http://127.0.0.1:$TP/status" >"$WORK/plain.out" 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "plaintext HTTP on the TLS port was answered: $(cat "$WORK/plain.out")"
log "curl --cacert reads /status; no CA: exit 60; plaintext HTTP: exit $rc"

rollout() { "$CROWCAST" rollout "$@"; }
rc_of() { set +e; "$@" >"$WORK/out" 2>"$WORK/err"; rc=$?; set -e; }
rc_of rollout status --tracker "$T" --tls-ca "$PKI/other-ca.pem" --timeout 5
[[ $rc -ne 0 ]] || fail "rollout status trusting another CA succeeded"
grep -q "certificate verify failed" "$WORK/err" || fail "wrong CA: no clear error: $(cat "$WORK/err")"
log "wrong CA refused (exit $rc): $(grep -o 'certificate verify failed.*' "$WORK/err" | head -1)"
rc_of rollout status --tracker "$T" --tls-ca "$WORK/racks.conf"
[[ $rc -eq 2 ]] || fail "a --tls-ca without a certificate: exit $rc, want 2"
grep -q "no PEM certificate" "$WORK/err" || fail "bad --tls-ca: $(cat "$WORK/err")"

# A tracker whose certificate names another address.
WP=$(free_port)
spawn wrong "$CROWCAST" tracker --listen "127.0.0.1:$WP" --tls-cert "$PKI/elsewhere.pem" --tls-key "$PKI/elsewhere.key"
wait_until 15 grep -q "serving on" "$WORK/wrong.log" || fail "the second tracker did not start"
rc_of rollout status --tracker "https://127.0.0.1:$WP" --tls-ca "$PKI/ca.pem" --timeout 5
[[ $rc -ne 0 ]] || fail "a certificate for 127.0.0.9 was accepted from 127.0.0.1"
grep -q "IP address mismatch" "$WORK/err" || fail "wrong name: no clear error: $(cat "$WORK/err")"
log "wrong address refused: $(grep -o 'certificate verify failed.*' "$WORK/err" | head -1)"

# --- idle handshakes are dropped after --header-timeout (2 s) --------------------------------------------
python3 - "$TP" >"$WORK/idle.out" <<'PY' || fail "idle handshakes: $(cat "$WORK/idle.out")"
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(4):
    s = socket.create_connection(("127.0.0.1", port))
    if i == 3:
        s.sendall(b"\x16\x03\x01\x02\x00\x01")  # a client hello's first bytes, and nothing more
    s.settimeout(8)
    socks.append(s)
start = time.monotonic()
for s in socks:
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    assert data == b"", data
took = time.monotonic() - start
print("dropped after %.1f s" % took)
assert 1.5 <= took <= 5, took
PY
log "4 idle handshakes: $(cat "$WORK/idle.out")"

# --- seed and get announce over https ------------------------------------------------------------------
random_file "$WORK/src/app.bin" $((3 << 20)) tls
"$CROWCAST" make "$WORK/src/app.bin" -o "$WORK/app.torrent" --tracker "$T/announce" >/dev/null 2>&1 || fail "make"
SP=$(free_port)
spawn seed "$CROWCAST" seed "$WORK/app.torrent" "$WORK/src/app.bin" --tls-ca "$PKI/ca.pem" --iface 127.0.0.1 \
  --listen "127.0.0.1:$SP" --rate 50M --linger forever
seen() { tls "$T/status" | grep -q "\"peer\":\"127.0.0.1:$SP\""; }
wait_until 15 seen || fail "the seed never announced over https: $(tls "$T/status")"
rc=0
timeout 60 "$CROWCAST" get "$WORK/app.torrent" -o "$WORK/got" --tls-ca "$PKI/ca.pem" --iface 127.0.1.7 \
  >"$WORK/get.log" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "get over https exited $rc: $(tail -n 5 "$WORK/get.log")"
cmp "$WORK/src/app.bin" "$WORK/got/app.bin" || fail "the get's copy differs"
log "seed and get announced over https; the copy verified"
# A get that trusts another CA says why it cannot announce.
timeout 4 "$CROWCAST" get "$WORK/app.torrent" -o "$WORK/got2" --tls-ca "$PKI/other-ca.pem" --iface 127.0.1.8 \
  >"$WORK/get-wrong.log" 2>&1 || true
grep -q "certificate verify failed" "$WORK/get-wrong.log" || fail "get with the wrong CA: $(tail -n 5 "$WORK/get-wrong.log")"
[[ ! -e $WORK/got2/app.bin ]] || fail "a get that could not reach its tracker published data"

# --- aria2c announces with --ca-certificate ------------------------------------------------------------
AP=$(free_port)
closed_test=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false
  --disable-ipv6=true --console-log-level=notice --summary-interval=0 --bt-tracker-interval=2)
spawn aria2c aria2c -V --seed-ratio=0.0 "${closed_test[@]}" --ca-certificate="$PKI/ca.pem" --interface=127.0.0.1 \
  --listen-port="$AP" --dir="$WORK/src" "$WORK/app.torrent"
aria_seen() { tls "$T/status" | grep -q "\"peer\":\"127.0.0.1:$AP\""; }
wait_until 30 aria_seen || fail "aria2c never announced over https: $(tail -n 5 "$WORK/aria2c.log")"
log "aria2c --ca-certificate announced over https"

# --- a staged rollout with signed requests over https ---------------------------------------------------
export CROWCAST_KEY=$KEYS/op.key
spawn agent "$CROWCAST" agent --tracker "$T" --tls-ca "$PKI/ca.pem" --dir "$WORK/dir1" --key "$KEYS/host1.key" \
  --iface 127.0.1.1 --seed-time 5 --poll-wait 5 --json
printf 'canary r1\n' >"$WORK/plan"
# A wave whose rack has no registered agent halts at once: start once the agent has polled.
registered() { rollout status --json --tracker "$T" --tls-ca "$PKI/ca.pem" | grep -q '"host":"host1"'; }
wait_until 20 registered || fail "the agent did not register over https: $(tail -n 5 "$WORK/agent.log")"
rollout start "$WORK/app.torrent" --plan "$WORK/plan" --tracker "$T" --tls-ca "$PKI/ca.pem" >"$WORK/start.out" 2>&1 ||
  fail "rollout start over https: $(cat "$WORK/start.out")"
state() { rollout status --json --tracker "$T" --tls-ca "$PKI/ca.pem" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
done_() { [[ $(state) == done ]]; }
wait_until 60 done_ || fail "the rollout over https did not finish: $(rollout status --tracker "$T" --tls-ca "$PKI/ca.pem" 2>&1)"
ID=$("$CROWCAST" inspect "$WORK/app.torrent" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])')
cmp "$WORK/src/app.bin" "$WORK/dir1/app.bin/$ID/app.bin" || fail "the agent's release differs"
# The agent's get found its source through the tracker: it was handed --tls-ca.
grep -q "certificate verify failed" "$WORK/agent.log" && fail "the agent or its get met a certificate error"
log "rollout over https done: the agent's get fetched and verified the release"

# --- SIGHUP rotates the certificate ----------------------------------------------------------------------
served_serial() {
  openssl s_client -connect "127.0.0.1:$TP" -CAfile "$PKI/ca.pem" </dev/null 2>/dev/null |
    openssl x509 -noout -serial | cut -d= -f2
}
[[ $(served_serial) == "$(serial_of "$PKI/tracker.pem")" ]] || fail "the tracker does not serve its certificate"
cp "$PKI/rotated.pem" "$PKI/live.pem"
cp -p "$PKI/rotated.key" "$PKI/live.key"
kill -HUP "$TRACKER_PID"
rotated() { [[ $(served_serial) == "$(serial_of "$PKI/rotated.pem")" ]]; }
wait_until 5 rotated || fail "after SIGHUP the tracker still serves serial $(served_serial)"
tls "$T/status" >/dev/null || fail "the rotated certificate does not verify"
# A bad pair keeps the one in use.
echo junk >"$PKI/live.pem"
kill -HUP "$TRACKER_PID"
wait_until 5 grep -q "SIGHUP: the certificate in use stays" "$WORK/tracker.log" || fail "a bad certificate was not refused"
rotated || fail "a bad certificate on SIGHUP replaced the good one"
log "SIGHUP: serial $(serial_of "$PKI/tracker.pem") -> $(serial_of "$PKI/rotated.pem"); a bad file kept it"

ok=$(metric ok) failed=$(metric failed) timeout=$(metric timeout)
((ok > 5 && failed >= 3 && timeout >= 4)) || fail "handshake counters ok=$ok failed=$failed timeout=$timeout"
log "ok: /metrics counts handshakes ok=$ok failed=$failed timeout=$timeout"
