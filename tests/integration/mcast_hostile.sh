#!/usr/bin/env bash
# Hostile datagrams in the group: while a receiver waits and then while a 32 MiB transfer runs,
# tests/tools/mcast_inject sends malformed and foreign datagrams to the same loopback group (wrong
# magic, version, type, flags; truncated headers; length fields that lie; empty and oversized DATA;
# DATA, BEACON and END of another session; offsets and pieces past the end; a BEACON of this
# release with the wrong geometry). The receiver must count each in its class (malformed, foreign,
# out_of_range, truncated), store none of it, and still end with a copy identical to the source.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mcast_lib.sh"
need_cmd openssl cmp

INJECT=$CROW_BUILD_DIR/tests/mcast_inject
[[ -x $INJECT ]] || fail "mcast_inject not built ($INJECT)"
CLASSES=(malformed foreign out_of_range truncated)

rel=$WORK/rel.bin
random_file "$rel" $((32 * 1024 * 1024)) hostile
"$CROWCAST" make "$rel" -o "$WORK/rel.torrent" >"$WORK/make.log" 2>&1 || fail "crowcast make failed"
t=$WORK/rel.torrent
geometry=("$(inspect_str "$t" release_id)" "$(inspect_num "$t" pieces)" "$(inspect_num "$t" piece_length)"
  "$(inspect_num "$t" chunk_size)" "$(inspect_num "$t" length)")
group=$(mcast_group)

spawn get "$CROWCAST" get "$t" -o "$WORK/out" --mcast "$group" --iface 127.0.0.2 --json
get_pid=$SPAWNED_PID
wait_joined 20 "$WORK/get.log"

# inject NAME ROUNDS GAP_US: runs the injector; its expected counts land in $WORK/NAME.counts.
inject() {
  timeout 60 "$INJECT" "$group" "${geometry[@]}" "$2" "$3" >"$WORK/$1.counts" 2>"$WORK/$1.log" ||
    fail "mcast_inject ($1) exited $?: $(cat "$WORK/$1.log")"
}
# count NAME CLASS: what the injector run NAME sent of CLASS.
count() { grep -oE "(^| )$2=[0-9]+" "$WORK/$1.counts" | cut -d= -f2; }
# counted CLASS: the receiver's count of CLASS in its last progress event.
counted_all() {
  local line
  line=$(json_event "$WORK/get.log" progress)
  [[ -n $line ]] || return 1
  for c in "${CLASSES[@]}"; do [[ $(json_num "$line" "$c") -eq $(count before "$c") ]] || return 1; done
}

# Before any data: every hostile datagram reaches the receiver, so the counts must match exactly.
inject before 20 1000
log "before the transfer: sent $(cat "$WORK/before.counts")"
wait_until 10 counted_all || fail "the receiver's counts do not match what was sent: $(json_event "$WORK/get.log" progress)"

# During the transfer (two passes: the second one covers a receiver the scheduler starves).
spawn seed "$CROWCAST" seed "$t" "$rel" --mcast "$group" --iface 127.0.0.1 --rate 300M --passes 2 --json
seed_pid=$SPAWNED_PID
inject during 300 2000
log "during the transfer: sent $(cat "$WORK/during.counts")"
rc=0
wait_pid_timeout 60 "$get_pid" || rc=$?
kill "$seed_pid" 2>/dev/null || true
[[ $rc -eq 0 ]] || fail "the receiver exited $rc"
cmp "$rel" "$WORK/out/rel.bin" || fail "the received copy differs from the source"
line=$(json_event "$WORK/get.log" complete)
[[ -n $line ]] || fail "no \"complete\" event"
[[ $(json_num "$line" pieces_failed) -eq 0 ]] || fail "pieces failed their hash: $line"
# Each class holds at least what was sent before the transfer and at most everything sent; what
# the injector sent after the receiver finished was not seen.
for c in "${CLASSES[@]}"; do
  got=$(json_num "$line" "$c") low=$(count before "$c") high=$(($(count before "$c") + $(count during "$c")))
  ((got >= low && got <= high)) || fail "$c: the receiver counted $got, expected $low..$high"
  log "$c: counted $got (sent $low before the transfer, $high in all)"
done
log "PASS"
