#!/usr/bin/env bash
# Peers that join after the seeder's only multicast pass is over: no datagram will ever come, the
# tracker knows a complete source (the seeder) and says no seeder is still sending, so each peer
# goes to TCP at once (no first-datagram clock) and the rack repairs everything in chain order. Then a peer started after the others
# finished gets the release from them. (Before the fix, the peers waited for a stream forever.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

size=$((16 << 20))
cluster_release "$size"
cluster_tracker
cluster_seeder --mcast "$GROUP:$GROUP_PORT" --rate 200M --passes 1 --wait-peers 0
wait_until 30 grep -q "mcast_done" "$WORK/seed.log" || fail "the seeder did not finish its pass"
# One after the other, each once the tracker placed it: the first to announce heads the chain.
for h in 1 2 3; do
  cluster_peer "$h" --mcast-timeout 1
  wait_until 10 grep -q "chain position" "$WORK/get-$h.log" || fail "peer $h was not placed by the tracker"
done
cluster_wait_complete 3 60
cluster_check_all 3
for h in 1 2 3; do
  grep -q "the tracker lists no seeder still sending: fetching over TCP" "$WORK/get-$h.log" ||
    fail "peer $h waited for a stream the tracker knew was over"
done
from_seed=0
for h in 1 2 3; do from_seed=$((from_seed + $(cluster_bytes_from "$h" 127.0.0.1))); done
log "after the pass: 3 peers verified, $from_seed bytes from the seeder over TCP (release $size)"
# Only the chain head fetches from outside the rack: about one copy from the seeder, not three.
[[ $from_seed -le $((size * 3 / 2)) ]] || fail "the seeder served $from_seed bytes: the rack did not form a chain"
# A late peer: the seeder and three complete neighbours are known through the tracker.
cluster_peer 4 --mcast-timeout 1
cluster_wait_complete 4 60
cluster_check_all 4
log "ok"
