#!/usr/bin/env bash
# crowcast-diag on captures this test records itself. On loopback, `crowcast seed` multicasts a small
# release while a scripted peer pair exchanges BitTorrent handshakes, requests and pieces and a client
# announces to a scripted tracker; dumpcap and crowcast-diag (-i lo -w) record it all. Then known
# edits of the capture (editcap deletes a slice: loss; mergecap adds a copied slice: duplicates, or a
# slice delayed by 20 ms: reordering) must be reported exactly: counts cross-checked with capinfos,
# with the seeder's own datagram and byte counts, and with crowcast-diag's reading of each slice.
source "$(dirname "$0")/lib.sh"
need_cmd editcap mergecap capinfos
source "$(dirname "$0")/diag_lib.sh"
DIAG=$CROW_BUILD_DIR/crowcast-diag
[[ -x $DIAG ]] || fail "no crowcast-diag in $CROW_BUILD_DIR"

# load FILE...: one Python run (the interpreter is slow to start) that sets, for each crowcast-diag
# JSON output NAME.json, shell variables NAME_frames, NAME_dgrams, NAME_bytes, NAME_lost, NAME_dup,
# NAME_reord from its summary line, plus what the checks below need from the richer ones.
load() {
  eval "$(python3 -c '
import json, os, sys
for path in sys.argv[1:]:
    name = os.path.basename(path).split(".")[0]
    lines = [json.loads(l) for l in open(path) if l.startswith("{")]
    s = [d for d in lines if d.get("event") == "summary"][-1]
    t = s["total"]
    out = dict(frames=s["frames"], dgrams=t["datagrams"], bytes=t["bytes"], lost=t["lost"],
               dup=t["duplicates"], reord=t["reordered"], udp_other=s["udp_other"],
               intervals=sum(d.get("event") == "interval" for d in lines))
    if s["sessions"]:
        out.update(beacon=s["sessions"][0]["beacon_seen"], final=s["sessions"][0]["final_seen"])
    req = [w for w in s["wire"] if w["messages"].get("request")]
    piece = [w for w in s["wire"] if w["messages"].get("piece")]
    if req and piece:
        out.update(answered=req[0]["answered"], latency=req[0]["latency_avg_s"],
                   piece_bytes=piece[0]["piece_bytes"],
                   wire_bad=sum(w["gaps"] + w["errors"] for w in s["wire"]))
    out["announces"] = s["tracker"]["announces"]
    out["events"] = ",".join("%d/%d/%d/%s" % (p["started"], p["none"], p["completed"], p["rack"])
                             for p in s["tracker"]["peers"])
    for i, h in enumerate(s["hosts"]):
        out["host%d" % i] = h["host"]
        out["host%d_lost" % i] = h["lost"]
    for i, g in enumerate(s["groups"]):
        out["group%d_lost" % i] = g["lost"]
    for k, v in out.items():
        print("%s_%s=%s" % (name, k, str(v).lower() if isinstance(v, bool) else v))
' "$@")"
}
diag_json() { "$DIAG" --json --tracker-port "$tport" "$@" || fail "crowcast-diag $* exited $?"; }
frames() { capinfos -cM "$1" | awk '/Number of packets/ {print $NF}'; }
expect() { [[ "$2" == "$3" ]] || fail "$1: got $2, expected $3"; log "$1: $2"; }

capture_start "$WORK/orig.pcap" 2
spawn diag_live "$DIAG" -i lo -f "$filter" -w "$WORK/own.pcap" --interval 1 --json --tracker-port "$tport"
live_pid=$SPAWNED_PID
sleep 1 # armed (crowcast-diag prints nothing before its first interval)
capture_traffic
capture_stop
kill -INT "$live_pid" # Ctrl-C: crowcast-diag stops capturing and prints its summary
wait_pid_timeout 15 "$live_pid" || fail "crowcast-diag -i lo exited $?"

# Edited captures (frame numbers are 1-based, as editcap counts them):
F=$(frames "$WORK/orig.pcap")
[[ $F -ge 200 ]] || fail "only $F frames captured"
# loss: 37 frames of the first quarter deleted
la=$((F / 4)) lb=$((F / 4 + 36))
editcap "$WORK/orig.pcap" "$WORK/cut.pcap" "$la-$lb"
editcap -r "$WORK/orig.pcap" "$WORK/slice.pcap" "$la-$lb"
# duplicates: ten frames of the first tenth merged back into the cut capture, in time order
da=$((F / 10)) db=$((F / 10 + 9))
editcap -r "$WORK/orig.pcap" "$WORK/again.pcap" "$da-$db"
mergecap -F pcap -w "$WORK/dup.pcap" "$WORK/cut.pcap" "$WORK/again.pcap"
# reordering: ten frames from the middle delayed by 20 ms
ra=$((F / 2)) rb=$((F / 2 + 9))
editcap -r "$WORK/orig.pcap" "$WORK/mid.pcap" "$ra-$rb"
editcap -t 0.02 "$WORK/mid.pcap" "$WORK/late.pcap"
editcap "$WORK/orig.pcap" "$WORK/rest.pcap" "$ra-$rb"
mergecap -F pcap -w "$WORK/reorder.pcap" "$WORK/rest.pcap" "$WORK/late.pcap"
for c in orig own cut slice again dup mid reorder; do diag_json -r "$WORK/$c.pcap" >"$WORK/$c.json"; done
diag_json -r "$WORK/orig.pcap" -r "$WORK/cut.pcap" >"$WORK/two.json"
cp "$WORK/diag_live.log" "$WORK/live.json"
load "$WORK"/{orig,own,cut,slice,again,dup,mid,reorder,two,live}.json

# The original capture: everything the seeder sent (nothing is lost on loopback unless the capture
# itself could not keep up), as capinfos counts it.
expect "frames (orig, capinfos)" "$orig_frames" "$F"
lost0=$orig_lost N=$orig_dgrams
expect "datagrams + lost (orig) = sent" $((N + lost0)) "$sent_dgrams"
if [[ $lost0 -eq 0 ]]; then
  expect "UDP payload + 28 per datagram = seeder's IP bytes" $((orig_bytes + 28 * N)) "$sent_wire"
else
  log "note: the capture itself missed $lost0 datagrams (busy machine); edits are checked relative to it"
fi
expect "duplicates (orig)" "$orig_dup" 0
expect "reordered (orig)" "$orig_reord" 0
expect "beacon seen" "$orig_beacon" true
expect "final END seen" "$orig_final" true
expect "udp not crowcast" "$orig_udp_other" 0

# The peer wire (found by its handshake) and the tracker (--tracker-port).
expect "requests answered" "$orig_answered" 8
expect "piece bytes" "$orig_piece_bytes" 131072
python3 -c 'import sys; sys.exit(not 0.004 < float(sys.argv[1]) < 1.0)' "$orig_latency" ||
  fail "request->piece latency $orig_latency s"
log "request->piece latency: $orig_latency s"
expect "wire gaps and errors" "$orig_wire_bad" 0
expect "announces" "$orig_announces" 3
expect "announce events started/none/completed/rack" "$orig_events" "1/1/1/r7"

# crowcast-diag's own live capture saw the same, printed periodic lines, and its -w file reads back.
[[ $live_intervals -ge 2 ]] || fail "only $live_intervals periodic lines in live mode"
expect "live: datagrams + lost = sent" $((live_dgrams + live_lost)) "$sent_dgrams"
expect "live: announces" "$live_announces" 3
expect "-w file read back" "$own_dgrams" "$live_dgrams"
expect "-w file frames (capinfos)" "$own_frames" "$(frames "$WORK/own.pcap")"

S=$slice_dgrams D=$again_dgrams R=$mid_dgrams
[[ $S -gt 0 && $D -gt 0 && $R -gt 0 ]] || fail "an edited slice held no datagram ($S $D $R)"
expect "frames (cut)" "$cut_frames" "$(frames "$WORK/cut.pcap")"
expect "lost after deleting frames $la-$lb ($S datagrams)" "$cut_lost" $((lost0 + S))
expect "datagrams (cut)" "$cut_dgrams" $((N - S))
expect "frames (dup)" "$dup_frames" "$(frames "$WORK/dup.pcap")"
expect "duplicates after repeating frames $da-$db ($D datagrams)" "$dup_dup" "$D"
expect "lost (dup)" "$dup_lost" $((lost0 + S))
expect "datagrams (dup)" "$dup_dgrams" $((N - S + D))
expect "reordered after delaying frames $ra-$rb ($R datagrams)" "$reorder_reord" "$R"
expect "lost (reorder)" "$reorder_lost" "$lost0"
expect "duplicates (reorder)" "$reorder_dup" 0

# Two files are two hosts: the cut one loses S more; the group sums both.
expect "second host" "$two_host1" "$WORK/cut.pcap"
expect "second host lost" "$two_host1_lost" $((lost0 + S))
expect "group lost (sum of hosts)" "$two_group0_lost" $((2 * lost0 + S))

# The readable table names the host that lost datagrams.
"$DIAG" -r "$WORK/orig.pcap" -r "$WORK/cut.pcap" --tracker-port "$tport" >"$WORK/table.txt"
cat "$WORK/table.txt" >&2
grep -qE "^$WORK/cut.pcap +[0-9]+ +[0-9.]+ [KMG]?i?B +$((lost0 + S)) " "$WORK/table.txt" ||
  fail "the table does not show the loss"
log "ok"
