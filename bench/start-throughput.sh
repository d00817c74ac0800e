#!/usr/bin/env bash
# start-throughput.sh [N=50] [PAR=8] [ROUNDS=3] — W2 and W3 in one run, next to raw runc.
#   W2: N × `run --rm --network none busybox true`, PAR at a time, through `berth`, and the same
#       N × `runc run` of a bundle of the same rootfs, PAR at a time (median of ROUNDS each,
#       interleaved so that drifting load weighs on both alike).
#   W3: `run -d busybox sleep` and `stop` of a container trapping TERM (median of 10).
# Prints the figures and the ratios to runc (W2 target <= 1.0; W3 run -d target <= 20 ms).
# Run as root after `cargo build --release`.
. "$(dirname "$0")/lib.sh"
N=${1:-50}; PAR=${2:-8}; ROUNDS=${3:-3}
W=$(mktemp -d); trap 'stop_berthd; rm -rf "$W"' EXIT
start_berthd "$W/d"
import_busybox
B="$BIN/berth -H unix://$SOCK"
$B run --rm --network none busybox true || die "berth run failed"

command -v runc >/dev/null || die "runc is not installed"
mkdir -p "$W/bundle/rootfs"
tar -C "$W/bundle/rootfs" -xf <("$BERTH_ROOT/scripts/make-busybox.sh" /dev/stdout)
(cd "$W/bundle" && runc spec && jq '.process.terminal=false | .process.args=["true"] | .root.readonly=true' config.json > c.json && mv c.json config.json)
export B W

par_ms() { # par_ms CMD: wall ms of N × CMD (given the index) PAR at a time
  local t0 t1
  t0=$(now_ns)
  seq 1 "$N" | xargs -P "$PAR" -I{} sh -c "$1 >/dev/null 2>&1 || echo FAILED {}" | grep -q FAILED && return 1
  t1=$(now_ns)
  echo $(( (t1 - t0) / 1000000 ))
}
tb=(); tr=()
for r in $(seq 1 "$ROUNDS"); do
  tb+=("$(par_ms '$B run --rm --network none busybox true')") || die "berth round $r failed"
  tr+=("$(par_ms "runc run --bundle \$W/bundle w2-$$-$r-{} </dev/null")") || die "runc round $r failed"
done
mb=$(median "${tb[@]}"); mr=$(median "${tr[@]}")
echo "W2 $N runs, $PAR in parallel: berth ${mb} ms, raw runc ${mr} ms (median of $ROUNDS; berth/runc $(ratio "$mb" "$mr"))"

# W3
td=(); ts=()
for i in $(seq 1 10); do
  t0=$(now_ns)
  id=$($B run -d --network none busybox sh -c 'trap "exit 0" TERM; while :; do sleep 1 & wait; done') || die "run -d failed"
  t1=$(now_ns)
  td+=($(( (t1 - t0) / 1000000 )))
  sleep 0.2
  ts+=("$(time_ms $B stop "$id")") || die "stop failed"
  $B rm "$id" >/dev/null
done
echo "W3 run -d median $(median "${td[@]}") ms (target <= 20), stop (trap TERM) median $(median "${ts[@]}") ms"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "anchors measured on this machine: W2 8-parallel docker 5.03 s, podman 3.25 s; W3 run -d docker 148 ms, stop 41 ms"
