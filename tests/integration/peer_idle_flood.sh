#!/usr/bin/env bash
# 80 idle incoming connections (tests/tools/hostile_peer.py idle: a valid handshake each, then
# nothing; a closed one is opened again) are held open on a get's listening port before any source
# exists. The get hears no multicast (the seeder sends to another group), so it must dial the seeder
# the tracker names: incoming connections have a cap of their own, and the transfer completes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"
need_cmd python3 ss

cluster_release $((16 << 20))
cluster_tracker
victim_port=$(free_port)
cluster_peer 1 --mcast-timeout 1 --listen "127.0.1.1:$victim_port"
wait_until 10 grep -q '"event":"joined"' "$WORK/get-1.log" || fail "the victim did not join its group"
spawn flood python3 "$CROW_SOURCE_DIR/tests/tools/hostile_peer.py" idle --crowcast "$CROWCAST" \
  --torrent "$WORK/rel.torrent" --bind 127.0.3.1 --connect "127.0.1.1:$victim_port" --count 80 --duration 90
established() { [[ $(ss -Htn state established "dport = :$victim_port" | wc -l) -ge 64 ]]; }
wait_until 10 established || fail "the flood did not hold 64 connections to the victim"
cluster_seeder --mcast "239.255.250.250:$(free_port)" --rate 50M
cluster_wait_complete 1 30
cluster_check 1
established || fail "the flood no longer held 64 connections at the end: it proved nothing"
log "complete with $(ss -Htn state established "dport = :$victim_port" | wc -l) idle connections held open"
log "ok"
