#!/usr/bin/env bash
# Emulated datacenter: crowcast against stock distribution tools, side by side, on one topology
# and one release. Needs root (network namespaces); exits 77 with the reason otherwise.
#
# usage: bench/datacenter.sh [options]
#   --racks R          racks (default 3)             --hosts H        hosts per rack (default 4)
#   --host-mbit M      host links (default 100)      --uplink-mbit M  rack uplinks (default 400)
#   --size SIZE        release size (default 64M)    --rate RATE      multicast rate (default 95M)
#   --sizes LIST       comma list of sizes (e.g. 64M,256M): the noloss round of --tools (default
#                      crowcast,udpcast,uftp,bittorrent) at each size, each in OUT/size-SIZE, then
#                      per tool last host / S/B at each size and the fit t = fixed + slope x S/B
#                      (bench/datacenter_fit.py, OUT/fit.md); crowcast's slope is set against its
#                      framing floor, frame / chunk bytes (1482 / 1408 = 1.053 at the default chunk) / (rate / host link)
#   --mtu N            MTU of every veth and bridge (default the kernel's 1500; 9000: jumbo frames).
#                      The release is made with `crowcast make --mtu N` (the largest chunk that
#                      fits: 8920 bytes at 9000) and uftp gets -b N-200 (8800 at 9000, the block
#                      size its manual advises: 100-200 bytes under the MTU); udpcast keeps its
#                      blocks (1456 bytes is its maximum). The framing floor follows the chunk size
#   --loss PPM         the 'loss' round drops PPM per million frames on every host's eth0
#                      ingress (default 5000 = 0.5%; 0 = no loss round)
#   --tools LIST       comma list of crowcast,tcp-chain,http,bittorrent,udpcast,uftp (default all):
#                      what the noloss and loss rounds run
#   --scenario LIST    comma list of what to run, in that order (default: noloss,loss, the rounds
#                      above). Named crowcast scenarios (crowcast only, as deployed with DEFAULT
#                      flags: a tracker with a racks file, `seed T FILE --tracker URL --iface IP
#                      --rate RATE`, `get T -o DIR --tracker URL --iface IP --seed-time 20`):
#        plain              no fault: the reference for the others
#        rack-loss          --rack-loss PCT random loss on the rack side of rack --fault-rack's
#                           uplink: every host of that rack misses the same frames (counted)
#        routed             a routed fabric (each rack its own /24, bridge and IGMP querier; a router
#                           namespace, no multicast routing): no multicast reaches any rack, checked
#                           with nftables counters; the ratio is against racks x S/B
#        skew-peers-first   the peers start 5 s before the seeder
#        skew-seeder-first  the seeder starts 3 s (or S/B/2 if less) before the peers: they join
#                           mid-pass
#        late-join          the last host of every rack starts S/B + 2 s after the seeder
#        head-kill          rack --fault-rack's chain head (tracker /status, checked against its log
#                           line 'chain position 0') gets kill -9 at S/B/2; it is excluded, every
#                           other host must verify
#        seeder-restart     the seeder gets kill -9 at S/B/2 and the same command again 2 s later; the
#                           ratio is against S/B + those 2 s (nothing can send while it is dead)
#        faults             all seven above except plain
#        delta              the next build of a tree (DELTA_FILES=1000 files, --size bytes, 1G unless
#                           given; DELTA_CHANGED=20 of them changed, made with make --previous) to
#                           hosts that hold nothing (full) and to hosts that hold v1 (get --previous):
#                           bytes by multicast / TCP / from disk per host, the seeder's, the time
#                           (bench/datacenter_delta.sh; results in DIR/delta.md, DIR/delta.jsonl)
#   --runs N           run every scenario (every tool of a round) N times (default 1); the table
#                      then also gives per scenario the median and worst last / ideal and how many
#                      runs had every host verified
#   --rack-loss PCT    loss of rack-loss, in percent (default 2)
#   --fault-rack R     the rack of rack-loss and head-kill (default 1)
#   --mcast-key FILE   crowcast's seeder and gets authenticate every datagram with this secret (the
#                      fleet's --mcast-key; 16-64 random bytes, mode 600): the cost of authentication
#   --igmp 2|3         IGMP version of the bridges' queries (default 3). With 2 (the kernel's
#                      default, what this bench used before) hosts suppress their report when they
#                      hear another member's, the snooping bridges miss some members for up to a
#                      query interval, and those hosts get no multicast (seen: 1-3 of 12 ports)
#   --budget S         wall-clock budget for everything (default 570; none when --scenario is
#                      given): a round's timeout is cut to what is left; a named scenario's is
#                      never cut, it is reported skipped when it no longer fits
#   --out DIR          results (default: bench-datacenter next to the crowcast binary)
#   env CROWCAST       the crowcast binary (default build/crowcast, then build-*/crowcast)
#
# Topology (tests/integration/netns.sh): a core bridge with the seeder 10.99.0.1 and the tracker
# host 10.99.0.2, one bridge per rack behind a shaped uplink, hosts 10.99.R.H; IGMP snooping on.
# The routed scenario builds topo_create_routed instead (same hosts and rates, a router in place of
# the core) and the others build the bridged fabric back when they come after it.
# Every scenario starts from empty host directories (on tmpfs, so disks do not limit), and t0 is
# the moment the source starts sending (receivers that only wait, such as udp-receiver or a
# joined crowcast get, start before it; HTTP/BitTorrent/TCP-chain clients start at t0 with the
# server already up; in the named scenarios, hosts that start later or earlier are timed from t0
# all the same). A host's time is when its tool says it is done (crowcast and aria2c hash
# every piece before that; curl, udpcast and uftp do not); afterwards every host's file is
# compared with the source (cmp), and a host whose file differs counts as not done.
# Counters are read when the last host is done: the seeder's eth0 tx bytes and each rack's
# core->rack uplink tx bytes, both as copies of the release (wire bytes, headers included).
# A named scenario's time limit is 6 x its ideal + 20 s (+ the delays it adds), so a stall shows
# as a timeout; every run prints its last host / ideal, and a run where a host did not finish
# prints which hosts and the tail of their logs (and of the seeder's).
#
# Output in DIR: results.md (the table), results.json, cdf-<round>.png (completion-time CDF per
# tool), raw.jsonl (one line per run), logs/ (every process's output: <round>-<tool>-<host>.log,
# <round>.<run>-... from the second run on).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${CROWCAST:-} ]]; then
  for c in "$root/build/crowcast" "$root"/build-*/crowcast; do [[ -x $c ]] && { CROWCAST=$c; break; }; done
fi
[[ -x ${CROWCAST:-} ]] || { echo "datacenter: no crowcast binary; build first or set CROWCAST" >&2; exit 2; }
export CROWCAST CROW_SOURCE_DIR=$root

racks=3 hosts=4 host_mbit=100 uplink_mbit=400 size_text=64M size_given= rate=95M loss_ppm=5000 budget=
tools=crowcast,tcp-chain,http,bittorrent,udpcast,uftp out= scenarios= runs=1 rack_loss_pct=2 fault_rack=1 igmp=3
mtu= MKEY=() sizes="" FWD=() # FWD: the options a --sizes run passes on to each size's run
while [[ $# -gt 0 ]]; do
  case $1 in --sizes | --size | --out | --tools | --scenario | --loss | --budget) ;; *) FWD+=("$1" "${2:-}") ;; esac
  case $1 in
    --racks) racks=$2 ;; --hosts) hosts=$2 ;; --host-mbit) host_mbit=$2 ;; --uplink-mbit) uplink_mbit=$2 ;;
    --size) size_text=$2 size_given=1 ;; --rate) rate=$2 ;; --loss) loss_ppm=$2 ;; --tools) tools=$2 ;;
    --budget) budget=$2 ;; --out) out=$2 ;; --scenario) scenarios=$2 ;; --runs) runs=$2 ;;
    --mtu) mtu=$2 ;;
    --rack-loss) rack_loss_pct=$2 ;; --fault-rack) fault_rack=$2 ;; --igmp) igmp=$2 ;; --sizes) sizes=$2 ;;
    --mcast-key) MKEY=(--mcast-key "$(realpath "$2")") ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "datacenter: unknown option '$1' (--help)" >&2; exit 2 ;;
  esac
  shift 2 || { echo "datacenter: $1 wants a value" >&2; exit 2; }
done
[[ $igmp == 2 || $igmp == 3 ]] || { echo "datacenter: --igmp wants 2 or 3" >&2; exit 2; }
[[ -z $mtu ]] || { [[ $mtu =~ ^[0-9]+$ ]] && ((mtu >= 1500 && mtu <= 65535)); } ||
  { echo "datacenter: --mtu wants 1500..65535" >&2; exit 2; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "datacenter: --runs wants a count >= 1" >&2; exit 2; }
[[ $fault_rack =~ ^[1-9][0-9]*$ ]] && ((fault_rack <= racks)) ||
  { echo "datacenter: --fault-rack wants a rack 1..$racks" >&2; exit 2; }
rack_loss_ppm=$(python3 -c "import sys; v = float(sys.argv[1]); assert 0 < v < 100; print(round(v * 1e4))" \
  "$rack_loss_pct" 2>/dev/null) || { echo "datacenter: --rack-loss wants a percentage (0..100), e.g. 2" >&2; exit 2; }
FAULTS=rack-loss,routed,skew-peers-first,skew-seeder-first,late-join,head-kill,seeder-restart
if [[ -z $scenarios ]]; then
  scenarios=noloss
  ((loss_ppm > 0)) && scenarios+=,loss
  budget=${budget:-570}
fi
budget=${budget:-0} # 0: no overall budget (every scenario still has its own time limit)

# shellcheck source=../tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
# shellcheck source=../tests/integration/netns.sh
source "$root/tests/integration/netns.sh"
TOPO_IGMP_VERSION=$igmp
TOPO_MTU=$mtu
need_cmd python3 cmp setsid
out=${out:-$CROW_BUILD_DIR/bench-datacenter}
size=$(numfmt --from=iec "${size_text%B}")
mkdir -p "$out"
if [[ -n $sizes ]]; then
  # One run of this script per size (its own topology, release and budget-free limits), then the fit.
  [[ $tools == crowcast,tcp-chain,http,bittorrent,udpcast,uftp ]] && tools=crowcast,udpcast,uftp,bittorrent
  dirs=()
  IFS=, read -r -a size_list <<<"$sizes"
  for s in "${size_list[@]}"; do
    dirs+=("$out/size-$s")
    "$0" "${FWD[@]}" --size "$s" --loss 0 --tools "$tools" --budget 0 --out "$out/size-$s" || exit $?
  done
  python3 "$root/bench/datacenter_fit.py" "$out" "${dirs[@]}"
  cat "$out/fit.md"
  exit 0
fi
rm -rf "$out/logs" && mkdir "$out/logs"
: >"$out/raw.jsonl"
: >"$out/delta.jsonl"

DATA=$(mktemp -d /dev/shm/crowcast-dc.XXXXXX)
at_exit "rm -rf '$DATA'"
SRC=$DATA/src/release.bin
TORRENT=$DATA/release.torrent
MARK=$DATA/mark-done # writes the time into $BENCH_DONE: the completion hook of every tool
SEED_IP=10.99.0.1 TRACK_IP=10.99.0.2 PORT=6881
ideal=$(python3 -c "print('%.3f' % ($size * 8 / ($host_mbit * 1e6)))")
sb=$ideal # S / B_host: the ideal of every scenario but routed (racks x S/B)
bench_start=$SECONDS
URL="http://$TRACK_IP:7070/announce"

HOSTS=()
for ((r = 1; r <= racks; r++)); do for ((h = 1; h <= hosts; h++)); do HOSTS+=("$r.$h"); done; done
hdir() { echo "$DATA/h/$1"; }
hns() { host_ns "${1%.*}" "${1#*.}"; }
hip() { host_ip "${1%.*}" "${1#*.}"; }

# --- process handling: every scenario process leads its own session, ended as a group --------
SC_PIDS=()
declare -A CLIENT_PID=() START_AT=()
# sc_spawn NAME NS CMD...: runs CMD in namespace NS, logs to logs/$LOGP-NAME.log (LOGP: the round,
# and .RUN from the second run on); sets SPAWNED_PID (setsid and ip netns exec exec, so it is the
# PID of CMD itself).
sc_spawn() {
  local name=$1 ns=$2; shift 2
  setsid ip netns exec "$ns" "$@" >"$out/logs/$LOGP-$name.log" 2>&1 </dev/null &
  SPAWNED_PID=$!
  SC_PIDS+=("$SPAWNED_PID")
}
# client HOST CMD...: a host's download; the host is finished when its done file appears or
# this process exits.
client() {
  local host=$1; shift
  sc_spawn "$TOOL-$host" "$(hns "$host")" env BENCH_DONE="$DATA/done/$host" "$@"
  CLIENT_PID[$host]=$SPAWNED_PID
  START_AT[$host]=$(now)
}
sc_stop() {
  local pid
  for pid in "${SC_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${SC_PIDS[@]}"; do wait_pid_timeout 3 "$pid" >/dev/null 2>&1 || kill -KILL -- "-$pid" 2>/dev/null || true; done
  SC_PIDS=()
  CLIENT_PID=()
  START_AT=()
}
at_exit sc_stop

now() { date +%s.%N; }
seeder_tx() { in_ns "$NS_SEED" cat /sys/class/net/eth0/statistics/tx_bytes; }
uplinks() { local r; for ((r = 1; r <= racks; r++)); do printf '%s ' "$(topo_uplink_bytes "$r")"; done; }
# drops: frames the loss rules dropped so far, on the hosts and on the rack uplinks.
drops() {
  local h s
  s=$(topo_loss_count "$NS_SW")
  for h in "${HOSTS[@]}"; do s=$((s + $(topo_loss_count "$(hns "$h")"))); done
  echo "$s"
}
# poll SECONDS CMD...: like wait_until, at 20 ms steps (for waits that count in a measurement).
poll() {
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [[ $SECONDS -lt $end ]] || return 1; sleep 0.02; done
}
# mdb_members GROUP: the bridge ports the snooping switch forwards GROUP to.
mdb_members() { bridge -n "$NS_SW" mdb show | awk -v g="$1" '$6 == g {printf "%s:%s ", $2, $4}'; }
# mdb_ready GROUP [N]: N (default every) host ports on the rack bridges and, on the bridged fabric,
# every rack's downlink on the core have joined GROUP, so the sender's first datagram reaches them.
mdb_ready() {
  local m n=${2:-${#HOSTS[@]}}; m=$(mdb_members "$1")
  [[ $(grep -o 'rack[0-9]*:p[0-9]*' <<<"$m" | wc -l) -eq $n ]] || return 1
  [[ $TOPO_KIND == routed || $(grep -o 'core:dn[0-9]*' <<<"$m" | wc -l) -eq $racks ]]
}
# listening NS ADDR:PORT: something listens on that TCP port (any address) in namespace NS.
listening() { in_ns "$1" ss -Hltn "sport = :${2##*:}" | grep -q .; }

# wait_hosts LIMIT [MASTER]: until every host finished, LIMIT seconds passed, or MASTER (the
# sender of a session protocol) exited 3 s ago.
wait_hosts() {
  local limit=$1 master=${2:-} end h left master_gone=
  end=$(python3 -c "import time; print(time.time() + $limit)")
  while :; do
    left=0
    for h in "${HOSTS[@]}"; do
      [[ -s $DATA/done/$h ]] || ! kill -0 "${CLIENT_PID[$h]:-0}" 2>/dev/null || left=$((left + 1))
    done
    [[ $left -eq 0 ]] && return 0
    if [[ -n $master ]] && ! kill -0 "$master" 2>/dev/null; then
      [[ -n $master_gone ]] || master_gone=$SECONDS
      ((SECONDS - master_gone >= 3)) && return 1
    fi
    [[ $(date +%s) -lt ${end%.*} ]] || return 1
    sleep 0.1
  done
}

# --- scenarios: each starts its processes, sets T0, and returns after wait_hosts -----------
# crowcast hybrid, as deployed: a crowcast tracker with a racks file (each rack's /24, all racks
# sharing ONE group: the seeder's link carries one copy and the snooping bridges deliver it to each
# rack once) tells every host its group and its rack neighbours in chain order; the rack's chain head
# alone may repair from outside the rack. --mcast-timeout 10: on a loaded 2-core machine the seeder
# can take more than the default 3 s to send its first datagram after the joins.
sc_crowcast() {
  local h r url="http://$TRACK_IP:7070/announce"
  for ((r = 1; r <= racks; r++)); do echo "rack r$r 10.99.$r.0/24 239.99.0.1:7000"; done >"$DATA/racks.conf"
  sc_spawn tracker "$NS_TRACK" "$CROWCAST" tracker --listen "$TRACK_IP:7070" --racks "$DATA/racks.conf" --interval 2
  wait_until 10 listening "$NS_TRACK" "$TRACK_IP:7070" || fail "crowcast tracker did not listen"
  for h in "${HOSTS[@]}"; do
    client "$h" "$CROWCAST" get "$TORRENT" -o "$(hdir "$h")" --tracker "$url" --iface "$(hip "$h")" \
      --listen "$(hip "$h"):$PORT" --mcast-timeout 10 --seed-time 3600 --json --on-complete "$MARK" "${MKEY[@]}"
  done
  wait_until 20 all_joined || log "not every crowcast get reported joined within 20 s"
  poll 10 mdb_ready 239.99.0.1 || log "IGMP snooping has not learned every member of 239.99.0.1: $(mdb_members 239.99.0.1)"
  T0=$(now)
  sc_spawn seeder "$NS_SEED" "$CROWCAST" seed "$TORRENT" "$SRC" --tracker "$url" --iface "$SEED_IP" \
    --rate "$rate" --listen "$SEED_IP:$PORT" --json "${MKEY[@]}"
  wait_hosts "$LIMIT"
}
# all_joined [HOST...]: every given host (default all) has logged its "joined" event.
all_joined() {
  local h
  (($# > 0)) || set -- "${HOSTS[@]}"
  for h in "$@"; do grep -q '"joined"' "$out/logs/$LOGP-$TOOL-$h.log" || return 1; done
}

# crowcast TCP-only chain: host i pulls only from host i-1 (the first from the seeder), in rack
# order, so each uplink carries one copy.
sc_tcp_chain() {
  local h prev=$SEED_IP prev_h=
  sc_spawn seeder "$NS_SEED" "$CROWCAST" seed "$TORRENT" "$SRC" --listen "$SEED_IP:$PORT"
  wait_until 10 listening "$NS_SEED" "$SEED_IP:$PORT" || fail "crowcast seed did not listen"
  T0=$(now)
  # In order, each once its predecessor listens: crowcast get dials a static --peer once and does
  # not retry a refused connection (the waits count against crowcast).
  for h in "${HOSTS[@]}"; do
    [[ $prev == "$SEED_IP" ]] || poll 10 listening "$(hns "$prev_h")" "$prev:$PORT" || log "$prev_h does not listen"
    client "$h" "$CROWCAST" get "$TORRENT" -o "$(hdir "$h")" --no-mcast --iface "$(hip "$h")" \
      --listen "$(hip "$h"):$PORT" --peer "$prev:$PORT" --seed-time 3600 --json --on-complete "$MARK"
    prev=$(hip "$h") prev_h=$h
  done
  wait_hosts "$LIMIT"
}

# central HTTP: nginx on the seeder, every host fetches with curl at once.
sc_http() {
  local h n=$DATA/nginx
  mkdir -p "$n"
  cat >"$n/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $n/nginx.pid; error_log $n/error.log warn;
events { worker_connections 256; }
http {
  access_log off; sendfile on; tcp_nopush on; default_type application/octet-stream;
  client_body_temp_path $n/body; proxy_temp_path $n/proxy; fastcgi_temp_path $n/fastcgi;
  server { listen $SEED_IP:8080; root $DATA/src; }
}
EOF
  sc_spawn nginx "$NS_SEED" nginx -e "$n/error.log" -p "$n" -c "$n/nginx.conf"
  wait_until 10 listening "$NS_SEED" "$SEED_IP:8080" || fail "nginx did not listen (logs/$LOGP-nginx.log)"
  T0=$(now)
  for h in "${HOSTS[@]}"; do
    client "$h" sh -c 'curl -sS --max-time "$1" -o "$2" "$3" && "$4"' sh "$LIMIT" "$(hdir "$h")/release.bin" \
      "http://$SEED_IP:8080/release.bin" "$MARK"
  done
  wait_hosts "$LIMIT"
}

# BitTorrent swarm: opentracker on the tracker host, an aria2c seed on the seeder, aria2c on every
# host (seeding until the scenario ends, i.e. until all are done).
ARIA_COMMON=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false
  --disable-ipv6=true --seed-ratio=0.0 --file-allocation=none --summary-interval=0 --show-console-readout=false --console-log-level=warn
  --listen-port="$PORT" --bt-tracker="http://$TRACK_IP:6969/announce")
sc_bittorrent() {
  local h ot=$DATA/opentracker
  mkdir -p "$ot"
  aria2c -S "$TORRENT" | awk '/^Info Hash:/ {print $3}' >"$ot/whitelist.txt"
  [[ -s $ot/whitelist.txt ]] || fail "aria2c -S gave no info hash"
  sc_spawn opentracker "$NS_TRACK" opentracker -i "$TRACK_IP" -p 6969 -P 6969 -d "$ot" -w /whitelist.txt
  wait_until 10 listening "$NS_TRACK" "$TRACK_IP:6969" || fail "opentracker did not listen"
  sc_spawn aria2-seed "$NS_SEED" aria2c "${ARIA_COMMON[@]}" -d "$DATA/src" --bt-seed-unverified=true "$TORRENT"
  wait_until 10 listening "$NS_SEED" "$SEED_IP:$PORT" || fail "the aria2c seed did not listen"
  sleep 1 # its first announce
  T0=$(now)
  for h in "${HOSTS[@]}"; do
    client "$h" aria2c "${ARIA_COMMON[@]}" -d "$(hdir "$h")" --on-bt-download-complete="$MARK" "$TORRENT"
  done
  wait_hosts "$LIMIT"
}

# udpcast: receivers wait for the sender, which starts once all of them have connected.
sc_udpcast() {
  local h
  for h in "${HOSTS[@]}"; do
    client "$h" sh -c 'udp-receiver --interface eth0 --portbase 9000 --nokbd --file "$1" && "$2"' sh \
      "$(hdir "$h")/release.bin" "$MARK"
  done
  sleep 1
  T0=$(now)
  sc_spawn udp-sender "$NS_SEED" udp-sender --file "$SRC" --interface eth0 --portbase 9000 --nokbd \
    --mcast-data-address 239.99.0.2 --max-bitrate "${rate,,}" --min-receivers "${#HOSTS[@]}"
  wait_hosts "$LIMIT" "$SPAWNED_PID"
}

# uftp: uftpd on every host (closed group of all of them), uftp on the seeder at the same rate,
# otherwise its defaults (1300-byte blocks, initial GRTT 0.5 s: -b 1400 -r 0.05 was slower here);
# with --mtu, blocks of MTU - 200 bytes (-b 8800 at 9000, what its manual advises).
sc_uftp() {
  local h ids=() kbps blocks=()
  [[ -z $mtu ]] || blocks=(-b $((mtu - 200)))
  kbps=$(($(numfmt --from=si "${rate%bps}") / 1000))
  for h in "${HOSTS[@]}"; do
    client "$h" uftpd -d -q -I eth0 -M 239.99.0.3 -D "$(hdir "$h")" -s "$MARK"
    ids+=("$(printf '0x%02x%02x%02x%02x' $(hip "$h" | tr . ' '))")
  done
  sleep 1
  T0=$(now)
  sc_spawn uftp "$NS_SEED" uftp -R "$kbps" "${blocks[@]}" -I eth0 -M 239.99.0.3 -P 239.99.0.4 -Y none -q \
    -H "$(IFS=,; echo "${ids[*]}")" "$SRC"
  wait_hosts "$LIMIT" "$SPAWNED_PID"
}

# --- named crowcast scenarios: crowcast as deployed, with the DEFAULT seed and get flags -----
# Each starts the tracker, the gets and the seeder, sets T0 (the seeder's start), does its fault and
# returns cc_wait's status (0 every host finished, 1 the time limit), or 2 when it could not set up
# (SC_NOTE says why). It may add hosts killed on purpose to EXCLUDED, and say what it did in SC_NOTE.
cc_tracker() {
  local r
  for ((r = 1; r <= racks; r++)); do echo "rack r$r 10.99.$r.0/24 239.99.0.1:7000"; done >"$DATA/racks.conf"
  sc_spawn tracker "$NS_TRACK" "$CROWCAST" tracker --listen "$TRACK_IP:7070" --racks "$DATA/racks.conf" --interval 2
  wait_until 15 listening "$NS_TRACK" "$TRACK_IP:7070" && return 0
  SC_NOTE="the tracker did not listen within 15 s"
  return 1
}
# cc_get HOST...: `crowcast get` on each, default flags but the bench's timing (--json, the hook).
cc_get() {
  local h
  for h in "$@"; do
    client "$h" "$CROWCAST" get "$TORRENT" -o "$(hdir "$h")" --tracker "$URL" --iface "$(hip "$h")" \
      --seed-time 20 --json --on-complete "$MARK" "${MKEY[@]}"
  done
}
# cc_seed [NAME]: the seeder, default flags; sets SEED_PID.
cc_seed() {
  sc_spawn "${1:-seeder}" "$NS_SEED" "$CROWCAST" seed "$TORRENT" "$SRC" --tracker "$URL" --iface "$SEED_IP" --rate "$rate" "${MKEY[@]}"
  SEED_PID=$SPAWNED_PID
}
# cc_ready HOST...: as in sc_crowcast, those gets have joined and snooping forwards them the group.
cc_ready() {
  wait_until 20 all_joined "$@" || log "not every crowcast get reported joined within 20 s"
  poll 10 mdb_ready 239.99.0.1 "$#" || log "IGMP snooping has not learned every member of 239.99.0.1: $(mdb_members 239.99.0.1)"
}
# since_t0: seconds since T0. at OFFSET: sleeps until T0 + OFFSET. cc_wait: wait_hosts until T0 + LIMIT.
since_t0() { awk -v t="$T0" -v n="$(now)" 'BEGIN {printf "%.2f", n - t}'; }
at() { sleep "$(awk -v t="$T0" -v o="$1" -v n="$(now)" 'BEGIN {d = t + o - n; printf "%.3f", (d > 0 ? d : 0)}')"; }
cc_wait() { wait_hosts "$(awk -v t="$T0" -v l="$LIMIT" -v n="$(now)" 'BEGIN {d = t + l - n; printf "%.3f", (d > 0 ? d : 0)}')"; }
half_sb() { awk -v s="$sb" 'BEGIN {printf "%.3f", s / 2}'; }

# plain: every get joined, then the seeder (sc_crowcast's order) with default flags, no fault.
# rack-loss and routed run the same; their loss rule or fabric is set around the runs.
sc_plain() {
  cc_tracker || return 2
  cc_get "${HOSTS[@]}"
  cc_ready "${HOSTS[@]}"
  T0=$(now)
  cc_seed
  cc_wait
}
sc_rack_loss() { sc_plain; }
sc_routed() { sc_plain; }

sc_skew_peers_first() {
  cc_tracker || return 2
  T0=$(now)
  cc_get "${HOSTS[@]}"
  at 5
  T0=$(now)
  cc_seed
  cc_wait
}

sc_skew_seeder_first() {
  cc_tracker || return 2
  T0=$(now)
  cc_seed
  at "$SKEW_SEEDER"
  SC_NOTE="peers started at +$(since_t0) s"
  cc_get "${HOSTS[@]}"
  cc_wait
}

# late-join: the last host of every rack starts LATE_AT (S/B + 2 s) after the seeder.
sc_late_join() {
  local h early=() late=()
  for h in "${HOSTS[@]}"; do
    if [[ ${h#*.} == "$hosts" ]]; then late+=("$h"); else early+=("$h"); fi
  done
  cc_tracker || return 2
  cc_get "${early[@]}"
  cc_ready "${early[@]}"
  T0=$(now)
  cc_seed
  at "$LATE_AT"
  SC_NOTE="late hosts ${late[*]} started at +$(since_t0) s"
  cc_get "${late[@]}"
  cc_wait
}

# status_head R: the address of rack rR's chain head in the tracker's /status.
status_head() {
  in_ns "$NS_TRACK" curl -sf --max-time 2 "http://$TRACK_IP:7070/status" | python3 -c '
import json, sys
for rel in json.load(sys.stdin)["releases"]:
    for rack in rel["racks"]:
        if rack["rack"] == "r" + sys.argv[1]:
            print(rack["head"].split(":")[0])
            sys.exit(0)
sys.exit(1)' "$1"
}
# logged_head R: the host of rack R whose last placement line says "chain position 0 (chain head)".
logged_head() {
  local h
  for h in "${HOSTS[@]}"; do
    [[ ${h%.*} == "$1" ]] || continue
    grep 'chain position' "$out/logs/$LOGP-$TOOL-$h.log" 2>/dev/null | tail -n 1 | grep -q '(chain head)' &&
      { echo "$h"; return 0; }
  done
  return 1
}
sc_head_kill() {
  local st= lg= head pid before=
  cc_tracker || return 2
  cc_get "${HOSTS[@]}"
  cc_ready "${HOSTS[@]}"
  T0=$(now)
  cc_seed
  # Looked up half a second ahead (curl, python and grep take a few hundred ms), killed at S/B/2.
  at "$(awk -v s="$sb" 'BEGIN {printf "%.3f", s / 2 - 0.5}')"
  st=$(status_head "$fault_rack") || st=
  lg=$(logged_head "$fault_rack") || lg=
  head=${st#10.99.}
  [[ -n $head && " ${HOSTS[*]} " == *" $head "* ]] || head=$lg
  if [[ -z $head ]]; then
    SC_NOTE="no chain head of rack $fault_rack at +$(since_t0) s (tracker /status: '${st}', logs: none)"
    return 2
  fi
  at "$(half_sb)"
  pid=${CLIENT_PID[$head]}
  [[ -s $DATA/done/$head ]] && before=", it had already completed"
  kill -KILL "$pid" 2>/dev/null || before+=", it had already exited"
  wait "$pid" 2>/dev/null || true # reaped here, quietly (no 'Killed' from the shell)
  EXCLUDED+=("$head")
  SC_NOTE="kill -9 of rack $fault_rack's chain head $head at +$(since_t0) s (tracker: ${st:-none}, its log: ${lg:-none}$before)"
  cc_wait
}

sc_seeder_restart() {
  local killed
  cc_tracker || return 2
  cc_get "${HOSTS[@]}"
  cc_ready "${HOSTS[@]}"
  T0=$(now)
  cc_seed
  at "$(half_sb)"
  if ! kill -0 "$SEED_PID" 2>/dev/null; then
    SC_NOTE="the seeder had exited before S/B/2 (+$(since_t0) s); not restarted"
    cc_wait
    return
  fi
  kill -KILL "$SEED_PID"
  killed=$(since_t0)
  wait "$SEED_PID" 2>/dev/null || true
  at "$(awk -v k="$killed" -v g="$RESTART_GAP" 'BEGIN {print k + g}')"
  cc_seed seeder-2
  SC_NOTE="seeder killed (-9) at +$killed s, started again at +$(since_t0) s"
  cc_wait
}

# shellcheck source=datacenter_delta.sh
source "$root/bench/datacenter_delta.sh"

# --- one scenario: fresh directories, counters around it, verification, a raw.jsonl line -----
declare -A FACTOR=([crowcast]=4 [tcp-chain]=5 [http]=25 [bittorrent]=8 [udpcast]=6 [uftp]=6)
declare -A NEEDS=([crowcast]="" [tcp-chain]="" [http]="nginx curl" [bittorrent]="aria2c opentracker"
  [udpcast]="udp-sender udp-receiver" [uftp]="uftp uftpd")
# run_scenario TOOL: one run of TOOL in the current round (noloss or loss).
run_scenario() {
  TOOL=$1 IDEAL_RUN=$ideal BASIS=S/B TITLE= NAMED=
  local c left
  for c in ${NEEDS[$TOOL]}; do
    command -v "$c" >/dev/null || { record "$TOOL" "skipped: $c is not installed"; return; }
  done
  LIMIT=$(python3 -c "print(int(max(20, $ideal * ${FACTOR[$TOOL]} + 10)))")
  if ((budget > 0)); then
    left=$((budget - (SECONDS - bench_start) - 10))
    ((LIMIT > left)) && LIMIT=$left
  fi
  ((LIMIT < 15)) && { record "$TOOL" "skipped: time budget"; return; }
  run_one "sc_${TOOL//-/_}"
}
# run_named SCENARIO: one run of a named crowcast scenario. Its limit (6 x ideal + 20 s + the
# delays it adds) is never cut: a stall must show as a timeout, not as a short budget.
declare -A TITLES=([plain]="crowcast, default flags, no fault"
  [rack-loss]="$rack_loss_pct% loss on rack $fault_rack's uplink (rack side)"
  [routed]="routed fabric, no multicast routing (ideal: racks x S/B)"
  [skew-peers-first]="peers start 5 s before the seeder" [skew-seeder-first]="the seeder starts min(3 s, S/B/2) before the peers"
  [late-join]="one host per rack starts S/B + 2 s after the seeder"
  [head-kill]="rack $fault_rack's chain head killed (-9) at S/B/2"
  [seeder-restart]="the seeder killed (-9) at S/B/2, restarted 2 s later")
run_named() {
  local sc=$1 left extra=0
  TOOL=crowcast IDEAL_RUN=$sb BASIS=S/B TITLE=${TITLES[$sc]} NAMED=1
  [[ $sc == routed ]] && IDEAL_RUN=$(python3 -c "print('%.3f' % ($racks * $sb))") BASIS="racks x S/B"
  [[ $sc == seeder-restart ]] && IDEAL_RUN=$(python3 -c "print('%.3f' % ($sb + $RESTART_GAP))") BASIS="S/B + ${RESTART_GAP} s down"
  case $sc in
    late-join) extra=$LATE_AT ;;
    seeder-restart) extra=$RESTART_GAP ;;
    skew-seeder-first) extra=$SKEW_SEEDER ;;
  esac
  LIMIT=$(python3 -c "import math; print(int(math.ceil(6 * $IDEAL_RUN + 20 + $extra)))")
  if ((budget > 0)); then
    left=$((budget - (SECONDS - bench_start) - 10))
    ((LIMIT <= left)) || { record "$TOOL" "skipped: time budget"; return; }
  fi
  if [[ $sc == late-join ]] && ((hosts < 2)); then record "$TOOL" "skipped: late-join needs 2 hosts per rack"; return; fi
  run_one "sc_${sc//-/_}"
}

# run_one FN: fresh directories, counters around FN, verification, the run's line on stderr (and,
# when a host did not finish, which and the tail of their logs), a raw.jsonl line.
run_one() {
  local fn=$1 h i r load status=ok rc=0 tx0 tx1 up0 up1 d0 d1 hosts_json= starts_json= t sep= ub= last=
  local notdone=() verified=0 mc0=() mc1=() leaks= leaked=0 sb0=0 sb1=0 rt0=0 rt1=0 f
  rm -rf "$DATA/h" "$DATA/done"
  for h in "${HOSTS[@]}"; do mkdir -p "$(hdir "$h")" "$DATA/done"; done
  EXCLUDED=() SC_NOTE= T0=
  log "$ROUND$RUN_TAG: $TOOL (timeout ${LIMIT}s)"
  load=$(cut -d' ' -f1 /proc/loadavg)
  tx0=$(seeder_tx) d0=$(drops)
  read -r -a up0 <<<"$(uplinks)"
  if [[ $TOPO_KIND == routed ]]; then
    for ((r = 1; r <= racks; r++)); do mc0+=("$(topo_mcast_count "$r")"); done
    sb0=$(topo_mcast_count seed bytes) rt0=$(topo_mcast_count router)
  fi
  "$fn" || rc=$?
  case $rc in 0) ;; 1) status=timeout ;; *) status="error: ${SC_NOTE:-the scenario failed ($rc)}" ;; esac
  tx1=$(seeder_tx) d1=$(drops)
  read -r -a up1 <<<"$(uplinks)"
  if [[ $TOPO_KIND == routed ]]; then
    for ((r = 1; r <= racks; r++)); do mc1+=("$(topo_mcast_count "$r")"); done
    sb1=$(topo_mcast_count seed bytes) rt1=$(topo_mcast_count router)
  fi
  T0=${T0:-$(now)}
  for h in "${HOSTS[@]}"; do
    [[ -n ${START_AT[$h]:-} ]] || continue
    starts_json+="${starts_json:+,}\"$h\":$(awk -v a="${START_AT[$h]}" -v t="$T0" 'BEGIN {printf "%.3f", a - t}')"
  done
  snapshot_tails
  sc_stop
  for h in "${HOSTS[@]}"; do
    t=null
    if [[ " ${EXCLUDED[*]} " == *" $h "* ]]; then
      :
    elif [[ -s $DATA/done/$h ]] && cmp -s "$SRC" "$(hdir "$h")/release.bin"; then
      t=$(python3 -c "print('%.3f' % ($(cat "$DATA/done/$h") - $T0))")
      verified=$((verified + 1))
    elif [[ -s $DATA/done/$h ]]; then
      status="failed"; log "$TOOL: host $h said done but its data differs from the source"
    fi
    [[ $t != null || " ${EXCLUDED[*]} " == *" $h "* ]] || notdone+=("$h")
    [[ $t == null ]] || last=$(awk -v a="${last:-0}" -v b="$t" 'BEGIN {print (b > a ? b : a)}')
    hosts_json+="$sep\"$h\":$t" sep=,
  done
  [[ $status == ok && ${#notdone[@]} -gt 0 ]] && status=incomplete
  for i in "${!up0[@]}"; do ub+="${ub:+,}$((up1[i] - up0[i]))"; done
  for i in "${!mc0[@]}"; do
    leaks+="${leaks:+,}$((mc1[i] - mc0[i]))"
    leaked=$((leaked + mc1[i] - mc0[i]))
  done
  if ((leaked > 0)); then
    [[ $status == ok ]] && status=mcast-leak || status+="; mcast-leak"
  fi

  local what="$ROUND$RUN_TAG: $TOOL:" n=$((${#HOSTS[@]} - ${#EXCLUDED[@]}))
  local extra="${EXCLUDED[*]:+ (excluded: ${EXCLUDED[*]})}${SC_NOTE:+; $SC_NOTE}"
  ((d1 - d0 == 0)) || extra+="; $((d1 - d0)) frames dropped"
  [[ $TOPO_KIND != routed ]] ||
    extra+="; the seeder multicast $(awk -v b=$((sb1 - sb0)) -v s="$size" 'BEGIN {printf "%.2f", b / s}') copies, $((rt1 - rt0)) packets reached the router, multicast datagrams into racks [$leaks]"
  if [[ $status == ok ]]; then
    log "$what $verified/$n hosts verified, last host $last s = $(awk -v l="$last" -v i="$IDEAL_RUN" 'BEGIN {printf "%.3f", l / i}') x $BASIS ($IDEAL_RUN s)$extra"
  else
    log "$what FAILED ($status): $verified/$n hosts verified${last:+, last verified at $last s}$extra"
    if ((${#notdone[@]} > 0)); then
      log "$what did not finish: ${notdone[*]}"
      for h in "${notdone[@]}"; do
        f=$LOGP-$TOOL-$h.log
        echo "--- $h: logs/$f, before the bench stopped it (last 12 lines, then its last progress event)" >&2
        if [[ -f $DATA/tails/$f ]]; then show_tail "$DATA/tails/$f" 12; else show_tail "$out/logs/$f" 12; fi
      done
      for f in "$DATA/tails/$LOGP"-seeder*.log; do
        [[ -f $f ]] || continue
        echo "--- logs/${f##*/} (last 8 lines)" >&2
        show_tail "$f" 8
      done
    fi
  fi

  RECORD_EXTRA="\"t0\":$T0,\"start_s\":{$starts_json},\"limit_s\":$LIMIT,\"load_before\":$load,\"seeder_tx\":$((tx1 - tx0)),\"drops\":$((d1 - d0)),\"uplink_bytes\":[$ub],\"hosts\":{$hosts_json}"
  if [[ -n $NAMED ]]; then
    local ex=
    for h in "${EXCLUDED[@]}"; do ex+="${ex:+,}\"$h\""; done
    RECORD_EXTRA+=",\"excluded\":[$ex],\"note\":$(json_str "$SC_NOTE")"
    [[ $TOPO_KIND != routed ]] ||
      RECORD_EXTRA+=",\"mcast_seeder_bytes\":$((sb1 - sb0)),\"mcast_to_router\":$((rt1 - rt0)),\"mcast_into_racks\":[$leaks]"
  fi
  record "$TOOL" "$status"
  RECORD_EXTRA=
}
# snapshot_tails: the logs of the hosts not done yet and of the seeders as they are before sc_stop
# ends them (their shutdown lines would hide what they were waiting for).
snapshot_tails() {
  local h f
  rm -rf "$DATA/tails" && mkdir -p "$DATA/tails"
  for h in "${HOSTS[@]}"; do
    f=$LOGP-$TOOL-$h.log
    [[ -s $DATA/done/$h || ! -f $out/logs/$f ]] || tail -n 400 "$out/logs/$f" >"$DATA/tails/$f"
  done
  for f in "$out/logs/$LOGP"-seeder*.log; do [[ ! -f $f ]] || tail -n 100 "$f" >"$DATA/tails/${f##*/}"; done
}
# show_tail FILE N: its last N lines but --json progress events, then the last progress event.
show_tail() {
  [[ -f $1 ]] || { echo "(no log)" >&2; return 0; }
  grep -v '^{"event":"progress"' "$1" | tail -n "$2" | cut -c1-400 >&2 || true
  grep '^{"event":"progress"' "$1" | tail -n 1 | cut -c1-400 >&2 || true
}
json_str() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
RECORD_EXTRA=
record() {
  printf '{"round":"%s","loss_ppm":%s,"tool":"%s","status":%s,"size":%s,"ideal_s":%s,"host_count":%s,"racks":%s,"host_mbit":%s,"uplink_mbit":%s,"rate":"%s","run":%s,"runs":%s,"log_prefix":"%s","sb_s":%s,"ideal_basis":"%s","fabric":"%s","igmp":%s,"mcast_auth":%s,"mtu":%s,"chunk_size":%s,"title":%s%s}\n' \
    "$ROUND" "$ROUND_PPM" "$1" "$(json_str "$2")" "$size" "${IDEAL_RUN:-$ideal}" "${#HOSTS[@]}" "$racks" "$host_mbit" "$uplink_mbit" "$rate" \
    "$RUN" "$runs" "$LOGP" "$sb" "${BASIS:-S/B}" "${TOPO_KIND:-flat}" "$igmp" "$([[ ${#MKEY[@]} -gt 0 ]] && echo true || echo false)" "${mtu:-1500}" "$chunk_size" "$(json_str "${TITLE:-}")" "${RECORD_EXTRA:+,$RECORD_EXTRA}" \
    >>"$out/raw.jsonl"
}

# --- the run ---------------------------------------------------------------------------------
random_file "$SRC" "$size" bench
"$CROWCAST" make "$SRC" -o "$TORRENT" ${mtu:+--mtu "$mtu"} >/dev/null
chunk_size=$("$CROWCAST" inspect "$TORRENT" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["chunk_size"])')
printf '#!/bin/sh\ndate +%%s.%%N >"$BENCH_DONE"\n' >"$MARK" && chmod +x "$MARK"
IFS=, read -r -a tool_list <<<"$tools"
for t in "${tool_list[@]}"; do [[ -n ${FACTOR[$t]:-} ]] || fail "unknown tool '$t'"; done
LATE_AT=$(python3 -c "print('%.3f' % ($sb + 2))")
SKEW_SEEDER=$(python3 -c "print('%.3f' % min(3, $sb / 2))") # mid-pass also for a small --size
RESTART_GAP=2 # seeder-restart: seconds the seeder is dead
scenario_list=()
IFS=, read -r -a asked <<<"$scenarios"
for sc in "${asked[@]}"; do
  if [[ $sc == faults ]]; then IFS=, read -r -a more <<<"$FAULTS"; scenario_list+=("${more[@]}"); continue; fi
  case $sc in
    noloss | plain | rack-loss | routed | skew-peers-first | skew-seeder-first | late-join | head-kill | seeder-restart | delta) ;;
    loss) ((loss_ppm > 0)) || fail "--scenario loss with --loss 0" ;;
    *) fail "unknown scenario '$sc' (--help lists them)" ;;
  esac
  scenario_list+=("$sc")
done

# ensure_fabric flat|routed: builds that fabric unless it is the one up (the other one goes first).
ensure_fabric() {
  [[ ${TOPO_KIND:-} != "$1" ]] || return 0
  [[ -z ${TOPO_KIND:-} ]] || topo_destroy
  if [[ $1 == routed ]]; then
    log "building ${racks}x${hosts} hosts on a routed fabric, ${host_mbit} Mbit/s host links, ${uplink_mbit} Mbit/s uplinks"
    topo_create_routed "$racks" "$hosts" "$host_mbit" "$uplink_mbit"
    topo_mcast_watch
    wait_until 5 in_ns "$(hns "${HOSTS[-1]}")" ping -c 1 -W 1 "$TRACK_IP" || fail "routed fabric: the last host cannot reach the tracker"
  else
    log "building ${racks}x${hosts} hosts, ${host_mbit} Mbit/s host links, ${uplink_mbit} Mbit/s uplinks, MTU ${mtu:-1500}"
    topo_create "$racks" "$hosts" "$host_mbit" "$uplink_mbit"
  fi
}

RUN_TAG=
for ROUND in "${scenario_list[@]}"; do
  ROUND_PPM=0
  case $ROUND in
    noloss | loss)
      ensure_fabric flat
      if [[ $ROUND == loss ]]; then
        ROUND_PPM=$loss_ppm
        for h in "${HOSTS[@]}"; do topo_loss "$(hns "$h")" eth0 "$loss_ppm"; done
      fi
      for t in "${tool_list[@]}"; do
        for ((RUN = 1; RUN <= runs; RUN++)); do
          LOGP=$ROUND; ((RUN == 1)) || LOGP=$ROUND.$RUN
          ((runs == 1)) || RUN_TAG=" run $RUN/$runs"
          run_scenario "$t"
        done
      done
      if [[ $ROUND == loss ]]; then for h in "${HOSTS[@]}"; do topo_loss_clear "$(hns "$h")"; done; fi
      ;;
    delta)
      ensure_fabric flat
      for ((RUN = 1; RUN <= runs; RUN++)); do
        ((runs == 1)) || RUN_TAG=" run $RUN/$runs"
        run_delta_scenario
      done
      ;;
    *)
      if [[ $ROUND == routed ]]; then ensure_fabric routed; else ensure_fabric flat; fi
      if [[ $ROUND == rack-loss ]]; then
        ROUND_PPM=$rack_loss_ppm
        topo_uplink_loss "$fault_rack" "$rack_loss_ppm"
      fi
      for ((RUN = 1; RUN <= runs; RUN++)); do
        LOGP=$ROUND; ((RUN == 1)) || LOGP=$ROUND.$RUN
        ((runs == 1)) || RUN_TAG=" run $RUN/$runs"
        run_named "$ROUND"
      done
      [[ $ROUND != rack-loss ]] || topo_loss_clear "$NS_SW"
      ;;
  esac
done

[[ ! -s $out/delta.jsonl ]] || { delta_report; cat "$out/delta.md"; }
[[ -s $out/raw.jsonl ]] || { log "done in $((SECONDS - bench_start)) s: $out/delta.md"; exit 0; }
python3 "$root/bench/datacenter_report.py" "$out"
log "done in $((SECONDS - bench_start)) s: $out/results.md"
cat "$out/results.md"
