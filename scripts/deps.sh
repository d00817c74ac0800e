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
  python3-venv                                # Compose v1's venv (below)
  crun                                        # --runtime crun (refused on hybrid cgroup hosts)
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
# Compose v1 (tests/tests/compose.rs) in a venv of its own: docker-compose 1.29 builds its
# PyYAML with Cython < 3 and needs docker-py 6 with the requests/urllib3 it was made for.
compose_venv=/opt/berth-compose
if ! "$compose_venv/bin/docker-compose" version >/dev/null 2>&1; then
  /usr/bin/python3 -m venv "$compose_venv"
  "$compose_venv/bin/pip" install -q 'cython<3' wheel setuptools
  "$compose_venv/bin/pip" install -q --no-build-isolation docker-compose==1.29.2
  "$compose_venv/bin/pip" install -q docker==6.1.3 'requests<2.32' 'urllib3<2'
fi
