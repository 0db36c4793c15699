#!/usr/bin/env bash
# Signed releases with `crowcast get --trust`: an unsigned manifest, one signed by a key the host does
# not trust, one whose trusted signature was copied from another release, and one altered after
# signing are each refused with exit 5 and a reason, before a byte is fetched: nothing is written
# (not even the output directory), no connection reaches the tracker or the peer the manifest and
# the command name (a listener that records every accept sees none), no multicast group is joined.
# The correctly signed manifest, with --trust as a file or as a directory of *.pub files, is fetched
# and verifies. verify and inspect --trust agree; keygen refuses to replace a key.
source "$(dirname "$0")/lib.sh"
need_cmd python3

LP=$(free_port) # the "tracker" the manifests name, a listener
PP=$(free_port) # a --peer, the same listener
SP=$(free_port) # the real seed, for the accepted release
GROUP="239.255.$((RANDOM % 200 + 1)).$((RANDOM % 200 + 1)):$(free_port)"

# keygen: a trusted key, a stranger's key; the private key is 0600 and is never replaced.
mkdir -p "$WORK/keys"
"$CROWCAST" keygen "$WORK/keys/release" --comment "release key" >"$WORK/keygen.out" ||
  fail "keygen failed"
"$CROWCAST" keygen "$WORK/keys/stranger" >/dev/null || fail "keygen of a second key failed"
[[ $(stat -c %a "$WORK/keys/release") == 600 ]] || fail "private key mode is $(stat -c %a "$WORK/keys/release")"
grep -Eq '^crowcast-ed25519 [0-9a-f]{64} release key$' "$WORK/keys/release.pub" ||
  fail "public key file: $(cat "$WORK/keys/release.pub")"
KEYID=$(sed -n 's/^key id: //p' "$WORK/keygen.out")
[[ $KEYID =~ ^[0-9a-f]{16}$ ]] || fail "keygen printed no key id: $(cat "$WORK/keygen.out")"
cp "$WORK/keys/release" "$WORK/release.copy"
rc=0
"$CROWCAST" keygen "$WORK/keys/release" 2>"$WORK/keygen.err" >/dev/null || rc=$?
[[ $rc -eq 3 ]] && grep -q "never replaces a key" "$WORK/keygen.err" || fail "keygen over a key: rc $rc, $(cat "$WORK/keygen.err")"
cmp -s "$WORK/keys/release" "$WORK/release.copy" || fail "keygen changed an existing key"
mkdir -p "$WORK/trusted" "$WORK/strangers"
cp "$WORK/keys/release.pub" "$WORK/keys/stranger.pub" "$WORK/trusted/"
cp "$WORK/keys/stranger.pub" "$WORK/strangers/"
echo "not a key" >"$WORK/trusted/README" # only *.pub files count

random_file "$WORK/src/app.bin" $((3 << 20)) release
random_file "$WORK/other/app.bin" $((3 << 20)) other
TRK="http://127.0.0.1:$LP/announce"
mk() { "$CROWCAST" make "$1" -o "$WORK/$2.torrent" --piece-size 256K --tracker "$TRK" "${@:3}" >/dev/null ||
  fail "make $2 failed"; }
mk "$WORK/src/app.bin" unsigned
mk "$WORK/src/app.bin" signed --sign "$WORK/keys/release"
mk "$WORK/src/app.bin" stranger --sign "$WORK/keys/stranger"
mk "$WORK/other/app.bin" other --sign "$WORK/keys/release"
# copied: this release, carrying the trusted key's signature of the other release.
# altered: the signed manifest with one byte of a SHA-256 piece hash changed after signing.
python3 - "$WORK" <<'PY'
import sys
w = sys.argv[1]
signed = open(w + "/signed.torrent", "rb").read()
other = open(w + "/other.torrent", "rb").read()
tag = b"9:signature64:"
i, j = signed.index(tag) + len(tag), other.index(tag) + len(tag)
open(w + "/copied.torrent", "wb").write(signed[:i] + other[j:j + 64] + signed[i + 64:])
k = signed.index(b"6:sha256") + 12
open(w + "/altered.torrent", "wb").write(signed[:k] + bytes([signed[k] ^ 1]) + signed[k + 1:])
PY
ID=$("$CROWCAST" inspect --json "$WORK/signed.torrent" | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])')
[[ $("$CROWCAST" inspect --json "$WORK/unsigned.torrent" | python3 -c 'import json,sys; print(json.load(sys.stdin)["release_id"])') == "$ID" ]] ||
  fail "signing changed the release id"

# The listener: records every connection it accepts, on the tracker's port and the peer's.
cat >"$WORK/listen.py" <<'PY'
import select, socket, sys
socks = []
for port in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(16)
    socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        c, addr = s.accept()
        print("accepted on", s.getsockname()[1], "from", addr, flush=True)
        c.close()
PY
spawn listener python3 "$WORK/listen.py" "$LP" "$PP"
wait_until 10 grep -q ready "$WORK/listener.log" || fail "the listener did not start"

refused() { # NAME TRUST EXPECTED-REASON: get refuses NAME.torrent, fetches nothing
  local name=$1 trust=$2 want=$3 rc=0
  timeout 20 "$CROWCAST" get "$WORK/$name.torrent" -o "$WORK/out-$name" --trust "$trust" --peer "127.0.0.1:$PP" \
    --mcast "$GROUP" --json --log-level debug >"$WORK/get-$name.json" 2>"$WORK/get-$name.err" || rc=$?
  [[ $rc -eq 5 ]] || fail "get of the $name manifest exited $rc, want 5: $(cat "$WORK/get-$name.err")"
  grep -q "refused: $want.*; nothing was fetched" "$WORK/get-$name.err" ||
    fail "get of the $name manifest: no reason '$want': $(cat "$WORK/get-$name.err")"
  grep -q '"event":"error".*"message":"refused: ' "$WORK/get-$name.json" ||
    fail "get --json of the $name manifest: no error event: $(cat "$WORK/get-$name.json")"
  [[ ! -e $WORK/out-$name ]] || fail "get of the $name manifest created its output directory"
  ! grep -q "joined" "$WORK/get-$name.err" || fail "get of the $name manifest joined a group"
  log "$name: refused ($(sed 's/.*refused: //' "$WORK/get-$name.err"))"
}
refused unsigned "$WORK/keys/release.pub" "the release is not signed"
refused stranger "$WORK/keys/release.pub" "signed only by key [0-9a-f]*, which this host does not trust"
refused copied "$WORK/trusted" "the signature by trusted key $KEYID does not verify"
refused altered "$WORK/trusted" "the signature by trusted key $KEYID does not verify"
refused signed "$WORK/strangers" "signed only by key $KEYID, which this host does not trust"
[[ $(grep -c accepted "$WORK/listener.log") -eq 0 ]] ||
  fail "a refused get connected somewhere: $(cat "$WORK/listener.log")"
log "no refused get reached the tracker or the peer"

# The listener is real: a get without --trust does connect to it (the check above can fail).
timeout 20 "$CROWCAST" get "$WORK/unsigned.torrent" -o "$WORK/out-untrusting" --no-mcast --peer "127.0.0.1:$PP" \
  --test-exit-after 1 >/dev/null 2>&1 || true
wait_until 5 grep -q "accepted on $PP" "$WORK/listener.log" || fail "the listener saw no connection from a plain get"

# A bad --trust is a usage error, named: not a key file, a huge one, a FIFO, a directory without keys.
head -c 300000 /dev/zero >"$WORK/huge.pub"
mkfifo "$WORK/fifo.pub"
mkdir -p "$WORK/nokeys"
for bad in "$WORK/trusted/README:line 1: does not start with" "$WORK/huge.pub:too large for a key file" \
  "$WORK/fifo.pub:not a regular file" "$WORK/nokeys:names no key"; do
  rc=0
  timeout 10 "$CROWCAST" get "$WORK/signed.torrent" -o "$WORK/out-x" --trust "${bad%%:*}" 2>"$WORK/badtrust.err" || rc=$?
  [[ $rc -eq 2 ]] && grep -q "${bad#*:}" "$WORK/badtrust.err" ||
    fail "get --trust ${bad%%:*}: rc $rc, $(cat "$WORK/badtrust.err")"
done

# Accepted: the signed release, trusted by file and by directory, fetched from a real seed.
spawn seed "$CROWCAST" seed "$WORK/signed.torrent" "$WORK/src/app.bin" --no-tracker --listen "127.0.0.1:$SP" \
  --linger 60 --passes 1 --rate 1M --mcast "$GROUP"
for trust in "$WORK/keys/release.pub" "$WORK/trusted"; do
  out="$WORK/out-$(basename "$trust")"
  timeout 60 "$CROWCAST" get "$WORK/signed.torrent" -o "$out" --trust "$trust" --no-tracker --no-mcast \
    --peer "127.0.0.1:$SP" 2>"$WORK/get-ok.err" || fail "get --trust $trust of the signed release failed: $(cat "$WORK/get-ok.err")"
  cmp "$WORK/src/app.bin" "$out/app.bin" || fail "the published release differs"
done
log "signed: fetched and verified, with --trust a file and a directory"

# verify and inspect apply the same decision.
"$CROWCAST" verify "$WORK/signed.torrent" "$WORK/src/app.bin" --trust "$WORK/trusted" --quiet || fail "verify --trust refused a good release"
rc=0
"$CROWCAST" verify "$WORK/stranger.torrent" "$WORK/src/app.bin" --trust "$WORK/trusted/release.pub" --quiet 2>/dev/null || rc=$?
[[ $rc -eq 5 ]] || fail "verify --trust of a stranger's release exited $rc, want 5"
"$CROWCAST" inspect "$WORK/signed.torrent" --trust "$WORK/trusted" | grep -q "^signed by:    key $KEYID, valid signature, trusted$" ||
  fail "inspect does not show the trusted signer"
rc=0
"$CROWCAST" inspect "$WORK/copied.torrent" --json --trust "$WORK/trusted" >"$WORK/copied.json" 2>/dev/null || rc=$?
[[ $rc -eq 5 ]] && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["trusted"] is False and d["signatures"] == [{"key_id": sys.argv[2], "valid": False, "trusted": True}], d
' "$WORK/copied.json" "$KEYID" || fail "inspect --json of the copied signature: rc $rc, $(cat "$WORK/copied.json")"
# Rotation: a release signed by the old and the new key is accepted by hosts that trust either.
mk "$WORK/src/app.bin" both --sign "$WORK/keys/release" --sign "$WORK/keys/stranger"
for trust in "$WORK/keys/release.pub" "$WORK/strangers"; do
  "$CROWCAST" inspect "$WORK/both.torrent" --trust "$trust" >/dev/null || fail "a release signed twice is refused by --trust $trust"
done
log "ok"
