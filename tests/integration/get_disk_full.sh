#!/usr/bin/env bash
# A full disk gives a clear error, publishes nothing, and leaves no half-written release in place.
source "$(dirname "$0")/lib.sh"
need_root
mnt="$WORK/small"
mkdir -p "$mnt"
mount -t tmpfs -o size=8m tmpfs "$mnt" || skip "cannot mount a tmpfs here"
at_exit "umount '$mnt'"

random_file "$WORK/rel.bin" $((32 << 20)) full
"$CROWCAST" make "$WORK/rel.bin" -o "$WORK/rel.torrent" >/dev/null 2>&1
tport=$(free_port)
spawn seed "$CROWCAST" seed "$WORK/rel.torrent" "$WORK/rel.bin" --listen "127.0.0.1:$tport"
wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$tport" || fail "seed did not listen"

set +e
"$CROWCAST" get "$WORK/rel.torrent" -o "$mnt/out" --no-mcast --peer "127.0.0.1:$tport" --iface 127.0.0.3 \
  >"$WORK/get.out" 2>"$WORK/get.err"
rc=$?
set -e
log "get exited $rc: $(tail -n 1 "$WORK/get.err")"
[[ $rc -eq 3 ]] || fail "expected exit 3 (disk error), got $rc"
grep -qi "no space" "$WORK/get.err" || fail "the error does not say the disk is full"
[[ ! -e "$mnt/out/rel.bin" ]] || fail "something was published on a full disk"
log "ok"
