#!/usr/bin/env bash
# A peer serving corrupted blocks (tests/tools/hostile_peer.py corrupt) is the first of a get's two
# --peer sources, the seeder the other, which starts listening only once the get has been talking to
# the liar for a second: the get ends complete and identical (nothing unverified is published), the
# pieces that failed were fetched again from the seeder, and the liar was dropped for the session:
# logged, and never dialled again although --peer sources are redialled every 2 s.
source "$(dirname "$0")/lib.sh"
need_cmd cmp python3 ss

MiB=$((1024 * 1024))
random_file "$WORK/rel/rel.bin" $((8 * MiB)) corrupt
"$CROWCAST" make "$WORK/rel/rel.bin" -o "$WORK/rel.torrent" --piece-size 256K >"$WORK/make.log" 2>&1 ||
  fail "crowcast make failed"
listening() { ss -Hltn "sport = :$1" | grep -q .; }

liar_port=$(free_port) seed_port=$(free_port)
spawn liar python3 "$CROW_SOURCE_DIR/tests/tools/hostile_peer.py" corrupt --crowcast "$CROWCAST" \
  --torrent "$WORK/rel.torrent" --listen "127.0.0.66:$liar_port" --duration 60
wait_until 10 listening "$liar_port" || fail "the hostile peer did not listen"
spawn get "$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out" --no-tracker --no-mcast --iface 127.0.0.2 \
  --peer "127.0.0.66:$liar_port" --peer "127.0.0.1:$seed_port" --json --log-level debug
get_pid=$SPAWNED_PID
wait_until 10 grep -q '^connection 1 ' "$WORK/liar.log" || fail "the get did not connect to the hostile peer"
sleep 1
failed=$(grep -c 'failed its SHA-256 check' "$WORK/get.log" || true)
[[ $failed -ge 1 ]] || fail "no piece from the corrupting peer failed verification: it proved nothing"
spawn seed "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel/rel.bin" --no-tracker --listen "127.0.0.1:$seed_port"
rc=0
wait_pid_timeout 40 "$get_pid" || rc=$?
[[ $rc -eq 0 ]] || fail "get exited $rc"
cmp "$WORK/rel/rel.bin" "$WORK/out/rel.bin" || fail "the published copy differs"
grep -q "peer 127.0.0.66 dropped for the session" "$WORK/get.log" || fail "the corrupting peer was not dropped"
# The get redials its --peer sources every 2 s: the dropped one must not be among them.
sleep 3
conns=$(grep -c '^connection ' "$WORK/liar.log" || true)
[[ $conns -eq 1 ]] || fail "the corrupting peer saw $conns connections: it was dialled again"
log "$failed piece(s) failed before the seeder started; $(grep 'dropped for the session' "$WORK/get.log" |
  head -1 | sed 's/.*warn: //')"
log "ok"
