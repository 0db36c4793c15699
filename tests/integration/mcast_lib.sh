# Helpers for the multicast tests (sourced after lib.sh): reading --json event lines without
# python, starting receivers and waiting for them.

# json_event FILE EVENT: the last line of FILE whose event is EVENT (empty when there is none).
json_event() { grep -F "\"event\":\"$2\"" "$1" | tail -n 1 || true; }

# json_num LINE KEY: the number under KEY in one JSON line; fails when it is absent.
json_num() {
  local v
  v=$(grep -oE "\"$2\":-?[0-9][0-9.e+]*" <<<"$1" | head -n 1 | cut -d: -f2)
  [[ -n $v ]] || fail "no number \"$2\" in: $1"
  echo "$v"
}

# json_str LINE KEY: the string under KEY in one JSON line (no escapes expected).
json_str() { grep -oE "\"$2\":\"[^\"]*\"" <<<"$1" | head -n 1 | cut -d'"' -f4; }

# mcast_group: a group in 239.255.0.0/16 (administratively scoped) and a free port, as GROUP:PORT.
mcast_group() { echo "239.255.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1)):$(free_port)"; }

# wait_joined SECONDS LOG...: waits until every LOG holds a "joined" event.
wait_joined() {
  local limit=$1; shift
  for f in "$@"; do
    wait_until "$limit" grep -qF '"event":"joined"' "$f" || fail "$f: no receiver joined within $limit s"
  done
}

# inspect_num TORRENT KEY: a number from `crowcast inspect --json`.
inspect_num() { json_num "$("$CROWCAST" inspect --json "$1")" "$2"; }
inspect_str() { json_str "$("$CROWCAST" inspect --json "$1")" "$2"; }
