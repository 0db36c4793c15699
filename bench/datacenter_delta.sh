# The `delta` scenario of bench/datacenter.sh (sourced by it): the next build of a tree to hosts that
# run the last one, against the same build to hosts that hold nothing.
#
# The release is a tree of DELTA_FILES (1,000) files of 64 KiB..2 MiB, --size bytes in all (the
# scenario's default 1G when --size was not given); the next build rewrites DELTA_CHANGED (20) of
# them spread over the tree (half at the same length, a quarter grown by 64 KiB..1 MiB, a quarter
# shrunk to half) and is made with `make --previous`. Two runs, each from fresh host directories,
# crowcast as deployed (the named scenarios' tracker, gets and seeder, default flags):
#   full   every host gets v2 holding nothing;
#   delta  every host holds v1 published (hard links to one copy of it: the gets only read it) and
#          gets v2 with `--previous v1.torrent --previous-path` its copy, as the agent does.
# t0 is the seeder's start; a host's time is its completion hook's. Per run: every host's bytes by
# multicast and over TCP and from disk (its --json events), the seeder's multicast payload and the
# pieces in its pass (its --json mcast_done) and its eth0 tx bytes, the last host's time; every host's
# published tree is compared with the source (diff -r). Results: DIR/delta.md and DIR/delta.jsonl.

DELTA_FILES=${DELTA_FILES:-1000}
DELTA_CHANGED=${DELTA_CHANGED:-20}

# delta_tree DIR BYTES: DELTA_FILES files of pseudo-random bytes, sizes 64 KiB..2 MiB scaled to BYTES.
delta_tree() {
  python3 - "$1" "$2" "$DELTA_FILES" <<'EOF'
import os, random, sys
top, total, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(19)
weights = [rng.randint(64, 2048) for _ in range(n)]
scale = total / sum(weights)
for i, w in enumerate(weights):
    path = os.path.join(top, "d%02d" % (i % 40), "f%04d.bin" % i)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(rng.randbytes(max(1, int(w * scale))))
EOF
}

# delta_change DIR: rewrites DELTA_CHANGED files of the tree, spread evenly.
delta_change() {
  python3 - "$1" "$DELTA_FILES" "$DELTA_CHANGED" <<'EOF'
import os, random, sys
top, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(20)
for j in range(k):
    i = j * n // k + n // (2 * k)
    path = os.path.join(top, "d%02d" % (i % 40), "f%04d.bin" % i)
    size = os.path.getsize(path)
    if j % 4 == 1:
        size += rng.randint(64, 1024) * 1024
    elif j % 4 == 3:
        size = max(1, size // 2)
    os.unlink(path)
    with open(path, "wb") as f:
        f.write(rng.randbytes(size))
EOF
}

# delta_prepare: v1 and v2 (make --previous) under $DATA/delta, the diff between them.
delta_prepare() {
  local d=$DATA/delta bytes=$size
  [[ -n $size_given ]] || bytes=$((1 << 30))
  rm -rf "$d" && mkdir -p "$d/v1/build" "$d/v2"
  log "delta: a tree of $DELTA_FILES files, $(numfmt --to=iec "$bytes") in all; then $DELTA_CHANGED of them changed"
  delta_tree "$d/v1/build" "$bytes"
  "$CROWCAST" make "$d/v1/build" -o "$d/v1.torrent" >/dev/null || fail "delta: make v1 failed"
  cp -a "$d/v1/build" "$d/v2/build" # a copy: make refuses files with hard links
  delta_change "$d/v2/build"
  "$CROWCAST" make "$d/v2/build" -o "$d/v2.torrent" --previous "$d/v1.torrent" >/dev/null ||
    fail "delta: make --previous failed"
  "$CROWCAST" diff --json "$d/v1.torrent" "$d/v2.torrent" >"$d/diff.json" || [[ $? -eq 1 ]] || fail "delta: diff failed"
  DELTA_DIFF=$(python3 -c 'import json, sys; j = json.load(open(sys.argv[1]))
print(j["pieces"], j["pieces_new"], j["bytes_total"], j["bytes_to_move"])' "$d/diff.json")
  DELTA_BYTES=$bytes
  log "delta: v2 has $(cut -d' ' -f1 <<<"$DELTA_DIFF") pieces, $(cut -d' ' -f2 <<<"$DELTA_DIFF") new; $(cut -d' ' -f4 <<<"$DELTA_DIFF") of $(cut -d' ' -f3 <<<"$DELTA_DIFF") bytes to move"
}

# delta_run MODE (full | delta): one run; appends its line to DIR/delta.jsonl.
delta_run() {
  local mode=$1 d=$DATA/delta h prev=() tx0 tx1 up0 up1 status=ok verified=0 rows= last=0 t i ub=
  TOOL=crowcast LOGP=delta-$mode
  ((RUN == 1)) || LOGP+=.$RUN
  LIMIT=$(python3 -c "import math; print(int(math.ceil(6 * $DELTA_BYTES * 8 / ($host_mbit * 1e6) + 30)))")
  rm -rf "$DATA/h" "$DATA/done"
  for h in "${HOSTS[@]}"; do
    mkdir -p "$(hdir "$h")" "$DATA/done"
    [[ $mode == full ]] || { mkdir -p "$(hdir "$h")/v1" && cp -al "$d/v1/build" "$(hdir "$h")/v1/"; }
  done
  log "delta$RUN_TAG: $mode (timeout ${LIMIT}s)"
  tx0=$(seeder_tx)
  read -r -a up0 <<<"$(uplinks)"
  cc_tracker || fail "delta: $SC_NOTE"
  for h in "${HOSTS[@]}"; do
    [[ $mode == full ]] || prev=(--previous "$d/v1.torrent" --previous-path "$(hdir "$h")/v1/build")
    client "$h" "$CROWCAST" get "$d/v2.torrent" -o "$(hdir "$h")/v2" --tracker "$URL" --iface "$(hip "$h")" \
      --seed-time 20 --json --on-complete "$MARK" "${prev[@]}" "${MKEY[@]}"
  done
  cc_ready "${HOSTS[@]}"
  T0=$(now)
  sc_spawn seeder "$NS_SEED" "$CROWCAST" seed "$d/v2.torrent" "$d/v2/build" --tracker "$URL" --iface "$SEED_IP" \
    --rate "$rate" --json "${MKEY[@]}"
  wait_hosts "$LIMIT" || status=timeout
  tx1=$(seeder_tx)
  read -r -a up1 <<<"$(uplinks)"
  sc_stop
  for i in "${!up0[@]}"; do ub+="${ub:+,}$((up1[i] - up0[i]))"; done
  for h in "${HOSTS[@]}"; do
    t=null
    if [[ -s $DATA/done/$h ]] && diff -r --no-dereference "$d/v2/build" "$(hdir "$h")/v2/build" >/dev/null 2>&1; then
      t=$(python3 -c "print('%.3f' % ($(cat "$DATA/done/$h") - $T0))")
      verified=$((verified + 1))
      last=$(awk -v a="$last" -v b="$t" 'BEGIN {print (b > a ? b : a)}')
    elif [[ -s $DATA/done/$h ]]; then
      status=failed
      log "delta: host $h said done but its tree differs from the source"
    fi
    rows+="${rows:+,}$(python3 - "$out/logs/$LOGP-$TOOL-$h.log" "$h" "$t" <<'EOF'
import json, sys
got = {"host": sys.argv[2], "time_s": None if sys.argv[3] == "null" else float(sys.argv[3])}
for line in open(sys.argv[1], errors="replace"):
    if not line.startswith("{"):
        continue
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if ev.get("event") == "complete":
        got.update(mcast=ev.get("bytes_mcast", 0), tcp=ev.get("bytes_tcp", 0))
    elif ev.get("event") == "previous":
        got.update(disk=ev.get("bytes", 0), disk_pieces=ev.get("pieces", 0))
print(json.dumps(got))
EOF
)"
  done
  [[ $status == ok && $verified -lt ${#HOSTS[@]} ]] && status=incomplete
  local seed_done
  seed_done=$(grep -h '"event":"mcast_done"' "$out/logs/$LOGP-seeder.log" | tail -n 1)
  printf '{"mode":"%s","run":%s,"status":"%s","hosts":[%s],"verified":%s,"last_s":%s,"seeder_tx":%s,"uplink_bytes":[%s],"seeder_mcast":%s,"diff":"%s","release_bytes":%s,"racks":%s,"hosts_per_rack":%s,"host_mbit":%s,"uplink_mbit":%s,"rate":"%s"}\n' \
    "$mode" "$RUN" "$status" "$rows" "$verified" "$last" "$((tx1 - tx0))" "$ub" "${seed_done:-null}" "$DELTA_DIFF" \
    "$DELTA_BYTES" "$racks" "$hosts" "$host_mbit" "$uplink_mbit" "$rate" >>"$out/delta.jsonl"
  log "delta$RUN_TAG: $mode: $status, $verified/${#HOSTS[@]} hosts verified, last host $last s, seeder sent $((tx1 - tx0)) bytes"
}

# delta_report: DIR/delta.md from DIR/delta.jsonl.
delta_report() {
  python3 - "$out/delta.jsonl" >"$out/delta.md" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if not runs:
    sys.exit(0)
r0 = runs[0]
pieces, new, total, move = (int(x) for x in r0["diff"].split())
mib = lambda b: "%.1f MiB" % (b / 2**20)
print("Release v2: %s in %d pieces, %d of them new after make --previous: %s to move (%.2f %% of it)."
      % (mib(total), pieces, new, mib(move), 100.0 * move / total))
print("Fabric: %d racks x %d hosts, %d Mbit/s host links, %d Mbit/s uplinks, multicast rate %s.\n"
      % (r0["racks"], r0["hosts_per_rack"], r0["host_mbit"], r0["uplink_mbit"], r0["rate"]))
print("| run | hosts hold | status | last host (s) | per host by multicast | per host over TCP | per host from disk"
      " | seeder multicast payload (pieces) | seeder eth0 tx | uplink bytes per rack |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in runs:
    hs = r["hosts"]
    avg = lambda k: statistics.mean(h.get(k, 0) for h in hs)
    mx = lambda k: max(h.get(k, 0) for h in hs)
    sm = r.get("seeder_mcast") or {}
    print("| %s %d | %s | %s, %d/%d verified | %.2f | %s (max %s) | %s (max %s) | %s | %s (%s) | %s | %s |" % (
        r["mode"], r["run"], "v1" if r["mode"] == "delta" else "nothing", r["status"], r["verified"], len(hs),
        r["last_s"], mib(avg("mcast")), mib(mx("mcast")), mib(avg("tcp")), mib(mx("tcp")), mib(avg("disk")),
        mib(sm.get("payload_bytes", 0)), sm.get("pieces", "?"), mib(r["seeder_tx"]),
        ", ".join(mib(b) for b in r["uplink_bytes"])))
full = [r for r in runs if r["mode"] == "full" and r["status"] == "ok"]
delta = [r for r in runs if r["mode"] == "delta" and r["status"] == "ok"]
if full and delta:
    f, d = statistics.median(r["last_s"] for r in full), statistics.median(r["last_s"] for r in delta)
    ft, dt = statistics.median(r["seeder_tx"] for r in full), statistics.median(r["seeder_tx"] for r in delta)
    print("\nDelta against full (medians): last host %.2f s against %.2f s (%.1f %%); seeder eth0 tx %s against %s (%.1f %%)."
          % (d, f, 100 * d / f, mib(dt), mib(ft), 100.0 * dt / ft))
EOF
}

# run_delta_scenario: the two runs, RUNS times each, then the report.
run_delta_scenario() {
  [[ -n ${DELTA_DIFF:-} ]] || delta_prepare
  delta_run full
  delta_run delta
}
