#!/usr/bin/env bash
# A peer killed mid-transfer and restarted verifies what it has and fetches only the rest.
source "$(dirname "$0")/lib.sh"

random_file "$WORK/src/rel.bin" $((48 << 20)) resume
"$CROWCAST" make "$WORK/src/rel.bin" -o "$WORK/rel.torrent" --piece-size 256K >/dev/null 2>&1
group="239.255.$((RANDOM % 200 + 1)).$((RANDOM % 200 + 1)):$(free_port)"
tport=$(free_port)

# A slow multicast stream (about 4 s) so the first get is cut off in the middle of it.
spawn seed "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/src/rel.bin" --mcast "$group" --rate 100M \
  --listen "127.0.0.1:$tport" --linger 60
seed_pid=$SPAWNED_PID
set +e
"$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out" --mcast "$group" --iface 127.0.0.2 --json \
  --test-exit-after 1.5 >"$WORK/first.json" 2>"$WORK/first.log"
rc=$?
set -e
[[ $rc -eq 130 ]] || fail "the first get should have been cut off (exit 130), got $rc"
[[ ! -e "$WORK/out/rel.bin" ]] || fail "a cut-off download must not be published"
first=$(grep '"event":"progress"' "$WORK/first.json" | tail -1 | sed 's/.*"verified":\([0-9]*\).*/\1/')
log "first run verified $first pieces before it was cut off"
[[ ${first:-0} -gt 0 ]] || fail "the first run verified nothing; cannot test resume"

# The restart: TCP from the seeder only, so every byte it receives is counted in bytes_tcp.
"$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out" --no-mcast --peer "127.0.0.1:$tport" --iface 127.0.0.2 \
  --json >"$WORK/second.json" 2>"$WORK/second.log" || fail "the restarted get failed"
grep -q "resuming:" "$WORK/second.log" || fail "the restart did not say it resumed"
cmp "$WORK/src/rel.bin" "$WORK/out/rel.bin" || fail "published data differs from the source"
tcp=$(grep '"event":"complete"' "$WORK/second.json" | sed 's/.*"bytes_tcp":\([0-9]*\).*/\1/')
total=$((48 << 20))
log "restart fetched $tcp of $total bytes"
[[ $tcp -le $((total - first * 262144)) ]] || fail "the restart fetched $tcp bytes: more than what was missing"
[[ ! -d "$WORK/out/.crowcast-staging/"*/ ]] || fail "the staging area was not cleaned up after publishing"
kill "$seed_pid"
log "ok"
