#!/usr/bin/env python3
"""Hostile (and greedy) BitTorrent peers for the peer-wire integration tests (loopback only).

Modes (every one runs until killed or --duration passes; all loops are bounded by it):
  liar     claims every piece (bitfield all ones) and, in its BEP 10 handshake, the rack and chain
           position given; unchokes whoever connects and answers no request
  idle     opens --count connections, sends a valid handshake on each and then nothing, and opens a
           new one whenever one is closed
  mute     opens --count connections and sends nothing on them (no handshake); prints how long each
           lasted when the other side closes it
  corrupt  claims every piece, unchokes, and answers every request with wrong bytes
  greedy   opens --count connections (honest ones) to a seed; on each, once unchoked, asks for
           --requests blocks of 16 KiB at once; prints the blocks received and the connections the
           other side closed at exit

It connects to --connect ADDR:PORT (repeatable) from --bind, accepts connections on --listen
ADDR:PORT, and with --announce URL tells the tracker it exists (left = the whole release, so it is
no seeder). Each accepted or opened connection prints "connection N from|to ADDR:PORT".
"""
import argparse
import json
import os
import selectors
import socket
import struct
import subprocess
import sys
import time
import urllib.parse


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(v)


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


class Peer:
    def __init__(self, args, meta):
        self.args = args
        self.info_hash = bytes.fromhex(meta["info_hash"])
        self.pieces = meta["pieces"]
        self.peer_id = b"-XX0001-" + os.urandom(12)
        self.sel = selectors.DefaultSelector()
        self.piece_length = meta["piece_length"]
        self.conns = {}
        self.count = 0
        self.blocks = 0
        self.closed = 0

    def intro(self):
        # A flood of connections comes with a peer id each, as a real attacker's would: a victim keeps
        # one connection per peer id (two dialled each other), so one id for all would test nothing.
        pid = b"-XX0001-" + os.urandom(12) if self.args.mode in ("idle", "greedy") else self.peer_id
        hs = b"\x13BitTorrent protocol" + bytes([0, 0, 0, 0, 0, 0x10, 0, 0]) + self.info_hash + pid
        if self.args.mode == "mute":
            return b""
        if self.args.mode == "greedy":
            return hs + struct.pack(">IB", 1, 2)  # interested
        if self.args.mode == "idle":
            return hs
        ext = {"m": {}, "v": "hostile", "reqq": 4096}
        if self.args.rack is not None:
            ext["crowcast"] = {"rack": self.args.rack, "pos": self.args.pos, "max req": 16384}
        payload = bytes([0]) + bencode(ext)
        nbytes = (self.pieces + 7) // 8
        bits = bytearray(b"\xff" * nbytes)
        spare = nbytes * 8 - self.pieces
        if spare:
            bits[-1] &= (0xFF << spare) & 0xFF
        return (hs + struct.pack(">IB", 1 + len(payload), 20) + payload +
                struct.pack(">IB", 1 + nbytes, 5) + bytes(bits) + struct.pack(">IB", 1, 1))

    def add(self, sock, what):
        self.count += 1
        print("connection %d %s" % (self.count, what), flush=True)
        sock.setblocking(False)
        self.conns[sock] = {"in": b"", "out": self.intro(), "handshaken": False, "since": time.monotonic()}
        self.sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, "conn")

    def connect(self, target):
        s = socket.socket()
        if self.args.bind:
            s.bind((self.args.bind, 0))
        try:
            s.settimeout(2)
            s.connect(target)
        except OSError as e:
            print("connect to %s:%d: %s" % (target + (e,)), flush=True)
            s.close()
            return False
        self.add(s, "to %s:%d" % target)
        return True

    def close(self, sock):
        self.sel.unregister(sock)
        del self.conns[sock]
        sock.close()

    def on_messages(self, sock, st):
        buf = st["in"]
        if not st["handshaken"]:
            if len(buf) < 68:
                return
            buf = buf[68:]
            st["handshaken"] = True
        while len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            msg, buf = buf[4:4 + n], buf[4 + n:]
            if self.args.mode == "greedy" and n == 1 and msg[0] == 1 and not st.get("asked"):
                st["asked"] = True
                for i in range(self.args.requests):
                    piece = (i * 7 + self.count) % self.pieces
                    length = min(16384, self.args.length - piece * self.piece_length)
                    st["out"] += struct.pack(">IBIII", 13, 6, piece, 0, length)
            if self.args.mode == "greedy" and n > 9 and msg[0] == 7:
                self.blocks += 1
            if self.args.mode == "corrupt" and n == 13 and msg[0] == 6:
                index, begin, length = struct.unpack(">III", msg[1:])
                st["out"] += struct.pack(">IBII", 9 + length, 7, index, begin) + os.urandom(length)
        st["in"] = buf

    def run(self):
        end = time.monotonic() + self.args.duration
        if self.args.listen:
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(hostport(self.args.listen))
            ls.listen(64)
            ls.setblocking(False)
            self.sel.register(ls, selectors.EVENT_READ, "listen")
        targets = [hostport(c) for c in self.args.connect]
        next_announce = time.monotonic() + self.args.announce_every if self.args.announce_every else None
        if self.args.announce:
            announce(self.args, self.info_hash, self.peer_id, self.pieces)
        want = self.args.count if self.args.mode in ("idle", "mute", "greedy") else 1
        opened = 0
        while time.monotonic() < end:
            if self.args.announce and next_announce and time.monotonic() >= next_announce:
                announce(self.args, self.info_hash, self.peer_id, self.pieces)  # it keeps its place
                next_announce += self.args.announce_every
            for t in targets:
                mine = sum(1 for st in self.conns.values() if st.get("target") == t)
                if self.args.mode in ("mute", "greedy"):  # once each: what becomes of them is the point
                    mine = opened
                for _ in range(want - mine):
                    opened += 1
                    if not self.connect(t):
                        break
                    self.conns[list(self.conns)[-1]]["target"] = t
            for key, ev in self.sel.select(timeout=0.2):
                if key.data == "listen":
                    s, a = key.fileobj.accept()
                    self.add(s, "from %s:%d" % a)
                    continue
                sock, st = key.fileobj, self.conns.get(key.fileobj)
                if st is None:
                    continue
                if ev & selectors.EVENT_READ:
                    try:
                        data = sock.recv(1 << 20)
                    except OSError:
                        data = b""
                    if not data:
                        print("closed by the other side after %.1f s" % (time.monotonic() - st["since"]), flush=True)
                        self.closed += 1
                        self.close(sock)
                        continue
                    if self.args.mode not in ("idle", "mute"):
                        st["in"] += data
                        self.on_messages(sock, st)
                if ev & selectors.EVENT_WRITE and st["out"]:
                    try:
                        sent = sock.send(st["out"])
                        st["out"] = st["out"][sent:]
                    except BlockingIOError:
                        pass
                    except OSError:
                        self.close(sock)
                        continue
                want_ev = selectors.EVENT_READ | (selectors.EVENT_WRITE if st["out"] else 0)
                self.sel.modify(sock, want_ev, "conn")
            if self.args.mode == "greedy" and self.blocks == self.args.count * self.args.requests:
                break
        print("open connections at exit: %d" % len(self.conns), flush=True)
        if self.args.mode == "greedy":
            print("blocks received: %d of %d; connections closed by the other side: %d" %
                  (self.blocks, self.args.count * self.args.requests, self.closed), flush=True)


def announce(args, info_hash, peer_id, pieces):
    """One announce from --bind, so the tracker maps our address to its rack."""
    url = urllib.parse.urlsplit(args.announce)
    port = hostport(args.listen)[1] if args.listen else 6881
    query = "info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=%d&compact=1&event=started" % (
        urllib.parse.quote_from_bytes(info_hash), urllib.parse.quote_from_bytes(peer_id), port,
        args.length)
    s = socket.socket()
    s.bind((args.bind, 0))
    s.settimeout(5)
    s.connect((url.hostname, url.port))
    s.sendall(("GET %s?%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" %
               (url.path, query, url.netloc)).encode())
    reply = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        reply += d
    s.close()
    print("announced: %s" % reply.split(b"\r\n", 1)[0].decode(errors="replace"), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["liar", "idle", "mute", "corrupt", "greedy"])
    ap.add_argument("--crowcast", required=True, help="the crowcast binary (its inspect reads the manifest)")
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--connect", action="append", default=[])
    ap.add_argument("--listen")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--announce")
    ap.add_argument("--announce-every", type=float, default=0,
                    help="announce again every S seconds (a liar keeping its place in the chain)")
    ap.add_argument("--rack")
    ap.add_argument("--pos", type=int, default=0)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--duration", type=float, default=120)
    args = ap.parse_args()
    meta = json.loads(subprocess.check_output([args.crowcast, "inspect", "--json", args.torrent]))
    meta["pieces"] = (meta["length"] + meta["piece_length"] - 1) // meta["piece_length"]
    args.length = meta["length"]
    Peer(args, meta).run()


if __name__ == "__main__":
    sys.exit(main())
