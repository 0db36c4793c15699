#!/usr/bin/env bash
# `crowcast probe` finds a rate limit configured on one rack's uplink (needs root): netns.sh builds
# a seeder host, a tracker host and 2 racks of 2 hosts with 200 Mbit/s host links and rack uplinks;
# then rack 2's uplink (core -> rack) is cut to 60 Mbit/s with tbf (a 50 ms queue: the sender's
# pacing is user space on a loaded 2-core machine, and a shorter queue turns its stalls into loss at
# any rate). A tracker maps each rack to its own group, `probe recv` runs on every
# host, `probe send` on the seeder steps from 30 to 90 Mbit/s by 10%.
#
# What is compared: the probe's rates are IP level (IP + UDP headers + datagram header + payload,
# 1468 bytes a datagram); tbf counts Ethernet frames (14 bytes more), so its 60 Mbit/s carry
# 60 x 1468/1482 = 59.43 Mbit/s at the IP level. Rack 2's reported limit must be within 15% of
# that, loss beyond it must be rack-wide (both hosts), and rack 1's limit clearly higher. (The queue
# lets a 1 s step overshoot the limit by up to 5% without loss: the steps are 10% apart.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/netns.sh"
"$CROWCAST" help | grep -q '^  probe' || skip "this build has no 'crowcast probe'"
need_cmd python3 bridge

LIMIT_MBIT=60
topo_start=$SECONDS
topo_create 2 2 200 200
in_ns "$NS_SW" tc qdisc replace dev dn2 root tbf rate "${LIMIT_MBIT}mbit" burst 30000 latency 50ms

port=$(free_port)
g1=239.255.$((RANDOM % 250 + 1)).1 g2=239.255.$((RANDOM % 250 + 1)).2
cat >"$WORK/racks.conf" <<RACKS
rack r1 10.99.1.0/24 $g1:$port
rack r2 10.99.2.0/24 $g2:$port
RACKS
url=http://10.99.0.2:7070
spawn tracker in_ns "$NS_TRACK" "$CROWCAST" tracker --listen 10.99.0.2:7070 --racks "$WORK/racks.conf"
wait_until 10 in_ns "$NS_TRACK" ss -Hltn "sport = :7070" || fail "the tracker does not listen"
for r in 1 2; do
  for h in 1 2; do
    spawn "recv-r${r}h$h" in_ns "$(host_ns $r $h)" "$CROWCAST" probe recv --tracker "$url" \
      --iface "$(host_ip $r $h)" --idle 5 --timeout 120 --json
  done
done
joined() { [[ $(cat "$WORK"/recv-*.log | grep -c 'joined 239') -eq 4 ]]; }
wait_until 20 joined || fail "not every receiver joined its rack's group: $(cat "$WORK"/recv-*.log)"

# Until IGMP snooping has learned who joined what, and a bridge has seen a querier, the bridges
# flood every group everywhere and rack 2's uplink would carry both racks' streams: wait until each
# group goes to its own rack only and each rack bridge heard the core's queries on its uplink (it
# lists the uplink as a router port).
members() { bridge -n "$NS_SW" mdb show | awk -v g="$1" '$6 == g {printf "%s:%s ", $2, $4}'; }
separated() {
  local m1 m2
  m1=$(members "$g1") m2=$(members "$g2")
  [[ $(grep -o 'rack1:p[0-9]*' <<<"$m1" | wc -l) -eq 2 && $(grep -o 'rack2:p[0-9]*' <<<"$m2" | wc -l) -eq 2 &&
    $m1 == *core:dn1* && $m2 == *core:dn2* && $m1 != *dn2* && $m2 != *dn1* ]] || return 1
  local routers; routers=$(bridge -d -n "$NS_SW" mdb show | grep 'router ports on')
  [[ $routers == *"rack1: up1"* && $routers == *"rack2: up2"* ]]
}
wait_until 40 separated || fail "IGMP snooping did not learn the groups: $(bridge -n "$NS_SW" mdb show)"
# And a querier bridge floods every group for the query response interval after it came up
# (mcast_query_response_intvl, 10 s: members get time to answer the first query) whatever its table
# says: rack 2's uplink carries rack 1's group until then.
core_flooding() { ((SECONDS - topo_start < 12)); }
wait_until 20 eval '! core_flooding'

start=$SECONDS
rc=0
timeout 90 ip netns exec "$NS_SEED" "$CROWCAST" probe send --tracker "$url" --iface 10.99.0.1 \
  --from 30M --to 90M --step-factor 1.1 --step-time 1 --receivers 4 --join-wait 20 --json \
  >"$WORK/result.json" 2>"$WORK/send.log" || rc=$?
[[ $rc -eq 0 ]] || fail "probe send exited $rc: $(cat "$WORK/send.log")"
log "probe ran $((SECONDS - start)) s"

python3 - "$WORK/result.json" "$LIMIT_MBIT" <<'PY' || fail "verdict check failed (result: $WORK/result.json)"
import json, sys
res = json.load(open(sys.argv[1]))
configured_ip = float(sys.argv[2]) * 1e6 * 1468 / 1482
racks = {r["rack"]: r for r in res["racks"]}
for s in res["steps"]:
    losses = " ".join("%s %.2f%%" % (h["host"], h["loss_pct"]) for h in s["hosts"])
    print("step %2d  rate %6.1f  achieved %6.1f Mbit/s  %s" % (s["step"], s["rate_bps"] / 1e6, s["achieved_bps"] / 1e6, losses))
r1, r2 = racks["r1"], racks["r2"]
err = abs(r2["limit_bps"] - configured_ip) / configured_ip
print("rack r2: found %.2f Mbit/s, configured %.2f Mbit/s (IP level; tbf %s Mbit/s of frames): %+.1f%%; "
      "loss from %.2f Mbit/s is %s (%.1f%%), %.2f Mbit/s delivered there"
      % (r2["limit_bps"] / 1e6, configured_ip / 1e6, sys.argv[2], 100 * (r2["limit_bps"] - configured_ip) / configured_ip,
         r2["fail_bps"] / 1e6, r2["where"], r2["worst_loss_pct"], r2["delivered_bps"] / 1e6))
print("rack r1: found %.2f Mbit/s (%s)" % (r1["limit_bps"] / 1e6, r1["where"]))
ok = True
if err > 0.15:
    print("FAIL: rack r2's limit is off by more than 15%"); ok = False
if r2["where"] != "rack-wide" or r2["hosts_over"] != 2:
    print("FAIL: rack r2's loss is not classified rack-wide"); ok = False
if r1["limit_bps"] < 1.3 * r2["limit_bps"]:
    print("FAIL: rack r1's limit is not clearly above rack r2's"); ok = False
if r1["where"] == "rack-wide":
    print("FAIL: rack r1 (200 Mbit/s uplink) lost rack-wide"); ok = False
sys.exit(0 if ok else 1)
PY
log "PASS"
