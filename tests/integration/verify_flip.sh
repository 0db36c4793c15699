#!/usr/bin/env bash
# crowcast verify on a 1 GiB multi-file release in nested directories: every piece matches
# (exit 0); one flipped byte is found and its file named (exit 1). A small release then checks
# the other reports: a missing and a short file are named, a bad manifest and bad usage exit 2.
source "$(dirname "$0")/lib.sh"
need_cmd openssl od dd

MiB=$((1024 * 1024))
rel=$WORK/rel
# 1 GiB = 1024 MiB: random data where the flip lands, a sparse file with a random head (cheap to
# write; hashing still reads all of it), small and empty files in between.
random_file "$rel/data/part1.bin" $((400 * MiB)) part1
random_file "$rel/data/nested/deep/part2.bin" $((8 * MiB)) part2
truncate -s $((300 * MiB)) "$rel/data/nested/deep/part2.bin"
for i in 1 2 3; do printf 'small file %s\n' "$i" >"$rel/data/nested/small-$i.txt"; done
: >"$rel/data/nested/empty.txt"
small=$(cat "$rel"/data/nested/small-*.txt | wc -c)
random_file "$rel/z/last.bin" $((324 * MiB - small)) last
[[ $(find "$rel" -type f -printf '%s\n' | awk '{s += $1} END {print s}') -eq $((1024 * MiB)) ]] ||
  fail "the release is not 1 GiB"

start=$SECONDS
"$CROWCAST" make "$rel" -o "$WORK/rel.torrent" >"$WORK/make.log" 2>&1 || fail "crowcast make failed"
log "make: $((SECONDS - start)) s"

start=$SECONDS
"$CROWCAST" verify "$WORK/rel.torrent" "$rel" >"$WORK/verify-ok.log" 2>&1 ||
  fail "verify of intact data exited $?: $(cat "$WORK/verify-ok.log")"
grep -q '^OK: 2048 pieces' "$WORK/verify-ok.log" || fail "unexpected report: $(cat "$WORK/verify-ok.log")"
log "verify (intact): $((SECONDS - start)) s"

# Flip one bit of one byte in the middle of part1.bin (a piece boundary is 512 KiB; this
# offset is inside a piece that lies wholly in part1.bin).
off=$((200 * MiB + 12345))
byte=$(od -An -tu1 -j "$off" -N1 "$rel/data/part1.bin" | tr -d ' ')
printf "\\x$(printf %02x $((byte ^ 1)))" | dd of="$rel/data/part1.bin" bs=1 seek="$off" conv=notrunc status=none

start=$SECONDS
set +e
"$CROWCAST" verify "$WORK/rel.torrent" "$rel" >"$WORK/verify-bad.log" 2>&1
rc=$?
set -e
log "verify (flipped): $((SECONDS - start)) s"
cat "$WORK/verify-bad.log" >&2
[[ $rc -eq 1 ]] || fail "verify exited $rc after a flipped byte, expected 1"
grep -q '^FAILED: 1 of 2048 pieces' "$WORK/verify-bad.log" || fail "wrong bad-piece count"
grep -q "$rel/data/part1.bin: 1 bad piece" "$WORK/verify-bad.log" || fail "part1.bin not named"
[[ $(grep -Ec ': [0-9]+ bad pieces?$' "$WORK/verify-bad.log") -eq 1 ]] || fail "files other than part1.bin named"

# Small release: missing and short files are named; exit codes 2 for format and usage errors.
s=$WORK/small
random_file "$s/a/one.bin" 300000 one
random_file "$s/a/two.bin" 200000 two
random_file "$s/three.bin" 100000 three
"$CROWCAST" make "$s" -o "$WORK/small.torrent" --piece-size 64K >/dev/null 2>&1 || fail "make (small) failed"
rm "$s/a/two.bin"
truncate -s 5000 "$s/three.bin"
set +e
"$CROWCAST" verify "$WORK/small.torrent" "$s" >"$WORK/verify-missing.log" 2>&1
rc=$?
set -e
cat "$WORK/verify-missing.log" >&2
[[ $rc -eq 1 ]] || fail "verify exited $rc with a missing file, expected 1"
grep -q "$s/a/two.bin: missing" "$WORK/verify-missing.log" || fail "missing file not named"
grep -q "$s/three.bin: short (5000 of 100000 bytes)" "$WORK/verify-missing.log" || fail "short file not named"
if grep -q "$s/a/one.bin" "$WORK/verify-missing.log"; then
  # one.bin shares its last piece with two.bin: only that piece may name it.
  grep -q "$s/a/one.bin: 1 bad piece$" "$WORK/verify-missing.log" || fail "one.bin reported wrongly"
fi

head -c 100 "$WORK/small.torrent" >"$WORK/truncated.torrent"
set +e
"$CROWCAST" verify "$WORK/truncated.torrent" "$s" >"$WORK/verify-trunc.log" 2>&1
rc=$?
"$CROWCAST" verify "$WORK/small.torrent" >/dev/null 2>&1
rc_usage=$?
set -e
[[ $rc -eq 2 ]] || fail "a truncated manifest gave exit $rc, expected 2"
grep -q 'invalid manifest' "$WORK/verify-trunc.log" || fail "no reason for the bad manifest"
[[ $rc_usage -eq 2 ]] || fail "a missing argument gave exit $rc_usage, expected 2"
"$CROWCAST" verify --help | grep -q '^usage: crowcast verify' || fail "no --help"
log "PASS"
