#!/usr/bin/env bash
# registry.sh [ROUNDS=5] [N=20] [SIZE_MiB=10] [CONC=16]
# berth-registry against CNCF distribution (Debian's docker-registry) in the same run, both on
# loopback with filesystem storage in a scratch directory:
#   - idle RSS right after start-up;
#   - push of N blobs of SIZE_MiB (POST + monolithic PUT each), pull of the N blobs, and CONC
#     concurrent pulls (CONC curl clients, 4 blobs each);
#   - ROUNDS rounds, alternating which registry goes first, medians reported.
# Prints MB/s (MB = 1e6 bytes) per registry and the ratios berth/distribution.
# Env: BERTH_BIN_DIR (default target/release), DIST_BIN (default docker-registry),
#      PORT_BERTH (15510), PORT_DIST (15511).
set -u
. "$(dirname "$0")/lib.sh"
ROUNDS=${1:-5}; N=${2:-20}; SIZE=${3:-10}; CONC=${4:-16}
PB=${PORT_BERTH:-15510}; PD=${PORT_DIST:-15511}
BERTH_REG="$BIN/berth-registry"
DIST=${DIST_BIN:-$(command -v docker-registry || command -v registry || true)}
HERE=$(dirname "$0")
[ -x "$BERTH_REG" ] || die "no $BERTH_REG: cargo build --release -p berth-registry (or set BERTH_BIN_DIR)"
[ -n "$DIST" ] || die "docker-registry not found (Debian package docker-registry)"
command -v curl >/dev/null || die "curl not found"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free "$PB" || die "127.0.0.1:$PB is in use: set PORT_BERTH"
port_free "$PD" || die "127.0.0.1:$PD is in use: set PORT_DIST"

W=$(mktemp -d); BP=; DP=
cleanup() {
  for p in $BP $DP; do kill "$p" 2>/dev/null; done
  for p in $BP $DP; do for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
  rm -rf "$W"
}
trap cleanup EXIT

wait_up() { local _; for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://$1/v2/" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

"$BERTH_REG" serve --addr "127.0.0.1:$PB" --root "$W/berth" >"$W/berth.log" 2>&1 & BP=$!
mkdir -p "$W/dist"
cat >"$W/dist.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/dist
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PD
YML
"$DIST" serve "$W/dist.yml" >"$W/dist.log" 2>&1 & DP=$!
wait_up "127.0.0.1:$PB" || die "berth-registry did not start: $(tail -3 "$W/berth.log")"
wait_up "127.0.0.1:$PD" || die "docker-registry did not start: $(tail -3 "$W/dist.log")"
sleep 1
IB=$(rss_kb "$BP"); ID=$(rss_kb "$DP")

SIZE_MiB=$SIZE "$HERE/registry-blobs.sh" gen - "$W/blobs" "$N" || die "blob generation failed"
declare -A T
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then order="berth:$PB dist:$PD"; else order="dist:$PD berth:$PB"; fi
  for who in $order; do
    name=${who%%:*}; addr=127.0.0.1:${who##*:}
    for op in push pull pull-conc; do
      ms=$("$HERE/registry-blobs.sh" "$op" "$addr" "$W/blobs" "$N" "$CONC") || die "$name $op failed"
      T[$name.$op]="${T[$name.$op]:-} $ms"
    done
  done
done
AB=$(rss_kb "$BP"); AD=$(rss_kb "$DP")

MB=$(awk -v n="$N" -v s="$SIZE" 'BEGIN{print n*s*1048576/1e6}')
CMB=$(awk -v c="$CONC" -v s="$SIZE" 'BEGIN{print c*4*s*1048576/1e6}')
mbps() { awk -v b="$1" -v t="$2" 'BEGIN{printf "%.1f", b/(t/1e3)}'; }
declare -A R
for name in berth dist; do
  R[$name.push]=$(mbps "$MB" "$(median ${T[$name.push]})")
  R[$name.pull]=$(mbps "$MB" "$(median ${T[$name.pull]})")
  R[$name.conc]=$(mbps "$CMB" "$(median ${T[$name.pull-conc]})")
done
echo "registry: $N x $SIZE MiB blobs, $CONC concurrent pullers x 4 blobs, $ROUNDS rounds (medians, MB = 1e6 B)"
printf '%-16s %10s %10s %14s %14s %14s\n' registry push_MBps pull_MBps conc_pull_MBps idle_rss_kB rss_after_kB
printf '%-16s %10s %10s %14s %14s %14s\n' berth-registry "${R[berth.push]}" "${R[berth.pull]}" "${R[berth.conc]}" "$IB" "$AB"
printf '%-16s %10s %10s %14s %14s %14s\n' distribution "${R[dist.push]}" "${R[dist.pull]}" "${R[dist.conc]}" "$ID" "$AD"
echo "ratios berth/distribution: push $(ratio "${R[berth.push]}" "${R[dist.push]}") pull $(ratio "${R[berth.pull]}" "${R[dist.pull]}") conc_pull $(ratio "${R[berth.conc]}" "${R[dist.conc]}") idle_rss $(ratio "$IB" "$ID")"
