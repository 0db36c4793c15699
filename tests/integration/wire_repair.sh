#!/usr/bin/env bash
# TCP gap filling among rack neighbours, on loopback:
#   1. one `crowcast seed --mcast --listen` and 3 receivers losing 1.5%, 3% and 4.5% of the DATA
#      datagrams (--test-loss, each with its own seed), each listening on 127.0.0.x and given the
#      others as --peer: all end complete and identical, and each fetched over TCP only its gaps:
#      bytes_tcp is at most datagrams_lost x chunk size and within 3% of it (the last chunk of a
#      piece is shorter), with bytes_mcast + bytes_tcp = the release. A table per receiver gives the
#      figures and where its TCP bytes came from.
#   2. a neighbour killed mid-transfer: a slower stream (5 s), receivers A, B (--peer A) and C
#      (--peer A --peer B); A is killed (SIGKILL) 2.5 s in, while B and C are still receiving and
#      repairing; B and C end complete and identical, from the others and the seeder (found through
#      its BEACON), and at least one of them had taken bytes from A before it died.
source "$(dirname "$0")/lib.sh"
need_cmd cmp python3 ss

MiB=$((1024 * 1024))
random_file "$WORK/rel/repair.bin" $((24 * MiB)) repair
"$CROWCAST" make "$WORK/rel/repair.bin" -o "$WORK/rel.torrent" >"$WORK/make.log" 2>&1 || fail "crowcast make failed"
read -r total chunk < <("$CROWCAST" inspect --json "$WORK/rel.torrent" |
  python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["length"], j["chunk_size"])')
listening() { ss -Hltn "sport = :$1" | grep -q .; }

# summary NAME: "verified pieces bytes_mcast bytes_tcp datagrams_lost test_dropped" from the last
# complete event of NAME.json, then one "addr:bytes" per source; nothing without a complete event.
summary() {
  python3 - "$WORK/$1.json" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
done = [e for e in ev if e.get("event") == "complete"]
if done:
    d = done[-1]
    print(d["verified"], d["pieces"], d["bytes_mcast"], d["bytes_tcp"], d["datagrams_lost"], d["test_dropped"])
    print(" ".join("%s:%d" % (e["addr"], e["bytes"]) for e in ev if e.get("event") == "source"))
EOF
}

# receiver NAME HOST PORT GROUP LOSS SEED [--peer ...]: a get on 127.0.0.HOST listening on PORT.
receiver() {
  local name=$1 host=$2 port=$3 group=$4 loss=$5 seed=$6
  shift 6
  spawn "$name" "$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out-$name" --iface "127.0.0.$host" \
    --listen "127.0.0.$host:$port" --mcast "$group" --test-loss "$loss" --test-loss-seed "$seed" \
    --json --log-level debug "$@"
  wait_until 10 listening "$port" || fail "$name did not listen on 127.0.0.$host:$port"
}
# get's JSON events (stdout) share NAME.log with its log (stderr): json_of keeps the events.
json_of() { grep '^{' "$WORK/$1.log" >"$WORK/$1.json" || true; }
group() { echo "239.192.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1)):$(free_port)"; }

# --- 1. three receivers with 1.5-4.5% loss, rack neighbours of one another ---------------------
g=$(group)
declare -A port
for i in 1 2 3; do port[$i]=$(free_port); done
pids=()
for i in 1 2 3; do
  peers=()
  for j in 1 2 3; do [[ $j == "$i" ]] || peers+=(--peer "127.0.0.$((20 + j)):${port[$j]}"); done
  receiver "r$i" $((20 + i)) "${port[$i]}" "$g" $((15000 * i)) $((40 + i)) "${peers[@]}"
  pids+=("$SPAWNED_PID")
done
seed_port=$(free_port)
spawn seed1 "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel/repair.bin" --mcast "$g" --rate 300M \
  --listen "127.0.0.1:$seed_port" --log-level debug
for i in 1 2 3; do
  rc=0
  wait_pid_timeout 40 "${pids[$((i - 1))]}" || rc=$?
  [[ $rc -eq 0 ]] || fail "receiver r$i exited $rc"
done

printf '%-4s %6s %10s %10s %10s %12s %7s  %s\n' peer loss lost_dgram bytes_tcp lost_bytes bytes_mcast 'tcp/lost' \
  'TCP sources (addr:bytes)' >&2
for i in 1 2 3; do
  json_of "r$i"
  cmp "$WORK/rel/repair.bin" "$WORK/out-r$i/repair.bin" || fail "r$i: the copy differs"
  { read -r verified pieces mcast tcp lost dropped && read -r sources; } < <(summary "r$i") ||
    fail "r$i: no complete event"
  [[ $verified == "$pieces" ]] || fail "r$i: $verified of $pieces pieces verified"
  [[ $((mcast + tcp)) -eq $total ]] || fail "r$i: bytes_mcast $mcast + bytes_tcp $tcp != $total"
  [[ $lost -ge $dropped && $dropped -gt 0 ]] || fail "r$i: $lost datagrams lost, $dropped dropped by the test"
  want=$((lost * chunk))
  [[ $tcp -le $want && $tcp -ge $((want * 97 / 100)) ]] ||
    fail "r$i: $tcp bytes over TCP for $lost lost datagrams ($want bytes): it fetched more than its gaps"
  awk -v p="r$i" -v loss="$((15 * i))" -v l="$lost" -v t="$tcp" -v w="$want" -v m="$mcast" -v s="$sources" \
    'BEGIN { printf "%-4s %5.1f%% %10d %10d %10d %12d %7.4f  %s\n", p, loss / 10, l, t, w, m, t / w, s }' >&2
done
kill "$SPAWNED_PID" 2>/dev/null || true
log "part 1: 3 receivers complete and identical, each fetched only its gaps over TCP"

# --- 2. a neighbour killed mid-transfer --------------------------------------------------------
# A and C receive a 5 s stream (1% loss, repaired from the seeder found through its BEACON) and keep
# serving afterwards; B takes no multicast and pulls every piece over TCP from its rack neighbours
# A (nearest, preferred) and C as they verify them. A is killed 2.5 s in: B must finish from C.
g=$(group)
declare -A kport
for n in a b c; do kport[$n]=$(free_port); done
receiver ka 31 "${kport[a]}" "$g" 10000 51 --seed-time 30
a_pid=$SPAWNED_PID
receiver kc 33 "${kport[c]}" "$g" 10000 53 --seed-time 30
spawn kb "$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out-kb" --no-mcast --iface 127.0.0.32 \
  --listen "127.0.0.32:${kport[b]}" --peer "127.0.0.31:${kport[a]}" --peer "127.0.0.33:${kport[c]}" \
  --json --log-level debug
b_pid=$SPAWNED_PID
wait_until 10 listening "${kport[b]}" || fail "B did not listen"
spawn seed2 "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel/repair.bin" --mcast "$g" --rate 40M \
  --listen "127.0.0.1:$(free_port)" --log-level debug
sleep 2.5
kill -0 "$a_pid" 2>/dev/null || fail "A ended before it was killed"
kill -0 "$b_pid" 2>/dev/null || fail "B had already ended when A was killed: nothing left to prove"
kill -KILL "$a_pid"
wait "$a_pid" 2>/dev/null || true
log "part 2: killed A (pid $a_pid) 2.5 s into a 5 s stream, B pulling from it"
rc=0
wait_pid_timeout 40 "$b_pid" || rc=$?
[[ $rc -eq 0 ]] || fail "B exited $rc after A was killed"
json_of kb
cmp "$WORK/rel/repair.bin" "$WORK/out-kb/repair.bin" || fail "B: the copy differs"
{ read -r verified pieces mcast tcp lost dropped && read -r sources; } < <(summary kb) || fail "B: no complete event"
[[ $verified == "$pieces" && $mcast -eq 0 && $tcp -eq $total ]] ||
  fail "B: $verified of $pieces pieces, $mcast bytes by multicast, $tcp over TCP"
from() { tr ' ' '\n' <<<"$sources" | awk -F: -v a="$1" '$1 == a {print $2}'; }
from_a=$(from 127.0.0.31) from_c=$(from 127.0.0.33)
[[ ${from_a:-0} -gt 0 ]] || fail "B took nothing from A before it died ($sources): the kill proved nothing"
[[ ${from_c:-0} -gt 0 && $((from_a + from_c)) -eq $total ]] || fail "B's sources do not add up: $sources"
log "B: complete and identical; ${from_a} bytes from A before it died, ${from_c} from C after"
log "ok"
