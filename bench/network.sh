#!/usr/bin/env bash
# network.sh [N=5] [STARTS=30] — networking, host → container, through a private berthd (and
# through a dockerd when one answers on the default socket, same run):
#  1. throughput of a 100 MiB download from busybox httpd in a container: by the kernel DNAT
#     path (`-p PORT:80`, fetched on the bridge's own address), by the userland proxy
#     (`-p 127.0.0.1:PORT:80`), and straight to the container's address (the floor);
#  2. connection setup rate through each (ab, one connection at a time, no keep-alive);
#  3. start-to-exit of `run --rm busybox true` on the default bridge vs `--network none`,
#     interleaved: what the bridge adds.
# Traffic stays on loopback and the daemon's own bridge. Run as root after `cargo build --release`.
. "$(dirname "$0")/lib.sh"
N=${1:-5}
STARTS=${2:-30}
W=$(mktemp -d); trap 'stop_berthd; rm -rf "$W"' EXIT
start_berthd "$W/d"
import_busybox
B="$BIN/berth -H unix://$SOCK"
command -v ab >/dev/null || die "ab (apache2-utils) is needed"

HTTPD='mkdir -p /www && head -c 104857600 /dev/zero > /www/big && echo ok > /www/small && exec httpd -f -p 80 -h /www'

# mbps URL : median MB/s of N downloads of URL.
mbps() {
  local v=()
  for _ in $(seq 1 "$N"); do
    v+=("$(curl -s -o /dev/null -w '%{speed_download}' "$1" | awk '{printf "%.1f", $1/1e6}')")
  done
  median "${v[@]}"
}

# rate URL : requests per second of 2000 sequential requests to URL (a new connection each).
rate() { ab -q -n 2000 -c 1 "$1" 2>/dev/null | awk '/^Requests per second/{print $4}'; }

# wait_http URL : until URL answers (bounded).
wait_http() { for _ in $(seq 1 100); do curl -s -o /dev/null -m 1 "$1" && return 0; sleep 0.1; done; die "$1 does not answer"; }

# measure LABEL CLI GATEWAY : runs the two published containers with CLI and prints the rows.
measure() {
  local label=$1 cli=$2 gw=$3
  $cli run -d --name bench-dnat -p 80 busybox sh -c "$HTTPD" >/dev/null || die "$label: run"
  $cli run -d --name bench-proxy -p 127.0.0.1::80 busybox sh -c "$HTTPD" >/dev/null || die "$label: run"
  local pd pp ip
  pd=$($cli port bench-dnat 80 | head -1 | sed 's/.*://')
  pp=$($cli port bench-proxy 80 | head -1 | sed 's/.*://')
  ip=$($cli inspect -f '{{.NetworkSettings.IPAddress}}' bench-dnat)
  wait_http "http://$gw:$pd/small"; wait_http "http://127.0.0.1:$pp/small"
  # The file is written before httpd starts: wait for the whole of it.
  for _ in $(seq 1 100); do [ "$(curl -s -o /dev/null -w '%{size_download}' "http://$ip/big")" = 104857600 ] && break; sleep 0.1; done
  printf '%-8s 100 MiB download  DNAT %7s MB/s   proxy %7s MB/s   direct %7s MB/s   (median of %d)\n' \
    "$label" "$(mbps "http://$gw:$pd/big")" "$(mbps "http://127.0.0.1:$pp/big")" "$(mbps "http://$ip/big")" "$N"
  printf '%-8s connections/s     DNAT %7s        proxy %7s        direct %7s        (ab -n 2000 -c 1)\n' \
    "$label" "$(rate "http://$gw:$pd/small")" "$(rate "http://127.0.0.1:$pp/small")" "$(rate "http://$ip/small")"
  $cli rm -f bench-dnat bench-proxy >/dev/null
}

measure berth "$B" "$BENCH_GW"
if docker version >/dev/null 2>&1; then
  dgw=$(docker network inspect -f '{{(index .IPAM.Config 0).Gateway}}' bridge)
  measure docker "docker" "$dgw"
else
  echo "docker   (no dockerd answers here: no same-run docker figures; anchors for the network paths were not taken)"
fi

# Start latency, bridge vs none, interleaved pairs.
$B run --rm busybox true >/dev/null && $B run --rm --network none busybox true >/dev/null || die "run"
tb=(); tn=()
for _ in $(seq 1 "$STARTS"); do
  tb+=("$(time_ms $B run --rm busybox true)")
  tn+=("$(time_ms $B run --rm --network none busybox true)")
done
mb=$(median "${tb[@]}"); mn=$(median "${tn[@]}")
printf 'berth    run --rm busybox true: bridge %.2f ms, --network none %.2f ms, the bridge adds %.2f ms (medians of %d interleaved pairs)\n' \
  "$mb" "$mn" "$(awk -v a="$mb" -v b="$mn" 'BEGIN{print a-b}')" "$STARTS"
if docker version >/dev/null 2>&1; then
  tb=(); tn=()
  for _ in $(seq 1 "$STARTS"); do
    tb+=("$(time_ms docker run --rm busybox true)")
    tn+=("$(time_ms docker run --rm --network none busybox true)")
  done
  printf 'docker   run --rm busybox true: bridge %.2f ms, --network none %.2f ms\n' "$(median "${tb[@]}")" "$(median "${tn[@]}")"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "anchors measured on this machine (--network none only): docker 173 ms, podman 104 ms"
