#!/usr/bin/env bash
# A rack's chain head fetches what nobody in its rack has from complete peers of another rack once
# the seeder has left. Rack r2's two peers lose the same 2 % of the datagrams (rack-wide loss); rack
# r1's first peer loses 0.5 % and repairs from the other two, which lose nothing: r1 completes as
# the pass ends. (Repair inside a rack goes by verified pieces: with every r1 peer losing, some pieces
# would be verified by nobody in r1, and only the seeder could fill them.) The seeder multicasts
# only (no tracker, no TCP) and leaves with its pass. r2's head must ask the tracker again as soon
# as it has pieces nobody it knows can give, find r1's complete peers, fetch those chunks once, and
# r2's other peer fetch them from its head. (Before: the head asked the tracker once at the pass's
# end, when r1 was not complete yet, and waited an announce interval.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

size=$((8 << 20))
cluster_release "$size"
cluster_tracker --interval 30
cluster_peer 1 --test-loss 5000 --test-loss-seed 11 --seed-time 20
for h in 2 3; do cluster_peer "$h" --seed-time 20; done
for h in 2.1 2.2; do cluster_peer "$h" --test-loss 20000 --test-loss-seed 7 --seed-time 20; done
for h in 1 2 3 2.1 2.2; do
  wait_until 10 grep -q "chain position" "$WORK/get-$h.log" || fail "peer $h was not placed by the tracker"
done
# A multicast-only seeder (no tracker, no TCP): it is gone with its pass, so no repair can come
# from it, however fast a peer asks. (--no-tracker: the manifest names the cluster's tracker.)
spawn seed "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel.bin" --mcast "$GROUP:$GROUP_PORT" --iface 127.0.0.1 \
  --rate 100M --no-tracker
seed_pid=$SPAWNED_PID
wait_pid_timeout 30 "$seed_pid" >/dev/null || fail "the multicast-only seeder did not leave after its pass"
left=$SECONDS
cluster_wait_complete 5 15
log "every peer complete $((SECONDS - left)) s after the seeder left"
cluster_check 1 2 3 2.1 2.2
head=$(grep -l "(chain head)" "$WORK/get-2.1.log" "$WORK/get-2.2.log" | head -n 1)
[[ -n $head ]] || fail "no r2 peer was told it is the chain head"
head=${head##*/get-}; head=${head%.log}
other=2.1; [[ $head == 2.1 ]] && other=2.2
grep -q "(chain head)" "$WORK/get-$other.log" && fail "both r2 peers were told they are the chain head"
from_r1=0
for h in 1 2 3; do from_r1=$((from_r1 + $(cluster_bytes_from "$head" "127.0.1.$h"))); done
[[ $from_r1 -gt 0 ]] || fail "r2's head $head fetched nothing from r1's complete peers"
other_from_r1=0
for h in 1 2 3; do other_from_r1=$((other_from_r1 + $(cluster_bytes_from "$other" "127.0.1.$h"))); done
[[ $other_from_r1 -eq 0 ]] || fail "r2's other peer fetched $other_from_r1 bytes across racks (only the head may)"
[[ $(cluster_bytes_from "$other" "127.0.2.${head#2.}") -gt 0 ]] || fail "r2's other peer got nothing from its head"
log "ok: r2's head $head fetched $from_r1 bytes from r1 after the seeder left; its neighbour took them from it"
