#!/usr/bin/env bash
# setup.sh — installs berth's dependencies, builds it, starts berthd on the default socket,
# imports the offline `busybox` image and runs a first container (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cargo build --release --bins
bin=$PWD/target/release
sock=/run/berth/berth.sock
if ! "$bin/berth" version >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup "$bin/berthd" >/var/log/berthd.log 2>&1 &
  for _ in $(seq 1 100); do "$bin/berth" version >/dev/null 2>&1 && break; sleep 0.1; done
fi
if ! "$bin/berth" image inspect busybox >/dev/null 2>&1; then
  tar=$(mktemp --suffix=.tar)
  ./scripts/make-busybox.sh "$tar"
  "$bin/berth" import --change 'CMD ["sh"]' "$tar" busybox:latest
  rm -f "$tar"
fi
"$bin/berth" run --rm busybox echo "hello from a berth container"
echo "berthd is running on unix://$sock (log: /var/log/berthd.log)."
echo "Try: $bin/berth run -it busybox sh    or    docker -H unix://$sock run -it busybox sh"
