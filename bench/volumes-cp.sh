#!/usr/bin/env bash
# volumes-cp.sh [N=5] — `docker cp` of a 200 MB directory tree into and out of a running
# container, and copy-up of a 100 MB image directory into a fresh volume, through each engine's
# own CLI in the same run: berth (private berthd), docker (a private dockerd, when `dockerd`
# is installed) and podman (when installed). Medians of N in ms, MB/s, and berth/other ratios.
#
# copy-up is timed as `create -v fresh-volume:/big IMAGE` (both dockerd and berthd copy at
# create) next to the same create without the volume; the difference is the copy-up itself.
# The tree: 100 MB in 10 incompressible files, 100 MB in 4000 files of 25 KB in 40 dirs.
# Run as root after `cargo build --release`. Target: at least 2x faster than docker on each.
. "$(dirname "$0")/lib.sh"
N=${1:-5}
W=$(mktemp -d /tmp/berth-volumes-cp.XXXXXX)
# Where the copies land is spread over the filesystem (`chattr +T`, as berth's snapshots and
# volumes directories are), so that ext4's scan past recently freed inodes in busy block groups
# weighs on every engine alike (and less).
chattr +T "$W" 2>/dev/null || true
cleanup() {
  [ -n "${DPID:-}" ] && stop_berthd
  stop_other_engines "$W"
  grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$W"
}
trap cleanup EXIT

# The 200 MB tree to copy.
T=$W/tree; mkdir -p "$T/big" "$T/small"
for i in $(seq 1 10); do
  openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:t$i" -in /dev/zero 2>/dev/null | head -c 10000000 > "$T/big/r$i"
done
for d in $(seq 1 40); do
  mkdir -p "$T/small/d$d"
  for f in $(seq 1 100); do head -c 25000 "$T/big/r$(( (d + f) % 10 + 1 ))" > "$T/small/d$d/f$f"; done
done
TREE_BYTES=$(du -sb "$T" | cut -f1)

# The copy-up image: busybox plus /big, 100 MB in 50 files.
R=$W/rootfs; mkdir -p "$R"
"$BERTH_ROOT/scripts/make-busybox.sh" "$W/busybox.tar"
tar -C "$R" -xf "$W/busybox.tar"
mkdir -p "$R/big"
for i in $(seq 1 50); do head -c 2000000 "$T/big/r$(( i % 10 + 1 ))" > "$R/big/f$i"; echo "$i" >> "$R/big/f$i"; done
tar --numeric-owner -C "$R" -cf "$W/bigimg.tar" .
rm -rf "$R"

# Engines.
ENGINES=(berth)
start_berthd "$W/berth"
CLI_berth="$BIN/berth -H unix://$SOCK"
start_other_engines "$W"

mbps() { awk -v b="$1" -v m="$2" 'BEGIN{ if (m==0) print "nan"; else printf "%.0f", b/1e6/(m/1000) }'; }

# bench ENGINE: N rounds of cp in, cp out, create with and without a fresh volume.
bench() {
  local e=$1 cli; eval "cli=\$CLI_$e"
  local cin=() cout=() cu=() base=() i
  $cli import "$W/busybox.tar" busybox:latest >/dev/null || die "$e: import busybox"
  $cli import "$W/bigimg.tar" bench/bigdir:latest >/dev/null || die "$e: import the copy-up image"
  $cli rm -f bench-cp >/dev/null 2>&1
  $cli run -d --name bench-cp --network none busybox sleep 3600 >/dev/null || die "$e: run"
  for i in $(seq 1 "$N"); do
    sync
    cin+=("$(time_ms $cli cp "$T" "bench-cp:/tmp/in-$i")") || die "$e: cp in"
    rm -rf "$W/out-$i"; sync
    cout+=("$(time_ms $cli cp "bench-cp:/tmp/in-$i" "$W/out-$i")") || die "$e: cp out"
    [ "$(du -sb "$W/out-$i" | cut -f1)" = "$TREE_BYTES" ] || die "$e: cp out copied $(du -sb "$W/out-$i" | cut -f1) of $TREE_BYTES bytes"
    rm -rf "$W/out-$i"
    $cli exec bench-cp rm -rf "/tmp/in-$i" >/dev/null
    sync
    base+=("$(time_ms $cli create --network none --name "bench-base-$i" bench/bigdir:latest true)") || die "$e: create"
    cu+=("$(time_ms $cli create --network none --name "bench-cu-$i" -v "bench-fresh-$i:/big" bench/bigdir:latest true)") ||
      die "$e: create with a fresh volume"
    $cli rm -v "bench-base-$i" "bench-cu-$i" >/dev/null
    $cli volume rm "bench-fresh-$i" >/dev/null
  done
  $cli rm -f bench-cp >/dev/null
  local mi mo mc mb
  mi=$(median "${cin[@]}"); mo=$(median "${cout[@]}"); mc=$(median "${cu[@]}"); mb=$(median "${base[@]}")
  printf '%-7s %9.1f %7s %9.1f %7s %12.1f %12.1f %9.1f\n' "$e" "$mi" "$(mbps "$TREE_BYTES" "$mi")" \
    "$mo" "$(mbps "$TREE_BYTES" "$mo")" "$mc" "$mb" "$(awk -v a="$mc" -v b="$mb" 'BEGIN{printf "%.1f", a-b}')"
  eval "CIN_$e=$mi COUT_$e=$mo CU_$e=$mc"
}

echo "tree: $TREE_BYTES bytes; copy-up directory: 100 MB in 50 files; N=$N; medians in ms"
printf '%-7s %9s %7s %9s %7s %12s %12s %9s\n' engine cp_in MB/s cp_out MB/s create+cu create copy-up
for e in "${ENGINES[@]}"; do bench "$e"; done
for e in docker podman; do
  eval "i=\${CIN_$e:-}; o=\${COUT_$e:-}; c=\${CU_$e:-}"
  [ -n "$i" ] || continue
  echo "berth/$e: cp in $(ratio "$CIN_berth" "$i"), cp out $(ratio "$COUT_berth" "$o"), create with copy-up $(ratio "$CU_berth" "$c")"
done
