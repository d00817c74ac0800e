#!/usr/bin/env bash
# footprint.sh [N=10] — W7: idle RSS/PSS of a fresh berthd (after a 5 s settle), then RSS/PSS per
# berth-shim with N `sleep 1000` containers running, then the daemon's RSS in the 10 s after a
# 200 MB import (W7b). Anchors: dockerd+containerd 110 MB idle, containerd-shim 13 MB per
# container, conmon 2.1 MB.
. "$(dirname "$0")/lib.sh"
N=${1:-10}
W=$(mktemp -d); trap 'stop_berthd; rm -rf "$W"' EXIT
start_berthd "$W/d"
sleep 5
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
pss() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup"; }
echo "berthd idle: RSS $(rss "$DPID") kB, PSS $(pss "$DPID") kB"
import_busybox
for i in $(seq 1 "$N"); do "$BIN/berth" -H "unix://$SOCK" run -d --network none busybox sleep 1000 >/dev/null; done
tot_r=0; tot_p=0; n=0
for f in "$W"/d/exec/shims/*/shim.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f"); r=$(rss "$p"); s=$(pss "$p")
  tot_r=$((tot_r + r)); tot_p=$((tot_p + s)); n=$((n + 1))
done
[ "$n" -gt 0 ] || die "no shim pid files found under $W/d/exec/shims"
echo "berth-shim x$n: RSS $((tot_r / n)) kB, PSS $((tot_p / n)) kB per container (mean)"
echo "berthd with $N containers: RSS $(rss "$DPID") kB"

# W7b: memory given back. Import a 200 MB tar (half of it incompressible), then sample the
# daemon's RSS every second for 10 s. Target: back to <= 15 MB within 10 s.
"$BIN/berth" -H "unix://$SOCK" rm -f $("$BIN/berth" -H "unix://$SOCK" ps -aq) >/dev/null 2>&1
mkdir -p "$W/big"
head -c 104857600 /dev/urandom > "$W/big/noise.bin"
head -c 104857600 /dev/zero > "$W/big/zeros.bin"
tar -C "$W/big" -cf "$W/big.tar" . && rm -rf "$W/big"
# The tar just written is still going out to disk: flush it, so the import is timed alone.
sync
echo "berthd before a 200 MB import: RSS $(rss "$DPID") kB"
t=$(time_ms "$BIN/berth" -H "unix://$SOCK" import "$W/big.tar" big:1) || die "import failed"
echo "W8 import of the 200 MB tar: $t ms (docker measured 1565 ms here; target <= 1/3 of it)"
line="berthd after the import, every second:"
for s in $(seq 0 10); do line="$line $(rss "$DPID")"; [ "$s" -lt 10 ] && sleep 1; done
echo "$line kB"
echo "berthd 10 s after the import: RSS $(rss "$DPID") kB (target <= 15360 kB)"
