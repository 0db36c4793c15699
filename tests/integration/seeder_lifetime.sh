#!/usr/bin/env bash
# A rack that needs the seeder after its pass gets it. The seeder runs with its default flags (no
# --listen, no --linger), the tracker with its default 30 s interval (no regular announce hides a
# wait).
#  1. The seeder starts before anyone and is told not to wait for peers (--wait-peers 0): its only
#     pass reaches nobody. Two peers of one rack start after it ended: the seeder must still be
#     there, serve them over TCP, and leave by itself once the tracker reports every peer complete,
#     saying why. (Before: it left right after the pass, and the peers waited for ever.)
#  2. Both peers of a rack lose the same 2 % of the datagrams (same --test-loss seed: loss on the
#     rack's uplink): nobody in the rack can repair those chunks, only the seeder has them.
#  3. The seeder starts before anyone, default flags: it multicasts nothing until the tracker shows
#     a peer, so the peers that come seconds later get the release by multicast, not over TCP.
#  4. A seeder with neither tracker nor multicast (--no-tracker --listen): it has no pass; it stays
#     while nobody came (3 s here), serves a get that comes, and leaves 15 s after it went, saying
#     why. (Before: it never left.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster.sh"

size=$((8 << 20))
cluster_release "$size"
cluster_tracker --interval 30
seeder_start() {
  local n=$1
  shift
  spawn "seed$n" "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel.bin" --tracker "$URL" --iface 127.0.0.1 --rate 100M "$@"
  seed_pid=$SPAWNED_PID
}
seeder() {
  seeder_start "$@"
  wait_until 30 grep -q "mcast_done" "$WORK/seed$1.log" || fail "the seeder did not finish its pass"
}
# stop_peers: ends both peers of a phase and keeps their logs aside.
stop_peers() {
  local h pid
  for h in 1 2; do
    pid=$(eval echo "\$PEER_PID_$h")
    kill "$pid" 2>/dev/null || true
    wait_pid_timeout 10 "$pid" >/dev/null || fail "peer $h did not stop"
    mv "$WORK/get-$h.log" "$WORK/phase$1-get-$h.log"
  done
  rm -rf "$WORK"/out-*
}
# seeder_leaves N: the seeder leaves by itself once the swarm is complete (5 s of "no incomplete
# peer" at 2 s polls: well within 20 s), saying why.
seeder_leaves() {
  wait_pid_timeout 20 "$seed_pid" >/dev/null || fail "the seeder still runs 20 s after every peer completed"
  grep -q "stopping: the tracker reports every peer of the release complete" "$WORK/seed$1.log" ||
    fail "the seeder did not say why it stopped: $(tail -n 3 "$WORK/seed$1.log")"
}

# 1. peers after the pass
seeder 1 --wait-peers 0
sleep 2
kill -0 "$seed_pid" 2>/dev/null || fail "the seeder left after a pass that reached nobody"
for h in 1 2; do cluster_peer "$h"; done
cluster_wait_complete 2 30
cluster_check 1 2
from_seed=$(($(cluster_bytes_from 1 127.0.0.1) + $(cluster_bytes_from 2 127.0.0.1)))
[[ $from_seed -ge $size ]] || fail "the seeder served only $from_seed bytes over TCP"
seeder_leaves 1
log "peers after the pass: both verified ($from_seed bytes from the seeder), which then left by itself"
stop_peers 1

# 2. rack-wide loss
for h in 1 2; do
  cluster_peer "$h" --test-loss 20000 --test-loss-seed 7
  wait_until 10 grep -q "chain position" "$WORK/get-$h.log" || fail "peer $h was not placed by the tracker"
done
seeder 2
cluster_wait_complete 2 30
cluster_check 1 2
seeder_leaves 2
log "rack-wide loss repaired; the seeder left by itself once both were complete"
stop_peers 2

# 3. the seeder first: it waits for the peers
seeder_start 3
wait_until 10 grep -q "waiting for a peer" "$WORK/seed3.log" || fail "the seeder did not say it waits for peers"
sleep 3
grep -q "multicasting rel.bin" "$WORK/seed3.log" && fail "the seeder multicast before any peer showed up"
for h in 1 2; do cluster_peer "$h"; done
cluster_wait_complete 2 30
cluster_check 1 2
for h in 1 2; do
  mcast=$(grep '"event":"complete"' "$WORK/get-$h.log" | sed 's/.*"bytes_mcast":\([0-9]*\).*/\1/')
  [[ ${mcast:-0} -ge $((size * 9 / 10)) ]] || fail "peer $h got only ${mcast:-0} of $size bytes by multicast"
done
seeder_leaves 3
log "ok: the seeder that came first waited for the peers, which got the release by multicast"
stop_peers 3

# 4. TCP only, no tracker
tcp_port=$(free_port)
spawn seed4 "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel.bin" --no-tracker --listen "127.0.0.1:$tcp_port"
seed_pid=$SPAWNED_PID
wait_until 10 grep -q "serving over TCP" "$WORK/seed4.log" || fail "the TCP-only seeder did not listen"
sleep 3
kill -0 "$seed_pid" 2>/dev/null || fail "the TCP-only seeder left before any peer came"
spawn get-tcp "$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out-tcp" --no-tracker --peer "127.0.0.1:$tcp_port" \
  --iface 127.0.1.1 --seed-time 0
wait_pid_timeout 20 "$SPAWNED_PID" >/dev/null || fail "the get from the TCP-only seeder did not finish"
cmp -s "$WORK/rel.bin" "$WORK/out-tcp/rel.bin" || fail "the get from the TCP-only seeder has other bytes"
wait_pid_timeout 25 "$seed_pid" >/dev/null || fail "the TCP-only seeder still runs 25 s after its only peer left"
grep -q "stopping: no peer has been connected for 15 s" "$WORK/seed4.log" ||
  fail "the TCP-only seeder did not say why it stopped: $(tail -n 3 "$WORK/seed4.log")"
log "ok: the TCP-only seeder served its get and left 15 s after it"
