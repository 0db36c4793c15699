#!/usr/bin/env bash
# A seed's storage reads all busy must not close the connections that asked: 48 honest connections
# (tests/tools/hostile_peer.py greedy) each ask a `crowcast seed` for 64 blocks at once, more reads
# than the piece store runs at a time (4 per connection served at once, 128 reads in the store). Every
# block arrives and no connection is closed.
source "$(dirname "$0")/lib.sh"
need_cmd python3 ss

random_file "$WORK/rel/rel.bin" $((8 << 20)) busy
"$CROWCAST" make "$WORK/rel/rel.bin" -o "$WORK/rel.torrent" --piece-size 256K >"$WORK/make.log" 2>&1 ||
  fail "crowcast make failed"
seed_port=$(free_port)
spawn seed "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel/rel.bin" --no-tracker --listen "127.0.0.1:$seed_port" \
  --log-level debug
listening() { ss -Hltn "sport = :$seed_port" | grep -q .; }
wait_until 10 listening || fail "the seeder did not listen"
spawn greedy python3 "$CROW_SOURCE_DIR/tests/tools/hostile_peer.py" greedy --crowcast "$CROWCAST" \
  --torrent "$WORK/rel.torrent" --bind 127.0.0.5 --connect "127.0.0.1:$seed_port" --count 48 --requests 64 \
  --duration 30
rc=0
wait_pid_timeout 40 "$SPAWNED_PID" || rc=$?
[[ $rc -eq 0 ]] || fail "the greedy client exited $rc"
line=$(grep '^blocks received' "$WORK/greedy.log") || fail "the greedy client reported nothing"
log "$line"
[[ $line == "blocks received: 3072 of 3072; connections closed by the other side: 0" ]] ||
  fail "the seed dropped requests or connections: $line ($(grep -c 'cannot serve' "$WORK/seed.log") 'cannot serve' closes)"
log "ok"
