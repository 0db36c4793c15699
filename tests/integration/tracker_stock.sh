#!/usr/bin/env bash
# tracker_stock: the tracker against clients and a tracker nobody here wrote, on loopback.
#   1. An aria2c seed and an aria2c leech both announce to `crowcast tracker` (with a racks file that
#      puts them in two racks, each aria2c binding its own 127.0.x.y); the leech finds the seed only
#      through the tracker (no DHT, LPD or PEX) and downloads the release (cmp); /status and
#      /metrics saw both.
#   2. `crowcast get --tracker URL --no-mcast` announces to opentracker (whitelist mode) and downloads
#      from an aria2c seed that announced to the same opentracker (cmp): crowcast's announce client
#      against a stock tracker, TCP only.
source "$(dirname "$0")/lib.sh"
need_cmd aria2c opentracker cmp ss
PROBE=$CROW_BUILD_DIR/tests/http_probe
[[ -x $PROBE ]] || fail "http_probe not built ($PROBE)"

rel=$WORK/src/stock-rel.bin
random_file "$rel" $((3 * 1024 * 1024 + 4321)) stock
listening() { ss -Hltn "sport = :$1" | grep -q .; }
get() { printf 'GET %s HTTP/1.1\r\nConnection: close\r\n\r\n' "$2" | "$PROBE" raw --to "$1" --quiet-ms 500; }
closed_test=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false
  --disable-ipv6=true --console-log-level=notice --summary-interval=0 --bt-tracker-interval=2)

# --- 1. aria2c <-> aria2c through crowcast tracker ----------------------------------------------
tport=$(free_port)
T=127.0.0.1:$tport
printf 'rack seeders 127.0.0.0/24 239.255.9.1:7001\nrack hosts 127.0.4.0/24 239.255.9.2:7002\n' >"$WORK/racks.conf"
"$CROWCAST" make "$rel" -o "$WORK/crow.torrent" --tracker "http://$T/announce" >"$WORK/make1.log" 2>&1 ||
  fail "crowcast make failed"
info_hash=$("$CROWCAST" inspect "$WORK/crow.torrent" | awk '$1 == "info_hash:" {print $2}')
[[ ${#info_hash} == 40 ]] || fail "no info hash from crowcast inspect"
spawn tracker "$CROWCAST" tracker --listen "$T" --racks "$WORK/racks.conf" --interval 2 --json-log
wait_until 10 listening "$tport" || fail "crowcast tracker did not listen on $tport"

sport=$(free_port)
spawn aria2c-seed aria2c -V --seed-ratio=0.0 "${closed_test[@]}" --interface=127.0.0.1 --listen-port="$sport" \
  --dir="$(dirname "$rel")" "$WORK/crow.torrent"
seeded() { get "$T" /status | grep -q "\"peer\":\"127.0.0.1:$sport\",\"left\":0,"; }
wait_until 30 seeded || fail "the aria2c seed never announced itself complete to crowcast tracker"
mkdir -p "$WORK/leech"
rc=0
timeout 60 aria2c --seed-time=0 "${closed_test[@]}" --interface=127.0.4.7 --listen-port="$(free_port)" \
  --dir="$WORK/leech" "$WORK/crow.torrent" >"$WORK/aria2c-leech.log" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "aria2c leech exited $rc: $(tail -n 5 "$WORK/aria2c-leech.log")"
cmp "$rel" "$WORK/leech/stock-rel.bin" || fail "aria2c's download through crowcast tracker differs"
grep -q '"src":"127.0.4.7","path":"/announce","status":200' "$WORK/tracker.log" ||
  fail "crowcast tracker saw no announce from the leech's address"
metrics=$(get "$T" /metrics)
grep -q "^crowcast_tracker_complete{info_hash=\"$info_hash\",rack=\"seeders\"} 1$" <<<"$metrics" ||
  fail "the seed is not complete in rack 'seeders'"
log "aria2c leech (rack hosts) <- aria2c seed (rack seeders) via crowcast tracker: identical"

# --- 2. crowcast get -> opentracker -> aria2c seed, TCP only ------------------------------------
oport=$(free_port)
O=127.0.0.1:$oport
"$CROWCAST" make "$rel" -o "$WORK/ot.torrent" --tracker "http://$O/announce" >"$WORK/make2.log" 2>&1 ||
  fail "crowcast make failed"
mkdir -p "$WORK/ot"
echo "$info_hash" >"$WORK/ot/whitelist.txt" # the announce URL is outside the info dictionary: same hash
spawn opentracker opentracker -i 127.0.0.1 -p "$oport" -P "$oport" -d "$WORK/ot" -w /whitelist.txt
wait_until 10 listening "$oport" || fail "opentracker did not listen on $oport"
sport2=$(free_port)
spawn aria2c-seed2 aria2c -V --seed-ratio=0.0 "${closed_test[@]}" --listen-port="$sport2" \
  --dir="$(dirname "$rel")" "$WORK/ot.torrent"
hash_q=$(sed 's/../%&/g' <<<"$info_hash")
ot_seeded() { get "$O" "/scrape?info_hash=$hash_q" | grep -aq '8:completei1e'; }
wait_until 30 ot_seeded || fail "the aria2c seed never announced itself to opentracker"
rc=0
timeout 60 "$CROWCAST" get "$WORK/ot.torrent" -o "$WORK/got" --tracker "http://$O/announce" --no-mcast \
  --iface 127.0.0.1 --log-level debug >"$WORK/get.out" 2>"$WORK/get.log" || rc=$?
[[ $rc -eq 0 ]] || fail "crowcast get via opentracker exited $rc: $(tail -n 5 "$WORK/get.log")"
cmp "$rel" "$WORK/got/stock-rel.bin" || fail "crowcast get's download via opentracker differs"
log "crowcast get (announce to opentracker, TCP only) <- aria2c seed: identical"
log "PASS"
