#!/usr/bin/env bash
# make-busybox.sh OUT.tar — a busybox root filesystem made offline from Debian's busybox-static:
# the static binary, one symlink per applet, /etc/passwd and /etc/group. `berth import` turns it
# into the `busybox` image (see README.md).
set -euo pipefail
out=${1:?usage: make-busybox.sh OUT.tar}
bb=/bin/busybox
[ -x "$bb" ] || { echo "error: $bb missing: apt-get install busybox-static" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,etc,proc,sys,dev,tmp,root,home/app,var}
chmod 1777 "$root/tmp"
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
wheel:x:10:app
app:x:1000:
nogroup:x:65534:
G
tar -C "$root" -cf "$out" .
