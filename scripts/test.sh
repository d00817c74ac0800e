#!/usr/bin/env bash
# test.sh — installs what the tests need, builds every binary, and runs every test (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cargo build --workspace --bins
# The shim's memory budget is checked on the build that runs in production.
cargo build --release -p berth-shim
cargo nextest run --workspace --no-fail-fast "$@"
