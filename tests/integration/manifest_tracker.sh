#!/usr/bin/env bash
# manifest_tracker: `crowcast seed` announces to the tracker its manifest names, as every BitTorrent
# client does. A stock aria2c, which finds peers only through a tracker, downloads the release from
# `crowcast seed X.torrent PATH --listen ...` (no --tracker) through a stock opentracker whose URL
# is only in the manifest's announce; the seed is seen by opentracker's scrape before aria2c starts,
# and the copy is compared (cmp). Then `--no-tracker` keeps a seed away from that tracker.
source "$(dirname "$0")/lib.sh"
need_cmd aria2c opentracker cmp ss
PROBE=$CROW_BUILD_DIR/tests/http_probe
[[ -x $PROBE ]] || fail "http_probe not built ($PROBE)"

rel=$WORK/src/manifest-rel.bin
random_file "$rel" $((2 * 1024 * 1024 + 999)) manifest-tracker
listening() { ss -Hltn "sport = :$1" | grep -q .; }
get() { printf 'GET %s HTTP/1.1\r\nConnection: close\r\n\r\n' "$2" | "$PROBE" raw --to "$1" --quiet-ms 500; }
closed_test=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false
  --disable-ipv6=true --console-log-level=notice --summary-interval=0)

oport=$(free_port)
O=127.0.0.1:$oport
"$CROWCAST" make "$rel" -o "$WORK/rel.torrent" --tracker "http://$O/announce" >"$WORK/make.log" 2>&1 ||
  fail "crowcast make failed: $(cat "$WORK/make.log")"
info_hash=$("$CROWCAST" inspect "$WORK/rel.torrent" | awk '$1 == "info_hash:" {print $2}')
[[ ${#info_hash} == 40 ]] || fail "no info hash from crowcast inspect"
hash_q=$(sed 's/../%&/g' <<<"$info_hash")
mkdir -p "$WORK/ot"
echo "$info_hash" >"$WORK/ot/whitelist.txt"
spawn opentracker opentracker -i 127.0.0.1 -p "$oport" -P "$oport" -d "$WORK/ot" -w /whitelist.txt
wait_until 10 listening "$oport" || fail "opentracker did not listen on $oport"
seeded() { get "$O" "/scrape?info_hash=$hash_q" | grep -aq "8:completei1e"; }
seeded && fail "opentracker counts a complete peer before any seed started"

# --no-tracker: the seed serves TCP but tells nobody.
sport=$(free_port)
spawn quiet-seed "$CROWCAST" seed "$WORK/rel.torrent" "$rel" --listen "127.0.0.1:$sport" --no-tracker
quiet_pid=$SPAWNED_PID
wait_until 10 listening "$sport" || fail "crowcast seed --no-tracker did not listen on $sport"
sleep 1
seeded && fail "a seed given --no-tracker announced to the manifest's tracker"
kill "$quiet_pid"
wait "$quiet_pid" 2>/dev/null || true

# No --tracker: the manifest's announce URL.
sport=$(free_port)
spawn crowcast-seed "$CROWCAST" seed "$WORK/rel.torrent" "$rel" --listen "127.0.0.1:$sport" --log-level debug
seed_pid=$SPAWNED_PID
wait_until 10 listening "$sport" || fail "crowcast seed did not listen on $sport"
wait_until 10 seeded || fail "crowcast seed did not announce to the manifest's tracker (opentracker scrape)"
mkdir -p "$WORK/dl"
rc=0
timeout 40 aria2c --seed-time=0 "${closed_test[@]}" --listen-port="$(free_port)" --dir="$WORK/dl" \
  "$WORK/rel.torrent" >"$WORK/aria2c.log" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "aria2c exited $rc: $(tail -n 5 "$WORK/aria2c.log")"
cmp "$rel" "$WORK/dl/manifest-rel.bin" || fail "aria2c's copy differs"
grep -q "ready" "$WORK/crowcast-seed.log" || fail "crowcast seed logged no ready peer"
kill -0 "$seed_pid" || fail "crowcast seed died"
log "aria2c <- crowcast seed (no --tracker) via opentracker named by the manifest: identical"
