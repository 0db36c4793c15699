# Recording for the crowcast-diag tests (sourced after lib.sh): on loopback, `crowcast seed`
# multicasts a small release and diag_traffic.py runs a peer-wire exchange and tracker announces,
# while dumpcap records all of it.
#   capture_start FILE.pcap MiB   makes the release, picks ports, starts dumpcap; sets port wport
#                                 tport filter
#   capture_traffic               runs the seeder and the scripted peers; sets sent_dgrams (datagrams
#                                 the seeder sent) and sent_wire (their bytes at IP level)
#   capture_stop                  stops dumpcap once it has written everything
need_cmd dumpcap python3
dumpcap -D 2>/dev/null | grep -qw lo || skip "dumpcap cannot list the loopback interface (needs capture rights)"

# quiet_port [EXCLUDED...]: a port below the ephemeral range that no socket uses, listening or not
# (a client's ephemeral port would make the scripted listener's bind fail), and none of EXCLUDED.
quiet_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 20000))
    [[ " $* " == *" $p "* ]] && continue
    ss -Htuan "( sport = :$p or dport = :$p )" 2>/dev/null | grep -q . && continue
    echo "$p"
    return
  done
}

capture_start() {
  local out=$1 mib=$2
  random_file "$WORK/rel/data.bin" $((mib * 1024 * 1024)) diag
  "$CROWCAST" make "$WORK/rel/data.bin" -o "$WORK/rel.torrent" >/dev/null 2>&1 || fail "crowcast make failed"
  port=$(quiet_port)
  wport=$(quiet_port "$port")
  tport=$(quiet_port "$port" "$wport")
  filter="udp port $port or tcp port $wport or tcp port $tport"
  spawn dumpcap dumpcap -P -i lo -f "$filter" -w "$out"
  DUMPCAP_PID=$SPAWNED_PID
  wait_until 10 grep -q "Capturing on" "$WORK/dumpcap.log" || fail "dumpcap did not start"
}

capture_traffic() {
  local group=239.255.$((RANDOM % 200 + 10)).$((RANDOM % 250 + 1))
  "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel/data.bin" --mcast "$group:$port" --iface 127.0.0.1 \
    --rate 100M --json >"$WORK/seed.json" 2>"$WORK/seed.log" || fail "crowcast seed exited $?"
  python3 "$CROW_SOURCE_DIR/tests/integration/diag_traffic.py" "$wport" "$tport" || fail "the scripted peers failed"
  read -r sent_dgrams sent_wire < <(python3 -c 'import json,sys
for l in sys.stdin:
    d = json.loads(l)
    if d.get("event") == "mcast_done": print(d["datagrams"], d["wire_bytes"])' <"$WORK/seed.json")
  [[ -n ${sent_dgrams:-} ]] || fail "no mcast_done event from crowcast seed"
  log "seed sent $sent_dgrams datagrams, $sent_wire bytes at IP level"
}

capture_stop() {
  sleep 0.5 # dumpcap has read the last frames
  kill -INT "$DUMPCAP_PID"
  wait_pid_timeout 10 "$DUMPCAP_PID" || true
}
