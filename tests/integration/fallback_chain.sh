#!/usr/bin/env bash
# No multicast reaches the rack: the peers give up on the stream after --mcast-timeout and fetch
# over TCP in chain order; only the chain head pulls from the seeder, the others from neighbours.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

cluster_release $((48 << 20))
cluster_tracker
for h in 1 2 3 4; do cluster_peer "$h" --mcast-timeout 1; done
wait_until 10 bash -c "[[ \$(cat '$WORK'/get-*.log | grep -c '\"event\":\"joined\"') -ge 4 ]]" || fail "peers did not join"
# The seeder multicasts to another group: the rack hears nothing.
cluster_seeder --mcast "239.255.250.250:$(free_port)" --rate 50M
cluster_wait_complete 4 60
cluster_check_all 4
total=0
from_seed=0
for h in 1 2 3 4; do
  grep -q "no multicast datagram" "$WORK/get-$h.log" || fail "peer $h did not report the silent stream"
  s=$(cluster_bytes_from "$h" 127.0.0.1)
  from_seed=$((from_seed + ${s:-0}))
  log "peer $h: $(grep -c '"event":"source"' "$WORK/get-$h.log") sources, ${s:-0} bytes from the seeder"
done
size=$((48 << 20))
log "bytes the seeder served over TCP to the rack: $from_seed (release: $size)"
# The chain head fetches what nobody in the rack has: about one copy from the seeder, not four.
[[ $from_seed -le $((size * 3 / 2)) ]] || fail "the seeder served $from_seed bytes: the rack did not form a chain"
log "ok"
