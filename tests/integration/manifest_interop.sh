#!/usr/bin/env bash
# Manifests made by `crowcast make` are read by stock BitTorrent tools: transmission-show and
# aria2c -S report the info hash `crowcast inspect --json` prints, for a single file and for a
# directory with nested folders and an empty file; aria2c -V hash-checks the data against the
# SHA-1 pieces, signed (make --sign, sign) as well as unsigned; making the same input twice gives
# identical bytes; inspect rejects a hostile manifest with exit 2. (tree_attrs.sh covers symlinks,
# modes and empty directories end to end.)
source "$(dirname "$0")/lib.sh"
need_cmd transmission-show aria2c python3

# lib.sh's random_file ends its pipeline with `head`, so under pipefail openssl's SIGPIPE makes it
# return non-zero even when the file is complete: judge it by the file's size instead.
data_file() {
  random_file "$@" || true
  [[ $(stat -c %s "$1") == "$2" ]] || fail "could not create $1"
}

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# check_interop TORRENT: the three tools agree on the info hash.
check_interop() {
  local t=$1 ours theirs
  ours=$("$CROWCAST" inspect --json "$t" | json_field info_hash)
  [[ $ours =~ ^[0-9a-f]{40}$ ]] || fail "inspect gave no info hash for $t"
  theirs=$(transmission-show "$t" | awk '$1 == "Hash:" {print $2}')
  [[ $theirs == "$ours" ]] || fail "transmission-show says $theirs, crowcast $ours ($t)"
  theirs=$(aria2c -S "$t" | awk '/^Info Hash:/ {print $3}')
  [[ $theirs == "$ours" ]] || fail "aria2c -S says $theirs, crowcast $ours ($t)"
  log "$(basename "$t"): info hash $ours agreed by transmission-show and aria2c"
}

# aria2c_verifies TORRENT DIR: aria2c hash-checks DIR against the SHA-1 pieces; with every piece
# good it completes at once (--seed-time=0), otherwise it would wait for peers and time out.
aria2c_verifies() {
  timeout 30 aria2c -V --seed-time=0 --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
    --enable-peer-exchange=false --disable-ipv6=true --listen-port="$(free_port)" --dir="$2" \
    --console-log-level=warn --summary-interval=0 --allow-overwrite=false "$1" >"$WORK/aria2c.log" 2>&1
}

# A directory tree: nested folders, an empty file, a file spanning pieces, names that need care.
tree=$WORK/data/release
data_file "$tree/bin/tool" 700000 a
data_file "$tree/lib/x/y/deep.so" 300001 b
data_file "$tree/lib/small" 17 c
: >"$tree/empty"
mkdir -p "$tree/lib/emptydir"
data_file "$tree/name with spaces \"q\"" 1000 d
ln -s ../bin/tool "$tree/lib/link"

"$CROWCAST" make "$tree" -o "$WORK/dir.torrent" --piece-size 256K --tracker http://127.0.0.1:1/announce \
  2>"$WORK/make.err" >/dev/null || fail "make on a directory failed: $(cat "$WORK/make.err")"
[[ ! -s $WORK/make.err ]] || fail "make warned: $(cat "$WORK/make.err")"
check_interop "$WORK/dir.torrent"
json=$("$CROWCAST" inspect --json "$WORK/dir.torrent")
extras=$(python3 -c 'import json,sys; j=json.load(sys.stdin); print([(l["path"], l["target"]) for l in j["symlinks"]], j["empty_directories"])' <<<"$json")
[[ $extras == "[('lib/link', 'bin/tool')] ['lib/emptydir']" ]] || fail "symlinks and empty directories: $extras"
files=$(python3 -c 'import json,sys; print(",".join(f["path"]+":"+str(f["length"]) for f in json.load(sys.stdin)["files"]))' <<<"$json")
want='bin/tool:700000,empty:0,lib/small:17,lib/x/y/deep.so:300001,name with spaces "q":1000'
[[ $files == "$want" ]] || fail "file list: $files, want $want"
[[ $(json_field length <<<"$json") == 1001018 && $(json_field pieces <<<"$json") == 4 ]] ||
  fail "length or piece count wrong: $json"
transmission-show "$WORK/dir.torrent" | grep -q "release/lib/x/y/deep.so (300.0 kB)" ||
  fail "transmission-show lists the files differently"
# aria2c 1.36 does not know BEP 47: it takes the symlink for an empty file and, finding the link
# there, truncates the link's target through it. Check a copy without the link: aria2c makes the
# empty file itself.
cp -a "$WORK/data" "$WORK/stock" && rm "$WORK/stock/release/lib/link"
aria2c_verifies "$WORK/dir.torrent" "$WORK/stock" || fail "aria2c did not verify the directory release"
[[ -f $WORK/stock/release/lib/link && ! -s $WORK/stock/release/lib/link ]] || fail "aria2c made no empty lib/link"

# A single file, with the default piece size (256 KiB here) and a short last piece.
data_file "$WORK/solo/image.bin" 1000000 e
"$CROWCAST" make "$WORK/solo/image.bin" -o "$WORK/single.torrent" >/dev/null || fail "make on a file failed"
check_interop "$WORK/single.torrent"
[[ $("$CROWCAST" inspect --json "$WORK/single.torrent" | json_field piece_length) == 262144 ]] ||
  fail "default piece length is not 256 KiB"
aria2c_verifies "$WORK/single.torrent" "$WORK/solo" || fail "aria2c did not verify the single-file release"

# A signed manifest (the top-level "crowcast signatures", outside info): stock tools read it, with the
# same info hash as the unsigned one, and aria2c still hash-checks the data against it.
mkdir -p "$WORK/keys"
"$CROWCAST" keygen "$WORK/keys/release" >/dev/null || fail "keygen failed"
"$CROWCAST" make "$WORK/solo/image.bin" -o "$WORK/signed.torrent" --sign "$WORK/keys/release" >/dev/null ||
  fail "make --sign failed"
check_interop "$WORK/signed.torrent"
[[ $("$CROWCAST" inspect --json "$WORK/signed.torrent" | json_field info_hash) == \
  $("$CROWCAST" inspect --json "$WORK/single.torrent" | json_field info_hash) ]] || fail "signing changed the info hash"
aria2c_verifies "$WORK/signed.torrent" "$WORK/solo" || fail "aria2c did not verify the signed release"
"$CROWCAST" sign "$WORK/single.torrent" --key "$WORK/keys/release" -o "$WORK/signed-after.torrent" >/dev/null ||
  fail "sign failed"
cmp -s "$WORK/signed.torrent" "$WORK/signed-after.torrent" || fail "make --sign and make then sign differ"

# Backup trackers (BEP 12): each --tracker a tier, commas within one (mktorrent -a's convention).
# transmission-show reads the tiers as written; the URL crowcast cannot announce to is warned about.
"$CROWCAST" make "$WORK/solo/image.bin" -o "$WORK/tiers.torrent" --tracker http://127.0.0.1:1/announce \
  --tracker "http://127.0.0.2:2/announce,udp://tracker.example:80" 2>"$WORK/tiers.err" >/dev/null ||
  fail "make with two --tracker failed: $(cat "$WORK/tiers.err")"
grep -qF "udp://tracker.example:80: crowcast seed and get announce to http[s]://A.B.C.D:PORT/ URLs only" \
  "$WORK/tiers.err" || fail "no warning about the udp:// tracker: $(cat "$WORK/tiers.err")"
tiers=$(transmission-show "$WORK/tiers.torrent" | awk '/^TRACKERS/ {on = 1; next} /^FILES/ {on = 0} on && NF' |
  tr -s ' ' | paste -sd'|')
[[ $tiers == " Tier #1| http://127.0.0.1:1/announce| Tier #2| http://127.0.0.2:2/announce| udp://tracker.example:80" ]] ||
  fail "transmission-show reads the tiers as: $tiers"
json=$("$CROWCAST" inspect --json "$WORK/tiers.torrent")
[[ $(json_field announce <<<"$json") == http://127.0.0.1:1/announce ]] || fail "announce is not the first URL: $json"
[[ $(python3 -c 'import json,sys; print(json.load(sys.stdin)["announce_list"])' <<<"$json") == \
  "[['http://127.0.0.1:1/announce'], ['http://127.0.0.2:2/announce', 'udp://tracker.example:80']]" ]] ||
  fail "inspect --json announce_list: $json"
"$CROWCAST" inspect "$WORK/tiers.torrent" | grep -q '^              2: http://127.0.0.2:2/announce udp://tracker.example:80$' ||
  fail "inspect does not show tier 2"
check_interop "$WORK/tiers.torrent"
[[ $("$CROWCAST" inspect --json "$WORK/single.torrent" | json_field announce_list) == None ]] ||
  fail "a manifest without trackers has an announce_list"
log "make --tracker x2: announce-list tiers as transmission-show reads them"

# Determinism: the same input made again, by another process, gives the same bytes.
"$CROWCAST" make "$tree" -o "$WORK/dir2.torrent" --piece-size 256K --tracker http://127.0.0.1:1/announce \
  >/dev/null 2>&1 || fail "second make failed"
cmp -s "$WORK/dir.torrent" "$WORK/dir2.torrent" || fail "the same directory made twice differs"
"$CROWCAST" make "$WORK/solo/image.bin" -o "$WORK/single2.torrent" --threads 1 >/dev/null ||
  fail "single-threaded make failed"
cmp -s "$WORK/single.torrent" "$WORK/single2.torrent" || fail "1 thread and all threads give different bytes"

# Hostile manifests: exit 2 with a reason, never a crash.
python3 - "$WORK" <<'EOF'
import sys
w = sys.argv[1]
good = open(w + "/single.torrent", "rb").read()
open(w + "/truncated.torrent", "wb").write(good[: len(good) // 2])
open(w + "/dotdot.torrent", "wb").write(good.replace(b"4:name9:image.bin", b"4:name9:../../etc"))
EOF
for bad in truncated dotdot; do
  rc=0
  "$CROWCAST" inspect "$WORK/$bad.torrent" >/dev/null 2>"$WORK/$bad.err" || rc=$?
  [[ $rc -eq 2 ]] || fail "inspect of $bad.torrent exited $rc, want 2"
  grep -q "invalid manifest: " "$WORK/$bad.err" || fail "no reason printed for $bad: $(cat "$WORK/$bad.err")"
  log "$bad.torrent rejected: $(cat "$WORK/$bad.err")"
done
rc=0
"$CROWCAST" inspect "$WORK/missing.torrent" 2>/dev/null || rc=$?
[[ $rc -eq 3 ]] || fail "inspect of a missing file exited $rc, want 3"

# make refuses input that cannot form a release.
mkdir -p "$WORK/hollow/sub"
: >"$WORK/hollow/sub/zero"
rc=0
"$CROWCAST" make "$WORK/hollow" -o "$WORK/hollow.torrent" 2>/dev/null || rc=$?
[[ $rc -eq 2 && ! -e $WORK/hollow.torrent ]] || fail "make of an all-empty tree exited $rc, want 2 and no output"
log "ok"
