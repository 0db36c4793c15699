#!/usr/bin/env bash
# Rack relays (issue 15) on a routed fabric: 2 racks of 3 hosts, each rack its own segment behind a
# router namespace that routes no multicast, the seeder and the tracker in a third segment; 100 Mbit/s
# host links. The racks file marks both racks relayed: the seeder sends no datagram (the tracker
# gives it no group), each rack's chain head is its relay: it fetches over TCP and streams what it
# verifies into its rack's group. Every host must verify, and each rack's other hosts must have
# taken most bytes by multicast (the relay's stream), not over TCP from outside the rack.
# RELAY_KILL=1 (it.relay_kill_netns): rack 1's relay is killed with -9 1.5 s after the seeder started;
# the tracker names the next head relay once the dead one expires, and the rest must still verify.
# RELAY_MIX=1 (it.relay_mix_netns): a flat fabric that does route multicast, rack 1 direct and rack 2
# relayed: the seeder multicasts to rack 1's group only, rack 2 takes its relay's stream.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/netns.sh"
"$CROWCAST" help | grep -q '^  tracker' || skip "this build has no 'crowcast tracker'"

SIZE=$((16 << 20))
KILL=${RELAY_KILL:-0} MIX=${RELAY_MIX:-0}
mode1=relayed
if [[ $MIX == 1 ]]; then
  topo_create 2 3 100 400
  mode1=direct
else
  topo_create_routed 2 3 100 400
fi
topo_mcast_watch

port=$((30000 + RANDOM % 20000))
cat >"$WORK/racks.conf" <<RACKS
rack r1 10.99.1.0/24 239.255.72.1:$port $mode1
rack r2 10.99.2.0/24 239.255.72.2:$port relayed
RACKS
random_file "$WORK/rel.bin" "$SIZE" relay
url="http://10.99.0.2:7070/announce"
"$CROWCAST" make "$WORK/rel.bin" -o "$WORK/rel.torrent" --tracker "$url" >/dev/null 2>&1

spawn tracker in_ns "$NS_TRACK" "$CROWCAST" tracker --listen 10.99.0.2:7070 --racks "$WORK/racks.conf" --interval 2
for r in 1 2; do
  for h in 1 2 3; do
    spawn "get-r${r}h${h}" in_ns "$(host_ns $r $h)" "$CROWCAST" get "$WORK/rel.torrent" \
      -o "$WORK/out-r${r}h${h}" --tracker "$url" --iface "$(host_ip $r $h)" --json --seed-time 30 \
      --relay-rate 80M
    [[ $r$h != 11 ]] || RELAY_PID=$SPAWNED_PID
    # Host 1 announces first: its rack's chain head, so its relay.
    [[ $h -eq 1 ]] && sleep 0.5
  done
done
joined() { [[ $(cat "$WORK"/get-*.log | grep -c '"event":"joined"') -eq 6 ]]; }
wait_until 20 joined || fail "not every host joined its group"
spawn seed in_ns "$NS_SEED" "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel.bin" --tracker "$url" \
  --iface 10.99.0.1 --listen 10.99.0.1:7071 --rate 90M
start=$SECONDS
hosts=6
if [[ $KILL == 1 ]]; then
  sleep 1.5
  kill -9 "$RELAY_PID"
  hosts=5
  log "killed rack 1's relay (r1h1) with -9"
fi
completed() { [[ $(cat "$WORK"/get-*.log | grep -c '"event":"complete"') -eq $hosts ]]; }
wait_until 120 completed || fail "not every host completed"
log "all $hosts hosts complete $((SECONDS - start))s after the seeder started"

want=$(sha256sum <"$WORK/rel.bin")
for r in 1 2; do
  relays=$({ grep -l 'names this peer its rack.s relay' "$WORK"/get-r${r}h*.log || true; } | wc -l)
  if [[ $MIX$r == 11 ]]; then # direct
    [[ $relays -eq 0 ]] || fail "rack 1 is direct, yet a host of it was named relay"
  else
    [[ $relays -ge 1 ]] || fail "rack $r: no host was named relay"
  fi
  for h in 1 2 3; do
    [[ $KILL$r$h != 111 ]] || continue
    f="$WORK/get-r${r}h${h}.log"
    [[ $(sha256sum <"$WORK/out-r${r}h${h}/rel.bin") == "$want" ]] || fail "r${r}h${h}: data differs"
    read -r mc tcp cross < <(get_bytes "$f" "$r")
    role=peer
    grep -q 'names this peer its rack.s relay' "$f" && role=relay
    log "r${r}h${h} ($role): multicast $mc, TCP $tcp, from outside the rack $cross"
    if [[ $role == peer || $MIX$r == 11 ]]; then # a direct rack's hosts all take the seeder's stream
      [[ $mc -gt $((SIZE / 2)) ]] || fail "r${r}h${h}: only $mc bytes came by multicast"
      [[ $cross -lt $((SIZE / 4)) ]] || fail "r${r}h${h}: $cross bytes over TCP from outside the rack"
    fi
  done
done
# Routed: the seeder sent no datagram (the tracker gave it no group), and nothing routes multicast into
# a rack: every datagram a rack's peers took came from its relay, inside the rack. Mixed: the seeder
# streamed to rack 1's group alone (the flat fabric's snooping may still leak some of it into rack 2).
into1=$(topo_mcast_count 1) into2=$(topo_mcast_count 2)
log "multicast packets into rack 1 from its uplink: $into1, rack 2: $into2"
if [[ $MIX == 1 ]]; then
  grep -q 'multicasting rel.bin to 1 group(s)' "$WORK/seed.log" || fail "the seeder did not stream to rack 1's group alone"
  [[ $into1 -gt 0 ]] || fail "the seeder's stream did not reach rack 1 (direct)"
else
  sent=$(topo_mcast_count seed)
  log "multicast packets from the seeder: $sent"
  [[ $sent -eq 0 ]] || fail "the seeder multicast $sent packets though every rack is relayed"
  [[ $into1 -eq 0 && $into2 -eq 0 ]] || fail "multicast crossed the router into a rack"
fi
log "ok"
