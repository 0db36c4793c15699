# A small crowcast cluster on loopback for fault tests (sourced after lib.sh): a release, a tracker
# with two racks sharing one group (r1 127.0.1.0/24, r2 127.0.2.0/24), peers 127.0.R.H, a seeder on
# 127.0.0.1.
#   cluster_release BYTES          make $WORK/rel.bin and $WORK/rel.torrent (announce URL set)
#   cluster_tracker [ARGS...]      start (or restart) the tracker on $TRACKER_PORT (--interval 1 unless
#                                  ARGS say otherwise)
#   cluster_peer H [ARGS...]       start `crowcast get` as 127.0.1.H (H may be R.H: 127.0.R.H) with
#                                  --json into get-H.log, output in out-H
#   cluster_seeder [ARGS...]       start `crowcast seed` (TCP on $SEED_PORT) into seed.log
#   cluster_wait_complete N SECS   wait until N peers reported "complete"
#   cluster_check_all N            every peer's copy is identical to the source
TRACKER_PORT=$(free_port)
SEED_PORT=$(free_port)
GROUP_PORT=$(free_port)
GROUP="239.255.$((RANDOM % 200 + 1)).$((RANDOM % 200 + 1))"
URL="http://127.0.0.1:$TRACKER_PORT/announce"

cluster_release() {
  random_file "$WORK/rel.bin" "$1" cluster
  "$CROWCAST" make "$WORK/rel.bin" -o "$WORK/rel.torrent" --tracker "$URL" --piece-size 256K >/dev/null 2>&1
  printf 'rack r1 127.0.1.0/24 %s\nrack r2 127.0.2.0/24 %s\n' "$GROUP:$GROUP_PORT" "$GROUP:$GROUP_PORT" >"$WORK/racks.conf"
}

cluster_tracker() {
  spawn tracker "$CROWCAST" tracker --listen "127.0.0.1:$TRACKER_PORT" --racks "$WORK/racks.conf" --interval 1 "$@"
  TRACKER_PID=$SPAWNED_PID
  wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TRACKER_PORT" || fail "the tracker did not start"
}

cluster_peer() {
  local h=$1 ip; shift
  [[ $h == *.* ]] && ip=127.0.$h || ip=127.0.1.$h
  spawn "get-$h" "$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out-$h" --tracker "$URL" --iface "$ip" \
    --json --seed-time 60 "$@"
  eval "PEER_PID_${h//./_}=$SPAWNED_PID"
}

cluster_seeder() {
  spawn seed "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel.bin" --tracker "$URL" --iface 127.0.0.1 \
    --listen "127.0.0.1:$SEED_PORT" "$@"
  SEED_PID=$SPAWNED_PID
}

_complete_count() { cat "$WORK"/get-*.log 2>/dev/null | grep -c '"event":"complete"' || true; }
cluster_wait_complete() {
  local n=$1 secs=$2
  wait_until "$secs" bash -c "[[ \$(cat '$WORK'/get-*.log | grep -c '\"event\":\"complete\"') -ge $n ]]" ||
    fail "only $(_complete_count) of $n peers completed within ${secs}s"
}

cluster_check_all() {
  local h hosts=()
  for ((h = 1; h <= $1; h++)); do hosts+=("$h"); done
  cluster_check "${hosts[@]}"
}
# cluster_check H...: these peers' copies are identical to the source
cluster_check() {
  local want h
  want=$(sha256sum <"$WORK/rel.bin")
  for h in "$@"; do
    [[ $(sha256sum <"$WORK/out-$h/rel.bin" 2>/dev/null) == "$want" ]] || fail "peer $h: published data differs or is missing"
  done
}

# bytes a peer received over TCP from address $2 ("source" events of its --json stream)
cluster_bytes_from() {
  awk -v a="\"addr\":\"$2\"" '/"event":"source"/ && index($0, a) {
    sub(/.*"bytes":/, ""); sub(/[^0-9].*/, ""); s += $0 } END { print s + 0 }' "$WORK/get-$1.log"
}
