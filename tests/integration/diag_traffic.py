# Scripted BitTorrent traffic on loopback for the crowcast-diag tests: argv[1] is a peer-wire port,
# argv[2] a tracker port. Peer wire: both handshakes, interested/unchoke, 8 requests answered by 16 KiB
# pieces 5 ms apart. Tracker: three announces (started, none, completed; rack r7) on one keep-alive
# connection, each answered by an empty 200.
import socket, struct, sys, time
def pair(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    c = socket.create_connection(("127.0.0.1", port))
    s, _ = ls.accept()
    ls.close()
    return c, s
def read(sock, n):
    got = b""
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        if not chunk:
            raise SystemExit("connection closed")
        got += chunk
    return got
c, s = pair(int(sys.argv[1]))
hs = bytes([19]) + b"BitTorrent protocol" + bytes(8) + b"\xab" * 20 + b"-PY0001-" + b"x" * 12
c.sendall(hs + struct.pack(">IB", 1, 2))
read(s, 73)
s.sendall(hs + struct.pack(">IB", 1, 1))
read(c, 73)
for i in range(8):
    c.sendall(struct.pack(">IBIII", 13, 6, i, 0, 16384))
read(s, 8 * 17)
for i in range(8):
    time.sleep(0.005)
    s.sendall(struct.pack(">IBII", 16393, 7, i, 0) + bytes(16384))
    read(c, 16397)
c.close(); s.close()
c, s = pair(int(sys.argv[2]))
ih = "%AB" * 20
for ev in ("&event=started", "", "&event=completed"):
    req = ("GET /announce?info_hash=%s&peer_id=-PY0001-xxxxxxxxxxxx&port=6881&uploaded=0&downloaded=0"
           "&left=0%s&rack=r7 HTTP/1.1\r\nHost: t\r\n\r\n" % (ih, ev)).encode()
    c.sendall(req)
    read(s, len(req))
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    read(c, 38)
c.close(); s.close()
