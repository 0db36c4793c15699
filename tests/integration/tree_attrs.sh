#!/usr/bin/env bash
# A build arrives as it was built: a tree with executables, symlinks (into a file, into a
# directory, dangling, and one at the top), empty directories (one nested), a zero-length file and
# names with spaces and UTF-8 goes through `crowcast make`, a multicast `seed` and two `get`s on
# loopback (127.0.0.2-3), one of them with a umask that would strip the executable bit; each
# published copy is identical to the source (diff -r --no-dereference, every mode by stat -c %a,
# every link by readlink: the same text, except an absolute one inside the tree, which is published
# relative) and `verify` passes on it; after tampering with a mode, a link and an
# empty directory, verify exits 1 naming all three. A symlink pointing outside the tree is refused
# by make naming the link (exit 2); with --skip-special it is left out with a warning.
# transmission-show and aria2c --show-files read the manifest and list the symlink as an entry.
# crowcast diff against the next build shows what changed and the bytes that would move, fewer
# when the next build is made with --previous, and get --previous fetches exactly those; a piece-aligned (padded) release travels over
# multicast with TCP repair and over TCP alone, and publishes without its padding.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mcast_lib.sh"
need_cmd transmission-show aria2c diff stat readlink python3

src=$WORK/src/build-42
mkdir -p "$src/bin" "$src/lib/plugins" "$src/share/doc" "$src/var/cache/empty" "$src/tmp" "$src/naïve dir"
random_file "$src/bin/server" 300000 server || true
random_file "$src/lib/libcore.so.1" 200001 core || true
random_file "$src/share/doc/README" 1000 readme || true
random_file "$src/naïve dir/file with spaces ü.txt" 777 utf || true
: >"$src/share/empty file"
printf '#!/bin/sh\necho hello\n' >"$src/bin/run.sh"
chmod 755 "$src/bin/server" "$src/bin/run.sh"
chmod 640 "$src/share/doc/README" # not executable: published as 0644
ln -s libcore.so.1 "$src/lib/libcore.so"
ln -s ../lib "$src/bin/lib"
ln -s ../../share/doc/README "$src/lib/plugins/README"
ln -s not/there/yet "$src/lib/dangling"
ln -s "bin/run.sh" "$src/run"
ln -s "$src/naïve dir/file with spaces ü.txt" "$src/abs link" # absolute, inside: kept, made relative

# One link pointing outside: refused, naming it; with --skip-special it is left out with a warning.
ln -s /etc/passwd "$src/lib/escape"
rc=0
"$CROWCAST" make "$src" -o "$WORK/r.torrent" --piece-size 64K >"$WORK/make.out" 2>"$WORK/make.err" || rc=$?
[[ $rc -eq 2 ]] || fail "make with a link leading out exited $rc, want 2: $(cat "$WORK/make.err")"
grep -q "lib/escape: a symlink to /etc/passwd, outside the release" "$WORK/make.err" ||
  fail "make's refusal does not name the link: $(cat "$WORK/make.err")"
[[ ! -e $WORK/r.torrent ]] || fail "make wrote a manifest although it refused the tree"
"$CROWCAST" make "$src" -o "$WORK/skip.torrent" --piece-size 64K --skip-special >/dev/null 2>"$WORK/skip.err" ||
  fail "make --skip-special failed: $(cat "$WORK/skip.err")"
grep -q "warning: skipping lib/escape (a symlink to /etc/passwd, outside the release)" "$WORK/skip.err" ||
  fail "make --skip-special did not warn: $(cat "$WORK/skip.err")"
rm "$src/lib/escape"

"$CROWCAST" make "$src" -o "$WORK/r.torrent" --piece-size 64K >"$WORK/make.out" 2>"$WORK/make.err" ||
  fail "make failed: $(cat "$WORK/make.err")"
[[ ! -s $WORK/make.err ]] || fail "make warned: $(cat "$WORK/make.err")"
grep -q "6 files, 6 symlinks, 2 empty directories" "$WORK/make.out" || fail "make summary: $(cat "$WORK/make.out")"
cmp -s "$WORK/r.torrent" "$WORK/skip.torrent" || fail "the skipped link changed the manifest"
"$CROWCAST" verify "$WORK/r.torrent" "$src" >/dev/null || fail "the source tree does not verify"

# Stock tools read it; BEP 47's symlinks show as (empty) entries to those that do not know it.
transmission-show "$WORK/r.torrent" >"$WORK/tshow.txt" 2>&1 || fail "transmission-show failed: $(cat "$WORK/tshow.txt")"
grep -qF "build-42/naïve dir/file with spaces ü.txt" "$WORK/tshow.txt" || fail "transmission-show: $(cat "$WORK/tshow.txt")"
grep -qF "build-42/lib/libcore.so " "$WORK/tshow.txt" || fail "transmission-show does not list the link"
aria2c --show-files "$WORK/r.torrent" >"$WORK/aria.txt" 2>&1 || fail "aria2c --show-files failed: $(cat "$WORK/aria.txt")"
grep -qF "./build-42/naïve dir/file with spaces ü.txt" "$WORK/aria.txt" || fail "aria2c: $(cat "$WORK/aria.txt")"
grep -qF "./build-42/bin/lib" "$WORK/aria.txt" || fail "aria2c does not list the link"
log "transmission-show and aria2c --show-files read the manifest"

# Multicast on loopback to two receivers; the second one runs under umask 077.
group=$(mcast_group)
pids=()
for i in 1 2; do
  mask=022
  [[ $i -eq 2 ]] && mask=077
  spawn "get$i" bash -c "umask $mask; exec \"\$0\" \"\$@\"" "$CROWCAST" get "$WORK/r.torrent" -o "$WORK/out$i" \
    --mcast "$group" --iface "127.0.0.$((i + 1))" --no-tracker --json
  pids+=("$SPAWNED_PID")
done
mkdir -p "$WORK/out1" "$WORK/out2"
wait_joined 20 "$WORK/get1.log" "$WORK/get2.log"
timeout 60 "$CROWCAST" seed "$WORK/r.torrent" "$src" --mcast "$group" --iface 127.0.0.1 --rate 200M \
  --passes 2 --linger 0 --no-tracker >"$WORK/seed.log" 2>&1 || fail "seed exited $?: $(tail -5 "$WORK/seed.log")"
for i in 1 2; do
  rc=0
  wait_pid_timeout 60 "${pids[i - 1]}" || rc=$?
  [[ $rc -eq 0 ]] || fail "get $i exited $rc: $(tail -5 "$WORK/get$i.log")"
done

# describe DIR [expected]: one line per entry, sorted: a symlink by where it points from the
# root (its text may differ), a file or directory by its mode; "expected" gives the modes a
# release publishes (0755 for directories and executables, 0644 for other files).
describe() {
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
    if [[ -L $p ]]; then
      t=$(readlink "$p")
      [[ $t == /* ]] || t="$PWD/$(dirname "$p")/$t"
      echo "$p -> $(realpath -ms --relative-to="$PWD" "$t")"
    elif [[ ${2:-} != expected ]]; then echo "$p $(stat -c '%F %a' "$p" | sed 's/regular empty file/regular file/')"
    elif [[ -d $p ]]; then echo "$p directory 755"
    elif [[ -x $p ]]; then echo "$p regular file 755"
    else echo "$p regular file 644"; fi
  done)
}
want=$WORK/want.txt
describe "$src" expected >"$want"
for i in 1 2; do
  out=$WORK/out$i/build-42
  [[ -d $out ]] || fail "get $i published nothing"
  [[ ! -e $WORK/out$i/.crowcast-staging ]] || fail "get $i left its staging area"
  # The absolute link is published relative (checked below); every other link keeps its text.
  diff -r --no-dereference --exclude='abs link' "$src" "$out" >"$WORK/diff$i.txt" 2>&1 || fail "get $i: diff -r: $(head -5 "$WORK/diff$i.txt")"
  describe "$out" >"$WORK/got$i.txt"
  diff "$want" "$WORK/got$i.txt" >"$WORK/modes$i.txt" || fail "get $i: modes or links differ: $(cat "$WORK/modes$i.txt")"
  [[ $(readlink "$out/abs link") == "naïve dir/file with spaces ü.txt" && $(readlink "$out/bin/lib") == ../lib ]] ||
    fail "get $i: links read $(readlink "$out/abs link") and $(readlink "$out/bin/lib")"
  [[ $("$out/run") == hello ]] || fail "get $i: the published run.sh does not run through its link"
  "$CROWCAST" verify "$WORK/r.torrent" "$out" >"$WORK/verify$i.txt" || fail "get $i: verify: $(cat "$WORK/verify$i.txt")"
done
log "both copies published identical: contents, modes ($(grep -c ' 755$' "$want") entries 0755), $(grep -c -- ' -> ' "$want") symlinks, empty directories"

# Tampering: verify names the mode, the link and the missing empty directory.
out=$WORK/out1/build-42
chmod 644 "$out/bin/server"
ln -sfn libcore.so.1 "$out/bin/lib"
rmdir "$out/var/cache/empty"
rc=0
"$CROWCAST" verify "$WORK/r.torrent" "$out" >"$WORK/tampered.txt" || rc=$?
[[ $rc -eq 1 ]] || fail "verify of a tampered tree exited $rc: $(cat "$WORK/tampered.txt")"
grep -q "bin/server: not executable (mode 0644), the manifest says executable" "$WORK/tampered.txt" &&
  grep -q "bin/lib: a symlink to libcore.so.1, the manifest says to lib" "$WORK/tampered.txt" &&
  grep -q "var/cache/empty: missing, the manifest says an empty directory" "$WORK/tampered.txt" ||
  fail "verify does not say what differs: $(cat "$WORK/tampered.txt")"
log "verify names a changed mode, a changed link and a missing empty directory"

# crowcast diff between this build and the next: a rewritten file, a flipped mode, a new file, a
# retargeted link, a removed empty directory; the same manifest twice differs in nothing.
rc=0
"$CROWCAST" diff "$WORK/r.torrent" "$WORK/r.torrent" >"$WORK/diff-same.txt" || rc=$?
[[ $rc -eq 0 ]] || fail "diff of a manifest with itself exited $rc: $(cat "$WORK/diff-same.txt")"
next=$WORK/next/build-42
mkdir -p "$WORK/next" && cp -a "$src" "$next"
random_file "$next/lib/libcore.so.1" 200001 core2 || true
chmod 644 "$next/bin/run.sh"
echo "# grown: moves bin/server, which follows it, within its pieces" >>"$next/bin/run.sh"
echo news >"$next/share/NEWS"
ln -sfn libcore.so.1 "$next/bin/lib"
rmdir "$next/tmp"
rm "$next/abs link" # it points into the first tree
"$CROWCAST" make "$next" -o "$WORK/next.torrent" --piece-size 64K >/dev/null 2>&1 || fail "make of the next build failed"
rc=0
"$CROWCAST" diff "$WORK/r.torrent" "$WORK/next.torrent" >"$WORK/diff.txt" || rc=$?
[[ $rc -eq 1 ]] || fail "diff exited $rc: $(cat "$WORK/diff.txt")"
for want in "bin/run.sh" "mode 0755 -> 0644" "+  share/NEWS" "~  bin/lib -> bin/libcore.so.1 (was lib)" "-  tmp/" \
  "lib/libcore.so.1"; do
  grep -qF -- "$want" "$WORK/diff.txt" || fail "diff does not show '$want': $(cat "$WORK/diff.txt")"
done
"$CROWCAST" diff --json "$WORK/r.torrent" "$WORK/next.torrent" >"$WORK/diff.json" || [[ $? -eq 1 ]] ||
  fail "diff --json failed"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert 0 < j["bytes_to_move"] <= j["bytes_total"], j' \
  "$WORK/diff.json" || fail "diff --json: $(cat "$WORK/diff.json")"
log "diff: $(tail -n 1 "$WORK/diff.txt")"
# Laid out after the first build, fewer bytes move: unchanged files keep their pieces.
"$CROWCAST" make "$next" -o "$WORK/next-prev.torrent" --previous "$WORK/r.torrent" >/dev/null 2>&1 ||
  fail "make --previous failed"
"$CROWCAST" diff --json "$WORK/r.torrent" "$WORK/next-prev.torrent" >"$WORK/diff-prev.json" || [[ $? -eq 1 ]] ||
  fail "diff of the --previous build failed"
moved=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_to_move"])' "$WORK/diff.json")
moved_prev=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_to_move"])' "$WORK/diff-prev.json")
[[ $moved_prev -lt $moved ]] || fail "make --previous moves $moved_prev bytes, a plain make $moved"
log "make --previous: $moved_prev bytes to move instead of $moved"

# A host holding the first build fetches only what it lacks: get --previous takes the rest from
# the copy on disk (checked piece by piece); over TCP alone, exactly the bytes diff counted move.
port=$(free_port)
spawn prev-seed "$CROWCAST" seed "$WORK/next-prev.torrent" "$next" --listen "127.0.0.1:$port" \
  --linger 60 --no-tracker
wait_until 10 bash -c "ss -Hltn 'sport = :$port' | grep -q ." || fail "the seeder does not listen on $port"
mkdir -p "$WORK/prev-out"
rc=0
timeout 60 "$CROWCAST" get "$WORK/next-prev.torrent" -o "$WORK/prev-out" --no-mcast --iface 127.0.0.4 --no-tracker \
  --peer "127.0.0.1:$port" --previous "$WORK/r.torrent" --previous-path "$WORK/out2/build-42" --json \
  >"$WORK/prev-get.log" 2>&1 || rc=$?
[[ $rc -eq 0 ]] || fail "get --previous exited $rc: $(tail -5 "$WORK/prev-get.log")"
diff -r --no-dereference "$next" "$WORK/prev-out/build-42" >"$WORK/prev-diff.txt" 2>&1 ||
  fail "get --previous: diff -r: $(head -5 "$WORK/prev-diff.txt")"
tcp=$(json_num "$(json_event "$WORK/prev-get.log" complete)" bytes_tcp)
from_prev=$(json_num "$(json_event "$WORK/prev-get.log" previous)" bytes)
[[ $tcp -eq $moved_prev && $((tcp + from_prev)) -eq $(inspect_num "$WORK/next-prev.torrent" length) ]] ||
  fail "get --previous fetched $tcp bytes and took $from_prev from disk; diff said $moved_prev move"
log "get --previous: $from_prev bytes from the previous release on disk, $tcp over TCP (diff said $moved_prev)"

# The padded release travels like any other: a multicast get that loses 5% and repairs over TCP
# from the seeder, and a TCP-only get whose blocks include some lying wholly in padding. Both
# publish the tree (no padding on disk) and verify.
# The same build piece-aligned: two new blobs start pieces, 65535 bytes of padding between them.
random_file "$next/var/blob1" 65537 blob1 || true
random_file "$next/var/blob2" 70000 blob2 || true
"$CROWCAST" make "$next" -o "$WORK/next-aligned.torrent" --piece-size 64K --align >"$WORK/make-aligned.out" 2>&1 ||
  fail "make --align failed: $(cat "$WORK/make-aligned.out")"
"$CROWCAST" inspect --json "$WORK/next-aligned.torrent" | python3 -c 'import json,sys
assert any(f["padding"] and f["length"] == 65535 for f in json.load(sys.stdin)["files"])' ||
  fail "make --align put no 65535-byte padding between the blobs: $(cat "$WORK/make-aligned.out")"
port=$(free_port)
group=$(mcast_group)
mkdir -p "$WORK/pad1" "$WORK/pad2"
spawn pad-get1 "$CROWCAST" get "$WORK/next-aligned.torrent" -o "$WORK/pad1" --mcast "$group" --iface 127.0.0.2 \
  --no-tracker --peer "127.0.0.1:$port" --test-loss 50000 --json
g1=$SPAWNED_PID
wait_joined 20 "$WORK/pad-get1.log"
spawn pad-seed "$CROWCAST" seed "$WORK/next-aligned.torrent" "$next" --mcast "$group" --iface 127.0.0.1 \
  --listen "127.0.0.1:$port" --rate 100M --linger 60 --no-tracker
wait_until 10 bash -c "ss -Hltn 'sport = :$port' | grep -q ." || fail "the seeder does not listen on $port"
spawn pad-get2 "$CROWCAST" get "$WORK/next-aligned.torrent" -o "$WORK/pad2" --no-mcast --iface 127.0.0.3 \
  --no-tracker --peer "127.0.0.1:$port" --json
g2=$SPAWNED_PID
for g in "$g1" "$g2"; do
  rc=0
  wait_pid_timeout 60 "$g" || rc=$?
  [[ $rc -eq 0 ]] || fail "a get of the padded release exited $rc: $(tail -3 "$WORK/pad-get1.log" "$WORK/pad-get2.log")"
done
grep -q '"bytes_tcp":[1-9]' "$WORK/pad-get1.log" || fail "the lossy get repaired nothing over TCP"
for i in 1 2; do
  diff -r --no-dereference "$next" "$WORK/pad$i/build-42" >"$WORK/pad-diff$i.txt" 2>&1 ||
    fail "padded get $i: diff -r: $(head -5 "$WORK/pad-diff$i.txt")"
  [[ ! -e $WORK/pad$i/build-42/.pad ]] || fail "padded get $i put padding on disk"
  "$CROWCAST" verify "$WORK/next-aligned.torrent" "$WORK/pad$i/build-42" >/dev/null || fail "padded get $i does not verify"
done
log "a padded release published identical over multicast + TCP repair and over TCP alone"
