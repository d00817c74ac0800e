#!/usr/bin/env bash
# deps.sh — installs the Debian packages berth needs to build, run and be tested (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential pkg-config libseccomp-dev   # libcontainer's seccomp support
  busybox-static                              # the offline test image
  chromium                                    # the registry web UI tests (headless)
  tini                                        # `run --init` (static tini, as dockerd's docker-init)
  iproute2 nftables                           # network namespaces and bridges
  runc skopeo docker-registry umoci           # comparisons and interop tests
  python3-docker                              # docker-py interop test
  zstd xz-utils bzip2 gzip                    # compressed tarballs and archives (image tests)
  apache2-utils openssl jq curl hyperfine     # registry auth, TLS, benchmarks
)
if ! command -v docker >/dev/null 2>&1; then pkgs+=(docker.io); fi
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
