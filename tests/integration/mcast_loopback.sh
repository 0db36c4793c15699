#!/usr/bin/env bash
# Multicast on loopback: one `crowcast seed`, 4 `crowcast get` in separate processes joined on
# 127.0.0.2-5.
#   Round 1: a 256 MiB release at 1 Gbit/s, two passes; every receiver exits 0 with a verified copy
#            identical to the source (cmp). The second pass is the safety net for a receiver the
#            scheduler starves (kernel drops on a loaded 2-core machine); what was lost is logged.
#   Round 2: a 32 MiB release at 300 Mbit/s (slow enough that the kernel drops nothing), one pass,
#            each receiver dropping 1% of DATA datagrams on purpose
#            (--test-loss 10000, its own seed): each exits 1, its "incomplete" event says
#            missing_chunks == test_dropped == datagrams_lost, its "missing" ranges add up to those
#            chunks, different seeds miss different chunks, and nothing is published.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mcast_lib.sh"
need_cmd openssl cmp awk

MiB=$((1024 * 1024))
RECEIVERS=4

# start_receivers ROUND TORRENT GROUP [ARGS...]: one `crowcast get` per 127.0.0.(i+1), ARGS
# appended, where "%i" in ARGS is replaced by the receiver's number; fills RX_PIDS.
start_receivers() {
  local round=$1 torrent=$2 group=$3; shift 3
  RX_PIDS=()
  for ((i = 1; i <= RECEIVERS; i++)); do
    spawn "$round-get$i" "$CROWCAST" get "$torrent" -o "$WORK/$round-out$i" --mcast "$group" \
      --iface "127.0.0.$((i + 1))" --json "${@//%i/$i}"
    RX_PIDS+=("$SPAWNED_PID")
  done
  local logs=()
  for ((i = 1; i <= RECEIVERS; i++)); do logs+=("$WORK/$round-get$i.log"); done
  wait_joined 20 "${logs[@]}"
}

# seed ROUND TORRENT PATH GROUP [ARGS...]: sends from 127.0.0.1; fails unless it exits 0.
seed() {
  local round=$1 torrent=$2 path=$3 group=$4; shift 4
  timeout 60 "$CROWCAST" seed "$torrent" "$path" --mcast "$group" --iface 127.0.0.1 --json "$@" \
    >"$WORK/$round-seed.log" 2>&1 || fail "$round: crowcast seed exited $?"
  local done_line
  done_line=$(json_event "$WORK/$round-seed.log" mcast_done)
  [[ -n $done_line ]] || fail "$round: the seeder reported no mcast_done"
  log "$round: sent $(json_num "$done_line" datagrams) datagrams in $(json_num "$done_line" elapsed) s"
  SENT_DATAGRAMS=$(json_num "$done_line" datagrams)
}

# ---- round 1: 256 MiB, no loss ----
rel=$WORK/rel256.bin
random_file "$rel" $((256 * MiB)) mcast256
"$CROWCAST" make "$rel" -o "$WORK/rel256.torrent" >"$WORK/make256.log" 2>&1 || fail "crowcast make failed"
group=$(mcast_group)
start_receivers clean "$WORK/rel256.torrent" "$group"
start=$SECONDS
# the seeder runs in the background: once every receiver is done, its second pass is not needed
spawn clean-seed "$CROWCAST" seed "$WORK/rel256.torrent" "$rel" --mcast "$group" --iface 127.0.0.1 \
  --rate 1G --passes 2 --json
seed_pid=$SPAWNED_PID
for ((i = 1; i <= RECEIVERS; i++)); do
  rc=0
  wait_pid_timeout 60 "${RX_PIDS[i - 1]}" || rc=$?
  [[ $rc -eq 0 ]] || fail "clean: receiver $i exited $rc"
  line=$(json_event "$WORK/clean-get$i.log" complete)
  [[ -n $line ]] || fail "clean: receiver $i reported no completion"
  [[ $(json_num "$line" verified) -eq $(json_num "$line" pieces) ]] || fail "clean: receiver $i: $line"
  [[ $(json_num "$line" pieces_failed) -eq 0 ]] || fail "clean: receiver $i had pieces failing: $line"
  log "clean: receiver $i: $(json_num "$line" datagrams_lost) datagrams lost, $(json_num "$line" kernel_drops) kernel drops"
  cmp "$rel" "$WORK/clean-out$i/rel256.bin" || fail "clean: receiver $i's copy differs from the source"
  rm -rf "$WORK/clean-out$i"
done
kill -0 "$seed_pid" 2>/dev/null || wait "$seed_pid" || fail "clean: crowcast seed exited $?"
kill "$seed_pid" 2>/dev/null || true
log "clean: $RECEIVERS receivers verified and identical ($((SECONDS - start)) s)"

# ---- round 2: 32 MiB, 1% loss on purpose in every receiver, each with its own seed ----
rel=$WORK/rel32.bin
random_file "$rel" $((32 * MiB)) mcast32
"$CROWCAST" make "$rel" -o "$WORK/rel32.torrent" >"$WORK/make32.log" 2>&1 || fail "crowcast make failed"
chunk=$(inspect_num "$WORK/rel32.torrent" chunk_size)
group=$(mcast_group)
start_receivers lossy "$WORK/rel32.torrent" "$group" --test-loss 10000 --test-loss-seed %i
seed lossy "$WORK/rel32.torrent" "$rel" "$group" --rate 300M --passes 1
for ((i = 1; i <= RECEIVERS; i++)); do
  rc=0
  wait_pid_timeout 60 "${RX_PIDS[i - 1]}" || rc=$?
  f=$WORK/lossy-get$i.log
  [[ $rc -eq 1 ]] || fail "lossy: receiver $i exited $rc, expected 1 (pieces missing)"
  line=$(json_event "$f" incomplete)
  [[ -n $line ]] || fail "lossy: receiver $i reported no \"incomplete\" event"
  missing=$(json_num "$line" missing_chunks)
  dropped=$(json_num "$line" test_dropped)
  lost=$(json_num "$line" datagrams_lost)
  [[ $(json_num "$line" kernel_drops) -eq 0 ]] || fail "lossy: receiver $i had kernel drops too: $line"
  [[ $missing -eq $dropped && $lost -eq $dropped ]] ||
    fail "lossy: receiver $i: missing_chunks $missing, test_dropped $dropped, datagrams_lost $lost"
  # 1% of the DATA datagrams, give or take (the choice is a hash of the sequence number)
  ((dropped * 1000 > SENT_DATAGRAMS * 5 && dropped * 1000 < SENT_DATAGRAMS * 15)) ||
    fail "lossy: receiver $i dropped $dropped of $SENT_DATAGRAMS datagrams, not about 1%"
  # the listed ranges cover exactly the missing chunks
  grep -F '"event":"missing"' "$f" | grep -oE '"piece":[0-9]+,"offset":[0-9]+,"length":[0-9]+' \
    >"$WORK/lossy-ranges$i" || fail "lossy: receiver $i listed no missing range"
  listed=$(awk -F'[:,]' -v c="$chunk" '{n += int(($6 + c - 1) / c)} END {print n + 0}' "$WORK/lossy-ranges$i")
  [[ $listed -eq $missing ]] || fail "lossy: receiver $i's ranges hold $listed chunks, not $missing"
  [[ ! -e $WORK/lossy-out$i/rel32.bin ]] || fail "lossy: receiver $i published an incomplete release"
  log "lossy: receiver $i: $dropped dropped = $missing missing in $(wc -l <"$WORK/lossy-ranges$i") ranges"
done
for ((i = 2; i <= RECEIVERS; i++)); do
  ! cmp -s "$WORK/lossy-ranges1" "$WORK/lossy-ranges$i" || fail "lossy: seeds 1 and $i missed the same chunks"
done
log "PASS"
