#!/usr/bin/env bash
# Part 1, junk. Hostile datagrams in the group: while a receiver waits and then while a 32 MiB transfer runs,
# tests/tools/mcast_inject sends malformed and foreign datagrams to the same loopback group (wrong
# magic, version, type, flags; truncated headers; length fields that lie; empty and oversized DATA;
# DATA, BEACON and END of another session; offsets and pieces past the end; a BEACON of this
# release with the wrong geometry). The receiver must count each in its class (malformed, foreign,
# out_of_range, truncated), store none of it, and still end with a copy identical to the source.
#
# Part 2, forgeries of the seeder's own datagrams (mcast_inject ATTACK), each during a 100 Mbit/s
# pass, without a key and with one (--mcast-key on seed and get):
#   end      forged final ENDs mid-pass, from the injector's address and (root) from the seeder's
#            own address and port; the get has no TCP source, so an END believed would end it
#   repeat   REPEAT-flag DATA of the last piece: it must not move the frontier (the get has a TCP
#            seed, and must not fetch over TCP what the stream is still sending)
#   spray    a bad chunk for every piece, as fast as the injector can send; the seeder also serves
#            TCP (found from its BEACON), which must repair every spoiled piece
#   seq      BEACONs at sequence numbers near 2^64 from the seeder's own address (root)
#   junk     part 1's table, with a key
# Without a key the transfer must complete with a verified copy; with one every forgery must be
# counted as forged and no piece fail its hash.
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
kill "$seed_pid" 2>/dev/null || true

KEY=$WORK/mcast.key
(umask 077 && head -c 32 /dev/urandom >"$KEY")
pieces=${geometry[1]}
piece_length=${geometry[2]}

# attack NAME ATTACK SPOOF KEYED TCP ROUNDS GAP_US: one transfer under ATTACK (SPOOF: spoof or -,
# KEYED: key or -, TCP: tcp when the seeder also serves TCP). Checks the verified copy; with a key
# that the forgeries were counted and no piece failed. Leaves the "complete" event in $COMPLETE.
attack() {
  local name=$1 what=$2 spoof=$3 keyed=$4 tcp=$5 rounds=$6 gap=$7
  local g key_args=(--mcast-key none) tcp_args=() spoof_args=() rc=0
  g=$(mcast_group)
  [[ $keyed == key ]] && key_args=(--mcast-key "$KEY")
  [[ $tcp == tcp ]] && tcp_args=(--listen "127.0.0.1:$(free_port)")
  [[ $spoof == spoof ]] && spoof_args=(spoof)
  spawn "get-$name" "$CROWCAST" get "$t" -o "$WORK/out-$name" --mcast "$g" --iface 127.0.0.2 --json \
    "${key_args[@]}"
  local gp=$SPAWNED_PID
  wait_joined 20 "$WORK/get-$name.log"
  spawn "seed-$name" "$CROWCAST" seed "$t" "$rel" --mcast "$g" --iface 127.0.0.1 --rate 100M "${key_args[@]}" \
    "${tcp_args[@]}"
  local sp=$SPAWNED_PID
  timeout 60 "$INJECT" "$g" "${geometry[@]}" "$rounds" "$gap" "$what" "${spoof_args[@]}" \
    >"$WORK/inject-$name.counts" 2>"$WORK/inject-$name.log" || fail "$name: mcast_inject exited $?: $(cat "$WORK/inject-$name.log")"
  wait_pid_timeout 60 "$gp" || rc=$?
  kill "$sp" 2>/dev/null || true
  [[ $rc -eq 0 ]] || fail "$name: the receiver exited $rc: $(json_event "$WORK/get-$name.log" progress)"
  cmp "$rel" "$WORK/out-$name/rel.bin" || fail "$name: the published copy differs from the source"
  COMPLETE=$(json_event "$WORK/get-$name.log" complete)
  [[ -n $COMPLETE ]] || fail "$name: no \"complete\" event"
  if [[ $keyed == key ]]; then
    (($(json_num "$COMPLETE" forged) > 0)) || fail "$name: no forgery counted: $COMPLETE"
    (($(json_num "$COMPLETE" pieces_failed) == 0)) || fail "$name: a forgery reached a piece: $COMPLETE"
  fi
  log "$name: complete and verified; injected $(cat "$WORK/inject-$name.counts"), forged $(json_num "$COMPLETE" forged), pieces failed $(json_num "$COMPLETE" pieces_failed), TCP $(json_num "$COMPLETE" bytes_tcp) B"
}

attack end end - - - 25 100000
attack end-key end - key - 25 100000
if [[ $(id -u) -eq 0 ]]; then
  attack end-spoofed end spoof - - 25 100000
  attack end-spoofed-key end spoof key - 25 100000
  attack seq-spoofed seq spoof - - 200 10000
  attack seq-spoofed-key seq spoof key - 200 10000
else
  log "not root: the spoofed cases (END and sequence numbers from the seeder's own address) are left out"
fi
attack repeat repeat - - tcp 200 10000
# The stream still brings every piece but the last (which the forgery spoiled): at most a couple of
# pieces may come over TCP, not the rest of the release.
(($(json_num "$COMPLETE" bytes_tcp) <= 2 * piece_length)) || fail "repeat: the frontier jumped: $COMPLETE"
attack repeat-key repeat - key tcp 200 10000
(($(json_num "$COMPLETE" bytes_tcp) == 0)) || fail "repeat-key: fetched over TCP what the stream sent: $COMPLETE"
attack spray spray - - tcp 3000 500
log "spray: $(json_num "$COMPLETE" refused) chunks refused for pieces that failed their hash"
attack spray-key spray - key tcp 3000 500
attack junk-key junk - key - 100 2000
log "PASS"
