# shellcheck shell=bash
# Helpers for bench/run.sh: start and stop each engine in its own throwaway directory.
# Sourced, never executed. Every daemon is a child of run.sh (so it is reaped), recorded in
# DAEMON_PIDS, and stopped by PID — never by name.
#
# Each *_start function takes a directory it owns completely (data root, exec root, socket,
# logs) and sets globals naming the daemon's PID and socket. Nothing is written outside that
# directory except what an anchor hard-codes (see HOST_DIRS in run.sh, removed at the end).

DAEMON_PIDS=()

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# Is process $1 alive (and not a zombie)?
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ -n "$stat" ] && [ "${stat:0:1}" != Z ] && [ "${stat:0:1}" != X ]
}

# start_bg LOG CMD... : start a daemon in the background; sets BG_PID.
start_bg() {
  local logfile="$1"
  shift
  "$@" </dev/null >>"$logfile" 2>&1 &
  BG_PID=$!
  DAEMON_PIDS+=("$BG_PID")
}

# stop_pid PID [SECONDS]: SIGTERM, wait, SIGKILL after the timeout; reap it.
stop_pid() {
  local pid="$1" t="${2:-20}" i keep=()
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < t * 10; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      log "pid $pid ignored SIGTERM for ${t}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  wait "$pid" 2>/dev/null
  for i in "${DAEMON_PIDS[@]}"; do [ "$i" = "$pid" ] || keep+=("$i"); done
  DAEMON_PIDS=("${keep[@]}")
}

# wait_until SECONDS PID CMD...: poll CMD until it succeeds; fail early if PID died.
wait_until() {
  local deadline=$((SECONDS + $1)) pid="$2"
  shift 2
  while ((SECONDS < deadline)); do
    "$@" >/dev/null 2>&1 && return 0
    alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}

# Unmount everything mounted below $1 (deepest first).
umount_under() {
  findmnt -rn -o TARGET | awk -v w="$1/" 'index($0 "/", w) == 1' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  return 0
}

# Force-delete every runc container whose state lives below $1 (any engine's runc --root),
# then SIGKILL the per-container monitors (conmon, containerd-shim) whose command line
# names $1: they outlive their daemon by design. The daemons themselves are left to stop_pid.
reap_under() {
  local dir="$1" state root id pid comm
  while IFS= read -r state; do
    root="$(dirname "$(dirname "$state")")"
    id="$(basename "$(dirname "$state")")"
    runc --root "$root" delete -f "$id" >/dev/null 2>&1 || true
  done < <(find "$dir" -mindepth 3 -name state.json -path '*/*/state.json' 2>/dev/null)
  for pid in $(pids_mentioning "$dir"); do
    comm="$(cat "/proc/$pid/comm" 2>/dev/null)"
    [[ "$comm" == conmon || "$comm" == containerd-shim* ]] && kill -KILL "$pid" 2>/dev/null
  done
  return 0
}

# Last resort at exit: SIGKILL whatever still names $1 on its command line.
kill_mentioning() {
  local pid
  for pid in $(pids_mentioning "$1"); do kill -KILL "$pid" 2>/dev/null; done
  return 0
}

# PIDs of processes (not this shell) whose command line contains $1.
pids_mentioning() {
  local p pid
  for p in /proc/[0-9]*; do
    pid="${p#/proc/}"
    [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$1" && alive "$pid" && echo "$pid"
  done
  return 0
}

# find_proc COMM NEEDLE: PID of the live process whose comm is COMM and whose command line
# contains NEEDLE (a container ID).
find_proc() {
  local p pid
  for p in /proc/[0-9]*; do
    pid="${p#/proc/}"
    [ "$(cat "$p/comm" 2>/dev/null)" = "$1" ] || continue
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$2" || continue
    alive "$pid" && { echo "$pid"; return 0; }
  done
  return 1
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }

# --- berthd ------------------------------------------------------------------------------

# berth_start DIR: sets BERTH_PID, BERTH_HOST (unix://...).
berth_start() {
  local d="$1"
  mkdir -p "$d/data" "$d/exec"
  # Its own default bridge and subnet, removed again by berth_stop.
  start_bg "$d/berthd.log" node "$REPO/bin/berthd" --data-root "$d/data" --exec-root "$d/exec" \
    --insecure-registry "$REG" --bridge berth-bench0 --bip 10.199.0.1/24 \
    --default-address-pool base=10.199.0.0/16,size=24
  BERTH_PID=$BG_PID
  BERTH_HOST="unix://$d/exec/berth.sock"
  wait_until 60 "$BERTH_PID" "$DOCKER" -H "$BERTH_HOST" version || {
    tail -n 20 "$d/berthd.log" >&2
    return 1
  }
}

# berth_stop DIR: remove its containers, stop berthd, clean up what it left.
berth_stop() {
  local d="$1"
  if alive "${BERTH_PID:-0}"; then
    # Bounded: a daemon stuck removing (seen with 1000 containers) must not hang the bench;
    # whatever is left is reaped below.
    "$DOCKER" -H "$BERTH_HOST" ps -aq 2>/dev/null | timeout 300 xargs -r "$DOCKER" -H "$BERTH_HOST" rm -f >/dev/null 2>&1
    stop_pid "$BERTH_PID"
  fi
  reap_under "$d"
  umount_under "$d"
  ip link del berth-bench0 2>/dev/null
  local table rule
  for table in filter nat; do
    iptables -w -t "$table" -S 2>/dev/null | grep -- '-A .*berth-bench0' | sed 's/^-A //' | while read -r rule; do
      eval "iptables -w -t $table -D $rule" 2>/dev/null
    done
  done
}

# --- containerd --------------------------------------------------------------------------

# containerd_start DIR: its own config, root, state and socket. Sets CTD_PID, CTD_SOCK.
containerd_start() {
  local d="$1"
  mkdir -p "$d"
  cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
oom_score = 0
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
EOF
  start_bg "$d/containerd.log" containerd --config "$d/config.toml"
  CTD_PID=$BG_PID
  CTD_SOCK="$d/containerd.sock"
  wait_until 30 "$CTD_PID" ctr -a "$CTD_SOCK" version || {
    tail -n 20 "$d/containerd.log" >&2
    return 1
  }
}

# ctr_stop DIR: delete the bench namespace's tasks and containers, stop containerd.
ctr_stop() {
  local d="$1" c
  if alive "${CTD_PID:-0}"; then
    for c in $(ctr -a "$CTD_SOCK" -n "$CTR_NS" containers ls -q 2>/dev/null); do
      ctr -a "$CTD_SOCK" -n "$CTR_NS" tasks kill -s KILL "$c" >/dev/null 2>&1
      sleep 0.2
      ctr -a "$CTD_SOCK" -n "$CTR_NS" tasks delete -f "$c" >/dev/null 2>&1
      ctr -a "$CTD_SOCK" -n "$CTR_NS" containers delete "$c" >/dev/null 2>&1
    done
    stop_pid "$CTD_PID"
  fi
  reap_under "$d"
  umount_under "$d"
}

# --- dockerd (with its own containerd) ---------------------------------------------------

# dockerd_start DIR: sets DOCKERD_PID, DOCKERD_HOST, DOCKERD_CTD_PID.
dockerd_start() {
  local d="$1"
  mkdir -p "$d"
  containerd_start "$d/containerd" || return 1
  DOCKERD_CTD_PID=$CTD_PID
  echo '{}' >"$d/daemon.json" # never read /etc/docker/daemon.json
  # No bridge, no iptables/forwarding/masquerading: nothing on the host's network changes.
  # oom-score-adjust=0: root here lacks CAP_SYS_RESOURCE, so dockerd's default -500 fails.
  start_bg "$d/dockerd.log" dockerd --config-file "$d/daemon.json" \
    --data-root "$d/data" --exec-root "$d/exec" -H "unix://$d/docker.sock" --pidfile "$d/docker.pid" \
    --containerd "$CTD_SOCK" --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
    --ip-masq=false --userland-proxy=false --oom-score-adjust=0 --storage-driver=overlay2
  DOCKERD_PID=$BG_PID
  DOCKERD_HOST="unix://$d/docker.sock"
  wait_until 60 "$DOCKERD_PID" "$DOCKER" -H "$DOCKERD_HOST" version || {
    tail -n 20 "$d/dockerd.log" >&2
    return 1
  }
}

dockerd_stop() {
  local d="$1"
  if alive "${DOCKERD_PID:-0}"; then
    "$DOCKER" -H "$DOCKERD_HOST" ps -aq 2>/dev/null | timeout 300 xargs -r "$DOCKER" -H "$DOCKERD_HOST" rm -f >/dev/null 2>&1
    stop_pid "$DOCKERD_PID"
  fi
  alive "${DOCKERD_CTD_PID:-0}" && stop_pid "$DOCKERD_CTD_PID"
  reap_under "$d"
  umount_under "$d"
}

# --- podman (no daemon) ------------------------------------------------------------------

# podman_setup DIR: sets the PODMAN command array (own root, runroot, tmpdir, runc root).
podman_setup() {
  local d="$1"
  mkdir -p "$d/net"
  PODMAN=(podman --root "$d/root" --runroot "$d/runroot" --tmpdir "$d/tmp"
    --network-config-dir "$d/net" --runtime runc --runtime-flag "root=$d/runc"
    --cgroup-manager=cgroupfs --events-backend=file --storage-driver overlay)
  # shellcheck disable=SC2034 # used by run.sh
  # No CAP_SYS_RESOURCE here: podman's default rlimits (above the hard limit) would fail.
  PODMAN_RUN_OPTS=(--network none --ulimit nofile=1024:4096 --ulimit nproc=1024:1024)
}

podman_stop() {
  local d="$1"
  "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1
  reap_under "$d"
  umount_under "$d"
}
