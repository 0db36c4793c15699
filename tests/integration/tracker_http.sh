#!/usr/bin/env bash
# tracker_http: a real `crowcast tracker` on 127.0.0.1 answering peers from distinct 127.0.x.y sources
# (tests/tools/http_probe binds them): racks, shared groups, chain order, head and seeder, compact and
# dictionary lists, groups=1, hook=N in /status, /metrics, scrape, expiry; hostile input (bad queries,
# missing parameters, oversized line/head, too many headers, bodies, bad versions) gets 400/413/414/431/
# 505 or a failure reason; 10,000 idle connections held while an announce is still answered quickly,
# the connection cap, a one-byte-a-second client cut off by the header timeout, bounded RSS, clean
# SIGTERM exit.
source "$(dirname "$0")/lib.sh"

PROBE=$CROW_BUILD_DIR/tests/http_probe
[[ -x $PROBE ]] || fail "http_probe not built ($PROBE)"
port=$(free_port)
T=127.0.0.1:$port
cat >"$WORK/racks.conf" <<EOF
# three racks; r3 shares r1's multicast group
rack r1 127.0.1.0/24 239.255.7.1:6001
rack r2 127.0.2.0/24 239.255.7.2:6002
rack r3 127.0.3.0/24 239.255.7.1:6001
EOF
spawn tracker "$CROWCAST" tracker --listen "$T" --racks "$WORK/racks.conf" --interval 20 --header-timeout 3 \
  --idle-timeout 30 --max-connections 10100 --max-per-address 3000 --json-log
TPID=$SPAWNED_PID
wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || fail "tracker did not listen"

ann() { "$PROBE" announce --to "$T" "$@"; }
field() { sed -n "s/^$1 //p" <<<"$2"; }
raw() { printf "$1" | "$PROBE" raw --to "$T" --quiet-ms "${2:-1000}"; }
get() { raw "GET $1 HTTP/1.1\r\nConnection: close\r\n\r\n" 300; }
counts_10000() { get /metrics | grep -q '^crowcast_tracker_connections 100[0-9][0-9]$'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$TPID/status"; }
expect() { [[ $2 == "$3" ]] || fail "$1: got '$2', want '$3'"; }

# --- racks, groups, chains ---------------------------------------------------------------------
out=$(ann --from 127.0.0.1 --port 7000 --left 0 --event started --extra groups=1)
expect "seeder rack" "$(field rack "$out")" ""
expect "seeder groups (deduplicated)" "$(field groups "$out")" "239.255.7.1:6001,239.255.7.2:6002"
for k in 3 0 2 1; do # scrambled arrival order; chain in address order, headed by the first to arrive (.13)
  for r in 2 3 1; do ann --from "127.0.$r.1$k" --left 1000 --event started >/dev/null; done
done
for r in 1 2 3; do
  grp=$([[ $r == 2 ]] && echo 239.255.7.2:6002 || echo 239.255.7.1:6001)
  for j in 0 1 2 3; do
    out=$(ann --from "127.0.$r.1$j" --left 1000)
    expect "127.0.$r.1$j rack" "$(field rack "$out")" "r$r"
    expect "127.0.$r.1$j group" "$(field group "$out")" "$grp"
    expect "127.0.$r.1$j position" "$(field position "$out")" "$j"
    expect "127.0.$r.1$j head" "$(field head "$out")" "$([[ $j == 3 ]] && echo 1 || echo 0)"
    want=() flags=()
    for d in 1 2 3; do
      ((j - d >= 0)) && { want+=("127.0.$r.1$((j - d)):6881"); flags+=(0); }
      ((j + d <= 3)) && { want+=("127.0.$r.1$((j + d)):6881"); flags+=(0); }
    done
    # The chain head also gets the seeder (seeder + other rack = flags 3); nobody else crosses racks.
    [[ $j == 3 ]] && { want+=("127.0.0.1:7000"); flags+=(3); }
    expect "127.0.$r.1$j peers" "$(field peers "$out")" "$(IFS=,; echo "${want[*]}")"
    expect "127.0.$r.1$j flags" "$(field flags "$out")" "$(IFS=,; echo "${flags[*]}")"
    expect "127.0.$r.1$j counts" "$(field complete "$out")/$(field incomplete "$out")" "1/12"
  done
done
out=$(ann --from 127.0.2.11 --left 1000 --dict --numwant 2)
expect "dictionary form" "$(field peers "$out")" "127.0.2.10:6881,127.0.2.12:6881"
out=$(ann --from 127.0.2.11 --left 0 --event completed --extra hook=4)
expect "interval" "$(field interval "$out")" "20"
log "racks, groups, chain order, head, seeder, dictionary form: ok"

# The compact list on the wire (BEP 23): 6 bytes a peer, network order.
resp=$(printf 'GET /announce?info_hash=%%01%%02%%03%%04%%05%%06%%07%%08%%09%%0a%%0b%%0c%%0d%%0e%%0f%%10%%11%%12%%13%%14&peer_id=-PR0001-7f0001170000&port=6881&uploaded=0&downloaded=0&left=5&numwant=1 HTTP/1.1\r\n\r\n' |
  "$PROBE" raw --to "$T" --quiet-ms 500 --from 127.0.1.23 | od -An -c | tr -d ' \n')
[[ $resp == *'5:peers6:177\0001\r032341'* ]] || fail "compact peer bytes not found: $resp"

# --- status, metrics, scrape -------------------------------------------------------------------
status=$(raw 'GET /status HTTP/1.1\r\nConnection: close\r\n\r\n')
grep -q '^HTTP/1.1 200' <<<"$status" || fail "/status: $status"
for r in 1 2 3; do
  grep -q "{\"rack\":\"r$r\",\"group\":\"239.255.7.[12]:600[12]\",\"peers\":[45]," <<<"$status" || fail "/status rack r$r: $status"
done
grep -q '"peer":"127.0.2.11:6881","left":0,"since_ms":[0-9]*,"hook":4,"mcast":null}' <<<"$status" || fail "/status hook: $status"
grep -q '"peer":"127.0.2.12:6881","left":1000,"since_ms":[0-9]*,"hook":null,"mcast":null}' <<<"$status" || fail "/status: $status"
metrics=$(raw 'GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n')
grep -q 'Content-Type: text/plain; version=0.0.4' <<<"$metrics" || fail "/metrics content type"
grep -q '^crowcast_tracker_peers{info_hash="0102030405060708090a0b0c0d0e0f1011121314",rack="r3"} 4$' <<<"$metrics" ||
  fail "/metrics peers: $metrics"
grep -q '^crowcast_tracker_complete{info_hash="0102030405060708090a0b0c0d0e0f1011121314",rack="r2"} 1$' <<<"$metrics" ||
  fail "/metrics complete"
grep -q '^crowcast_tracker_connections_total [0-9]' <<<"$metrics" || fail "/metrics connections"
scrape=$(raw 'GET /scrape HTTP/1.1\r\nConnection: close\r\n\r\n' | od -An -c | tr -d ' \n')
[[ $scrape == *'d5:filesd20:001002003004'*'8:completei2e10:downloadedi1e10:incompletei12ee'* ]] || fail "scrape: $scrape"
log "/status, /metrics, /scrape: ok"

# --- hostile input -----------------------------------------------------------------------------
check_reply() { # NAME REQUEST PATTERN: the reply matches PATTERN (grep -E)
  local got
  got=$(raw "$2" 600 | tr -d '\r')
  grep -qE "$3" <<<"$got" || fail "$1: $(head -c 300 <<<"$got")"
}
check_reply "missing info_hash" 'GET /announce?port=1&left=0 HTTP/1.1\r\n\r\n' 'failure reason17:missing info_hash'
check_reply "missing port" 'GET /announce?info_hash=%%01%%02%%03%%04%%05%%06%%07%%08%%09%%0a%%0b%%0c%%0d%%0e%%0f%%10%%11%%12%%13%%14&peer_id=-PR0001-abcdefghijkl&uploaded=0&downloaded=0&left=0 HTTP/1.1\r\n\r\n' 'missing port'
check_reply "short info_hash" 'GET /announce?info_hash=abc&peer_id=x HTTP/1.1\r\n\r\n' 'invalid info_hash'
check_reply "bad escape" 'GET /announce?info_hash=%%zz HTTP/1.1\r\n\r\n' 'bad percent-encoding'
check_reply "bad port" 'GET /announce?port=99999 HTTP/1.1\r\n\r\n' 'invalid port'
check_reply "bad hook" 'GET /announce?hook=300 HTTP/1.1\r\n\r\n' 'invalid hook'
check_reply "garbage" 'GARBAGE\r\n\r\n' '^HTTP/1.1 400 .*'
check_reply "garbage closes" 'GARBAGE\r\n\r\n' '^\[closed\]$'
check_reply "bad version" 'GET / HTTP/2.0\r\n\r\n' '^HTTP/1.1 505 '
check_reply "body" 'POST /announce HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello' '^HTTP/1.1 413 '
check_reply "chunked" 'GET /announce HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' '^HTTP/1.1 501 '
check_reply "unknown path" 'GET /admin HTTP/1.1\r\nConnection: close\r\n\r\n' '^HTTP/1.1 404 '
check_reply "other method" 'DELETE /status HTTP/1.1\r\nConnection: close\r\n\r\n' '^HTTP/1.1 405 '
long=$(head -c 8000 /dev/zero | tr '\0' a)
check_reply "long request line" "GET /announce?$long HTTP/1.1\r\n\r\n" '^HTTP/1.1 414 '
big=$(for i in $(seq 1 20); do printf 'X-Pad-%d: %0500d\\r\\n' "$i" 0; done)
check_reply "oversized head" "GET /status HTTP/1.1\r\n$big\r\n" '^HTTP/1.1 431 '
many=$(for i in $(seq 1 40); do printf 'X-%d: 1\\r\\n' "$i"; done)
check_reply "too many headers" "GET /status HTTP/1.1\r\n$many\r\n" '^HTTP/1.1 431 '
# Keep-alive and pipelining: three requests in one write, three replies, the connection stays open.
got=$(raw 'GET /scrape HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\nGET /scrape HTTP/1.1\r\n\r\n' 600 | tr -d '\r')
[[ $(grep -o 'HTTP/1.1 [0-9]*' <<<"$got" | wc -l) == 3 && $(tail -n 1 <<<"$got") == "[open]" ]] || fail "pipelining: $got"
kill -0 "$TPID" || fail "tracker died on hostile input"
log "hostile input: ok"

# --- expiry: on a second tracker with 1 s intervals, a silent peer is gone after 3 of them ------
port2=$(free_port)
spawn tracker2 "$CROWCAST" tracker --listen "127.0.0.1:$port2" --interval 1
wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port2" || fail "second tracker did not listen"
out=$("$PROBE" announce --to "127.0.0.1:$port2" --from 127.0.1.50 --hash bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb --left 9)
expect "unracked peer" "$(field rack "$out")" ""
b_status() { printf 'GET /status HTTP/1.1\r\nConnection: close\r\n\r\n' | "$PROBE" raw --to "127.0.0.1:$port2" --quiet-ms 300; }
b_status | grep -q '"info_hash":"bbbbbbbb' || fail "second tracker: no swarm"
expiry_start=$SECONDS
b_expired() { b_status | grep -q '"releases":\[\]'; }
wait_until 10 b_expired || fail "silent peer did not expire"
((SECONDS - expiry_start >= 2)) || fail "peer expired too early"
log "expiry: ok"

# --- 10,000 idle connections, the cap, a slow client --------------------------------------------
rss0=$(rss_kb)
"$PROBE" hold --to "$T" --from 127.0.5.1,127.0.5.2,127.0.5.3,127.0.5.4 --count 10000 --seconds 8 >"$WORK/hold.log" &
HOLD=$!
PIDS+=("$HOLD")
wait_until 20 grep -q '^ready' "$WORK/hold.log" || fail "idle connections did not open"
ready=$(awk '/^ready/ {print $2}' "$WORK/hold.log")
((ready == 10000)) || fail "only $ready of 10000 idle connections connected"
wait_until 5 counts_10000 ||
  fail "the tracker does not count 10000 connections"
rss1=$(rss_kb)
out=$(ann --from 127.0.1.12 --left 1000)
ms=$(field ms "$out")
[[ $(field rack "$out") == r1 ]] || fail "announce under 10000 idle connections: $out"
awk -v m="$ms" 'BEGIN { exit !(m < 500) }' || fail "announce took $ms ms under 10000 idle connections"
# Over the cap (10100): the extra connections are accepted and closed at once.
over=$("$PROBE" hold --to "$T" --from 127.0.5.9 --count 300 --seconds 1 | tail -n 1)
closed=$(awk '{print $4}' <<<"$over")
((closed >= 150)) || fail "over the cap, connections were not refused: $over"
log "10000 idle: announce in $ms ms; over the cap: $over; RSS ${rss0} kB -> ${rss1} kB"
per_conn=$(((rss1 - rss0) / 10)) # bytes per connection: kB * 1024 / 10000 ~ kB / 10
# ~8.5 KB a connection (its 9 KiB input buffer, touched as far as a request goes); under ASan every
# allocation carries redzones and the quarantine keeps freed ones: ~20 KB (measured 205 MB).
rss_cap_mb=200
[[ -n ${ASAN_OPTIONS:-} ]] && rss_cap_mb=320
((rss1 - rss0 < rss_cap_mb * 1024)) || fail "RSS grew by $((rss1 - rss0)) kB for 10000 connections (cap ${rss_cap_mb} MB)"
wait "$HOLD" || true
grep -q '^held 10000 closed_by_server 0' "$WORK/hold.log" || fail "idle connections were dropped early: $(cat "$WORK/hold.log")"

"$PROBE" slow --to "$T" --from 127.0.6.1 --interval-ms 1000 --max-seconds 8 >"$WORK/slow.log" &
SLOW=$!
PIDS+=("$SLOW")
sleep 1
for i in 1 2 3; do
  out=$(ann --from 127.0.3.1$i --left 1000)
  [[ $(field status "$out") == 200 ]] || fail "announce beside the slow client: $out"
  sleep 0.5
done
wait "$SLOW" || fail "slow client was not cut off: $(cat "$WORK/slow.log")"
slow=$(cat "$WORK/slow.log")
secs=$(sed -n 's/^cut after \([0-9.]*\) s.*/\1/p' <<<"$slow")
awk -v s="$secs" 'BEGIN { exit !(s >= 2.5 && s <= 4.5) }' || fail "slow client: $slow"
grep -q 'reply: HTTP/1.1 408' <<<"$slow" || fail "slow client got no 408: $slow"
log "slow client: $slow"
sleep 1
rss2=$(rss_kb)
log "RSS: before ${rss0} kB, with 10000 idle ${rss1} kB (~${per_conn} B each), after ${rss2} kB"

# --- clean exit on SIGTERM -----------------------------------------------------------------------
kill -TERM "$TPID"
wait_pid_timeout 5 "$TPID" || fail "tracker exit status $? after SIGTERM"
grep -q 'signal 15: stopping' "$WORK/tracker.log" || fail "no shutdown line"
grep -q '"path":"/announce","status":200' "$WORK/tracker.log" || fail "--json-log lines missing"
log "PASS"
