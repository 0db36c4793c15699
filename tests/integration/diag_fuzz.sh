#!/usr/bin/env bash
# crowcast-diag never trusts a capture: a real capture (multicast, peer wire, tracker on loopback) is
# mangled many ways — bit flips anywhere or only inside frames, truncated files, per-frame snaplen
# cuts, lying record lengths, shuffled and repeated records, other link types claimed for the same
# bytes — and every run must end with exit 0 and a JSON summary, or exit 3 (unreadable file), never a
# crash, a sanitizer report or a hang. tests/diag_replay reads the same file into exact-size frame
# buffers so that the sanitizers see any read past a frame. Bounded: DIAG_FUZZ_RUNS runs (default
# 160), DIAG_FUZZ_SECONDS (default 30) in all.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/diag_lib.sh"
DIAG=$CROW_BUILD_DIR/crowcast-diag
REPLAY=$CROW_BUILD_DIR/tests/diag_replay
[[ -x $DIAG && -x $REPLAY ]] || fail "no crowcast-diag or tests/diag_replay in $CROW_BUILD_DIR"

capture_start "$WORK/real.pcap" 1
capture_traffic
capture_stop
"$DIAG" --json -r "$WORK/real.pcap" >"$WORK/real.json" || fail "the intact capture failed"

python3 - "$DIAG" "$REPLAY" "$WORK" "${DIAG_FUZZ_RUNS:-160}" "${DIAG_FUZZ_SECONDS:-30}" "$wport" "$tport" <<'EOF'
import json, os, random, struct, subprocess, sys, time

diag, replay, work, wport, tport = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[6], sys.argv[7]
runs, seconds = int(sys.argv[4]), float(sys.argv[5])
data = open(os.path.join(work, "real.pcap"), "rb").read()
head, body = data[:24], data[24:]
assert struct.unpack("<I", head[:4])[0] == 0xA1B2C3D4, "expected a little-endian microsecond pcap"

def records(b):
    out, off = [], 0
    while off + 16 <= len(b):
        ts, tus, incl, orig = struct.unpack("<IIII", b[off:off + 16])
        out.append([ts, tus, incl, orig, b[off + 16:off + 16 + incl]])
        off += 16 + incl
    return out

def pack(h, recs, lie=None):
    parts = [h]
    for i, (ts, tus, incl, orig, frame) in enumerate(recs):
        if lie is not None and i == lie[0]:
            incl, orig = lie[1], lie[2]
        parts.append(struct.pack("<IIII", ts, tus, incl, orig) + frame)
    return b"".join(parts)

def flip(buf, n, lo=0):
    b = bytearray(buf)
    for _ in range(n):
        if len(b) > lo:
            b[rng.randrange(lo, len(b))] ^= 1 << rng.randrange(8)
    return bytes(b)

base = records(body)
rng = random.Random(20261122)
links = [0, 1, 12, 101, 113, 228, 276, 147, 9999]
kinds = ["flip anywhere", "truncate", "flip in frames", "link type", "snaplen cuts", "lying lengths",
         "shuffle and repeat", "flip header"]
path = os.path.join(work, "fuzz.pcap")
start, done, verdicts = time.time(), 0, {}
for i in range(runs):
    if time.time() - start > seconds:
        break
    kind = kinds[i % len(kinds)]
    if kind == "flip anywhere":
        blob = head + flip(body, rng.randrange(1, 64))
    elif kind == "truncate":
        blob = data[:rng.randrange(0, len(data))]
    elif kind == "flip in frames":
        recs = [[r[0], r[1], r[2], r[3], flip(r[4], rng.randrange(1, 9)) if rng.random() < 0.2 else r[4]] for r in base]
        blob = pack(head, recs)
    elif kind == "link type":
        recs = [[r[0], r[1], r[2], r[3], flip(r[4], 2) if rng.random() < 0.1 else r[4]] for r in base]
        blob = pack(head[:20] + struct.pack("<I", rng.choice(links)), recs)
    elif kind == "snaplen cuts":
        recs = []
        for r in base:
            cut = rng.randrange(0, len(r[4]) + 1)
            recs.append([r[0], r[1], cut, r[3], r[4][:cut]])
        blob = pack(head, recs)
    elif kind == "lying lengths":
        j = rng.randrange(len(base))
        incl = rng.choice([0, len(base[j][4]) + 1, 0xFFFFFFF0, 262145, rng.randrange(1 << 20)])
        orig = rng.choice([0, 1, incl, 0xFFFFFFFF])
        blob = pack(head, base, (j, incl, orig))
    elif kind == "shuffle and repeat":
        recs = list(base)
        for _ in range(len(recs) // 4):
            a, b = rng.randrange(len(recs)), rng.randrange(len(recs))
            recs[a], recs[b] = recs[b], recs[a]
        recs += [rng.choice(base) for _ in range(len(base) // 5)]
        recs = [[r[0] + rng.choice([0, 0, 0, 1 << 30]), r[1], r[2], r[3], r[4]] for r in recs]
        blob = pack(head, recs)
    else:
        blob = flip(head, rng.randrange(1, 4)) + body
    open(path, "wb").write(blob)
    try:
        p = subprocess.run([diag, "--json", "--interval", "0.01", "--wire-port", wport, "--tracker-port", tport,
                            "-r", path], capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        os.rename(path, os.path.join(work, "hang.pcap"))
        sys.exit("run %d (%s): crowcast-diag did not finish in 30 s" % (i, kind))
    if p.returncode not in (0, 3):
        sys.stderr.write(p.stderr.decode(errors="replace")[-3000:])
        sys.exit("run %d (%s): crowcast-diag exited %d" % (i, kind, p.returncode))
    if p.returncode == 0:
        summary = [l for l in p.stdout.decode().splitlines() if '"event":"summary"' in l]
        if len(summary) != 1:
            sys.exit("run %d (%s): no summary line" % (i, kind))
        s = json.loads(summary[0])
        if s["frames"] != sum(s["frame_status"].values()):
            sys.exit("run %d (%s): frame verdicts do not add up" % (i, kind))
    # The same bytes fed from exact-size heap copies of each frame: a read past a frame is a sanitizer
    # report here, where libpcap's read buffer would hide it.
    q = subprocess.run([replay, path, wport], capture_output=True, timeout=30)
    if q.returncode not in (0, 3):
        sys.stderr.write(q.stderr.decode(errors="replace")[-3000:])
        sys.exit("run %d (%s): diag_replay exited %d" % (i, kind, q.returncode))
    verdicts[p.returncode] = verdicts.get(p.returncode, 0) + 1
    done += 1
print("[diag_fuzz] %d mangled captures in %.1f s: exit codes %s" % (done, time.time() - start, verdicts))
if done < min(runs, 24):
    sys.exit("only %d runs fit in the time limit" % done)
EOF
log "ok"
