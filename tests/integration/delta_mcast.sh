#!/usr/bin/env bash
# A second build over multicast to hosts that hold the first: v2 is made with make --previous, three
# hosts holding v1 published get v2 with --previous, and the seeder's pass sends only the pieces they
# lack (the tracker ORs the need maps they announce once they took v1's pieces from disk). Every host
# publishes v2 identical to the source; the seeder's multicast payload is exactly the bytes
# `crowcast diff` says move, and the hosts fetch nothing over TCP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mcast_lib.sh"
source "$(dirname "$0")/cluster.sh"

# v1: 60 files of 20-300 KiB in 64 KiB pieces (about 10 MiB), an executable and a symlink.
v1=$WORK/v1/build
for i in $(seq 1 60); do
  random_file "$v1/d$((i % 5))/f$i" $(((i * 7919) % 280000 + 20000)) "v1-$i"
done
chmod 755 "$v1/d1/f1"
ln -s d1/f1 "$v1/run"
"$CROWCAST" make "$v1" -o "$WORK/v1.torrent" --tracker "$URL" --piece-size 64K >/dev/null 2>&1 || fail "make v1 failed"
# v2: three files rewritten (one at the same length, one grown, one shrunk) and one added.
v2=$WORK/v2/build
mkdir -p "$WORK/v2" && cp -a "$v1" "$v2"
random_file "$v2/d0/f10" "$(stat -c %s "$v1/d0/f10")" v2-10
random_file "$v2/d2/f22" 310000 v2-22
random_file "$v2/d3/f33" 30000 v2-33
random_file "$v2/d4/new" 150000 v2-new
"$CROWCAST" make "$v2" -o "$WORK/v2.torrent" --tracker "$URL" --previous "$WORK/v1.torrent" >/dev/null 2>&1 ||
  fail "make --previous failed"
"$CROWCAST" diff --json "$WORK/v1.torrent" "$WORK/v2.torrent" >"$WORK/diff.json" || [[ $? -eq 1 ]] || fail "diff failed"
read -r pieces_new moved total < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
print(j["pieces_new"], j["bytes_to_move"], j["bytes_total"])' "$WORK/diff.json")
log "v2: $pieces_new new pieces, $moved of $total bytes to move"
[[ $pieces_new -gt 0 && $moved -lt $((total / 4)) ]] || fail "the delta is not small: $moved of $total bytes"

printf 'rack r1 127.0.1.0/24 %s\n' "$GROUP:$GROUP_PORT" >"$WORK/racks.conf"
cluster_tracker
hosts=(1 2 3)
for h in "${hosts[@]}"; do # each holds v1 published, as a host that ran it
  mkdir -p "$WORK/host-$h/v1" && cp -a "$v1" "$WORK/host-$h/v1/"
  spawn "get-$h" "$CROWCAST" get "$WORK/v2.torrent" -o "$WORK/host-$h/v2" --tracker "$URL" --iface "127.0.1.$h" \
    --previous "$WORK/v1.torrent" --previous-path "$WORK/host-$h/v1/build" --json --seed-time 30
done
for h in "${hosts[@]}"; do
  wait_until 20 grep -q '"event":"joined"' "$WORK/get-$h.log" || fail "host $h did not join the group"
done
spawn seed "$CROWCAST" seed "$WORK/v2.torrent" "$v2" --tracker "$URL" --iface 127.0.0.1 \
  --listen "127.0.0.1:$SEED_PORT" --rate 200M --passes 1 --json
wait_until 60 bash -c "[[ \$(cat '$WORK'/get-*.log | grep -c '\"event\":\"complete\"') -ge ${#hosts[@]} ]]" ||
  fail "not every host completed: $(grep -h '"event":"complete"' "$WORK"/get-*.log | wc -l) of ${#hosts[@]}"
wait_until 30 grep -q '"event":"mcast_done"' "$WORK/seed.log" || fail "the seeder did not end its pass"

done_line=$(grep '"event":"mcast_done"' "$WORK/seed.log" | head -1)
sent=$(json_num "$done_line" payload_bytes)
scope=$(json_num "$done_line" pieces)
resent=$(json_num "$done_line" resent)
log "the seeder multicast $sent payload bytes: $scope piece(s) in its pass, $resent resent"
grep -q "pieces (the pieces the peers lack)" "$WORK/seed.log" || fail "the seeder's pass was not the peers' need: $(grep multicasting "$WORK/seed.log")"
[[ $scope -eq $pieces_new && $resent -eq 0 ]] ||
  fail "the pass held $scope piece(s) (resent $resent); diff counts $pieces_new new"
[[ $sent -eq $moved ]] || fail "the seeder multicast $sent bytes; diff says $moved move"
for h in "${hosts[@]}"; do
  c=$(json_event "$WORK/get-$h.log" complete)
  p=$(json_event "$WORK/get-$h.log" previous)
  mc=$(json_num "$c" bytes_mcast)
  tcp=$(json_num "$c" bytes_tcp)
  disk=$(json_num "$p" bytes)
  log "host $h: $disk bytes from v1 on disk, $mc by multicast, $tcp over TCP"
  [[ $tcp -eq 0 && $mc -eq $moved ]] || fail "host $h took $mc bytes by multicast and $tcp over TCP; $moved move"
  diff -r --no-dereference "$v2" "$WORK/host-$h/v2/build" >"$WORK/diff-$h.txt" 2>&1 ||
    fail "host $h: diff -r: $(head -5 "$WORK/diff-$h.txt")"
  "$CROWCAST" verify "$WORK/v2.torrent" "$WORK/host-$h/v2/build" >/dev/null 2>&1 || fail "host $h: verify of v2 failed"
done
log "ok"
