#!/usr/bin/env bash
# The whole product across emulated hosts: a tracker, a seeder and 2 racks of 3 hosts in network
# namespaces, 100 Mbit/s host links, 400 Mbit/s rack uplinks, 0.5% random loss on every host link
# (nftables). Every host must end verified, most bytes must arrive by multicast, and TCP repair must
# stay inside the racks except about one copy per rack.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/netns.sh"
"$CROWCAST" help | grep -q '^  tracker' || skip "this build has no 'crowcast tracker'"

SIZE=$((24 << 20))
topo_create 2 3 100 400
for r in 1 2; do for h in 1 2 3; do topo_loss "$(host_ns $r $h)" eth0 5000; done; done

port=$((30000 + RANDOM % 20000))
# Both racks share one group: the seeder's 100 Mbit/s link carries one copy and the bridges
# (IGMP snooping) replicate it into each rack, as a multicast-routed fabric would.
cat >"$WORK/racks.conf" <<RACKS
rack r1 10.99.1.0/24 239.255.71.1:$port
rack r2 10.99.2.0/24 239.255.71.1:$port
RACKS
random_file "$WORK/rel.bin" "$SIZE" hybrid
url="http://10.99.0.2:7070/announce"
"$CROWCAST" make "$WORK/rel.bin" -o "$WORK/rel.torrent" --tracker "$url" >/dev/null 2>&1

spawn tracker in_ns "$NS_TRACK" "$CROWCAST" tracker --listen 10.99.0.2:7070 --racks "$WORK/racks.conf" --interval 2
for r in 1 2; do
  for h in 1 2 3; do
    ns=$(host_ns $r $h)
    spawn "get-r${r}h${h}" in_ns "$ns" "$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out-r${r}h${h}" \
      --tracker "$url" --iface "$(host_ip $r $h)" --json --seed-time 60
  done
done
# Peers first: the seeder starts once every host joined its rack's group.
joined() { [[ $(cat "$WORK"/get-*.log | grep -c '"event":"joined"') -eq 6 ]]; }
wait_until 20 joined || fail "not every host joined its group"
start=$SECONDS
spawn seed in_ns "$NS_SEED" "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel.bin" --tracker "$url" \
  --iface 10.99.0.1 --listen 10.99.0.1:7071 --rate 90M
completed() { [[ $(cat "$WORK"/get-*.log | grep -c '"event":"complete"') -eq 6 ]]; }
wait_until 120 completed || fail "not every host completed"
elapsed=$((SECONDS - start))
ideal=$(awk -v s="$SIZE" 'BEGIN { printf "%.1f", s * 8 / 90e6 }')
log "all 6 hosts complete ${elapsed}s after the seeder started (ideal at 90 Mbit/s: ${ideal}s)"

want=$(sha256sum <"$WORK/rel.bin")
cross_total=0
for r in 1 2; do
  for h in 1 2 3; do
    f="$WORK/get-r${r}h${h}.log"
    [[ $(sha256sum <"$WORK/out-r${r}h${h}/rel.bin") == "$want" ]] || fail "r${r}h${h}: data differs"
    read -r mc tcp cross < <(get_bytes "$f" "$r")
    cross_total=$((cross_total + cross))
    log "r${r}h${h}: multicast $mc, TCP $tcp, from outside the rack $cross"
    [[ $mc -gt $((SIZE * 80 / 100)) ]] || fail "r${r}h${h}: only $mc bytes came by multicast"
  done
done
drops=0
for r in 1 2; do for h in 1 2 3; do drops=$((drops + $(topo_loss_count "$(host_ns $r $h)"))); done; done
log "nftables dropped $drops frames on host links; TCP bytes across racks: $cross_total"
[[ $drops -gt 0 ]] || fail "the loss emulation dropped nothing"
# One copy per rack would be 2 x SIZE; repair of 0.5% loss is far below that.
[[ $cross_total -le $((2 * SIZE)) ]] || fail "cross-rack TCP bytes $cross_total exceed one copy per rack"
log "ok"
