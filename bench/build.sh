#!/usr/bin/env bash
# build.sh [N=5] — W6: the anchors' build workload (FROM busybox, ENV, WORKDIR, two RUNs, COPY of
# a 50 MiB incompressible file, EXPOSE, VOLUME, CMD; RUN steps with --network none) through
# `berth build` and through the docker CLI's classic builder (DOCKER_BUILDKIT=0) against a private
# berthd — and docker (BuildKit, then classic) or buildah against their own daemons when they run
# here. Four timings per round: cold (--no-cache), fully cached, COPY source touched (mtime only),
# COPY source changed (8 bytes). Engines take turns round by round so load drift weighs on all
# alike; each has its own copy of the context. Prints medians, min–max, and the anchors measured
# on this machine before (shared/reference/anchor-perf.md, W6). Run as root after
# `cargo build --release`.
. "$(dirname "$0")/lib.sh"
N=${1:-5}
W=$(mktemp -d); trap 'stop_berthd; rm -rf "$W"' EXIT
start_berthd "$W/d"
import_busybox
B="$BIN/berth -H unix://$SOCK"

mkctx() { # mkctx DIR : the anchors' context
  mkdir -p "$1"
  { openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:ctx -in /dev/zero 2>/dev/null || true; } | head -c 50M > "$1/big.bin"
  [ "$(stat -c %s "$1/big.bin")" = 52428800 ] || head -c 50M /dev/urandom > "$1/big.bin"
  cat > "$1/Dockerfile" <<'DF'
FROM busybox
ENV APP_HOME=/app GREETING=hello
WORKDIR /app
RUN mkdir -p /app/data && for i in $(seq 1 200); do echo "line $i" >> /app/data/lines.txt; done
RUN echo built > /app/built.txt && ls -la /app > /app/listing.txt && date > /app/date.txt
COPY big.bin /app/big.bin
EXPOSE 8080
VOLUME /app/data
CMD ["sh", "-c", "echo $GREETING"]
DF
}

LABELS=()
engine() { # engine LABEL CMD... : CMD builds (with the context dir appended); checked once
  local label=$1; shift
  mkctx "$W/ctx-$label"
  "$@" -t "bench-$label:latest" "$W/ctx-$label" >/dev/null 2>&1 || die "$label: $* failed: $("$@" "$W/ctx-$label" 2>&1 | tail -3)"
  LABELS+=("$label")
  eval "CMD_$label=(\"\$@\")"
  for p in cold cached touch modify; do eval "T_${label}_$p=()"; done
}

engine berth $B build --network none
if command -v docker >/dev/null; then
  engine docker_cli_on_berthd env DOCKER_BUILDKIT=0 docker -H "unix://$SOCK" build --network none
fi
if docker version >/dev/null 2>&1; then
  engine docker_buildkit env DOCKER_BUILDKIT=1 docker build --network none
  engine docker_classic env DOCKER_BUILDKIT=0 docker build --network none
fi
if command -v buildah >/dev/null; then engine buildah buildah bud --network none --layers; fi

for round in $(seq 1 "$N"); do
  for label in "${LABELS[@]}"; do
    eval "cmd=(\"\${CMD_$label[@]}\")"
    ctx="$W/ctx-$label"; tag="bench-$label:latest"
    t=$(time_ms "${cmd[@]}" --no-cache -t "$tag" "$ctx") || die "$label cold failed"; eval "T_${label}_cold+=($t)"
    t=$(time_ms "${cmd[@]}" -t "$tag" "$ctx") || die "$label cached failed"; eval "T_${label}_cached+=($t)"
    touch "$ctx/big.bin"
    t=$(time_ms "${cmd[@]}" -t "$tag" "$ctx") || die "$label touch failed"; eval "T_${label}_touch+=($t)"
    printf '%08d' "$round$RANDOM" | dd of="$ctx/big.bin" bs=1 seek=1000 conv=notrunc status=none
    t=$(time_ms "${cmd[@]}" -t "$tag" "$ctx") || die "$label modify failed"; eval "T_${label}_modify+=($t)"
  done
done

range() { printf '%s\n' "$@" | sort -g | awk 'NR==1{a=$1} {b=$1} END{printf "%.0f–%.0f", a, b}'; }
printf '%-22s %16s %16s %16s %16s\n' engine "cold ms" "cached ms" "touch ms" "modify ms"
for label in "${LABELS[@]}"; do
  row=$(printf '%-22s' "$label")
  for p in cold cached touch modify; do
    eval "v=(\"\${T_${label}_$p[@]}\")"
    row+=$(printf ' %7.0f (%7s)' "$(median "${v[@]}")" "$(range "${v[@]}")")
  done
  echo "$row"
done
out=$($B run --rm --network none bench-berth:latest 2>&1)
echo "image CMD output (berth build): $out"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "anchors (quiet, same workload): BuildKit 304 / 60 / 284 / 449, classic 1170 / 179 / 183 / 626, buildah 1179 / 420 / 407 / 818 (cold / cached / touch / modify)"
