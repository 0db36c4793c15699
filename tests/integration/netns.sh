# Emulated datacenter in network namespaces (sourced after lib.sh; needs root).
#
#   topo_create RACKS HOSTS [HOST_RATE_MBIT] [UPLINK_RATE_MBIT]
#
# builds, all inside namespaces this script creates (nothing touches the root namespace's links):
#   $NS_SW       the "switch": a core bridge and one bridge per rack (IGMP snooping on everywhere,
#                the core bridge alone is the querier), rack bridges joined to the core by uplinks
#   $NS_SEED     seeder host 10.99.0.1, on the core bridge
#   $NS_TRACK    tracker host 10.99.0.2, on the core bridge
#   host r h     rack r (1..RACKS) host h (1..HOSTS): namespace "$(host_ns r h)", address 10.99.r.h
# Host links and rack uplinks are shaped with tbf when rates are given; offloads are off so shaping
# and loss act on real frames. topo_loss NS DEV PPM adds random loss with an nftables counter.
# TOPO_MTU (default: the kernel's 1500) sets the MTU of both ends of every veth and of every bridge,
# e.g. 9000 for jumbo frames.
#
#   topo_create_routed RACKS HOSTS [HOST_RATE_MBIT] [UPLINK_RATE_MBIT]
#
# builds the same hosts (same namespaces and addresses, but /24s) on a ROUTED fabric instead: no
# core bridge; a router namespace $NS_RT (ip_forward=1, no multicast routing) is the gateway
# 10.99.R.254 of every rack and 10.99.0.254 of the seeder's segment (bridge seg0 in $NS_SW with
# $NS_SEED and $NS_TRACK); each rack bridge is its own IGMP querier (address 10.99.R.253). Unicast
# crosses racks, multicast stays in its segment. The uplinks are router dnR <-> upR on rack R's
# bridge. $TOPO_KIND says which fabric was built (flat or routed).
#   topo_uplink_loss R PPM        random loss on the rack side of rack R's uplink: every host of the
#                                 rack misses the same frames (topo_loss_count "$NS_SW" counts them)
#   topo_loss_clear NS            removes what topo_loss (or topo_uplink_loss) added in NS
#   topo_mcast_watch              counts multicast UDP arriving at each rack from its uplink (and,
#   topo_mcast_count R|seed|router  routed, what the seeder sent and what reached the router)
# Everything is removed by the cleanup that lib.sh runs on exit (also after failure or Ctrl-C).

need_root
need_cmd ip tc nft ethtool

TOPO_ID="cw$$"
NS_SW="${TOPO_ID}sw"
NS_SEED="${TOPO_ID}seed"
NS_TRACK="${TOPO_ID}trk"
NS_RT="${TOPO_ID}rt"
TOPO_NS=()
TOPO_KIND=

host_ns() { echo "${TOPO_ID}r$1h$2"; }
host_ip() { echo "10.99.$1.$2"; }
# in_ns NS CMD...: runs CMD inside namespace NS.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

topo_destroy() {
  for ns in "${TOPO_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  TOPO_NS=()
}

_new_ns() {
  ip netns add "$1"
  TOPO_NS+=("$1")
  ip -n "$1" link set lo up
}

# _shape NS DEV MBIT: token bucket on DEV's egress.
_shape() {
  local ns=$1 dev=$2 mbit=$3
  [[ -n "$mbit" && "$mbit" != 0 ]] || return 0
  # burst: at least a few MTU-sized frames, ~2 ms of traffic at the rate
  local burst=$(( mbit * 1000000 / 8 / 500 )); (( burst < 15000 )) && burst=15000
  (( burst >= 2 * (${TOPO_MTU:-1500} + 14) )) || burst=$(( 2 * (${TOPO_MTU:-1500} + 14) ))
  ip netns exec "$ns" tc qdisc replace dev "$dev" root tbf rate "${mbit}mbit" burst "$burst" latency 100ms
}

_plain_link() {
  ip netns exec "$1" ethtool -K "$2" gro off gso off tso off >/dev/null 2>&1 || true
  [[ -z ${TOPO_MTU:-} ]] || ip -n "$1" link set "$2" mtu "$TOPO_MTU"
}

# _attach_host NS IP BRIDGE MBIT [PREFIX [GATEWAY]]: veth from host NS (eth0, address IP/PREFIX,
# default /16) to BRIDGE in the switch; GATEWAY becomes its default route.
_attach_host() {
  local ns=$1 ip=$2 bridge=$3 mbit=${4:-} prefix=${5:-16} gw=${6:-} port="p${#TOPO_NS[@]}"
  ip link add "${TOPO_ID}tmp" type veth peer name "$port" netns "$NS_SW"
  ip link set "${TOPO_ID}tmp" netns "$ns"
  ip -n "$ns" link set "${TOPO_ID}tmp" name eth0
  ip -n "$ns" addr add "$ip/$prefix" brd + dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add 224.0.0.0/4 dev eth0
  [[ -z $gw ]] || ip -n "$ns" route add default via "$gw" dev eth0
  ip -n "$NS_SW" link set "$port" master "$bridge" up
  _plain_link "$ns" eth0
  _plain_link "$NS_SW" "$port"
  _shape "$ns" eth0 "$mbit"
  _shape "$NS_SW" "$port" "$mbit"
}

# _bridge NAME QUERIER: a snooping bridge in the switch. Its queries are IGMPv3 unless
# TOPO_IGMP_VERSION says otherwise (the kernel's default is v2): hosts that hear v2 queries
# answer in v2, whose reports go to the group itself, so once the bridge knows one member it
# forwards that report to the others, and an IGMPv2 host that hears another's report for its
# group drops its own (report suppression): the bridge then never learns its port. In v3 nobody
# suppresses a report. (probe_netns failed on this: "IGMP snooping did not learn the groups".)
_bridge() {
  local name=$1 querier=$2
  ip -n "$NS_SW" link add "$name" type bridge mcast_snooping 1 mcast_querier "$querier" \
    mcast_igmp_version "${TOPO_IGMP_VERSION:-3}"
  [[ -z ${TOPO_MTU:-} ]] || ip -n "$NS_SW" link set "$name" mtu "$TOPO_MTU"
  ip -n "$NS_SW" link set "$name" up
}

topo_create() {
  local racks=$1 hosts=$2 host_mbit=${3:-} uplink_mbit=${4:-}
  TOPO_RACKS=$racks TOPO_HOSTS=$hosts TOPO_KIND=flat
  at_exit topo_destroy
  _new_ns "$NS_SW"
  _bridge core 1
  ip netns exec "$NS_SW" sh -c 'echo 1 > /sys/class/net/core/bridge/multicast_query_use_ifaddr'
  ip -n "$NS_SW" addr add 10.99.255.254/16 dev core
  _new_ns "$NS_SEED"; _attach_host "$NS_SEED" 10.99.0.1 core "$host_mbit"
  _new_ns "$NS_TRACK"; _attach_host "$NS_TRACK" 10.99.0.2 core
  for ((r = 1; r <= racks; r++)); do
    _bridge "rack$r" 0
    ip -n "$NS_SW" link add "up$r" type veth peer name "dn$r"
    ip -n "$NS_SW" link set "up$r" master "rack$r" up
    ip -n "$NS_SW" link set "dn$r" master core up
    _plain_link "$NS_SW" "up$r"; _plain_link "$NS_SW" "dn$r"
    _shape "$NS_SW" "up$r" "$uplink_mbit"
    _shape "$NS_SW" "dn$r" "$uplink_mbit"
    for ((h = 1; h <= hosts; h++)); do
      _new_ns "$(host_ns "$r" "$h")"
      _attach_host "$(host_ns "$r" "$h")" "$(host_ip "$r" "$h")" "rack$r" "$host_mbit"
    done
  done
}

# topo_loss NS DEV PPM: drops PPM per million frames arriving on DEV (nftables netdev ingress,
# counted). topo_loss_count NS prints how many it dropped.
topo_loss() {
  local ns=$1 dev=$2 ppm=$3
  ip netns exec "$ns" nft -f - <<NFT
table netdev crowloss {
  chain in_$dev { type filter hook ingress device "$dev" priority 0; numgen random mod 1000000 < $ppm counter drop; }
}
NFT
}
topo_loss_count() {
  ip netns exec "$1" nft list table netdev crowloss 2>/dev/null | awk '/counter/ {for (i=1;i<=NF;i++) if ($i=="packets") s+=$(i+1)} END {print s+0}'
}

topo_loss_clear() {
  ip netns exec "$1" nft delete table netdev crowloss 2>/dev/null || true
}
# topo_uplink_loss R PPM: drops PPM per million frames entering rack R's bridge from its uplink
# (core or router -> rack), before the bridge copies them to the hosts. veths pass UDP GSO batches
# whole (tx-udp-segmentation stays on with gso off), so the far end (dnR) is made to segment them
# first: the rule then sees, and drops, single datagrams, not batches of them.
topo_uplink_loss() {
  ip netns exec "$([[ $TOPO_KIND == routed ]] && echo "$NS_RT" || echo "$NS_SW")" \
    ethtool -K "dn$1" tx-udp-segmentation off >/dev/null 2>&1 || true
  topo_loss "$NS_SW" "up$1" "$2"
}

# topo_uplink_bytes R: bytes that crossed rack R's uplink towards the rack (core or router -> rack).
topo_uplink_bytes() {
  ip netns exec "$([[ $TOPO_KIND == routed ]] && echo "$NS_RT" || echo "$NS_SW")" \
    cat "/sys/class/net/dn$1/statistics/tx_bytes"
}

# topo_create_routed RACKS HOSTS [HOST_MBIT] [UPLINK_MBIT]: the routed fabric described on top.
topo_create_routed() {
  local racks=$1 hosts=$2 host_mbit=${3:-} uplink_mbit=${4:-} r h
  TOPO_RACKS=$racks TOPO_HOSTS=$hosts TOPO_KIND=routed
  at_exit topo_destroy
  _new_ns "$NS_SW"
  _new_ns "$NS_RT"
  ip netns exec "$NS_RT" sysctl -qw net.ipv4.ip_forward=1
  # The seeder's segment: the router's rt0 on bridge seg0, with the seeder and the tracker host.
  _routed_segment seg0 10.99.0 rt0 up0 "$uplink_mbit"
  _new_ns "$NS_SEED"; _attach_host "$NS_SEED" 10.99.0.1 seg0 "$host_mbit" 24 10.99.0.254
  TOPO_SEED_PORT="p$((${#TOPO_NS[@]}))" # the seeder's port on seg0, as _attach_host named it
  _new_ns "$NS_TRACK"; _attach_host "$NS_TRACK" 10.99.0.2 seg0 "" 24 10.99.0.254
  for ((r = 1; r <= racks; r++)); do
    _routed_segment "rack$r" "10.99.$r" "dn$r" "up$r" "$uplink_mbit"
    for ((h = 1; h <= hosts; h++)); do
      _new_ns "$(host_ns "$r" "$h")"
      _attach_host "$(host_ns "$r" "$h")" "$(host_ip "$r" "$h")" "rack$r" "$host_mbit" 24 "10.99.$r.254"
    done
  done
}
# _routed_segment BRIDGE NET ROUTER_DEV BRIDGE_PORT MBIT: bridge NET.0/24 in the switch, its own IGMP
# querier (NET.253), linked to the router (ROUTER_DEV, address NET.254) through BRIDGE_PORT.
_routed_segment() {
  local br=$1 net=$2 rdev=$3 port=$4 mbit=$5
  _bridge "$br" 1
  ip netns exec "$NS_SW" sh -c "echo 1 > /sys/class/net/$br/bridge/multicast_query_use_ifaddr"
  ip -n "$NS_SW" addr add "$net.253/24" dev "$br"
  ip -n "$NS_RT" link add "$rdev" type veth peer name "$port" netns "$NS_SW"
  ip -n "$NS_RT" addr add "$net.254/24" brd + dev "$rdev"
  ip -n "$NS_RT" link set "$rdev" up
  ip -n "$NS_SW" link set "$port" master "$br" up
  _plain_link "$NS_RT" "$rdev"; _plain_link "$NS_SW" "$port"
  _shape "$NS_RT" "$rdev" "$mbit"
  _shape "$NS_SW" "$port" "$mbit"
}

# topo_mcast_watch: nftables counters (no drop) of multicast UDP entering each rack's bridge from
# its uplink and, on the routed fabric, entering the switch from the seeder (what it sent) and
# entering the router from the seeder's segment. On the routed fabric the racks' counts must stay 0
# (nothing routes multicast). topo_mcast_count R|seed|router [bytes] prints rack R's count (or the
# seeder's, or the router's) in packets, or in bytes (IP level; a UDP GSO batch the seeder sends
# is one packet there, so its bytes are the measure of what it sent).
topo_mcast_watch() {
  local r rules= mc='ip daddr 224.0.0.0/4 meta l4proto udp counter'
  for ((r = 1; r <= TOPO_RACKS; r++)); do
    rules+="chain in_up$r { type filter hook ingress device \"up$r\" priority 10; $mc; }"$'\n'
  done
  [[ $TOPO_KIND != routed ]] ||
    rules+="chain in_seed { type filter hook ingress device \"$TOPO_SEED_PORT\" priority 10; $mc; }"$'\n'
  ip netns exec "$NS_SW" nft -f - <<<"table netdev crowmc {"$'\n'"$rules}"
  [[ $TOPO_KIND != routed ]] ||
    ip netns exec "$NS_RT" nft -f - <<<"table netdev crowmc {"$'\n'"chain in_rt0 { type filter hook ingress device \"rt0\" priority 10; $mc; }"$'\n'"}"
}
topo_mcast_count() {
  local ns=$NS_SW chain="in_up$1" field=packets
  [[ $1 == seed ]] && chain=in_seed
  [[ $1 == router ]] && ns=$NS_RT chain=in_rt0
  [[ ${2:-} == bytes ]] && field=bytes
  ip netns exec "$ns" nft list chain netdev crowmc "$chain" 2>/dev/null |
    awk -v f="$field" '/counter/ {for (i=1;i<=NF;i++) if ($i==f) s+=$(i+1)} END {print s+0}'
}

# get_bytes LOG R: "MCAST TCP CROSS" of a `crowcast get --json` log of a host of rack R: bytes taken by
# multicast, over TCP, and over TCP from outside rack R (other racks' hosts or the seeder; a host that
# took nothing over TCP has no source event).
get_bytes() {
  local line mc tcp cross
  line=$(grep '"event":"complete"' "$1")
  mc=$(sed 's/.*"bytes_mcast":\([0-9]*\).*/\1/' <<<"$line")
  tcp=$(sed 's/.*"bytes_tcp":\([0-9]*\).*/\1/' <<<"$line")
  cross=$({ grep '"event":"source"' "$1" || true; } | awk -v rack="10.99.$2." '
    { addr = $0; sub(/.*"addr":"/, "", addr); sub(/".*/, "", addr)
      b = $0; sub(/.*"bytes":/, "", b); sub(/[^0-9].*/, "", b)
      if (index(addr, rack) != 1) s += b } END { print s + 0 }')
  echo "$mc $tcp $cross"
}
