#!/usr/bin/env bash
# The peer wire against BitTorrent clients nobody here wrote, on loopback, on one multi-file release
# (a file ending inside a piece, a file of a few bytes, the default 256 KiB pieces and 1408-byte
# chunks, so crowcast asks stock clients for chunk-aligned blocks of at most 16 KiB):
#   1. `crowcast get --peer --no-mcast` downloads it from an aria2c seed (-V, --seed-ratio=0.0);
#   2. the same from a transmission-cli seed;
#   3. aria2c downloads it from `crowcast seed --listen --tracker`, finding the seed through
#      opentracker (whitelist mode, the info hash whitelisted), and stops after (--seed-time=0).
# Every copy is compared with the original (cmp), and crowcast's --json "source" event must count
# the whole release from the stock seed. A part whose client is missing is left out; the test then
# exits 77 naming it, after running the others.
source "$(dirname "$0")/lib.sh"
need_cmd cmp ss python3

KiB=1024
rel=$WORK/src/interop-rel
random_file "$rel/a/image.bin" $((2300 * KiB + 777)) image
random_file "$rel/a/b/tail.bin" $((900 * KiB + 5)) tail
printf 'six b' >"$rel/note.txt"
total=$(find "$rel" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

tracker_port=$(free_port)
announce=http://127.0.0.1:$tracker_port/announce
"$CROWCAST" make "$rel" -o "$WORK/rel.torrent" --tracker "$announce" >"$WORK/make.log" 2>&1 ||
  fail "crowcast make failed"
info_hash=$("$CROWCAST" inspect --json "$WORK/rel.torrent" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["info_hash"])')

missing=()
listening() { ss -Hltn "sport = :$1" | grep -q .; }
# stop PID: ends a process this test started and waits for it.
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
closed_test=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false
  --disable-ipv6=true --console-log-level=notice --summary-interval=0)

# crowcast_get_from WHO PORT: crowcast downloads from the stock seed at 127.0.0.1:PORT (TCP only,
# no tracker: the manifest's names opentracker, for part 3), then the copy and the per-source byte
# count are checked.
crowcast_get_from() {
  local who=$1 port=$2 out=$WORK/get-$1
  local rc=0
  timeout 40 "$CROWCAST" get "$WORK/rel.torrent" -o "$out" --peer "127.0.0.1:$port" --no-mcast --no-tracker \
    --iface 127.0.0.1 --json --log-level debug >"$WORK/get-$who.json" 2>"$WORK/get-$who.log" || rc=$?
  [[ $rc -eq 0 ]] || fail "crowcast get from the $who seed exited $rc: $(tail -n 5 "$WORK/get-$who.log")"
  for f in a/image.bin a/b/tail.bin note.txt; do
    cmp "$rel/$f" "$out/interop-rel/$f" || fail "$f from $who differs"
  done
  local from
  from=$(python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
src = [e for e in ev if e.get("event") == "source"]
done = [e for e in ev if e.get("event") == "complete"]
print(sum(e["bytes"] for e in src), done[-1]["bytes_tcp"] if done else -1)' "$WORK/get-$who.json")
  [[ $from == "$total $total" ]] || fail "from $who: source bytes and bytes_tcp are '$from', want $total each"
  log "crowcast get <- $who seed: $total bytes, identical ($(grep -o 'in [0-9.]* s' "$WORK/get-$who.log" | tail -n 1))"
}

# 1. aria2c seeds, crowcast downloads.
if command -v aria2c >/dev/null; then
  port=$(free_port)
  spawn aria2c-seed aria2c -V --seed-ratio=0.0 "${closed_test[@]}" --listen-port="$port" \
    --dir="$WORK/src" "$WORK/rel.torrent"
  aria_pid=$SPAWNED_PID
  wait_until 20 listening "$port" || fail "aria2c did not listen on $port"
  crowcast_get_from aria2c "$port"
  stop "$aria_pid"
else
  missing+=(aria2c)
fi

# 2. transmission-cli seeds, crowcast downloads.
if command -v transmission-cli >/dev/null; then
  port=$(free_port)
  mkdir -p "$WORK/tr-config"
  spawn transmission-seed transmission-cli -w "$WORK/src" -g "$WORK/tr-config" -p "$port" -M -et -v \
    "$WORK/rel.torrent"
  tr_pid=$SPAWNED_PID
  wait_until 20 listening "$port" || fail "transmission-cli did not listen on $port"
  crowcast_get_from transmission "$port"
  stop "$tr_pid"
else
  missing+=(transmission-cli)
fi

# 3. crowcast seeds, aria2c downloads, the two meeting through opentracker.
if command -v aria2c >/dev/null && command -v opentracker >/dev/null; then
  mkdir -p "$WORK/ot"
  echo "$info_hash" >"$WORK/ot/whitelist.txt"
  spawn opentracker opentracker -i 127.0.0.1 -p "$tracker_port" -P "$tracker_port" -d "$WORK/ot" -w /whitelist.txt
  wait_until 10 listening "$tracker_port" || fail "opentracker did not listen on $tracker_port"
  seed_port=$(free_port)
  spawn crowcast-seed "$CROWCAST" seed "$WORK/rel.torrent" "$rel" --listen "127.0.0.1:$seed_port" \
    --tracker "$announce" --log-level debug
  seed_pid=$SPAWNED_PID
  wait_until 10 listening "$seed_port" || fail "crowcast seed did not listen on $seed_port"
  mkdir -p "$WORK/aria2c-dl"
  rc=0
  timeout 40 aria2c --seed-time=0 "${closed_test[@]}" --listen-port="$(free_port)" --dir="$WORK/aria2c-dl" \
    "$WORK/rel.torrent" >"$WORK/aria2c-dl.log" 2>&1 || rc=$?
  [[ $rc -eq 0 ]] || fail "aria2c download from crowcast seed exited $rc"
  for f in a/image.bin a/b/tail.bin note.txt; do
    cmp "$rel/$f" "$WORK/aria2c-dl/interop-rel/$f" || fail "$f downloaded by aria2c differs"
  done
  grep -q "ready" "$WORK/crowcast-seed.log" || fail "crowcast seed logged no ready peer"
  kill -0 "$seed_pid" || fail "crowcast seed died"
  log "aria2c <- crowcast seed (via opentracker): $total bytes, identical"
else
  command -v opentracker >/dev/null || missing+=(opentracker)
fi

[[ ${#missing[@]} -eq 0 ]] || skip "not installed: ${missing[*]} (tools/setup.sh installs them); the other parts passed"
log "ok"
