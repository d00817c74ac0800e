#!/usr/bin/env bash
# start-latency.sh [N=30] — W1: `run --rm --network none busybox true`, median of N, through
# `berth` and through the docker CLI against a private berthd, next to raw `runc run` on a bundle
# of the same rootfs (and docker/podman against their own daemons when they run here).
# Prints each median and the ratios to raw runc. Run as root after `cargo build --release`.
. "$(dirname "$0")/lib.sh"
N=${1:-30}
W=$(mktemp -d); trap 'stop_berthd; rm -rf "$W"' EXIT
start_berthd "$W/d"
import_busybox
B="$BIN/berth -H unix://$SOCK"
D="docker -H unix://$SOCK"

# Each engine gets one run per round, in turn, so load that drifts during the benchmark (other
# builds on a shared machine) weighs on every engine alike instead of on whichever ran last.
LABELS=()
engine() { # engine LABEL CMD... : checks CMD works (twice, warming caches) and enrols it
  local label=$1; shift
  "$@" >/dev/null 2>&1 || die "$label: $* failed"
  "$@" >/dev/null 2>&1
  LABELS+=("$label")
  eval "CMD_$label=(\"\$@\")"
  eval "T_$label=()"
}

engine berth $B run --rm --network none busybox true
command -v docker >/dev/null && engine docker_cli_on_berthd $D run --rm --network none busybox true

# Raw runc on a bundle of the same rootfs.
if command -v runc >/dev/null; then
  mkdir -p "$W/bundle/rootfs"
  tar -C "$W/bundle/rootfs" -xf <("$BERTH_ROOT/scripts/make-busybox.sh" /dev/stdout)
  (cd "$W/bundle" && runc spec && jq '.process.terminal=false | .process.args=["true"] | .root.readonly=true' config.json > c.json && mv c.json config.json)
  i=0
  runc_once() { i=$((i+1)); runc run --bundle "$W/bundle" "bench-$$-$i" </dev/null; }
  engine runc_raw runc_once
fi
if docker version >/dev/null 2>&1; then engine docker_dockerd docker run --rm --network none busybox true; fi
if command -v podman >/dev/null && podman image exists busybox 2>/dev/null; then engine podman podman run --rm --network none busybox true; fi

for round in $(seq 1 "$N"); do
  for label in "${LABELS[@]}"; do
    eval "cmd=(\"\${CMD_$label[@]}\")"
    t=$(time_ms "${cmd[@]}") || die "$label round $round failed"
    eval "T_$label+=($t)"
  done
done
for label in "${LABELS[@]}"; do
  eval "m=\$(median \"\${T_$label[@]}\")"
  printf '%-34s median %8.2f ms   (n=%d, interleaved)\n' "$label" "$m" "$N"
  eval "M_$label=$m"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
if [ -n "${M_runc_raw:-}" ]; then
  echo "berth / raw runc:               $(ratio "$M_berth" "$M_runc_raw")"
  [ -n "${M_docker_cli_on_berthd:-}" ] && echo "docker CLI on berthd / raw runc: $(ratio "$M_docker_cli_on_berthd" "$M_runc_raw")"
fi
[ -n "${M_docker_dockerd:-}" ] && echo "berth / docker on dockerd:       $(ratio "$M_berth" "$M_docker_dockerd")"
echo "anchors measured on this machine: docker 173 ms, podman 104 ms, raw runc 19.5 ms, raw crun 8.4 ms"
