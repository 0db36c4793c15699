#!/usr/bin/env bash
# tracker_failover: BEP 12 announce-list failover with the first tracker down. The manifest lists two
# tiers: a udp:// URL (which crowcast skips, with one warning) and a port nobody listens on, then a
# crowcast tracker. `crowcast seed` and `crowcast get`, given
# no --tracker, fail over to the second tier within their first announce (logged once each, as a
# warning naming both trackers), the tracker names the rack's group and the neighbours, the get
# completes (cmp) and its later announces go straight to the working tracker (no second failover
# line while the dead one rests).
source "$(dirname "$0")/lib.sh"
need_cmd cmp ss

listening() { ss -Hltn "sport = :$1" | grep -q .; }
dead_port=$(free_port)
tport=$(free_port)
gport=$(free_port)
group="239.255.$((RANDOM % 200 + 1)).$((RANDOM % 200 + 1))"
dead=http://127.0.0.1:$dead_port/announce
alive=http://127.0.0.1:$tport/announce

random_file "$WORK/rel.bin" $((6 * 1024 * 1024 + 77)) failover
udp=udp://tracker.example:80/announce
"$CROWCAST" make "$WORK/rel.bin" -o "$WORK/rel.torrent" --piece-size 256K --tracker "$udp,$dead" --tracker "$alive" \
  >"$WORK/make.log" 2>&1 || fail "crowcast make failed: $(cat "$WORK/make.log")"
"$CROWCAST" inspect "$WORK/rel.torrent" | grep -q "^              2: $alive\$" ||
  fail "the manifest does not list the live tracker as tier 2: $("$CROWCAST" inspect "$WORK/rel.torrent")"
printf 'rack r1 127.0.1.0/24 %s\n' "$group:$gport" >"$WORK/racks.conf"
spawn tracker "$CROWCAST" tracker --listen "127.0.0.1:$tport" --racks "$WORK/racks.conf" --interval 1 --json-log
wait_until 10 listening "$tport" || fail "the tracker did not listen on $tport"
listening "$dead_port" && fail "something listens on the 'dead' port $dead_port"

spawn get "$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out" --iface 127.0.1.1 --json --log-level debug
get_pid=$SPAWNED_PID
wait_until 10 grep -q '"event":"joined"' "$WORK/get.log" || fail "the get joined no group (the tracker names it)"
# While nobody sends, the get announces again 1 s and 2 s later: to the live tracker straight away,
# the dead one resting.
sleep 3.5
spawn seed "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel.bin" --iface 127.0.0.1 --rate 200M --linger 5
rc=0
wait_pid_timeout 60 "$get_pid" || rc=$?
[[ $rc -eq 0 ]] || fail "crowcast get exited $rc"
cmp "$WORK/rel.bin" "$WORK/out/rel.bin" || fail "the published copy differs"
grep -q "rack r1, chain position" "$WORK/get.log" || fail "the get was never placed by the live tracker"

for who in get seed; do
  n=$(grep -c "tracker $dead: .*; failing over to $alive (tier 2)" "$WORK/$who.log" || true)
  [[ $n -eq 1 ]] || fail "$who logged the failover $n times, want once: $(grep -i tracker "$WORK/$who.log")"
  grep -q " warn: tracker $dead:" "$WORK/$who.log" || fail "$who's failover is not a warning"
  n=$(grep -cF " warn: $who: skipping tracker $udp: crowcast announces to http[s]://A.B.C.D:PORT/ URLs only" \
    "$WORK/$who.log" || true)
  [[ $n -eq 1 ]] || fail "$who warned $n times about the udp:// tracker, want once"
done
# The get's debug log would show any other attempt at the dead tracker; the live one saw them all.
n=$(grep -c "failing over" "$WORK/get.log" || true)
[[ $n -eq 1 ]] || fail "the get tried the resting dead tracker again: $(grep "failing over" "$WORK/get.log")"
announces=$(grep -c '"src":"127.0.1.1","path":"/announce","status":200' "$WORK/tracker.log" || true)
((announces >= 3)) || fail "the live tracker answered the get $announces times, want its start, retries and completion"
log "seed and get failed over from tier 1 ($dead, down) to tier 2 ($alive), once each; $announces announces of the get reached tier 2; the copy is identical"
