#!/usr/bin/env bash
# operate.sh [CONTAINERS=50] [EVENTS=10000] [N=10] — operating running containers, against a
# private berthd, through `berth` and the docker CLI:
#   - `stats --no-stream` of CONTAINERS running busybox containers (median of N);
#   - `exec web true` latency (median of N×3);
#   - `events --since 0 --until now` replaying EVENTS past events (median of N), the events
#     made beforehand by EVENTS `POST /images/busybox/tag` calls over one curl connection;
#   - berthd's CPU time (utime+stime from /proc) over 30 s idle with the containers running and
#     no client watching (the goal is 0: no periodic work), and the same while one
#     `stats` stream is open (the sampler runs only then).
# No dockerd runs here: compare with the anchors. Run as root after `cargo build --release`.
. "$(dirname "$0")/lib.sh"
C=${1:-50}
E=${2:-10000}
N=${3:-10}
IDLE_S=30
W=$(mktemp -d); trap 'stop_berthd; rm -rf "$W"' EXIT
start_berthd "$W/d"
import_busybox
B="$BIN/berth -H unix://$SOCK"
D="docker -H unix://$SOCK"
HZ=$(getconf CLK_TCK)

measure() { # measure LABEL RUNS CMD... → prints the median
  local label=$1 runs=$2; shift 2
  "$@" >/dev/null 2>&1 || die "$label: $* failed"
  local ts=() i
  for i in $(seq 1 "$runs"); do ts+=("$(time_ms "$@")") || die "$label run $i failed"; done
  printf '%-34s median %9.2f ms   (n=%d)\n' "$label" "$(median "${ts[@]}")" "$runs"
}

cpu_ms() { # cpu_ms PID → utime+stime of PID in ms
  awk -v hz="$HZ" '{print ($14+$15)*1000/hz}' "/proc/$1/stat"
}

echo "starting $C containers..."
for i in $(seq 1 "$C"); do
  $B run -d --network none --name "c$i" busybox sleep 100000 >/dev/null || die "run c$i failed"
done
[ "$($B ps -q | wc -l)" -eq "$C" ] || die "not all $C containers run"

measure "berth stats --no-stream ($C)" "$N" $B stats --no-stream
command -v docker >/dev/null && measure "docker stats --no-stream ($C)" "$N" $D stats --no-stream
measure "berth exec c1 true" $((N * 3)) $B exec c1 true
command -v docker >/dev/null && measure "docker exec c1 true" $((N * 3)) $D exec c1 true

# Idle CPU: nobody watches; then one client streams stats of every container.
sleep 2
a=$(cpu_ms "$DPID"); sleep "$IDLE_S"; b=$(cpu_ms "$DPID")
printf '%-34s %9.0f ms CPU in %d s (%s %%)\n' "berthd idle, $C running" "$(awk -v a="$a" -v b="$b" 'BEGIN{print b-a}')" \
  "$IDLE_S" "$(awk -v a="$a" -v b="$b" -v s="$IDLE_S" 'BEGIN{printf "%.2f", (b-a)/(s*10)}')"
$B stats >/dev/null 2>&1 &
SPID=$!
sleep 3
a=$(cpu_ms "$DPID"); sleep "$IDLE_S"; b=$(cpu_ms "$DPID")
kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null
printf '%-34s %9.0f ms CPU in %d s (%s %%)\n' "berthd, one 'stats' stream open" "$(awk -v a="$a" -v b="$b" 'BEGIN{print b-a}')" \
  "$IDLE_S" "$(awk -v a="$a" -v b="$b" -v s="$IDLE_S" 'BEGIN{printf "%.2f", (b-a)/(s*10)}')"

# Events: E tag calls over one connection, then replays of the whole history.
for i in $(seq 1 "$E"); do echo "url = \"http://berth/images/busybox/tag?repo=bench&tag=t$i\""; done >"$W/urls"
t0=$(now_ns)
curl -sf --unix-socket "$SOCK" -X POST -K "$W/urls" -o /dev/null || die "tagging failed"
t1=$(now_ns)
printf '%-34s %9.2f ms for %d tags\n' "make $E tag events" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print (b-a)/1e6}')" "$E"
until=$(( $(date +%s) + 1 ))  # --until is whole seconds: include the last one
got=$($B events --since 0 --until "$until" --filter event=tag | wc -l)
[ "$got" -ge "$E" ] || die "replay returned $got events, expected at least $E"
measure "berth events --since replay ($got)" "$N" $B events --since 0 --until "$until"
command -v docker >/dev/null && measure "docker events --since replay" "$N" $D events --since 0 --until "$until"

