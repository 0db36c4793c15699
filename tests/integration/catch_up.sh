#!/usr/bin/env bash
# A peer that joins a rack after the seeder's only pass began: the seeder resends, before its final
# END, the stretch that went by before the peer joined (the tracker's need maps show it), and the
# peer waits for that rather than fetch it over TCP (the seeder's BEACONs say it catches up). Both
# peers verify; the late one takes almost nothing over TCP although it missed a second of stream.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

size=$((24 << 20))
cluster_release "$size"
cluster_tracker
cluster_peer 1
wait_until 10 grep -q "chain position" "$WORK/get-1.log" || fail "peer 1 was not placed by the tracker"
# 24 Mbit/s: an 8.4 s pass, so a peer that joins one second in has missed ~3 MiB, and the seeder can
# judge the tracker's need maps (CROW_SEEDER_NEED_AGE_NS, 3.5 s) well before the pass ends.
cluster_seeder --rate 24M --passes 1
wait_until 20 grep -q "progress:" "$WORK/seed.log" || fail "the seeder did not start multicasting"
cluster_peer 2.1 # alone in rack r2: its chain head, which would fetch the stretch from the seeder
wait_until 30 grep -q "catching up: sending" "$WORK/seed.log" ||
  fail "the seeder did not catch up the late peer: $(tail -3 "$WORK/seed.log")"
cluster_wait_complete 2 60
cluster_check 1 2.1
resent=$(sed -n 's/.*catching up: sending \([0-9]*\) piece.*/\1/p' "$WORK/seed.log" | head -1)
late_tcp=$(grep '"event":"complete"' "$WORK/get-2.1.log" | sed 's/.*"bytes_tcp":\([0-9]*\).*/\1/')
log "the seeder resent $resent piece(s) of 256 KiB; the late peer took $late_tcp bytes over TCP"
[[ $resent -ge 4 ]] || fail "only $resent piece(s) resent: the late peer missed about 3 MiB"
# It missed about 3 MiB; all of it came by multicast (a few scattered chunks may come over TCP).
[[ $late_tcp -le $((1 << 20)) ]] || fail "the late peer fetched $late_tcp bytes over TCP instead of waiting"
grep -q "mcast_done" "$WORK/seed.log" || fail "the seeder did not end its pass"
log "ok"
