#!/usr/bin/env bash
# The tracker and then the seeder killed and restarted in the middle of a transfer: every peer
# still ends with verified data.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

cluster_release $((64 << 20))
cluster_tracker
for h in 1 2 3; do cluster_peer "$h"; done
wait_until 10 bash -c "[[ \$(cat '$WORK'/get-*.log | grep -c '\"event\":\"joined\"') -ge 3 ]]" || fail "peers did not join"
# About 5 s of multicast at 100 Mbit/s.
cluster_seeder --rate 100M
sleep 1.5
log "killing the tracker mid-transfer, restarting it 1 s later"
kill -9 "$TRACKER_PID"
sleep 1
cluster_tracker
sleep 1
log "killing the seeder mid-pass, restarting it"
kill -9 "$SEED_PID"
sleep 0.5
cluster_seeder --rate 200M
cluster_wait_complete 3 60
cluster_check_all 3
grep -q "expired\|serving on" "$WORK/tracker.log" || true
for h in 1 2 3; do
  line=$(grep '"event":"complete"' "$WORK/get-$h.log")
  log "peer $h: $(sed 's/.*"bytes_mcast":\([0-9]*\).*"bytes_tcp":\([0-9]*\).*/multicast \1, TCP \2/' <<<"$line")"
done
log "ok"
