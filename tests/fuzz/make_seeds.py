#!/usr/bin/env python3
"""Writes the fuzz harnesses' seed corpora into tests/fuzz/corpus/<harness>/ (checked in; rerun after
changing a format or a harness's input layout): a few valid messages of each format, the layouts the
unit tests use, in the framing each harness expects (a selector byte, 2-byte little-endian length
records; see tests/fuzz/fuzz.h). Deterministic: the same files every run."""
import hashlib
import os
import shutil
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# The release of tests/fuzz/fuzz_release.h.
PIECE, PIECES, CHUNK = 16384, 5, 1024
TOTAL = (PIECES - 1) * PIECE + 5000
RELEASE_ID = bytes(range(0xA0, 0xA0 + 32))
SESSION = RELEASE_ID[:8]
INFO_HASH = b"\x5a" * 20


def benc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(benc(k) + benc(x) for k, x in items) + b"e"
    raise TypeError(v)


def rec(data):
    return struct.pack("<H", len(data)) + data


def write(harness, seeds):
    d = os.path.join(ROOT, harness)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, s in enumerate(seeds):
        if isinstance(s, str):
            s = s.encode()
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(s)


# --- multicast datagrams ---------------------------------------------------------------------------
def dgram(typ, flags, body, seq, piece=0, offset=0):
    return struct.pack(">HBBHH8sQII", 0x4357, 1, typ, flags, len(body), SESSION, seq, piece, offset) + body


def data_dgram(seq, piece, chunk, flags=0):
    size = min(CHUNK, min(PIECE, TOTAL - piece * PIECE) - chunk * CHUNK)
    return dgram(1, flags, bytes((seq + i) & 0xFF for i in range(size)), seq, piece, chunk * CHUNK)


def beacon(seq, pass_=0):
    body = RELEASE_ID + struct.pack(">QQIIIIIHH", TOTAL, 10**9, PIECE, CHUNK, PIECES, pass_, 2, 6881, 0)
    return dgram(2, 0, body, seq)


def end(seq, pass_, last, final):
    return dgram(3, 1 if final else 0, struct.pack(">IIQ", pass_, 0, last), seq)


write("datagram", [beacon(0), data_dgram(1, 0, 0), data_dgram(2, 4, 4), data_dgram(3, 1, 2, flags=1),
                   end(9, 0, 8, True), end(9, 1, 8, False)])

stream = [beacon(0)] + [data_dgram(1 + c, 0, c) for c in range(16)] + [end(17, 0, 16, False)]
write("mcast_receiver", [
    b"".join(b"\x00" + rec(d) for d in stream) + b"\xf0",
    b"\x01" + rec(beacon(5)) + b"\x02" + rec(data_dgram(6, 4, 4)) + b"\x01" + rec(end(7, 0, 6, True)) + b"\xf4\xfc",
    b"".join(bytes([s]) + rec(data_dgram(s, s % 5, 0)) for s in range(12)),
])

# --- peer wire --------------------------------------------------------------------------------------
def msg(mid, body=b""):
    return struct.pack(">IB", 1 + len(body), mid) + body


def handshake(ext=True):
    reserved = bytearray(8)
    if ext:
        reserved[5] = 0x10
    return bytes([19]) + b"BitTorrent protocol" + bytes(reserved) + INFO_HASH + b"-TR3000-0123456789ab"


EXT = benc({"crowcast": {"max req": 1 << 20, "pos": 1, "rack": "r1"}, "m": {}, "reqq": 256,
            "v": "crowcast 0.1"})
STOCK_EXT = benc({"m": {"ut_metadata": 3}, "p": 51413, "reqq": 500, "v": "Transmission 3.00",
                  "yourip": b"\x7f\x00\x00\x01"})
WIRE = [handshake(), msg(20, b"\x00" + EXT), msg(5, b"\xf8"), msg(1), msg(2), msg(4, struct.pack(">I", 3)),
        msg(6, struct.pack(">III", 0, 0, 16384)), msg(7, struct.pack(">II", 0, 0) + b"\xab" * 64),
        msg(8, struct.pack(">III", 0, 0, 16384)), msg(9, struct.pack(">H", 6881)), b"\x00\x00\x00\x00",
        msg(0), msg(3), msg(20, b"\x00" + STOCK_EXT), msg(20, b"\x03" + benc({"msg_type": 0, "piece": 0})),
        msg(99, b"xyz")]
write("wire", [b"\x03" + b"".join(WIRE), b"\x02" + b"".join(WIRE[1:]), b"\x01" + handshake(False) + msg(5, b"\xf0")])

# The peer session: setup byte (pieces held, picker, rack), then opcodes (fuzz_peer_session.c):
# action | connection << 2 | arg << 3. 0: a record of bytes from the peer; 1: arg^2 * 100 ms pass, flush;
# 2: serve (arg >= 16: reconnect); 3: piece arg % 8 verifies (arg & 8: good).
def op(action, conn=0, arg=0):
    return bytes([action | conn << 2 | arg << 3])


def block(piece, begin, n):
    return msg(7, struct.pack(">II", piece, begin) + bytes(n))


hello = handshake() + msg(20, b"\x00" + EXT)
write("peer_session", [
    # We download and hold nothing; the first peer has everything and answers requests.
    b"\x20" + op(0) + rec(hello) + op(1) + op(0) + rec(msg(5, b"\xf8") + msg(1)) + op(1, arg=2)
    + op(0) + rec(block(0, 0, 16384)) + op(1, arg=2) + op(0) + rec(block(1, 0, 16384)) + op(3, arg=9),
    # We seed every piece; both peers are interested and ask (one unchoke slot between them).
    b"\x1f" + op(0) + rec(hello) + op(0, 1) + rec(hello) + op(1) + op(0) + rec(msg(2) + msg(6, struct.pack(">III", 2, 0, 16384)))
    + op(0, 1) + rec(msg(2)) + op(1) + op(2) + op(1) + op(0) + rec(msg(8, struct.pack(">III", 2, 0, 16384)) + msg(3))
    + op(1, arg=5) + op(2, 1, 16),
    # A stock client: no crowcast dictionary, HAVEs, keep-alives, time running out.
    b"\x63" + op(0) + rec(handshake() + msg(20, b"\x00" + STOCK_EXT)) + op(0)
    + rec(msg(4, struct.pack(">I", 4)) + b"\x00\x00\x00\x00") + op(1, arg=31) + op(1, arg=31) + op(1, arg=31),
])

# --- manifests --------------------------------------------------------------------------------------
def manifest(files, name="release", piece=16384, trackers=None, links=(), dirs=(), exe=()):
    data = b"".join(bytes((i * 7 + j) & 0xFF for j in range(n)) for i, (_, n) in enumerate(files))
    pieces = [data[i:i + piece] for i in range(0, len(data), piece)]
    info = {"crowcast": {"chunk size": 1408, "sha256": b"".join(hashlib.sha256(p).digest() for p in pieces),
                         "version": 2 if links or dirs or exe else 1},
            "name": name, "piece length": piece,
            "pieces": b"".join(hashlib.sha1(p).digest() for p in pieces)}
    if len(files) == 1 and files[0][0] == name:
        info["length"] = files[0][1]
    else:
        info["files"] = [dict({"length": n, "path": p.split("/")}, **({"attr": "x"} if p in exe else {}))
                         for p, n in files]
        info["files"] += [{"attr": "l", "length": 0, "path": p.split("/"), "symlink path": t.split("/")}
                          for p, t in links]
    if dirs:
        info["crowcast"]["empty directories"] = [d.split("/") for d in dirs]
    top = {"info": info, "announce": "http://127.0.0.1:6969/announce"}
    if trackers:
        top["announce-list"] = trackers
    return benc(top)


write("manifest", [
    manifest([("release", 40000)], name="release"),
    manifest([("bin/app", 30000), ("lib/libx.so", 5000), ("README", 10)], name="app-1.2"),
    manifest([("a", 1)], name="tiny", trackers=[["http://t1/announce", "http://t2/announce"], ["http://t3/a"]]),
    manifest([("bin/app", 30000), ("lib/libx.so", 5000)], name="tree", exe=("bin/app",),
             links=[("lib/libx.so.1", "lib/libx.so"), ("app", "bin/app")], dirs=("var/empty",)),
])
# The writer: form byte (piece length, chunk size, single file), the name, then per entry a path record,
# a kind byte (0 file, 1 executable, 2 padding, 3 symlink + target record, 4 empty directory) and, for a
# file, 3 bytes of length.
write("manifest_writer", [
    b"\x00" + rec(b"app") + rec(b"bin/a") + b"\x01\x10\x00\x00" + rec(b"lib/b") + b"\x00\x00\x01\x00" + rec(b"empty")
    + b"\x00\x00\x00\x00" + rec(b"lib/c") + b"\x03" + rec(b"lib/b") + rec(b"var/e") + b"\x04",
    b"\x8b" + rec(b"release.img") + b"\x01\xff\xff\x03",
])
# Symlink texts: the link's path, its text, the root's real path (records).
write("link_path", [rec(b"lib/libx.so") + rec(b"libx.so.1") + rec(b""),
                    rec(b"a/b/l") + rec(b"../../c/./d//e") + rec(b""),
                    rec(b"bin/lib") + rec(b"/srv/rel/lib") + rec(b"/srv/rel"),
                    rec(b"l") + rec(b"../../etc/passwd") + rec(b"")])
write("release_verify", [manifest([("release", 40000)], name="release"), manifest([("a", 1)], name="tiny")])
KEY_LINE = "crowcast-ed25519 " + "3b" * 32
write("keyring", ["# fleet keys\n" + KEY_LINE + " ops@example 2026\n\n" + "crowcast-ed25519 " + "a0" * 32 + "\n",
                  KEY_LINE])
write("bencode", ["d3:cow3:moo4:spam4:eggse", "li1ei-2e0:4:spamlee", "i0e", "d1:ad1:bld1:ci-9223372036854775808eeeee",
                  manifest([("x", 20000)], name="x")])

# The writer's call sequences (fuzz_bencode_writer.c): buffer size / 4, then op & 7 with a length op >> 3.
write("bencode_writer", [
    b"\x40\x04\x0aa\x00\x0ab\x03\x11xy\x07\x05\x05",
    b"\x02\x04\x0aa\x0c\x21\x00\x00\x00\x00\x05\x05",
    b"\x10\x03\x03\x03\x80\x05\x05\x05",
])

# --- HTTP and the tracker ---------------------------------------------------------------------------
ANNOUNCE = ("info_hash=%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A"
            "&peer_id=-TR3000-0123456789ab&port=6881&uploaded=0&downloaded=0&left=1024&compact=1")
GET = ("GET /announce?" + ANNOUNCE + "&event=started HTTP/1.1\r\nHost: 127.0.0.1:6969\r\n"
       "User-Agent: crowcast/0.1\r\nConnection: keep-alive\r\n\r\n").encode()
write("http_request", [
    b"\x00" + rec(GET[:20]) + rec(GET[20:]) + rec(b"GET /scrape HTTP/1.0\n\n"),
    b"\x00" + rec(GET + b"GET /status HTTP/1.1\r\nConnection: close\r\n\r\n"),
    b"\x01" + rec(b"\r\nGET /agent/poll?host=web-1&wait=30 HTTP/1.1\r\nHost: t\r\n\r\n"),
    b"\x00" + rec(b"POST /rollout/start HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
    b"\x00" + rec(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
])
body = benc({"interval": 1800, "peers": b"\x7f\x00\x00\x01\x1a\xe1"})
write("http_response", [
    b"\x00" + b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
    b"\x00" + b"HTTP/1.0 404 Not Found\r\n\r\nno such thing",
    b"\x01" + b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"\x00" + b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
])
write("announce_query", [
    ANNOUNCE, ANNOUNCE + "&event=completed&numwant=50&ip=10.1.1.7&rack=r1&groups=1&hook=3&no_peer_id=1",
    "info_hash=%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A%5A&info_hash=aaaaaaaaaaaaaaaaaaaa",
    "\x05" + ANNOUNCE + "&compact=0&event=stopped",
])
crowcast = {"group": "239.255.10.1", "groups": ["239.255.10.1:7000", "239.255.10.2:7000"], "head": 1,
            "peer flags": b"\x01\x02", "port": 7000, "position": 0, "rack": "r1"}
# The registry: opcode (sender 10.1.1.<op & 15>, time) and an announce query record; 0xf? expires.
peer = lambda i, left, extra="": ANNOUNCE.replace("0123456789ab", "%012d" % i).replace("left=1024", "left=%d" % left) + extra
write("tracker_registry", [
    b"".join(bytes([i]) + rec(peer(i, 1024 if i else 0).encode()) for i in range(6)) + b"\xf3" + b"\x02" + rec(peer(2, 0, "&event=completed").encode()),
    b"\x0c" + rec(peer(12, 5, "&rack=r2&numwant=3&groups=1&compact=0").encode()) + b"\x01" + rec(peer(1, 5, "&event=stopped").encode()) + b"\xff",
])
write("announce_response", [
    b"\xff" + benc({"complete": 1, "incomplete": 2, "interval": 1800, "min interval": 60,
                    "peers": b"\x7f\x00\x00\x01\x1a\xe1\x0a\x01\x01\x07\x1a\xe2", "crowcast": crowcast}),
    b"\xff" + benc({"interval": 60, "peers": [{"ip": "10.0.0.1", "peer id": b"A" * 20, "port": 6881},
                                             {"ip": "::1", "port": 1}]}),
    b"\x22" + benc({"failure reason": "unknown info_hash"}),
    b"\x30" + benc({"files": {INFO_HASH: {"complete": 1, "downloaded": 0, "incomplete": 0}}}),
])

write("tracker_url", ["http://127.0.0.1:6969/announce", "http://10.1.2.3", "http://10.1.2.3:8080/a/b?x=1&y=2",
                      "udp://tracker.example:1337/announce"])

# --- rollout: journal, plans, racks, agent --------------------------------------------------------
REL = "ab" * 32
PLAN = "canary r1 soak=5m\nwave 50% healthy=90% failures=2 parallel=4\nwave rest\n"
JOURNAL = [
    "t=1&r=1&ms=1700000000000&c=0&rel=%s&n=app&p=/srv/app.torrent&x=%s&y=r1,r2,r3"
    % (REL, "canary%20r1%0Awave%20rest%0A"),
    "t=2&r=1&ms=1700000000100&h=web-1&k=r1",
    "t=2&r=1&ms=1700000000101&h=web-2&k=r2&rel=" + "cd" * 32,
    "t=3&r=1&ms=1700000000200&c=1&h=web-1&rel=" + REL,
    "t=4&r=1&ms=1700000000300&c=1&s=0&h=web-1",
    "t=4&r=1&ms=1700000000400&c=2&s=1&h=web-1&x=exit%20code%203",
    "t=5&r=1&ms=1700000000500&w=1&c=2&x=healthy",
    "t=6&r=1&ms=1700000000600&c=1&x=operator",
    "t=7&r=1&ms=1700000000700&c=3&x=aborted",
]
framed = "".join("%08x %s\n" % (zlib.crc32(p.encode()), p) for p in JOURNAL)
write("journal", ["\x00" + "\n".join(JOURNAL) + "\n", "\x00" + "\n".join(JOURNAL[:4]), "\x01" + framed,
                  "\x01" + framed[:-20]])
write("rollout_start", [rec(b"app-2.0") + PLAN.encode(), rec(b"release") + b"canary r2\nwave r1\n", rec(b"x.bin")])
write("rollout_plan", [PLAN, "# comment\ndefaults failures=3 soak=30s\ncanary r1\nwave r2,r3\nwave 100%\n",
                       "wave r1\twave\nwave 10%\nwave 10% soak=2h\nwave rest parallel=1\n"])
write("racks", [
    "rack r1 10.1.1.0/24 239.255.10.1:7000\nrack r2 10.1.2.0/24,10.1.3.0/24 239.255.10.2:7000\n",
    "# nested\nrack big 10.0.0.0/8 239.1.1.1:7000\nrack small 10.9.9.0/24 239.1.1.1:7000  # carved\n"
    "rack one 10.9.9.9 239.1.1.2:7001\ntrust-announced-rack yes\n",
])
write("rollout_query", [
    "wait=30&host=web%2D1&rack=r1&current=" + REL + "&x=1",
    "host=h1&rollout=12&step=health&status=failed&detail=exit%20code%203",
    "torrent=%2Fsrv%2Fapp.torrent&plan=canary%20r1%0Awave%20rest&distribute=per-wave",
])
write("agent_proto", [
    "d8:intervali7e5:order4:nonee",
    "d4:name7:app.bin5:order8:download7:release64:" + REL + "7:rollouti3ee",
    "d4:name3:app5:order8:rollback7:release0:7:rollouti1ee",
    "d14:failure reason12:no --state!!e", "d2:oki1ee",
])
# The agent's targets: flags byte, then host, rack, current release and detail records.
write("agent_targets", [
    b"\x79" + rec(b"web-1") + rec(b"r1") + rec(REL.encode()) + rec(b"exit code 3: curl: (7) Failed to connect"),
    b"\x02" + rec(b"h\xc3\xa9 st/\r\n?&=%") + rec(b"") + rec(b"") + rec(bytes(range(1, 200))),
])
write("agent_state", [
    "d6:outboxld6:detail4:fine2:oki1e7:rollouti3e4:step8:downloadee8:releasesld7:current64:" + REL
    + "4:name3:app8:previous0:ee7:versioni1ee",
    "d6:outboxle8:releasesle7:versioni1ee",
])
write("probe_report", [
    "run=1&step=2&rate=3000000&expected=4&received=4&bytes=5632&usec=6&drops=0",
    "receiver&host=10.1.1.7&rack=r1&group=239.255.10.1:7000",
    "report&host=10.1.1.7&rack=r1&run=1&step=2&rate=3&expected=4&received=3&bytes=5&usec=6&drops=1",
    "run=7&step=3",
])
write("event", [
    b"\x00" + b'{"event":"progress","elapsed":1.25,"verified":120,"pieces":256,"ok":true}',
    b"\xfd" + b'{"event":"done","x":"a\\"b\\\\c\\n\\u0041","ok":false}',
    b"\x05" + b'{"event":"e","elapsed":-1e-3}',
])

# --- captured frames --------------------------------------------------------------------------------
def ipv4(proto, src, dst, l4):
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 1, proto, 0, bytes(src), bytes(dst)) + l4


def udp(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, seq, flags, payload):
    return struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


ETH = b"\x01\x00\x5e\x7f\x00\x01" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
SRC, GROUP, PEER = (10, 1, 1, 7), (239, 255, 10, 1), (10, 1, 1, 8)
udp_frames = [ipv4(17, SRC, GROUP, udp(40000, 7000, d)) for d in stream[:6]]
tcp_frames = [ipv4(6, SRC, PEER, tcp(40001, 6881, 1, 0x02, b"")),
              ipv4(6, SRC, PEER, tcp(40001, 6881, 2, 0x18, hello)),
              ipv4(6, PEER, SRC, tcp(6881, 40001, 1, 0x18, hello + msg(1))),
              ipv4(6, SRC, PEER, tcp(40001, 6881, 2 + len(hello), 0x18, msg(6, struct.pack(">III", 0, 0, 16384)))),
              ipv4(6, SRC, (10, 0, 0, 1), tcp(40002, 6969, 1, 0x18, GET))]
vlan = b"\x01\x00\x5e\x7f\x00\x01\x02\x00\x00\x00\x00\x01\x81\x00\x00\x05\x08\x00"
sll = struct.pack(">HHH8sH", 4, 1, 6, b"\x02\x00\x00\x00\x00\x01\x00\x00", 0x0800)
sll2 = struct.pack(">HHIHBB8s", 0x0800, 0, 3, 1, 0, 6, b"\x02\x00\x00\x00\x00\x01\x00\x00")
write("netframe", [b"\x01" + ETH + udp_frames[1], b"\x01" + vlan + tcp_frames[1], b"\x02" + udp_frames[0],
                   b"\x04" + sll + tcp_frames[4], b"\x06" + sll2 + udp_frames[2],
                   b"\x00" + struct.pack("<I", 2) + udp_frames[3], b"\x0d" + tcp_frames[2]])
write("diag_capture", [b"\x00" + b"".join(rec(ETH + f) for f in udp_frames + tcp_frames),
                       b"\x01" + b"".join(rec(f) for f in tcp_frames + udp_frames),
                       b"\x03" + b"".join(rec(sll2 + f) for f in udp_frames[:3] + tcp_frames[:3])])
# --- TLS records (fuzz_tls_record: a mode byte, then records) ---------------------------------------
def tls_record(ctype, body, version=0x0303):
    return struct.pack(">BHH", ctype, version, len(body)) + body


def client_hello():
    """A TLS 1.2 ClientHello with a fixed random: ECDHE suites, P-256, SHA-256 signatures."""
    ext = lambda t, d: struct.pack(">HH", t, len(d)) + d
    exts = (ext(10, struct.pack(">HH", 2, 23)) + ext(11, b"\x01\x00") +
            ext(13, struct.pack(">HHH", 4, 0x0403, 0x0804)) + ext(0xFF01, b"\x00"))
    body = (struct.pack(">H", 0x0303) + bytes(range(32)) + b"\x00" + struct.pack(">HHH", 4, 0xC02B, 0xC02F) +
            b"\x01\x00" + struct.pack(">H", len(exts)) + exts)
    return tls_record(22, b"\x01" + struct.pack(">I", len(body))[1:] + body, 0x0301)


HELLO = client_hello()
write("tls_record", [b"\x00" + rec(HELLO), b"\x00" + rec(HELLO[:20]) + rec(HELLO[20:]),
                     b"\x00" + rec(GET), b"\x01" + rec(tls_record(21, b"\x02\x28")),
                     b"\x02" + rec(tls_record(23, bytes(40))) + rec(tls_record(21, b"\x01\x00"))])

print("seeds written under", ROOT)
