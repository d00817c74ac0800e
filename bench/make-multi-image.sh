#!/usr/bin/env bash
# make-multi-image.sh OUTDIR — builds, offline, the ~200 MB five-layer image the image benchmarks
# use, as an OCI image layout in OUTDIR/multi-oci (tag `latest`, gzip layers):
#   1. a base root filesystem: Debian bookworm minbase when DEB_ROOTFS names one or debootstrap
#      can make one (about 120 MB, thousands of files), else busybox plus 96 MiB of mixed data
#   2. 32 MiB that does not compress (a deterministic AES-CTR stream)
#   3. about 29 MB of compressible text
#   4. 3000 small files (1-8 KiB) in 30 directories
#   5. a few KiB (an entry script)
# Env: DEB_ROOTFS=dir reuses a Debian tree; DEB_MIRROR=url is debootstrap's mirror.
# Needs: tar, gzip, sha256sum, openssl, busybox-static (debootstrap for the Debian base).
set -euo pipefail
OUT=${1:?usage: make-multi-image.sh OUTDIR}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
M=$OUT/multi-oci; W=$OUT/multi-work
rm -rf "$M" "$W"; mkdir -p "$M/blobs/sha256" "$W"
HERE=$(cd "$(dirname "$0")" && pwd)

# det_bytes SEED N: N deterministic pseudo-random bytes.
det_bytes() { { openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$1" -in /dev/zero 2>/dev/null || true; } | head -c "$2"; }

layers=(); diffs=(); history=()
# add_layer DIR WHAT: tars DIR, gzips it into the layout, records its descriptor.
add_layer() {
  local dir=$1 what=$2 t=$W/layer.tar g=$W/layer.tar.gz diff dg size
  tar --numeric-owner --sort=name --mtime=2024-01-01 -C "$dir" -cf "$t" .
  diff=$(sha256sum "$t" | cut -d' ' -f1)
  gzip -n -6 -c "$t" > "$g"
  dg=$(sha256sum "$g" | cut -d' ' -f1); size=$(stat -c %s "$g")
  mv "$g" "$M/blobs/sha256/$dg"; rm -f "$t"
  layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$dg\",\"size\":$size}")
  diffs+=("\"sha256:$diff\"")
  history+=("{\"created\":\"2024-01-01T00:00:00Z\",\"created_by\":\"make-multi-image.sh: $what\"}")
  echo "layer $what: $(du -sb "$dir" | cut -f1) bytes, $size compressed" >&2
}

# 1. base
B=$W/base; mkdir -p "$B"
src=
if [ -n "${DEB_ROOTFS:-}" ] && [ -d "$DEB_ROOTFS/usr" ]; then
  src=$DEB_ROOTFS
elif command -v debootstrap >/dev/null &&
  debootstrap --variant=minbase bookworm "$W/deb" "${DEB_MIRROR:-http://deb.debian.org/debian}" >"$W/debootstrap.log" 2>&1; then
  src=$W/deb
fi
if [ -n "$src" ]; then
  tar -C "$src" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' \
    --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' -cf - . | tar -C "$B" -xf -
  base=debian
else
  echo "no Debian tree: the base layer is busybox and mixed data" >&2
  tar -C "$B" -xf <("$HERE/../scripts/make-busybox.sh" /dev/stdout)
  mkdir -p "$B/opt/base"
  det_bytes base 48M > "$B/opt/base/blob.bin"
  det_bytes base2 36M | base64 > "$B/opt/base/blob.txt"
  base=synthetic
fi
add_layer "$B" "base ($base)"
# 2. incompressible
L=$W/l2; mkdir -p "$L/opt/data"
for i in 1 2 3 4; do det_bytes "l2-$i" 8M > "$L/opt/data/rand$i.bin"; done
add_layer "$L" "32MiB incompressible"
# 3. compressible text
L=$W/l3; mkdir -p "$L/var/log/app"
for i in $(seq 1 6); do
  seq -f "2024-01-01T00:00:00Z INFO request %g served in 12ms path=/api/v1/items status=200" 1 50000 > "$L/var/log/app/app$i.log"
done
det_bytes text 6M | base64 > "$L/var/log/app/blob.b64"
add_layer "$L" "compressible text"
# 4. small files
L=$W/l4; mkdir -p "$L/srv"
for d in $(seq 1 30); do
  mkdir -p "$L/srv/d$d"
  for f in $(seq 1 100); do det_bytes "s$d-$f" $(( (d * 100 + f) % 8 * 1024 + 1024 )) > "$L/srv/d$d/f$f"; done
done
add_layer "$L" "small files"
# 5. tiny
L=$W/l5; mkdir -p "$L/usr/local/bin"
printf '#!/bin/sh\necho multi\n' > "$L/usr/local/bin/entry"; chmod 755 "$L/usr/local/bin/entry"
echo "bench image" > "$L/motd"
add_layer "$L" "tiny"

join() { local IFS=,; echo "$*"; }
config="{\"created\":\"2024-01-01T00:00:00Z\",\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"/usr/local/bin/entry\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$(join "${diffs[@]}")]},\"history\":[$(join "${history[@]}")]}"
printf '%s' "$config" > "$W/config"
cd_=$(sha256sum "$W/config" | cut -d' ' -f1); cs=$(stat -c %s "$W/config"); mv "$W/config" "$M/blobs/sha256/$cd_"
manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$cd_\",\"size\":$cs},\"layers\":[$(join "${layers[@]}")]}"
printf '%s' "$manifest" > "$W/manifest"
md=$(sha256sum "$W/manifest" | cut -d' ' -f1); ms=$(stat -c %s "$W/manifest"); mv "$W/manifest" "$M/blobs/sha256/$md"
printf '{"imageLayoutVersion":"1.0.0"}' > "$M/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' "$md" "$ms" > "$M/index.json"
rm -rf "$W"
echo "built $M: 5 layers, base=$base, $(du -sb "$M/blobs" | cut -f1) bytes of blobs"
