#!/usr/bin/env bash
# Multicast across emulated hosts (needs root): netns.sh builds a seeder host and 2 racks of 2
# hosts, each rack on its own bridge under a core bridge, IGMP snooping on every bridge. The seeder
# sends a 16 MiB release from 10.99.0.1 to one group; a `crowcast get` in every host namespace joins
# it on its own address 10.99.r.h; every host must end with a verified copy identical to the source.
# Bridges flood until snooping has learned the memberships (INTEROP.md): that still delivers, so
# the test does not wait for it. The namespaces are removed on exit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mcast_lib.sh"
source "$(dirname "$0")/netns.sh"
need_cmd openssl cmp

RACKS=2 HOSTS=2
rel=$WORK/rel.bin
random_file "$rel" $((16 * 1024 * 1024)) netns
"$CROWCAST" make "$rel" -o "$WORK/rel.torrent" >"$WORK/make.log" 2>&1 || fail "crowcast make failed"
topo_create "$RACKS" "$HOSTS" 200 200
group=$(mcast_group)

pids=() logs=() names=()
for ((r = 1; r <= RACKS; r++)); do
  for ((h = 1; h <= HOSTS; h++)); do
    spawn "get-r${r}h$h" in_ns "$(host_ns "$r" "$h")" "$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out-r${r}h$h" \
      --mcast "$group" --iface "$(host_ip "$r" "$h")" --json
    pids+=("$SPAWNED_PID") logs+=("$WORK/get-r${r}h$h.log") names+=("r${r}h$h")
  done
done
wait_joined 20 "${logs[@]}"

# 100 Mbit/s: well inside what the 2 cores carry through the bridges; a second pass covers a
# host the scheduler starves, and is cut short once every host is done.
start=$SECONDS
spawn seed in_ns "$NS_SEED" "$CROWCAST" seed "$WORK/rel.torrent" "$rel" --mcast "$group" --iface 10.99.0.1 \
  --rate 100M --passes 2 --json
seed_pid=$SPAWNED_PID
for i in "${!pids[@]}"; do
  rc=0
  wait_pid_timeout 60 "${pids[i]}" || rc=$?
  [[ $rc -eq 0 ]] || fail "host ${names[i]}: crowcast get exited $rc"
  line=$(json_event "${logs[i]}" complete)
  [[ -n $line ]] || fail "host ${names[i]}: no \"complete\" event"
  [[ $(json_num "$line" bytes_tcp) -eq 0 ]] || fail "host ${names[i]}: bytes over TCP without a TCP source"
  cmp "$rel" "$WORK/out-${names[i]}/rel.bin" || fail "host ${names[i]}: the copy differs from the source"
  log "host ${names[i]}: verified and identical, $(json_num "$line" datagrams_lost) datagrams lost"
done
kill -0 "$seed_pid" 2>/dev/null || wait "$seed_pid" || fail "crowcast seed exited $?"
kill "$seed_pid" 2>/dev/null || true
log "every host of $RACKS racks x $HOSTS verified in $((SECONDS - start)) s"
# the core carried the stream into each rack: at least one copy of the release crossed each uplink
for ((r = 1; r <= RACKS; r++)); do
  up=$(topo_uplink_bytes "$r")
  ((up >= 16 * 1024 * 1024)) || fail "rack $r's uplink carried only $up bytes"
done
log "PASS"
