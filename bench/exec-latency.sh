#!/usr/bin/env bash
# exec-latency.sh [N=30] — `exec web true` against a running busybox container, median of N,
# through `berth` and through the docker CLI against a private berthd (and docker against
# dockerd when it runs here), plus the container's shim RSS before and after N×3 execs.
# Run as root after `cargo build --release`.
. "$(dirname "$0")/lib.sh"
N=${1:-30}
W=$(mktemp -d); trap 'stop_berthd; rm -rf "$W"' EXIT
start_berthd "$W/d"
import_busybox
B="$BIN/berth -H unix://$SOCK"
D="docker -H unix://$SOCK"
CID=$($B run -d --network none --name web busybox sleep 100000) || die "run failed"
SHIM=$(cat "$W/d/exec/shims/$CID/shim.pid")
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

measure() { # measure LABEL CMD... → prints the median
  local label=$1; shift
  "$@" >/dev/null 2>&1 || die "$label: $* failed"
  local ts=() i
  for i in $(seq 1 "$N"); do ts+=("$(time_ms "$@")") || die "$label run $i failed"; done
  printf '%-30s median %8.2f ms   (n=%d)\n' "$label" "$(median "${ts[@]}")" "$N"
}

echo "shim RSS before execs: $(rss "$SHIM") kB"
measure berth_exec $B exec web true
command -v docker >/dev/null && measure docker_cli_exec_on_berthd $D exec web true
echo "shim RSS after execs:  $(rss "$SHIM") kB"
if docker version >/dev/null 2>&1; then
  docker run -d --name berth-bench-exec busybox sleep 100000 >/dev/null &&
    measure docker_exec_on_dockerd docker exec berth-bench-exec true
  docker rm -f berth-bench-exec >/dev/null 2>&1
fi
