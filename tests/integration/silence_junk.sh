#!/usr/bin/env bash
# Junk and other sessions' datagrams do not keep a dead stream alive. A peer joins a group on which
# no seeder sends, while tests/tools/mcast_inject floods it with malformed datagrams and DATA, BEACON
# and END of another session; the release's only source is a TCP seed given with --peer. The peer's
# multicast silence clock must run out (--mcast-timeout 2) despite the junk, and the release must
# arrive over TCP. (Before: every datagram, junk included, reset the clock, and the peer waited for
# ever.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mcast_lib.sh"
need_cmd cmp

INJECT=$CROW_BUILD_DIR/tests/mcast_inject
[[ -x $INJECT ]] || fail "mcast_inject not built ($INJECT)"
rel=$WORK/rel.bin
random_file "$rel" $((4 << 20)) junk
"$CROWCAST" make "$rel" -o "$WORK/rel.torrent" >"$WORK/make.log" 2>&1 || fail "crowcast make failed"
t=$WORK/rel.torrent
geometry=("$(inspect_str "$t" release_id)" "$(inspect_num "$t" pieces)" "$(inspect_num "$t" piece_length)"
  "$(inspect_num "$t" chunk_size)" "$(inspect_num "$t" length)")
group=$(mcast_group)
port=$(free_port)
spawn seed "$CROWCAST" seed "$t" "$rel" --listen "127.0.0.1:$port"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || fail "the TCP seed did not listen"

# The junk runs all along (bounded: at most 30 s), a datagram every few milliseconds.
spawn inject timeout 30 bash -c 'while :; do "$@" >/dev/null || exit 1; done' sh "$INJECT" "$group" \
  "${geometry[@]}" 50 2000
spawn get "$CROWCAST" get "$t" -o "$WORK/out" --mcast "$group" --iface 127.0.0.2 --peer "127.0.0.1:$port" \
  --mcast-timeout 2 --json
get_pid=$SPAWNED_PID
wait_joined 10 "$WORK/get.log"
wait_until 20 grep -q '"event":"complete"' "$WORK/get.log" ||
  fail "no completion within 20 s: the junk kept the silence clock from running out ($(json_event "$WORK/get.log" progress))"
grep -q "no multicast datagram for" "$WORK/get.log" || fail "the peer did not report the silent stream"
line=$(json_event "$WORK/get.log" complete)
junk=$(($(json_num "$line" malformed) + $(json_num "$line" foreign)))
[[ $junk -gt 0 ]] || fail "no junk datagram reached the peer (the test proves nothing): $line"
[[ $(json_num "$line" bytes_mcast) -eq 0 ]] || fail "junk was stored as data: $line"
cmp -s "$rel" "$WORK/out/rel.bin" || fail "the copy differs from the source"
wait_pid_timeout 10 "$get_pid" >/dev/null || fail "get did not exit after completing"
log "ok: $junk junk datagrams did not hold off the silence; the release came over TCP"
