# Shared helpers of the benchmark scripts. Source it: . "$(dirname "$0")/lib.sh"
# Timing is whole-command wall time with `date +%s%N`, like the anchor scripts.

now_ns() { date +%s%N; }

# time_ms CMD... : runs CMD (output discarded), prints elapsed ms; returns CMD's status.
time_ms() {
  local t0 t1 rc
  t0=$(now_ns); "$@" >/dev/null 2>&1; rc=$?; t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)/1e6}'
  return $rc
}

# median VALUE... : the median of the values.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{if(NR==0){print "nan"; exit} if(NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }

# ratio A B : A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b==0) print "nan"; else printf "%.2f\n", a/b }'; }

die() { echo "error: $*" >&2; exit 1; }

# The repository's binaries (release build unless BERTH_BIN_DIR says otherwise).
BERTH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BERTH_BIN_DIR:-$BERTH_ROOT/target/release}

# The private daemon's network: its own bridge, subnet (10.63.0.0/16, clear of the test slots
# 10.64-127) and nftables table; the host's ip_forward is left alone.
BENCH_BRIDGE=bb$$
BENCH_TABLE=berth_bench_$$
BENCH_GW=10.63.0.1

# start_berthd DIR [FLAGS...] : starts a private berthd with its roots under DIR; sets SOCK and
# DPID.
start_berthd() {
  local d=$1; shift
  mkdir -p "$d"
  SOCK=$d/berth.sock
  ip -o -4 route | grep -q '^10\.63\.' && die "10.63.0.0/16 is routed on this host: the bench daemon needs it"
  "$BIN/berthd" -H "unix://$SOCK" --data-root "$d/data" --exec-root "$d/exec" \
    --cgroup-parent "/berth-bench-$$" --bridge "$BENCH_BRIDGE" --bip "$BENCH_GW/24" \
    --default-address-pool base=10.63.0.0/16,size=24 --nft-table "$BENCH_TABLE" \
    --ip-forward=false "$@" >"$d/berthd.log" 2>&1 &
  DPID=$!
  for _ in $(seq 1 200); do "$BIN/berth" -H "unix://$SOCK" version >/dev/null 2>&1 && return 0; sleep 0.05; done
  die "berthd did not start: $(tail -5 "$d/berthd.log")"
}

# stop_berthd : removes every container, stops the daemon, removes its cgroup parent.
stop_berthd() {
  local ids
  ids=$("$BIN/berth" -H "unix://$SOCK" ps -aq 2>/dev/null || true)
  [ -n "$ids" ] && "$BIN/berth" -H "unix://$SOCK" rm -f $ids >/dev/null 2>&1
  kill "$DPID" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
  for c in /sys/fs/cgroup/*/berth-bench-$$ /sys/fs/cgroup/berth-bench-$$; do [ -d "$c" ] && rmdir "$c" 2>/dev/null; done
  ip link del "$BENCH_BRIDGE" 2>/dev/null
  nft delete table inet "$BENCH_TABLE" 2>/dev/null
  return 0
}

# import_busybox : imports the offline busybox image into the private daemon.
import_busybox() {
  local tar
  tar=$(mktemp --suffix=.tar)
  "$BERTH_ROOT/scripts/make-busybox.sh" "$tar"
  "$BIN/berth" -H "unix://$SOCK" import --change 'CMD ["sh"]' "$tar" busybox:latest >/dev/null
  rm -f "$tar"
}

# start_other_engines DIR : next to berth (ENGINES=(berth), CLI_berth set by the caller), a
# private dockerd under DIR/docker when `dockerd` is installed (CLI_docker) and podman with its
# own store under DIR/podman when installed (CLI_podman, through podman_cli); appends each one
# that runs to ENGINES. stop_other_engines DIR undoes it.
podman_cli() {
  CONTAINERS_CONF=$PODMAN_DIR/containers.conf unshare -m sh -c \
    'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh \
    podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --tmpdir "$PODMAN_DIR/tmp" "$@"
}
start_other_engines() {
  local w=$1
  if command -v dockerd >/dev/null; then
    mkdir -p "$w/docker"
    dockerd --data-root "$w/docker/data" --exec-root "$w/docker/exec" --pidfile "$w/docker/dockerd.pid" \
      -H "unix://$w/docker/docker.sock" --bridge=none --iptables=false --ip-masq=false \
      --storage-driver overlay2 >"$w/docker/dockerd.log" 2>&1 &
    CLI_docker="docker -H unix://$w/docker/docker.sock"
    for _ in $(seq 1 100); do $CLI_docker version >/dev/null 2>&1 && break; sleep 0.2; done
    $CLI_docker version >/dev/null 2>&1 && ENGINES+=(docker) || echo "dockerd did not start: skipped" >&2
  fi
  # podman's crun refuses hybrid cgroup hosts: it runs in a mount namespace without the
  # (empty) cgroup2 mount, and with rlimits this host allows.
  if command -v podman >/dev/null; then
    PODMAN_DIR=$w/podman
    mkdir -p "$PODMAN_DIR"/{root,run,tmp}
    local h u
    h=$(ulimit -Hn); u=$(ulimit -Hu); { [ "$u" = unlimited ] || [ "$u" -gt 32768 ]; } && u=32768
    printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
      "$h" "$h" "$u" "$u" > "$PODMAN_DIR/containers.conf"
    CLI_podman=podman_cli
    ENGINES+=(podman)
  fi
}
stop_other_engines() {
  local w=$1 p
  if [ -f "$w/docker/dockerd.pid" ]; then
    p=$(cat "$w/docker/dockerd.pid")
    kill "$p" 2>/dev/null; for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  fi
  [ -d "$w/podman" ] && podman_cli rm -af >/dev/null 2>&1
  return 0
}
