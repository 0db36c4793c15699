# Control-plane helpers for integration tests (sourced after lib.sh): identities and signed requests
# made with openssl alone, an implementation of the signature independent of crowcast's (README
# "Control plane"), so a test that passes checks both sides of the contract.

# new_identity KIND NAME DIR: writes DIR/NAME.key (crowcast token new) and appends its line to DIR/auth.
new_identity() {
  mkdir -p "$3"
  "$CROWCAST" token new "$1" "$2" -o "$3/$2.key" >>"$3/auth" || fail "token new $1 $2"
  chmod 600 "$3/auth"
}

# ctl_auth KEYFILE METHOD TARGET [TS]: the Authorization value for METHOD TARGET (origin-form, as sent).
ctl_auth() {
  local kind name secret ts nonce path query=""
  read -r kind name secret <"$1"
  ts=${4:-$(date +%s)}
  nonce=$(openssl rand -hex 16)
  path=${3%%\?*}
  [[ $3 == *\?* ]] && query=${3#*\?}
  local sig
  sig=$(printf 'crowcast-control-1\n%s\n%s\n%s\n%s:%s\n%s\n%s' "$2" "$path" "$query" "$kind" "$name" "$ts" "$nonce" |
    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$secret" -r | cut -d' ' -f1)
  echo "Crowcast-HMAC-SHA256 id=$kind:$name,ts=$ts,nonce=$nonce,sig=$sig"
}

# ctl KEYFILE METHOD URL [CURL ARGS...]: curl -s with the request signed by KEYFILE.
ctl() {
  local key=$1 method=$2 url=$3; shift 3
  local target="/${url#http*://*/}"
  curl -s -X "$method" -H "Authorization: $(ctl_auth "$key" "$method" "$target")" "$@" "$url"
}
