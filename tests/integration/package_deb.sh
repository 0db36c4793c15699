#!/usr/bin/env bash
# The Debian package: CPack builds it from this build tree (its install rules; nothing is
# recompiled when the tree is up to date), lintian finds no error in it, dpkg installs it, and the
# installed files work: /usr/bin/crowcast --version, the systemd units (systemd-analyze verify;
# the tracker's sandbox still rated "OK" or better by systemd-analyze security), a man page per
# command that man renders, the bash completion (sourced, then asked for commands, subcommands
# and options). Then dpkg purges it and nothing is left. Services are never started or stopped.
# The package is removed on every exit (trap); a package left by a killed run is purged first.
source "$(dirname "$0")/lib.sh"

[[ $(id -u) -eq 0 ]] || skip "needs root (dpkg -i of the package); run as root to include it"
need_cmd dpkg dpkg-deb cpack lintian man flock
grep -q '^CROW_SANITIZE:BOOL=ON' "$CROW_BUILD_DIR/CMakeCache.txt" &&
  skip "a sanitizer build: the package is built and tested from the release build"
[[ -f "$CROW_BUILD_DIR/CPackConfig.cmake" ]] || skip "no CPackConfig.cmake in $CROW_BUILD_DIR (reconfigure)"
compgen -G "$CROW_BUILD_DIR/man/*.1.gz" >/dev/null ||
  skip "no man pages in $CROW_BUILD_DIR/man (help2man was missing at configure: tools/setup.sh, then reconfigure)"

# One package test at a time on this machine (another checkout's ctest would install and remove
# the same package under this one).
exec 9>/run/lock/crowcast-package-test.lock
flock -w 300 9 || fail "another package test holds /run/lock/crowcast-package-test.lock"
marker=/var/tmp/crowcast-package-test.installed
installed() { # dpkg knows crowcast: installed, or removed with its conffiles left
  local status
  status=$(dpkg-query -W -f='${Status}' crowcast 2>/dev/null) || return 1
  [[ $status != *not-installed ]]
}
if installed; then
  if [[ -f $marker ]]; then
    log "purging the package a killed run of this test left installed"
    dpkg --purge crowcast >"$WORK/purge-stale.log" 2>&1 || fail "cannot purge the stale package: $(cat "$WORK/purge-stale.log")"
    rm -f "$marker"
  else
    skip "a crowcast package is installed on this machine; this test installs and purges its own (dpkg --purge crowcast first)"
  fi
fi
[[ -e /usr/bin/crowcast ]] && skip "/usr/bin/crowcast exists and belongs to no package: the test would replace it"

t0=$SECONDS
cpack -G DEB --config "$CROW_BUILD_DIR/CPackConfig.cmake" -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1 ||
  fail "cpack failed: $(tail -n 5 "$WORK/cpack.log"; cat "$WORK"/pkg/_CPack_Packages/*/DEB/PreinstallOutput.log 2>/dev/null | tail -n 20)"
deb=$(ls "$WORK"/pkg/crowcast_*.deb)
version=$(dpkg-deb -f "$deb" Version)
log "built $(basename "$deb") in $((SECONDS - t0)) s: Depends: $(dpkg-deb -f "$deb" Depends)"
[[ $(basename "$deb") == "crowcast_${version}_$(dpkg --print-architecture).deb" ]] || fail "package file name $(basename "$deb")"
dpkg-deb -f "$deb" Depends | grep -q 'liburing' || fail "Depends (dpkg-shlibdeps) does not name liburing"

t=$SECONDS
lintian --fail-on error "$deb" >"$WORK/lintian.log" 2>&1 || fail "lintian: $(grep -v 'root privileges' "$WORK/lintian.log")"
grep -q '^E:' "$WORK/lintian.log" && fail "lintian errors: $(grep '^E:' "$WORK/lintian.log")"
log "lintian in $((SECONDS - t)) s: no error, $(grep -c '^W:' "$WORK/lintian.log" || true) warning(s)"
grep '^W:' "$WORK/lintian.log" >&2 || true

at_exit 'dpkg --purge crowcast >/dev/null 2>&1; rm -f "$marker"'
touch "$marker"
dpkg -i "$deb" >"$WORK/dpkg-install.log" 2>&1 || fail "dpkg -i failed: $(cat "$WORK/dpkg-install.log")"

out=$(/usr/bin/crowcast --version) || fail "/usr/bin/crowcast --version exited $?"
[[ $out == "crowcast ${version%-*}" ]] || fail "/usr/bin/crowcast --version printed '$out', want 'crowcast ${version%-*}'"
/usr/bin/crowcast-diag --help >/dev/null || fail "/usr/bin/crowcast-diag --help exited $?"
for f in /etc/crowcast/tracker.env /etc/crowcast/agent.env /etc/crowcast/racks.conf /etc/crowcast/control.keys; do
  grep -qx "$f" /var/lib/dpkg/info/crowcast.conffiles || fail "$f is not a conffile"
done
[[ $(stat -c %a /etc/crowcast/control.keys) == 600 ]] || fail "control.keys is mode $(stat -c %a /etc/crowcast/control.keys)"
units=(/lib/systemd/system/crowcast-tracker.service /lib/systemd/system/crowcast-agent.service)
for u in "${units[@]}"; do
  [[ -f $u ]] || fail "$u is not installed"
  grep -q '^ExecStart=.*/usr/bin/crowcast ' "$u" || fail "$u does not run /usr/bin/crowcast"
done

# systemd-analyze verify needs no running systemd, but may still be unable to work here (an old
# systemd, no /proc of its own): a unit known to be good tells which.
printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n' >"$WORK/crowcast-probe-ok.service"
if ! command -v systemd-analyze >/dev/null; then
  log "systemd-analyze is missing: the units are not verified"
elif ! systemd-analyze verify "$WORK/crowcast-probe-ok.service" >"$WORK/verify-probe.log" 2>&1; then
  log "systemd-analyze cannot verify units here ($(head -n 1 "$WORK/verify-probe.log")): the units are not verified"
else
  systemd-analyze verify "${units[@]}" >"$WORK/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$WORK/verify.log")"
  [[ -s "$WORK/verify.log" ]] && fail "systemd-analyze verify complains: $(cat "$WORK/verify.log")"
  log "systemd-analyze verify: both units clean"
  for u in "${units[@]}"; do
    if systemd-analyze security --offline=yes "$u" >"$WORK/security.log" 2>&1; then
      level=$(grep -o 'Overall exposure level for .*' "$WORK/security.log")
      log "$level"
      if [[ $u == *tracker* ]] && ! grep -qE 'exposure level .*: [0-9.]+ (OK|SAFE|PERFECT)' <<<"$level"; then
        fail "the tracker's sandbox is rated worse than OK: $level"
      fi
    else
      log "systemd-analyze security --offline is not available here: $(head -n 1 "$WORK/security.log")"
    fi
  done
fi

# A man page for each program and for each command `crowcast --help` lists (help and version are
# in crowcast(1)); each renders without a warning.
pages=$(dpkg -L crowcast | grep '^/usr/share/man/man1/.*\.1\.gz$')
want=(crowcast crowcast-diag)
for c in $(/usr/bin/crowcast --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
  [[ $c == help || $c == version ]] || want+=("crowcast-$c")
done
for p in "${want[@]}"; do
  grep -qx "/usr/share/man/man1/$p.1.gz" <<<"$pages" || fail "no man page $p(1)"
done
for f in $pages; do
  LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" >"$WORK/man.txt" 2>"$WORK/man.err" || fail "man -l $f exited $?"
  [[ -s "$WORK/man.err" ]] && fail "man -l $f: $(cat "$WORK/man.err")"
  grep -q DESCRIPTION "$WORK/man.txt" || fail "man -l $f: no DESCRIPTION"
done
log "man pages: $(wc -w <<<"$pages") render (${want[*]})"

comp=/usr/share/bash-completion/completions/crowcast
[[ -f $comp ]] || fail "$comp is not installed"
cat >"$WORK/complete.sh" <<'EOF'
source "$1" || exit 1
complete -p crowcast >/dev/null && complete -p crowcast-diag >/dev/null || exit 1
ask() { # EXPECTED WORD...: completes the last word; EXPECTED must be among the answers
  local want=$1
  shift
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  if [[ ${COMP_WORDS[0]} == crowcast-diag ]]; then _crowcast_diag; else _crowcast; fi
  [[ " ${COMPREPLY[*]} " == *" $want "* ]] || { echo "'$*' completes to '${COMPREPLY[*]}', not '$want'"; exit 1; }
}
ask seed crowcast se
ask rollout crowcast help ro
ask --tracker crowcast get --tr
ask --piece-size crowcast make --pi
ask status crowcast rollout st
ask --distribute crowcast rollout start app.torrent --di
ask per-wave crowcast rollout start app.torrent --distribute p
ask --step-factor crowcast probe send --st
ask debug crowcast tracker --log-level d
ask --wire-port crowcast-diag --wi
EOF
PATH=/usr/bin:$PATH bash --norc "$WORK/complete.sh" "$comp" >"$WORK/complete.log" 2>&1 ||
  fail "bash completion: $(cat "$WORK/complete.log")"
log "bash completion: sourced; commands, subcommands, options and values complete"

dpkg --purge crowcast >"$WORK/dpkg-purge.log" 2>&1 || fail "dpkg --purge failed: $(cat "$WORK/dpkg-purge.log")"
rm -f "$marker"
[[ -e /usr/bin/crowcast ]] && fail "/usr/bin/crowcast is still there after the purge"
[[ -e /etc/crowcast ]] && fail "/etc/crowcast is still there after the purge"
[[ -e $comp ]] && fail "$comp is still there after the purge"
installed && fail "dpkg still lists crowcast after the purge"
log "purged: nothing left; $((SECONDS - t0)) s in all"
