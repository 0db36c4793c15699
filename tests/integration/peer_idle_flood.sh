#!/usr/bin/env bash
# Strangers holding a get's incoming connections (tests/tools/hostile_peer.py), on loopback:
#   1. 10 connections that send no handshake at all (mute) are accepted and closed by the handshake
#      deadline (10 s), not before;
#   2. 80 idle connections (a valid handshake each, then nothing; a closed one is opened again) are
#      held open before any source exists. The get hears no multicast (the seeder sends to another
#      group), so it must dial the seeder the tracker names: incoming connections have a cap of
#      their own, and the transfer completes and verifies.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"
need_cmd python3 ss

cluster_release $((16 << 20))
cluster_tracker
victim_port=$(free_port)
cluster_peer 1 --mcast-timeout 1 --listen "127.0.1.1:$victim_port"
wait_until 10 grep -q '"event":"joined"' "$WORK/get-1.log" || fail "the victim did not join its group"
hostile() { python3 "$CROW_SOURCE_DIR/tests/tools/hostile_peer.py" "$1" --crowcast "$CROWCAST" \
  --torrent "$WORK/rel.torrent" --connect "127.0.1.1:$victim_port" "${@:2}"; }

# --- 1. no handshake: closed by the deadline ---------------------------------------------------
spawn mute hostile mute --bind 127.0.3.2 --count 10 --duration 30
opened=$SECONDS
closed() { [[ $(grep -c '^closed by the other side' "$WORK/mute.log") -ge "$1" ]]; }
wait_until 5 grep -q '^connection 10 ' "$WORK/mute.log" || fail "the mute connections were not opened"
wait_until 20 closed 10 || fail "the handshake deadline did not close the mute connections"
lasted=$((SECONDS - opened))
[[ $lasted -ge 9 ]] || fail "the mute connections were closed after $lasted s, before the handshake deadline"
log "part 1: 10 connections without a handshake closed after ${lasted} s"

# --- 2. 80 idle handshakes held open: outgoing repair still happens ----------------------------
# It also announces itself, incomplete: the get keeps seeding after it completes, connections held.
spawn flood hostile idle --bind 127.0.3.1 --count 80 --duration 90 --announce "$URL"
established() { [[ $(ss -Htn state established "dport = :$victim_port" | wc -l) -ge 64 ]]; }
wait_until 10 established || fail "the flood did not hold 64 connections to the victim"
cluster_seeder --mcast "239.255.250.250:$(free_port)" --rate 50M
cluster_wait_complete 1 30
cluster_check 1
established || fail "the flood no longer held 64 connections at the end: it proved nothing"
log "part 2: complete with $(ss -Htn state established "dport = :$victim_port" | wc -l) idle connections held open"
log "ok"
