#!/usr/bin/env bash
# pull-push.sh WORKDIR [N=3]      W4 and W5 of the anchor campaign, berth next to the others in one run:
#   W4  cold pull (incl. unpack) of the ~100 MB 5-layer image from a local registry; cold = after `rmi -f`,
#       warm = the same pull again. skopeo copies to a fresh OCI dir (no unpack).
#   W5  push of the same image to an empty registry (a fresh one per cold run); warm = the same push again.
#       skopeo pushes the OCI layout as is.
# Engines measured when present: berth (BERTH_BIN_DIR, default target/release), docker (a private dockerd
# started here, if `dockerd` exists), podman (own store under WORKDIR, if `podman` exists), skopeo.
# MB/s = compressed bytes of the image / wall time (MB = 1e6 B). The image is built once by make-images.sh
# into WORKDIR/img (debootstrap base when available). Registries: docker-registry on 127.0.0.1:15000 (seeded)
# and 127.0.0.1:15001 (push target). Everything started here is stopped by PID at the end.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
W=${1:?usage: pull-push.sh WORKDIR [N]}; N=${2:-3}
mkdir -p "$W"; W=$(cd "$W" && pwd); H=$(cd "$(dirname "$0")" && pwd)
SRC=127.0.0.1:15000; DST=127.0.0.1:15001; REF=$SRC/bench/multi:latest
REG=$(command -v docker-registry || command -v registry) || die "docker-registry not installed"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${DPID:-}" ] && stop_berthd; wait 2>/dev/null; }
trap cleanup EXIT

# start_registry DIR ADDR : docker-registry with filesystem storage in DIR (emptied first).
start_registry() {
  rm -rf "$1"; mkdir -p "$1"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n' "$1/data" "$2" > "$1/config.yml"
  "$REG" serve "$1/config.yml" >"$1/log" 2>&1 & REGPID=$!; PIDS+=("$REGPID")
  for _ in $(seq 1 100); do curl -fsS "http://$2/v2/" >/dev/null 2>&1 && return 0; sleep 0.05; done
  die "registry on $2 did not start"
}

[ -f "$W/img/multi-oci/index.json" ] || "$H/make-images.sh" "$W/img" >&2 || die "make-images failed"
start_registry "$W/src" "$SRC"
skopeo copy -q --dest-tls-verify=false "oci:$W/img/multi-oci:latest" "docker://$REF" || die "seeding failed"
BYTES=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$SRC/v2/bench/multi/manifests/latest" | jq '([.layers[].size]|add) + .config.size')

start_berthd "$W/berth"
CLIS=("$BIN/berth -H unix://$SOCK")
if command -v dockerd >/dev/null; then
  mkdir -p "$W/docker"
  dockerd --data-root "$W/docker/data" --exec-root "$W/docker/exec" --pidfile "$W/docker/pid" -H "unix://$W/docker/sock" \
    --bridge=none --iptables=false --ip-masq=false --insecure-registry "$SRC" --insecure-registry "$DST" \
    --storage-driver overlay2 >"$W/docker/log" 2>&1 & PIDS+=($!)
  for _ in $(seq 1 100); do docker -H "unix://$W/docker/sock" version >/dev/null 2>&1 && break; sleep 0.2; done
  docker -H "unix://$W/docker/sock" version >/dev/null 2>&1 && CLIS+=("docker -H unix://$W/docker/sock")
fi
if command -v podman >/dev/null; then
  mkdir -p "$W/podman"
  printf '[[registry]]\nlocation = "%s"\ninsecure = true\n[[registry]]\nlocation = "%s"\ninsecure = true\n' "$SRC" "$DST" > "$W/podman/registries.conf"
  printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' > "$W/podman/containers.conf"
  export CONTAINERS_REGISTRIES_CONF=$W/podman/registries.conf CONTAINERS_CONF=$W/podman/containers.conf
  CLIS+=("podman --root $W/podman/root --runroot $W/podman/run --tmpdir $W/podman/tmp")
fi

# label CLI : the engine's name (berth, docker, podman, skopeo).
label() { local n=${1%% *}; basename "$n"; }
mbps() { awk -v b="$BYTES" -v t="$1" 'BEGIN{printf "%.1f", b/1e6/(t/1e3)}'; }
echo "image $REF: $BYTES bytes compressed; N=$N; $(date -u +%FT%TZ); load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== W4 cold pull (incl. unpack) / warm pull"
for c in "${CLIS[@]}" skopeo; do
  cold=(); warm=()
  for i in $(seq 1 "$N"); do
    case $c in
      skopeo) d=$W/skopeo-oci-$i; rm -rf "$d"; run() { skopeo copy -q --src-tls-verify=false "docker://$REF" "oci:$d:latest"; } ;;
      # The W5 tag of an earlier run in the same WORKDIR would keep the image (and its layers).
      *) $c rmi -f "$REF" "$DST/bench/pushed:latest" >/dev/null 2>&1; $c image prune -f >/dev/null 2>&1; run() { $c pull -q "$REF"; } ;;
    esac
    sync; cold+=("$(time_ms run)") || die "$c: cold pull failed"
    warm+=("$(time_ms run)") || die "$c: warm pull failed"
  done
  mc=$(median "${cold[@]}")
  printf '%-12s cold %8s ms (%s)  %6s MB/s   warm %s ms\n' "$(label "$c")" "$mc" "${cold[*]}" "$(mbps "$mc")" "$(median "${warm[@]}")"
done

echo "== W5 push to an empty registry / warm push"
for c in "${CLIS[@]}" skopeo; do
  case $c in skopeo) ;; *) $c pull -q "$REF" >/dev/null 2>&1 || die "$c: pull before push failed"; $c tag "$REF" "$DST/bench/pushed:latest" ;; esac
  cold=(); warm=()
  for i in $(seq 1 "$N"); do
    start_registry "$W/dst" "$DST"; DSTPID=$REGPID
    case $c in
      skopeo) run() { skopeo copy -q --dest-tls-verify=false "oci:$W/img/multi-oci:latest" "docker://$DST/bench/pushed:latest"; } ;;
      *) run() { $c push -q "$DST/bench/pushed:latest"; } ;;
    esac
    cold+=("$(time_ms run)") || die "$c: push failed"
    warm+=("$(time_ms run)") || die "$c: warm push failed"
    kill "$DSTPID"; wait "$DSTPID" 2>/dev/null
  done
  mc=$(median "${cold[@]}")
  printf '%-12s cold %8s ms (%s)  %6s MB/s   warm %s ms\n' "$(label "$c")" "$mc" "${cold[*]}" "$(mbps "$mc")" "$(median "${warm[@]}")"
done
