#!/usr/bin/env bash
# Writes the man pages, gzip'ed as Debian installs them, from the commands' own --help (help2man):
# crowcast(1), crowcast-CMD(1) for every command `crowcast --help` lists (but help and version,
# which crowcast(1) covers) and crowcast-diag(1). The help texts stay the one source: a new
# command or option shows up in the pages at the next build.
#   tools/make-man.sh CROWCAST CROWCAST_DIAG VERSION OUTDIR
# The pages' date is the Debian changelog's (reproducible) unless SOURCE_DATE_EPOCH is set.
set -euo pipefail

[[ $# -eq 4 ]] || { echo "usage: $0 CROWCAST CROWCAST_DIAG VERSION OUTDIR" >&2; exit 2; }
crowcast=$(realpath "$1")
diag=$(realpath "$2")
version=$3
out=$4
here=$(cd "$(dirname "$0")" && pwd)
command -v help2man >/dev/null || { echo "make-man: help2man is missing (tools/setup.sh installs it)" >&2; exit 1; }
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]] && command -v dpkg-parsechangelog >/dev/null; then
  SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Timestamp)
  export SOURCE_DATE_EPOCH
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
rm -f "$out"/*.1.gz

# help2man names a page after the program it runs and wants "Usage:" for the SYNOPSIS, so each
# page gets a small wrapper called like the page: it prints the version, or the --help of the
# command it stands for with the usage lines spelt as help2man expects them.
wrapper() { # NAME COMMAND...
  local name=$1
  shift
  {
    echo '#!/bin/sh'
    echo "case \"\$1\" in --version) echo '$name $version'; exit 0;; esac"
    printf '%q ' "$@"
    echo "--help | sed '1s/^usage:/Usage:/; s/^       crowcast/  or:  crowcast/'"
  } >"$tmp/$name"
  chmod +x "$tmp/$name"
}

# The commands and their one-line descriptions, from the "commands:" list of `crowcast --help`.
commands=$("$crowcast" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\)  *\(.*\)$/\1\t\2/p')
[[ -n "$commands" ]] || { echo "make-man: no commands in '$crowcast --help'" >&2; exit 1; }

units='/lib/systemd/system/crowcast-tracker.service and /lib/systemd/system/crowcast-agent.service'
pages=(crowcast)
while IFS=$'\t' read -r cmd _; do
  case $cmd in help | version) continue ;; esac
  pages+=("crowcast-$cmd")
done <<<"$commands"
pages+=(crowcast-diag)

page() { # NAME DESCRIPTION [INCLUDE TEXT]
  local name=$1 desc=$2 extra=${3:-} other see_also=
  for other in "${pages[@]}"; do
    [[ $other == "$name" ]] || see_also+="${see_also:+,$'\n'}.BR $other (1)"
  done
  see_also+=$'\n.PP\nThe README, with the design, examples and how to read the output:\n.I /usr/share/doc/crowcast/README.md'
  printf '[SEE ALSO]\n%s\n%s' "$see_also" "$extra" >"$tmp/$name.h2m"
  help2man --no-info --no-discard-stderr --name="$desc" --include="$tmp/$name.h2m" \
    --output="$tmp/$name.1" "$tmp/$name"
  # help2man reports a program that fails on --help by an empty page: refuse it.
  grep -q '^\.SH DESCRIPTION' "$tmp/$name.1" || { echo "make-man: $name: no DESCRIPTION" >&2; exit 1; }
  gzip -9n <"$tmp/$name.1" >"$out/$name.1.gz"
}

files_main="[FILES]
.TP
.I /etc/crowcast/tracker.env, /etc/crowcast/racks.conf
settings and racks file of crowcast-tracker.service
.TP
.I /etc/crowcast/agent.env
settings of crowcast-agent.service
.TP
.I /var/lib/crowcast
the tracker service's state (rollout journal, copies of rolled-out manifests)
.TP
.I /usr/share/bash-completion/completions/crowcast
bash completion of commands and options
.PP
The systemd units: $units.
"
wrapper crowcast "$crowcast"
page crowcast "push release builds to datacenter hosts over multicast and TCP" "$files_main"

while IFS=$'\t' read -r cmd desc; do
  case $cmd in help | version) continue ;; esac
  extra=
  case $cmd in
    tracker) extra="[FILES]
.TP
.I /lib/systemd/system/crowcast-tracker.service
runs the tracker as a service (a dynamic user, a sandbox), with
.B --state /var/lib/crowcast
.TP
.I /etc/crowcast/tracker.env
its settings: LISTEN, RACKS, OPTIONS
.TP
.I /etc/crowcast/racks.conf
the racks file it reads by default
" ;;
    agent) extra="[FILES]
.TP
.I /lib/systemd/system/crowcast-agent.service
runs the agent as a service (as root: it runs the activate and health commands)
.TP
.I /etc/crowcast/agent.env
its settings: TRACKER, DIR, IFACE, HOST, RACK, ACTIVATE, HEALTH
" ;;
  esac
  wrapper "crowcast-$cmd" "$crowcast" "$cmd"
  page "crowcast-$cmd" "$desc" "$extra"
done <<<"$commands"

wrapper crowcast-diag "$diag"
page crowcast-diag "packet-level diagnostics of crowcast traffic: loss, duplicates, reordering per sender, group and host"
