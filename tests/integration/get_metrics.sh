#!/usr/bin/env bash
# --metrics FILE on get and seed: Prometheus text that a strict parser (prom_check.py, the format's
# rules as promtool applies them) accepts, rewritten while they run and once more at exit. A get
# waits for a stream (its file says "waiting" within its first seconds), then a seeder sends; at
# exit the get's file says done, exit code 0, every piece verified and the release's bytes
# received, and the seeder's file the datagrams it sent.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mcast_lib.sh"
need_cmd python3
check() { python3 "$CROW_SOURCE_DIR/tests/integration/prom_check.py" "$@"; }

size=$((8 << 20))
random_file "$WORK/rel.bin" "$size" metrics
"$CROWCAST" make "$WORK/rel.bin" -o "$WORK/rel.torrent" >/dev/null 2>&1 || fail "crowcast make failed"
pieces=$(inspect_num "$WORK/rel.torrent" pieces)
group=$(mcast_group)
spawn get "$CROWCAST" get "$WORK/rel.torrent" -o "$WORK/out" --mcast "$group" --iface 127.0.0.2 --no-tracker \
  --metrics "$WORK/get.prom" --json
get_pid=$SPAWNED_PID
wait_joined 10 "$WORK/get.log"
wait_until 5 test -s "$WORK/get.prom" || fail "no metrics file within 5 s"
check "$WORK/get.prom" 'crowcast_get_state{state="waiting"}=1' 'crowcast_get_pieces_verified=0' \
  "crowcast_get_pieces=$pieces" >/dev/null || fail "the waiting get's metrics: $(cat "$WORK/get.prom")"
first=$(stat -c %.9Y "$WORK/get.prom")

spawn seed "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel.bin" --mcast "$group" --iface 127.0.0.1 --rate 100M \
  --metrics "$WORK/seed.prom"
seed_pid=$SPAWNED_PID
wait_pid_timeout 30 "$get_pid" >/dev/null || fail "get did not complete: $(tail -n 3 "$WORK/get.log")"
wait_pid_timeout 10 "$seed_pid" >/dev/null || fail "the seeder did not exit after its pass"
[[ $(stat -c %.9Y "$WORK/get.prom") != "$first" ]] || fail "the get's metrics file was never rewritten"
check "$WORK/get.prom" 'crowcast_get_state{state="done"}=1' 'crowcast_get_state{state="waiting"}=0' \
  'crowcast_get_exit_code=0' "crowcast_get_pieces_verified=$pieces" \
  "crowcast_get_bytes_total{via=\"multicast\"}=$size" >"$WORK/get.samples" ||
  fail "the finished get's metrics: $(cat "$WORK/get.prom")"
grep -q '^crowcast_get_complete_seconds ' "$WORK/get.samples" || fail "no time to complete"
check "$WORK/seed.prom" 'crowcast_seed_state{state="done"}=1' 'crowcast_seed_exit_code=0' \
  "crowcast_seed_payload_bytes_total=$size" >"$WORK/seed.samples" || fail "the seeder's metrics: $(cat "$WORK/seed.prom")"
sent=$(awk '$1 == "crowcast_seed_datagrams_total" {print $2}' "$WORK/seed.samples")
[[ ${sent:-0} -gt 0 ]] || fail "the seeder counted no datagram"
# The parser itself refuses what a scraper would: a sample before its TYPE, a repeated series.
printf 'x_total 1\n' >"$WORK/bad1.prom"
printf '# TYPE x gauge\nx 1\nx 2\n' >"$WORK/bad2.prom"
printf '# TYPE x gauge\nx{a="b\\q"} 1\n' >"$WORK/bad3.prom"
for b in 1 2 3; do check "$WORK/bad$b.prom" >/dev/null 2>&1 && fail "prom_check accepted bad$b.prom"; done
log "ok: get and seed metrics parse strictly; $(grep -c . "$WORK/get.samples") get samples, $sent datagrams sent"
