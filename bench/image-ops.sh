#!/usr/bin/env bash
# image-ops.sh [N=3] — image operations through each engine's own CLI, in the same run:
# berth (private berthd), docker (a private dockerd, when `dockerd` is installed) and podman
# (when installed). For busybox and for the ~200 MB five-layer image (make-multi-image.sh, or
# the OCI layout named by MULTI_OCI): commit of a container that wrote one file, export of it,
# import of that export, save, load after `rmi` (cold) and load again (warm); medians of N in
# ms. Then berth's layer unpack throughput for a 100 MB layer, uncompressed and gzip, in MB/s.
# Run as root after `cargo build --release`. Needs skopeo (and podman/docker.io to compare).
# Anchors measured here (docker 20.10 / podman 4.3, multi): save 950 / 930 ms, cold load
# 4459 / 6897 ms. Targets: berth load <= 1/3 of docker's, save <= docker's.
. "$(dirname "$0")/lib.sh"
N=${1:-3}
W=$(mktemp -d /tmp/berth-image-ops.XXXXXX)
cleanup() {
  [ -n "${DPID:-}" ] && stop_berthd
  stop_other_engines "$W"
  grep " $W" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$W"
}
trap cleanup EXIT

# Images.
"$BERTH_ROOT/scripts/make-busybox.sh" "$W/busybox.tar"
if [ -z "${MULTI_OCI:-}" ]; then
  "$BERTH_ROOT/bench/make-multi-image.sh" "$W" >&2
  MULTI_OCI=$W/multi-oci
fi
# Seeds, as each engine would hold the image after a pull: berth and podman load the OCI layout
# (gzip layers, which berth keeps as they are), docker 20.10 the docker-archive skopeo makes of it.
skopeo copy -q "oci:$MULTI_OCI:latest" "docker-archive:$W/multi.tar:bench/multi:latest" >/dev/null ||
  die "skopeo could not read $MULTI_OCI"
skopeo copy -q "oci:$MULTI_OCI:latest" "oci-archive:$W/multi-oci.tar:bench/multi:latest" >/dev/null ||
  die "skopeo could not read $MULTI_OCI"

# Engines.
ENGINES=(berth)
start_berthd "$W/berth"
CLI_berth="$BIN/berth -H unix://$SOCK"
start_other_engines "$W"

# ops ENGINE IMAGE: N rounds of commit, export, import, save, cold load, warm load.
ops() {
  local e=$1 img=$2 cli; eval "cli=\$CLI_$e"
  local cm=() ex=() im=() sv=() lc=() lw=() i
  for i in $(seq 1 "$N"); do
    $cli rm -f bench-ops >/dev/null 2>&1
    $cli run --name bench-ops --network none "$img" sh -c 'echo x > /committed.txt' >/dev/null || die "$e: run $img"
    cm+=("$(time_ms $cli commit bench-ops "bench-committed:$i")") || die "$e: commit"
    rm -f "$W/export.tar" "$W/save.tar"
    ex+=("$(time_ms $cli export -o "$W/export.tar" bench-ops)") || die "$e: export"
    im+=("$(time_ms $cli import "$W/export.tar" "bench-imported:$i")") || die "$e: import"
    sv+=("$(time_ms $cli save -o "$W/save.tar" "$img")") || die "$e: save"
    $cli rm -f bench-ops >/dev/null 2>&1
    $cli rmi "bench-committed:$i" "bench-imported:$i" >/dev/null 2>&1
    $cli rmi -f "$img" >/dev/null 2>&1
    sync
    lc+=("$(time_ms $cli load -i "$W/save.tar")") || die "$e: cold load"
    lw+=("$(time_ms $cli load -i "$W/save.tar")") || die "$e: warm load"
  done
  printf '%-7s %-20s %8.1f %8.1f %8.1f %8.1f %9.1f %9.1f   %s\n' "$e" "$img" \
    "$(median "${cm[@]}")" "$(median "${ex[@]}")" "$(median "${im[@]}")" "$(median "${sv[@]}")" \
    "$(median "${lc[@]}")" "$(median "${lw[@]}")" "$(stat -c %s "$W/save.tar")"
  eval "SAVE_${e}_${img//[^a-z]/}=$(median "${sv[@]}") LOAD_${e}_${img//[^a-z]/}=$(median "${lc[@]}")"
}

printf '%-7s %-20s %8s %8s %8s %8s %9s %9s   %s\n' engine image commit export import save load_cold load_warm "save tar bytes"
for e in "${ENGINES[@]}"; do
  eval "cli=\$CLI_$e"
  seed=$W/multi-oci.tar; [ "$e" = docker ] && seed=$W/multi.tar
  $cli load -i "$seed" >/dev/null || die "$e: seeding bench/multi"
  $cli import --change 'CMD ["sh"]' "$W/busybox.tar" busybox:latest >/dev/null || die "$e: seeding busybox"
  ops "$e" busybox:latest
  ops "$e" bench/multi:latest
done

echo
for e in docker podman; do
  eval "s=\${SAVE_${e}_benchmultilatest:-}; l=\${LOAD_${e}_benchmultilatest:-}"
  [ -n "$s" ] || continue
  echo "multi: berth/$e save $(ratio "$SAVE_berth_benchmultilatest" "$s"), cold load $(ratio "$LOAD_berth_benchmultilatest" "$l")"
done

# Layer unpack throughput: a one-layer image with a 100 MB layer (40 MB incompressible, 30 MB
# text, 30 MB in 3000 files), in an archive laid out as berth writes one (metadata first, the
# layer as a blob), loaded cold N times, uncompressed and gzip.
T=$W/layer; mkdir -p "$T/root/data" "$T/root/text" "$T/root/files"
for i in 1 2 3 4; do openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:u$i" -in /dev/zero 2>/dev/null | head -c 10000000 > "$T/root/data/r$i"; done
seq -f "line %g of a compressible text file for the unpack benchmark" 1 500000 | head -c 30000000 > "$T/root/text/t"
for d in $(seq 1 30); do mkdir -p "$T/root/files/d$d"; for f in $(seq 1 100); do head -c 10000 "$T/root/data/r$(( f % 4 + 1 ))" > "$T/root/files/d$d/f$f"; echo "$d $f" >> "$T/root/files/d$d/f$f"; done; done
tar --numeric-owner --sort=name -C "$T/root" -cf "$T/layer.tar" .
diff=$(sha256sum "$T/layer.tar" | cut -d' ' -f1); bytes=$(stat -c %s "$T/layer.tar")
gzip -n -1 -c "$T/layer.tar" > "$T/layer.tar.gz"
for kind in tar tar.gz; do
  A=$T/$kind; mkdir -p "$A/blobs/sha256"
  printf '{"architecture":"amd64","os":"linux","config":{"Labels":{"kind":"%s"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$kind" "$diff" > "$A/config"
  c=$(sha256sum "$A/config" | cut -d' ' -f1); mv "$A/config" "$A/blobs/sha256/$c"
  l=$(sha256sum "$T/layer.$kind" | cut -d' ' -f1); cp "$T/layer.$kind" "$A/blobs/sha256/$l"
  printf '[{"Config":"blobs/sha256/%s","RepoTags":["unpack:%s"],"Layers":["blobs/sha256/%s"]}]' "$c" "${kind//./-}" "$l" > "$A/manifest.json"
  tar -C "$A" -cf "$T/archive-$kind.tar" manifest.json "blobs/sha256/$c" "blobs/sha256/$l"
  ts=()
  for i in $(seq 1 "$N"); do
    $CLI_berth rmi -f unpack:tar unpack:tar-gz >/dev/null 2>&1; sync
    ts+=("$(time_ms $CLI_berth load -i "$T/archive-$kind.tar")") ||
      die "unpack load ($kind): $($CLI_berth load -i "$T/archive-$kind.tar" 2>&1)"
  done
  m=$(median "${ts[@]}")
  echo "unpack of a $((bytes / 1000000)) MB layer ($kind, stored and unpacked in one pass): $m ms = $(awk -v b="$bytes" -v m="$m" 'BEGIN{printf "%.0f", b/1e6/(m/1000)}') MB/s"
done
