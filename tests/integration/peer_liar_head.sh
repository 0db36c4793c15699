#!/usr/bin/env bash
# A same-rack liar that heads the rack's chain: it announces to the tracker before the victim (so
# the tracker names it r1's chain head, the oldest member) and again every second (so it keeps the
# place), claims every piece in its bitfield and answers no request. The victim, second in the
# chain, hears no multicast (the seeder sends to another group) and may fetch from outside the rack
# only as chain head: once its requests to the liar expire, the liar's pieces stop counting, and the
# victim must not wait for a head that never brings anything. The transfer completes and verifies
# within a bounded time, with nothing from the liar.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"
need_cmd python3 ss

cluster_release $((16 << 20))
cluster_tracker
liar_port=$(free_port)
spawn liar python3 "$CROW_SOURCE_DIR/tests/tools/hostile_peer.py" liar --crowcast "$CROWCAST" \
  --torrent "$WORK/rel.torrent" --rack r1 --pos 0 --duration 90 --bind 127.0.1.9 \
  --listen "127.0.1.9:$liar_port" --announce "$URL" --announce-every 1
wait_until 10 grep -q '^announced: HTTP/1.1 200' "$WORK/liar.log" || fail "the liar did not announce"
cluster_peer 1 --mcast-timeout 1 --log-level debug
wait_until 10 grep -q 'chain position' "$WORK/get-1.log" || fail "the victim was not placed by the tracker"
! grep 'chain position' "$WORK/get-1.log" | head -1 | grep -q 'chain head' || fail "the tracker made the victim head, not the liar"
wait_until 10 grep -q '^connection 1 ' "$WORK/liar.log" || fail "the victim did not dial the liar"
start=$SECONDS
cluster_seeder --mcast "239.255.250.250:$(free_port)" --rate 50M
cluster_wait_complete 1 40
cluster_check 1
[[ $(cluster_bytes_from 1 127.0.1.9) -eq 0 ]] || fail "the victim took bytes from the liar"
log "complete and verified $((SECONDS - start)) s after the seeder started, behind a lying chain head"
log "ok"
