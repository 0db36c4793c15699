#!/usr/bin/env bash
# Emulated datacenter: crowcast against stock distribution tools, side by side, on one topology
# and one release. Needs root (network namespaces); exits 77 with the reason otherwise.
#
# usage: bench/datacenter.sh [options]
#   --racks R          racks (default 3)             --hosts H        hosts per rack (default 4)
#   --host-mbit M      host links (default 100)      --uplink-mbit M  rack uplinks (default 400)
#   --size SIZE        release size (default 64M)    --rate RATE      multicast rate (default 95M)
#   --loss PPM         second round with PPM per million frames dropped on every host's eth0
#                      ingress (default 5000 = 0.5%; 0 = no second round)
#   --tools LIST       comma list of crowcast,tcp-chain,http,bittorrent,udpcast,uftp (default all)
#   --budget S         wall-clock budget for all scenarios (default 570): a scenario's timeout is
#                      cut to what is left, and scenarios that no longer fit are reported skipped
#   --out DIR          results (default: bench-datacenter next to the crowcast binary)
#   env CROWCAST       the crowcast binary (default build/crowcast, then build-*/crowcast)
#
# Topology (tests/integration/netns.sh): a core bridge with the seeder 10.99.0.1 and the tracker
# host 10.99.0.2, one bridge per rack behind a shaped uplink, hosts 10.99.R.H; IGMP snooping on.
# Every scenario starts from empty host directories (on tmpfs, so disks do not limit), and t0 is
# the moment the source starts sending (receivers that only wait, such as udp-receiver or a
# joined crowcast get, start before it; HTTP/BitTorrent/TCP-chain clients start at t0 with the
# server already up). A host's time is when its tool says it is done (crowcast and aria2c hash
# every piece before that; curl, udpcast and uftp do not); afterwards every host's file is
# compared with the source (cmp), and a host whose file differs counts as not done.
# Counters are read when the last host is done: the seeder's eth0 tx bytes and each rack's
# core->rack uplink tx bytes, both as copies of the release (wire bytes, headers included).
#
# Output in DIR: results.md (the table), results.json, cdf-<round>.png (completion-time CDF per
# tool), raw.jsonl (one line per scenario), logs/ (every process's output of the last run).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [[ -z ${CROWCAST:-} ]]; then
  for c in "$root/build/crowcast" "$root"/build-*/crowcast; do [[ -x $c ]] && { CROWCAST=$c; break; }; done
fi
[[ -x ${CROWCAST:-} ]] || { echo "datacenter: no crowcast binary; build first or set CROWCAST" >&2; exit 2; }
export CROWCAST CROW_SOURCE_DIR=$root

racks=3 hosts=4 host_mbit=100 uplink_mbit=400 size_text=64M rate=95M loss_ppm=5000 budget=570
tools=crowcast,tcp-chain,http,bittorrent,udpcast,uftp out=
while [[ $# -gt 0 ]]; do
  case $1 in
    --racks) racks=$2 ;; --hosts) hosts=$2 ;; --host-mbit) host_mbit=$2 ;; --uplink-mbit) uplink_mbit=$2 ;;
    --size) size_text=$2 ;; --rate) rate=$2 ;; --loss) loss_ppm=$2 ;; --tools) tools=$2 ;;
    --budget) budget=$2 ;; --out) out=$2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "datacenter: unknown option '$1' (--help)" >&2; exit 2 ;;
  esac
  shift 2 || { echo "datacenter: $1 wants a value" >&2; exit 2; }
done

# shellcheck source=../tests/integration/lib.sh
source "$root/tests/integration/lib.sh"
# shellcheck source=../tests/integration/netns.sh
source "$root/tests/integration/netns.sh"
need_cmd python3 cmp setsid
out=${out:-$CROW_BUILD_DIR/bench-datacenter}
size=$(numfmt --from=iec "${size_text%B}")
mkdir -p "$out"
rm -rf "$out/logs" && mkdir "$out/logs"
: >"$out/raw.jsonl"

DATA=$(mktemp -d /dev/shm/crowcast-dc.XXXXXX)
at_exit "rm -rf '$DATA'"
SRC=$DATA/src/release.bin
TORRENT=$DATA/release.torrent
MARK=$DATA/mark-done # writes the time into $BENCH_DONE: the completion hook of every tool
SEED_IP=10.99.0.1 TRACK_IP=10.99.0.2 PORT=6881
ideal=$(python3 -c "print('%.3f' % ($size * 8 / ($host_mbit * 1e6)))")
bench_start=$SECONDS

HOSTS=()
for ((r = 1; r <= racks; r++)); do for ((h = 1; h <= hosts; h++)); do HOSTS+=("$r.$h"); done; done
hdir() { echo "$DATA/h/$1"; }
hns() { host_ns "${1%.*}" "${1#*.}"; }
hip() { host_ip "${1%.*}" "${1#*.}"; }

# --- process handling: every scenario process leads its own session, ended as a group --------
SC_PIDS=()
declare -A CLIENT_PID=()
# sc_spawn NAME NS CMD...: runs CMD in namespace NS, logs to logs/<round>-NAME.log; sets SPAWNED_PID.
sc_spawn() {
  local name=$1 ns=$2; shift 2
  setsid ip netns exec "$ns" "$@" >"$out/logs/$ROUND-$name.log" 2>&1 </dev/null &
  SPAWNED_PID=$!
  SC_PIDS+=("$SPAWNED_PID")
}
# client HOST CMD...: a host's download; the host is finished when its done file appears or
# this process exits.
client() {
  local host=$1; shift
  sc_spawn "$TOOL-$host" "$(hns "$host")" env BENCH_DONE="$DATA/done/$host" "$@"
  CLIENT_PID[$host]=$SPAWNED_PID
}
sc_stop() {
  local pid
  for pid in "${SC_PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${SC_PIDS[@]}"; do wait_pid_timeout 3 "$pid" >/dev/null 2>&1 || kill -KILL -- "-$pid" 2>/dev/null || true; done
  SC_PIDS=()
  CLIENT_PID=()
}
at_exit sc_stop

now() { date +%s.%N; }
seeder_tx() { in_ns "$NS_SEED" cat /sys/class/net/eth0/statistics/tx_bytes; }
uplinks() { local r; for ((r = 1; r <= racks; r++)); do printf '%s ' "$(topo_uplink_bytes "$r")"; done; }
drops() { local h s=0; for h in "${HOSTS[@]}"; do s=$((s + $(topo_loss_count "$(hns "$h")"))); done; echo $s; }
# poll SECONDS CMD...: like wait_until, at 20 ms steps (for waits that count in a measurement).
poll() {
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [[ $SECONDS -lt $end ]] || return 1; sleep 0.02; done
}
# mdb_members GROUP: the bridge ports the snooping switch forwards GROUP to.
mdb_members() { bridge -n "$NS_SW" mdb show | awk -v g="$1" '$6 == g {printf "%s:%s ", $2, $4}'; }
# mdb_ready GROUP: every host port on the rack bridges and every rack's downlink on the core has
# joined GROUP, so the sender's first datagram reaches everyone.
mdb_ready() {
  local m; m=$(mdb_members "$1")
  [[ $(grep -o 'rack[0-9]*:p[0-9]*' <<<"$m" | wc -l) -eq ${#HOSTS[@]} && $(grep -o 'core:dn[0-9]*' <<<"$m" | wc -l) -eq $racks ]]
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
      --listen "$(hip "$h"):$PORT" --mcast-timeout 10 --seed-time 3600 --json --on-complete "$MARK"
  done
  wait_until 20 all_joined || log "not every crowcast get reported joined within 20 s"
  poll 10 mdb_ready 239.99.0.1 || log "IGMP snooping has not learned every member of 239.99.0.1: $(mdb_members 239.99.0.1)"
  T0=$(now)
  sc_spawn seeder "$NS_SEED" "$CROWCAST" seed "$TORRENT" "$SRC" --tracker "$url" --iface "$SEED_IP" \
    --rate "$rate" --listen "$SEED_IP:$PORT" --json
  wait_hosts "$LIMIT"
}
all_joined() {
  local h
  for h in "${HOSTS[@]}"; do grep -q '"joined"' "$out/logs/$ROUND-$TOOL-$h.log" || return 1; done
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
  wait_until 10 listening "$NS_SEED" "$SEED_IP:8080" || fail "nginx did not listen (logs/$ROUND-nginx.log)"
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
# otherwise its defaults (1300-byte blocks, initial GRTT 0.5 s: -b 1400 -r 0.05 was slower here).
sc_uftp() {
  local h ids=() kbps
  kbps=$(($(numfmt --from=si "${rate%bps}") / 1000))
  for h in "${HOSTS[@]}"; do
    client "$h" uftpd -d -q -I eth0 -M 239.99.0.3 -D "$(hdir "$h")" -s "$MARK"
    ids+=("$(printf '0x%02x%02x%02x%02x' $(hip "$h" | tr . ' '))")
  done
  sleep 1
  T0=$(now)
  sc_spawn uftp "$NS_SEED" uftp -R "$kbps" -I eth0 -M 239.99.0.3 -P 239.99.0.4 -Y none -q \
    -H "$(IFS=,; echo "${ids[*]}")" "$SRC"
  wait_hosts "$LIMIT" "$SPAWNED_PID"
}

# --- one scenario: fresh directories, counters around it, verification, a raw.jsonl line -----
declare -A FACTOR=([crowcast]=4 [tcp-chain]=5 [http]=25 [bittorrent]=8 [udpcast]=6 [uftp]=6)
declare -A NEEDS=([crowcast]="" [tcp-chain]="" [http]="nginx curl" [bittorrent]="aria2c opentracker"
  [udpcast]="udp-sender udp-receiver" [uftp]="uftp uftpd")
run_scenario() {
  TOOL=$1
  local c h i load status=ok tx0 tx1 up0 up1 d0 d1 left hosts_json= t sep= ub=
  for c in ${NEEDS[$TOOL]}; do
    command -v "$c" >/dev/null || { record "$TOOL" "skipped: $c is not installed"; return; }
  done
  left=$((budget - (SECONDS - bench_start) - 10))
  LIMIT=$(python3 -c "print(int(max(20, $ideal * ${FACTOR[$TOOL]} + 10)))")
  ((LIMIT > left)) && LIMIT=$left
  ((LIMIT < 15)) && { record "$TOOL" "skipped: time budget"; return; }
  rm -rf "$DATA/h" "$DATA/done"
  for h in "${HOSTS[@]}"; do mkdir -p "$(hdir "$h")" "$DATA/done"; done
  log "$ROUND: $TOOL (timeout ${LIMIT}s)"
  load=$(cut -d' ' -f1 /proc/loadavg)
  tx0=$(seeder_tx) d0=$(drops)
  read -r -a up0 <<<"$(uplinks)"
  "sc_${TOOL//-/_}" || status=timeout
  tx1=$(seeder_tx) d1=$(drops)
  read -r -a up1 <<<"$(uplinks)"
  sc_stop
  for h in "${HOSTS[@]}"; do
    t=null
    if [[ -s $DATA/done/$h ]] && cmp -s "$SRC" "$(hdir "$h")/release.bin"; then
      t=$(python3 -c "print('%.3f' % ($(cat "$DATA/done/$h") - $T0))")
    elif [[ -s $DATA/done/$h ]]; then
      status="failed"; log "$TOOL: host $h said done but its data differs from the source"
    fi
    hosts_json+="$sep\"$h\":$t" sep=,
  done
  for i in "${!up0[@]}"; do ub+="${ub:+,}$((up1[i] - up0[i]))"; done
  RECORD_EXTRA="\"limit_s\":$LIMIT,\"load_before\":$load,\"seeder_tx\":$((tx1 - tx0)),\"drops\":$((d1 - d0)),\"uplink_bytes\":[$ub],\"hosts\":{$hosts_json}"
  record "$TOOL" "$status"
  RECORD_EXTRA=
}
RECORD_EXTRA=
record() {
  printf '{"round":"%s","loss_ppm":%s,"tool":"%s","status":"%s","size":%s,"ideal_s":%s,"host_count":%s,"racks":%s,"host_mbit":%s,"uplink_mbit":%s,"rate":"%s"%s}\n' \
    "$ROUND" "$ROUND_PPM" "$1" "$2" "$size" "$ideal" "${#HOSTS[@]}" "$racks" "$host_mbit" "$uplink_mbit" "$rate" "${RECORD_EXTRA:+,$RECORD_EXTRA}" \
    >>"$out/raw.jsonl"
}

# --- the run ---------------------------------------------------------------------------------
log "building ${racks}x${hosts} hosts, ${host_mbit} Mbit/s host links, ${uplink_mbit} Mbit/s uplinks"
topo_create "$racks" "$hosts" "$host_mbit" "$uplink_mbit"
random_file "$SRC" "$size" bench
"$CROWCAST" make "$SRC" -o "$TORRENT" >/dev/null
printf '#!/bin/sh\ndate +%%s.%%N >"$BENCH_DONE"\n' >"$MARK" && chmod +x "$MARK"
IFS=, read -r -a tool_list <<<"$tools"
for t in "${tool_list[@]}"; do [[ -n ${FACTOR[$t]:-} ]] || fail "unknown tool '$t'"; done

rounds=(noloss)
((loss_ppm > 0)) && rounds+=(loss)
for ROUND in "${rounds[@]}"; do
  ROUND_PPM=0
  if [[ $ROUND == loss ]]; then
    ROUND_PPM=$loss_ppm
    for h in "${HOSTS[@]}"; do topo_loss "$(hns "$h")" eth0 "$loss_ppm"; done
  fi
  for t in "${tool_list[@]}"; do run_scenario "$t"; done
done

python3 "$root/bench/datacenter_report.py" "$out"
log "done in $((SECONDS - bench_start)) s: $out/results.md"
cat "$out/results.md"
