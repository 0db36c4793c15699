#!/usr/bin/env bash
# The options commands share (src/cli/commands.h, one table and one parser): every command that
# lists one answers a bad value with the same message and exit code, before doing anything; probe recv
# takes --tls-ca as probe send does (the shared codes once counted as send-only options).
source "$(dirname "$0")/lib.sh"

# expect CMD... -- MESSAGE: the command exits $want (2: bad usage) and says MESSAGE on stderr.
expect() {
  local args=() msg out rc
  while [[ $1 != -- ]]; do args+=("$1"); shift; done
  msg=$2
  rc=0
  out=$("$CROWCAST" "${args[@]}" 2>&1 >/dev/null) || rc=$?
  [[ $rc -eq ${want:-2} ]] || fail "crowcast ${args[*]} exited $rc, not ${want:-2}: $out"
  [[ $out == *"$msg"* ]] || fail "crowcast ${args[*]} said '$out', not '$msg'"
}

url=http://127.0.0.1:9/
for cmd in "get x.torrent -o $WORK/out" "seed x.torrent $WORK" "agent --tracker $url --dir $WORK/a" \
  "probe recv --tracker $url" "probe send --tracker $url"; do
  read -ra a <<<"$cmd"
  expect "${a[@]}" --iface 1.2.3 -- "--iface wants an IPv4 address, not '1.2.3'"
done
for cmd in "get x.torrent -o $WORK/out" "seed x.torrent $WORK" "agent --tracker $url --dir $WORK/a" \
  "probe recv --tracker $url" "probe send --tracker $url" "tracker --listen 127.0.0.1:1"; do
  read -ra a <<<"$cmd"
  expect "${a[@]}" --log-level loud -- "--log-level wants error, warn, info or debug"
done
for cmd in "get x.torrent -o $WORK/out" "seed x.torrent $WORK" "agent --tracker $url --dir $WORK/a" \
  "probe recv --tracker $url" "probe send --tracker $url" "rollout status --tracker $url"; do
  read -ra a <<<"$cmd"
  # rollout takes its options after the subcommand, like the others after their arguments.
  expect "${a[@]}" --tls-ca "$WORK/missing.pem" -- "--tls-ca"
  expect "${a[@]}" --bogus -- "unknown option"
done
for cmd in "agent --tracker $url --dir $WORK/a" "rollout status --tracker $url"; do
  read -ra a <<<"$cmd"
  expect "${a[@]}" --key "$WORK/missing.key" -- "--key $WORK/missing.key"
done
# A key file that cannot be read is a file error (3), as for every key file.
want=3 expect get x.torrent -o "$WORK/out" --trust "$WORK/missing.pub" -- "--trust $WORK/missing.pub"
want=3 expect agent --tracker "$url" --dir "$WORK/a" --trust "$WORK/missing.pub" -- "--trust $WORK/missing.pub"
expect seed x.torrent "$WORK" --tracker "$url" --no-tracker -- "--tracker and --no-tracker contradict"
expect get x.torrent -o "$WORK/out" --tracker "$url" --no-tracker -- "--tracker and --no-tracker contradict"
[[ ! -e $WORK/a && ! -e $WORK/out ]] || fail "a refused command created its directory"
log "ok: shared options checked in get, seed, agent, probe, tracker and rollout"
