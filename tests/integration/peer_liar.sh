#!/usr/bin/env bash
# Same-rack liars (tests/tools/hostile_peer.py liar) claim every piece, and in their BEP 10 handshake
# the victim's rack and chain position 0, and answer no request. The victim, alone in rack r1 and so
# its chain head, hears no multicast (the seeder sends to another group) and must fetch over TCP:
#   - liar A (127.0.1.8) is unknown to the tracker and connects to the victim: an unknown, far peer;
#   - liar B (127.0.1.9) announces itself to the tracker, which places it in r1 (its address is
#     there): the victim dials it as a rack neighbour, and its requests to B expire.
# The transfer completes and verifies within a bounded time, and nothing came from either liar.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"
need_cmd python3 ss

cluster_release $((16 << 20))
cluster_tracker
victim_port=$(free_port) liar_port=$(free_port)
cluster_peer 1 --mcast-timeout 1 --listen "127.0.1.1:$victim_port" --log-level debug
wait_until 10 grep -q '"event":"joined"' "$WORK/get-1.log" || fail "the victim did not join its group"
hostile() { python3 "$CROW_SOURCE_DIR/tests/tools/hostile_peer.py" liar --crowcast "$CROWCAST" \
  --torrent "$WORK/rel.torrent" --rack r1 --pos 0 --duration 90 "$@"; }
spawn liar-b hostile --bind 127.0.1.9 --listen "127.0.1.9:$liar_port" --announce "$URL"
spawn liar-a hostile --bind 127.0.1.8 --connect "127.0.1.1:$victim_port"
wait_until 10 grep -q '^connection 1 ' "$WORK/liar-a.log" || fail "liar A did not connect to the victim"
wait_until 10 grep -q '^connection 1 ' "$WORK/liar-b.log" || fail "the victim did not dial liar B"
start=$SECONDS
cluster_seeder --mcast "239.255.250.250:$(free_port)" --rate 50M
cluster_wait_complete 1 40
cluster_check 1
for a in 127.0.1.8 127.0.1.9; do
  [[ $(cluster_bytes_from 1 "$a") -eq 0 ]] || fail "the victim took bytes from the liar at $a"
done
[[ $(cluster_bytes_from 1 127.0.0.1) -eq $((16 << 20)) ]] || fail "the seeder did not serve the whole release"
log "complete and verified $((SECONDS - start)) s after the seeder started, nothing from either liar"
log "ok"
