#!/usr/bin/env bash
# registry-blobs.sh OP ADDR BLOBDIR [N] [CONC]
#   Blob traffic against the registry at http://ADDR, with curl, over the blobs BLOBDIR/b1..bN
#   (each with its sha256 hex in BLOBDIR/bI.d). Prints the elapsed milliseconds.
#   OP push      POST /v2/bench/blobs/blobs/uploads/ then one monolithic PUT ?digest= per blob
#                (what the distribution anchor measured)
#   OP pull      GET every blob, one after the other
#   OP pull-conc CONC (default 16) curl clients at once, each GETting 4 blobs
#   OP gen       write N (default 20) incompressible blobs of SIZE_MiB (env, default 10)
. "$(dirname "$0")/lib.sh"
OP=${1:?op}; A=${2:?addr}; D=${3:?blobdir}; N=${4:-20}; CONC=${5:-16}

push_one() {
  local i=$1 loc
  loc=$(curl -fsS -o /dev/null -D - -X POST "http://$A/v2/bench/blobs/blobs/uploads/" | tr -d '\r' |
    awk 'tolower($1)=="location:"{print $2}')
  case $loc in http*) ;; *) loc="http://$A$loc";; esac
  case $loc in *\?*) loc="$loc&";; *) loc="$loc?";; esac
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "@$D/b$i" "${loc}digest=sha256:$(cat "$D/b$i.d")"
}
push_all() { local i; for i in $(seq 1 "$N"); do push_one "$i" || return 1; done; }
pull_one() { curl -fsS -o /dev/null "http://$A/v2/bench/blobs/blobs/sha256:$(cat "$D/b$1.d")"; }
pull_all() { local i; for i in $(seq 1 "$N"); do pull_one "$i" || return 1; done; }
pull_client() { local c=$1 k; for k in 0 1 2 3; do pull_one $(( (c + k * 5) % N + 1 )) || return 1; done; }
pull_conc() {
  local c pids=() rc=0
  for c in $(seq 1 "$CONC"); do pull_client "$c" & pids+=($!); done
  for c in "${pids[@]}"; do wait "$c" || rc=1; done
  return $rc
}

case $OP in
  gen)
    mkdir -p "$D"
    for i in $(seq 1 "$N"); do
      { openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:blob$i-$$" -in /dev/zero 2>/dev/null || true; } |
        head -c "${SIZE_MiB:-10}M" > "$D/b$i"
      sha256sum "$D/b$i" | cut -d' ' -f1 > "$D/b$i.d"
    done ;;
  push) time_ms push_all ;;
  pull) time_ms pull_all ;;
  pull-conc) time_ms pull_conc ;;
  *) die "unknown op $OP" ;;
esac
