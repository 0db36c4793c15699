#!/usr/bin/env bash
# Chunks sized to the MTU, never IP fragments: make --mtu picks the chunk size; seed refuses a
# release whose datagrams (with the tag when keyed) exceed its --iface's MTU and names what fits,
# and sends one that fits. In a namespace of its own, from one end of a veth pair whose other end
# nobody listens on.
source "$(dirname "$0")/lib.sh"
need_root
need_cmd ip

ns="crowmtu$$" ip4=10.98.0.1
ip netns add "$ns"
at_exit "ip netns del '$ns'"
ip -n "$ns" link add d0 type veth peer name d1
ip -n "$ns" addr add "$ip4/24" dev d0
ip -n "$ns" link set d0 up
ip -n "$ns" link set d1 up
ip -n "$ns" route add 224.0.0.0/4 dev d0

chunk_of() { "$CROWCAST" inspect "$1" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["chunk_size"])'; }
random_file "$WORK/rel.bin" $((2 << 20)) mtu
"$CROWCAST" make "$WORK/rel.bin" -o "$WORK/jumbo.torrent" --mtu 9000 >/dev/null
"$CROWCAST" make "$WORK/rel.bin" -o "$WORK/auto.torrent" --chunk-size auto >/dev/null
"$CROWCAST" make "$WORK/rel.bin" -o "$WORK/1440.torrent" --chunk-size 1440 >/dev/null
[[ $(chunk_of "$WORK/jumbo.torrent") == 8920 ]] || fail "make --mtu 9000 chose $(chunk_of "$WORK/jumbo.torrent"), not 8920"
[[ $(chunk_of "$WORK/auto.torrent") == 1424 ]] || fail "make --chunk-size auto chose $(chunk_of "$WORK/auto.torrent"), not 1424"
rc=0
"$CROWCAST" make "$WORK/rel.bin" -o "$WORK/x.torrent" --mtu 9000 --chunk-size 1000 2>"$WORK/make.err" || rc=$?
[[ $rc -eq 2 ]] || fail "make --mtu with --chunk-size N exited $rc, not 2"

head -c 32 /dev/urandom >"$WORK/key" && chmod 600 "$WORK/key"
# seed_rc TORRENT [OPTION...]: one pass out of d0; its exit status, stderr in seed.err.
seed_rc() {
  local t=$1 rc=0; shift
  timeout 20 ip netns exec "$ns" "$CROWCAST" seed "$t" "$WORK/rel.bin" --iface "$ip4" --mcast 239.98.0.1:7000 \
    --passes 1 --no-tracker --rate 1G "$@" >"$WORK/seed.out" 2>"$WORK/seed.err" || rc=$?
  echo "$rc"
}

mtu() { ip -n "$ns" link set d0 mtu "$1" && ip -n "$ns" link set d1 mtu "$1"; }
mtu 1500
[[ $(seed_rc "$WORK/jumbo.torrent") == 2 ]] || fail "seed sent 8980-byte datagrams on a 1500-byte MTU: $(cat "$WORK/seed.err")"
grep -q "over the MTU of d0 (1500 bytes).*--mtu 1500 (chunk size 1424)" "$WORK/seed.err" ||
  fail "the refusal does not say what fits: $(cat "$WORK/seed.err")"
! grep -q multicasting "$WORK/seed.err" || fail "seed multicast before refusing"
# 1440-byte chunks: 1500 bytes without a tag fit, 1516 with one do not.
[[ $(seed_rc "$WORK/1440.torrent") == 0 ]] || fail "1500-byte datagrams refused on a 1500-byte MTU: $(cat "$WORK/seed.err")"
[[ $(seed_rc "$WORK/1440.torrent" --mcast-key "$WORK/key") == 2 ]] ||
  fail "keyed 1516-byte datagrams sent on a 1500-byte MTU: $(cat "$WORK/seed.err")"
grep -q "1516-byte IP datagrams (with the tag)" "$WORK/seed.err" || fail "keyed refusal: $(cat "$WORK/seed.err")"
[[ $(seed_rc "$WORK/auto.torrent" --mcast-key "$WORK/key") == 0 ]] ||
  fail "make --chunk-size auto does not fit 1500 with the tag: $(cat "$WORK/seed.err")"

mtu 9000
[[ $(seed_rc "$WORK/jumbo.torrent" --mcast-key "$WORK/key") == 0 ]] ||
  fail "the jumbo release refused on a 9000-byte MTU: $(cat "$WORK/seed.err")"
grep -q mcast_done "$WORK/seed.err" "$WORK/seed.out" || fail "the jumbo pass did not finish: $(cat "$WORK/seed.err")"
echo "[$TEST_NAME] ok"
