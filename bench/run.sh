#!/usr/bin/env bash
# berth performance anchors: berth against dockerd, podman, containerd (ctr) and bare runc on
# this machine, in one run. Prints a table and writes bench/results.md (overwritten).
#
# Usage: sudo bench/run.sh [run] [pull] [memory] [exec] [ps]      (no argument: all five)
#   run     `run --rm busybox true` latency: docker CLI → berthd, berth CLI → berthd,
#           docker CLI → dockerd, podman, ctr run, and bare `runc run` (the floor)
#   pull    cold pull of debian-python until runnable (pull + run --rm IMG true) into a fresh
#           data root: berth, dockerd, podman, ctr; floor: skopeo copy to dir: (download only)
#   memory  RSS of the per-container monitor for a running sleep container (conmon under
#           berth and podman, containerd-shim under dockerd and ctr); berthd and
#           dockerd+containerd idle RSS
#   exec    `exec CTR true` round trip into a running sleep container: docker CLI → berthd,
#           berth CLI → berthd, docker CLI → dockerd, podman
#   ps      `ps -a` with BENCH_PS_CONTAINERS containers (created with --network none, half of
#           them running `sleep`): docker CLI → berthd and → dockerd, berth CLI → berthd, and
#           the bare GET /containers/json?all=1 (curl) against each daemon
#
# Environment:
#   BENCH_ITERATIONS=30        measured runs per engine in `run`
#   BENCH_ROUNDS=3             `run` measures the engines in turn, in this many rounds of
#                              BENCH_ITERATIONS/BENCH_ROUNDS runs each (spreads load bursts)
#   BENCH_WARMUP=3             warm-up runs per engine before each round of `run`
#   BENCH_PULL_ITERATIONS=3    cold pulls per engine in `pull` (each into a fresh data root)
#   BENCH_PS_CONTAINERS=1000   containers per daemon in `ps` (half of them running)
#   BENCH_DOCKER_CLI=PATH      docker CLI used for berthd and dockerd (default: docker in PATH)
#   BERTH_FIXTURES_DIR         fixture image cache (see scripts/fixtures/lib.sh)
#
# Installs what is missing from Debian packages (docker.io, containerd, podman, skopeo,
# hyperfine, umoci, docker-registry, jq). Every engine runs in its own throwaway directory
# under one mktemp dir with its own sockets; every daemon is stopped by PID at the end and
# the directory removed, also on failure or Ctrl-C. All registry traffic is to the loopback
# fixture registry (scripts/fixtures/up.sh). A benchmark, not a test: it exits 0 when every
# requested number was measured, 1 when something could not be measured (the report says
# what and why), 2 on a usage or setup error.
# shellcheck disable=SC2317 # functions called indirectly (trap, "pull_$engine")
set -uo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"
# shellcheck source=engines.sh
source "$BENCH_DIR/engines.sh"

ITERATIONS="${BENCH_ITERATIONS:-30}"
WARMUP="${BENCH_WARMUP:-3}"
ROUNDS="${BENCH_ROUNDS:-3}"
PULL_ITERATIONS="${BENCH_PULL_ITERATIONS:-3}"
PS_CONTAINERS="${BENCH_PS_CONTAINERS:-1000}"
FIXTURES_DIR="${BERTH_FIXTURES_DIR:-$REPO/.cache/fixtures}"
CTR_NS=berth-bench
RESULTS_MD="$BENCH_DIR/results.md"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; }

SECTIONS=()
for arg in "$@"; do
  case "$arg" in
    run | pull | memory | exec | ps) SECTIONS+=("$arg") ;;
    all) SECTIONS+=(run pull memory exec ps) ;;
    -h | --help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done
[ ${#SECTIONS[@]} -gt 0 ] || SECTIONS=(run pull memory exec ps)
want() { [[ " ${SECTIONS[*]} " == *" $1 "* ]]; }
for n in "$ITERATIONS" "$WARMUP" "$ROUNDS" "$PULL_ITERATIONS" "$PS_CONTAINERS"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "BENCH_ITERATIONS/BENCH_ROUNDS/BENCH_WARMUP/BENCH_PULL_ITERATIONS must be integers" >&2; exit 2; }
done
[ "$ITERATIONS" -ge 2 ] && [ "$PULL_ITERATIONS" -ge 1 ] && [ "$ROUNDS" -ge 1 ] || { echo "need BENCH_ITERATIONS >= 2, BENCH_ROUNDS >= 1, BENCH_PULL_ITERATIONS >= 1" >&2; exit 2; }
# hyperfine needs at least 2 runs per invocation
((ROUNDS * 2 <= ITERATIONS)) || ROUNDS=$((ITERATIONS / 2))
[ "$(id -u)" = 0 ] || { echo "bench/run.sh needs root (sudo bench/run.sh)" >&2; exit 2; }

# --- results -----------------------------------------------------------------------------
# Every number, error and note is one JSON line in $RECORDS; bench/report.mjs renders them.

WORK="$(mktemp -d /tmp/berth-bench.XXXXXX)"
RECORDS="$WORK/records.jsonl"
FAILED=0

rec() { # SECTION KEY FIELD VALUE
  jq -nc --arg s "$1" --arg k "$2" --arg f "$3" --arg v "$4" '{sec: $s, key: $k, field: $f, value: $v}' >>"$RECORDS"
}
fail() { # SECTION KEY MESSAGE [OUTPUT-FILE]: record that a number could not be measured
  local msg="$3"
  if [ -n "${4:-}" ] && [ -s "$4" ]; then msg="$msg: $(tail -n 8 "$4" | cut -c1-400)"; fi
  rec "$1" "$2" error "$msg"
  log "NOT MEASURED ($1/$2): $msg"
  FAILED=1
}
secs_since() { awk -v s="$1" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.3f", e - s }'; }

# --- cleanup -----------------------------------------------------------------------------
# Directories some anchors create at hard-coded host paths (containerd's shim sockets,
# dockerd's plugin dir, podman's network run dir, runc's default root): removed at the end
# if this run created them and they are empty. Likewise the anchors' parent cgroups.
HOST_DIRS=(/run/containerd/s /run/containerd /run/docker/plugins /run/docker /run/containers/networks /run/containers /run/runc)
CGROUP_PARENTS=(docker libpod_parent "$CTR_NS")
PREEXISTING=()
for d in "${HOST_DIRS[@]}"; do [ -e "$d" ] && PREEXISTING+=("$d"); done
for c in "${CGROUP_PARENTS[@]}"; do
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do [ -e "$h$c" ] && PREEXISTING+=("$h$c"); done
done
preexisting() { [[ " ${PREEXISTING[*]} " == *" $1 "* ]]; }
REGISTRY_STARTED=0

cleanup() {
  local rc=$? pid d c h
  trap - EXIT INT TERM
  set +e
  reap_under "$WORK" # containers and their monitors first: they outlive their daemons
  for ((i = ${#DAEMON_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${DAEMON_PIDS[i]}" 15; done
  [ "$REGISTRY_STARTED" = 1 ] && bash "$REPO/scripts/fixtures/registry.sh" stop "$WORK/registry" >/dev/null 2>&1
  reap_under "$WORK"
  kill_mentioning "$WORK"
  umount_under "$WORK"
  rm -rf "$WORK"
  for d in "${HOST_DIRS[@]}"; do preexisting "$d" || rmdir "$d" 2>/dev/null; done
  for c in "${CGROUP_PARENTS[@]}"; do
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
      [ -d "$h$c" ] && ! preexisting "$h$c" || continue
      find "$h$c" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  done
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# --- setup -------------------------------------------------------------------------------

ensure_packages() {
  local missing=() pair cmd pkg created_policy=0
  for pair in dockerd:docker.io containerd:containerd ctr:containerd containerd-shim-runc-v2:containerd \
    podman:podman conmon:conmon runc:runc skopeo:skopeo hyperfine:hyperfine umoci:umoci \
    docker-registry:docker-registry jq:jq; do
    cmd="${pair%%:*}" pkg="${pair#*:}"
    command -v "$cmd" >/dev/null 2>&1 || [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  log "installing from Debian packages: ${missing[*]}"
  # Installing docker.io/containerd must not start host daemons (they would create docker0
  # and iptables rules): deny service starts for the duration of the install.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }; } >"$WORK/apt.log" 2>&1
  local rc=$?
  [ "$created_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  [ $rc -eq 0 ] || { tail -n 20 "$WORK/apt.log" >&2; echo "apt-get install ${missing[*]} failed" >&2; exit 2; }
}

first_line() { "$@" 2>&1 | head -n1; }

machine_facts() {
  rec fact date value "$(date -u '+%Y-%m-%d %H:%M UTC')"
  rec fact command value "sudo bench/run.sh ${*:-}"
  rec fact settings value "BENCH_ITERATIONS=$ITERATIONS BENCH_ROUNDS=$ROUNDS BENCH_WARMUP=$WARMUP BENCH_PULL_ITERATIONS=$PULL_ITERATIONS"
  rec fact cpu value "$(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  rec fact memory value "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  rec fact kernel value "$(uname -r)"
  local cg="v1"
  [ -f /sys/fs/cgroup/cgroup.controllers ] && cg="v2 (unified)"
  [ -d /sys/fs/cgroup/unified ] && cg="hybrid (v1 controllers + v2 at /sys/fs/cgroup/unified)"
  rec fact cgroups value "$cg"
  rec fact os value "$(. /etc/os-release && echo "$PRETTY_NAME")"
  rec fact node value "$(node --version)"
  rec fact runc value "$(first_line runc --version)"
  rec fact conmon value "$(first_line conmon --version)"
  rec fact docker_cli value "$DOCKER: $(first_line "$DOCKER" --version)"
  rec fact dockerd value "$(first_line dockerd --version)"
  rec fact containerd value "$(first_line containerd --version)"
  rec fact podman value "$(first_line podman --version)"
  rec fact skopeo value "$(first_line skopeo --version)"
  rec fact hyperfine value "$(first_line hyperfine --version)"
  local head dirty=""
  head="$(cd "$REPO" && GIT_OPTIONAL_LOCKS=0 git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  [ -z "$(cd "$REPO" && GIT_OPTIONAL_LOCKS=0 git status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=" + uncommitted changes"
  rec fact berth value "commit $head$dirty; dist/ built $(date -u -r "$REPO/dist/src/berthd.js" '+%Y-%m-%d %H:%M UTC')"
  rec fact load_before value "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# The fixture registry on 127.0.0.1 with busybox (and debian-python for `pull`).
start_registry() {
  local debian=0
  want pull && debian=1
  log "fixtures: building (cached) and pushing to a loopback registry"
  REGISTRY_STARTED=1
  REG="$(BERTH_FIXTURES_DEBIAN=$debian BERTH_REGISTRY_WATCH_PID=$$ \
    bash "$REPO/scripts/fixtures/up.sh" "$WORK/registry" 2>"$WORK/fixtures.log")" || {
    tail -n 20 "$WORK/fixtures.log" >&2
    echo "scripts/fixtures/up.sh failed: no registry, nothing can be measured" >&2
    exit 2
  }
  [[ "$REG" == 127.0.0.1:* ]] || { echo "unexpected registry address '$REG'" >&2; exit 2; }
  BUSYBOX="$REG/busybox:latest"
  PYIMG="$REG/debian-python:latest"
  rec fact registry value "docker-registry on $REG (scripts/fixtures/up.sh)"
  rec fact busybox value "$BUSYBOX manifest sha256:$(skopeo inspect --raw --tls-verify=false "docker://$BUSYBOX" | sha256sum | cut -d' ' -f1)"
  if want pull; then
    local size
    size="$(skopeo inspect --raw --tls-verify=false "docker://$PYIMG" | jq '[.layers[].size] | add')"
    rec fact debian_python value "$PYIMG: $(jq -n --argjson s "$size" '$s / 1048576 | . * 10 | round / 10') MiB compressed, $(skopeo inspect --raw --tls-verify=false "docker://$PYIMG" | jq '.layers | length') layers"
  fi
}

# --- section: run ------------------------------------------------------------------------

# add_row KEY LABEL CMD...: run CMD once (recording its error if it fails); if it works it
# becomes a row that measure_rows times. Rows belong to the section named by ROW_SEC.
ROWS=()
ROW_SEC=run
declare -A ROW_CMD=()
add_row() {
  local key="$1" label="$2" out="$WORK/$ROW_SEC-$1.out" rc=0
  shift 2
  rec "$ROW_SEC" "$key" label "$label"
  rec "$ROW_SEC" "$key" cmd "$*"
  timeout 120 "$@" >"$out" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    fail "$ROW_SEC" "$key" "\`$*\` failed (exit $rc)" "$out"
    return 1
  fi
  ROWS+=("$key")
  ROW_CMD[$key]="$(printf '%q ' "$@")"
}

# measure_rows: BENCH_ROUNDS rounds; in each, every row gets BENCH_WARMUP warm-ups and its
# share of BENCH_ITERATIONS timed runs (hyperfine -N: no shell in between).
measure_rows() {
  local r key runs out live=("${ROWS[@]}") next
  for ((r = 1; r <= ROUNDS; r++)); do
    runs=$((ITERATIONS / ROUNDS + (r <= ITERATIONS % ROUNDS ? 1 : 0)))
    next=()
    for key in "${live[@]}"; do
      log "$ROW_SEC: round $r/$ROUNDS: $key ($WARMUP warm-ups + $runs runs)"
      out="$WORK/$ROW_SEC-$key-$r.out"
      if timeout 1800 hyperfine -N --warmup "$WARMUP" --runs "$runs" --export-json "$WORK/$ROW_SEC-$key-$r.json" \
        "${ROW_CMD[$key]}" >"$out" 2>&1; then
        rec "$ROW_SEC" "$key" json "$WORK/$ROW_SEC-$key-$r.json"
        next+=("$key")
      else
        fail "$ROW_SEC" "$key" "hyperfine failed in round $r" "$out"
      fi
    done
    live=("${next[@]}")
  done
}

# A second floor: bare `runc run` of the same rootfs with the config.json berth generates
# (Docker's seccomp profile, masked paths, /etc files), so the engine's own overhead shows
# apart from what Docker's confinement costs runc.
floor_with_berth_config() {
  local d="$1" id bundle f="$1/floor-berth"
  id="$("$DOCKER" -H "$BERTH_HOST" run -d --network none "$BUSYBOX" sleep 600 2>"$d/floor-berth.err")" || {
    rec run floor-berth label "runc run, berth's config.json (floor with Docker's confinement)"
    fail run floor-berth "could not start a berth container to copy its config.json" "$d/floor-berth.err"
    return 0
  }
  bundle="$d/berth/data/containers/$id"
  mkdir -p "$f/bundle"
  cp "$bundle/hostname" "$bundle/hosts" "$bundle/resolv.conf" "$f/"
  jq --arg rootfs "$d/floor/bundle/rootfs" --arg bundle "$bundle" --arg f "$f" \
    '.root.path = $rootfs | .process.args = ["/bin/true"] | .linux.cgroupsPath = "/berth-bench-floor"
     | .mounts |= map(if (.source | startswith($bundle)) then .source = ($f + "/" + (.source | split("/") | last)) else . end)' \
    "$bundle/config.json" >"$f/bundle/config.json"
  "$DOCKER" -H "$BERTH_HOST" rm -f "$id" >/dev/null 2>&1
  add_row floor-berth "runc run, berth's config.json (floor with Docker's confinement)" \
    runc --root "$f/state" run --bundle "$f/bundle" berth-bench-floor2
}

# cli_floor_row SECTION DIR ARGS...: the docker CLI against bench/cli-floor-stub.mjs, an engine
# that answers at once and runs nothing: the CLI's own share of the section's figure. Sets
# STUB_PID (stop it with stop_pid after measure_rows).
cli_floor_row() {
  local sec="$1" d="$2"
  shift 2
  start_bg "$d/stub.log" node "$REPO/bench/cli-floor-stub.mjs" "$d/stub.sock"
  STUB_PID=$BG_PID
  if wait_until 10 "$STUB_PID" "$DOCKER" -H "unix://$d/stub.sock" "$@"; then
    add_row cli-floor "docker CLI → a stub engine that runs nothing (the CLI's own share)" "$DOCKER" -H "unix://$d/stub.sock" "$@"
  else
    rec "$sec" cli-floor label "docker CLI → a stub engine that runs nothing (the CLI's own share)"
    fail "$sec" cli-floor "the stub engine did not answer" "$d/stub.log"
  fi
}

section_run() {
  local d="$WORK/run"
  mkdir -p "$d"
  log "run: starting berthd, dockerd+containerd, containerd (ctr), podman; loading $BUSYBOX into each"

  # (f) the floor: the same image's rootfs, unpacked by umoci, `runc spec` + args=/bin/true
  mkdir -p "$d/floor"
  if umoci unpack --image "$FIXTURES_DIR/images/busybox:latest" "$d/floor/bundle" >"$d/floor/umoci.log" 2>&1 &&
    rm -f "$d/floor/bundle/config.json" && runc spec --bundle "$d/floor/bundle" &&
    jq '.process.terminal = false | .process.args = ["/bin/true"]' "$d/floor/bundle/config.json" >"$d/floor/c.json" &&
    mv "$d/floor/c.json" "$d/floor/bundle/config.json"; then
    add_row floor "runc run (floor, no engine)" runc --root "$d/floor/state" run --bundle "$d/floor/bundle" berth-bench-floor
  else
    rec run floor label "runc run (floor, no engine)"
    fail run floor "could not prepare the runc bundle" "$d/floor/umoci.log"
  fi
  cli_floor_row run "$d" run --rm --network none "$BUSYBOX" true

  # (a) docker CLI → berthd, (b) berth CLI → berthd
  if berth_start "$d/berth"; then
    if "$DOCKER" -H "$BERTH_HOST" pull -q "$BUSYBOX" >"$d/berth-pull.out" 2>&1; then
      add_row berth "docker CLI → berthd" "$DOCKER" -H "$BERTH_HOST" run --rm --network none "$BUSYBOX" true
      if timeout 60 "$REPO/bin/berth" -H "$BERTH_HOST" run --rm busybox true >"$d/berth-cli-check.out" 2>&1; then
        add_row berth-cli "berth CLI → berthd" "$REPO/bin/berth" -H "$BERTH_HOST" run --rm --network none "$BUSYBOX" true
      else
        rec run berth-cli label "berth CLI → berthd"
        rec run berth-cli skipped "not measured: \`bin/berth run --rm busybox true\` does not work yet: $(tail -n 3 "$d/berth-cli-check.out" | tr '\n' ' ' | cut -c1-300)"
      fi
      add_row berth-defnet "docker CLI → berthd, default bridge network (CNI)" \
        "$DOCKER" -H "$BERTH_HOST" run --rm "$BUSYBOX" true
      floor_with_berth_config "$d"
    else
      rec run berth label "docker CLI → berthd"
      fail run berth "docker pull $BUSYBOX into berthd failed" "$d/berth-pull.out"
    fi
  else
    rec run berth label "docker CLI → berthd"
    fail run berth "berthd did not start" "$d/berth/berthd.log"
  fi

  # (c) docker CLI → dockerd
  if dockerd_start "$d/dockerd"; then
    if "$DOCKER" -H "$DOCKERD_HOST" pull -q "$BUSYBOX" >"$d/dockerd-pull.out" 2>&1; then
      add_row dockerd "docker CLI → dockerd" "$DOCKER" -H "$DOCKERD_HOST" run --rm --network none "$BUSYBOX" true
    else
      rec run dockerd label "docker CLI → dockerd"
      fail run dockerd "docker pull $BUSYBOX into dockerd failed" "$d/dockerd-pull.out"
    fi
  else
    rec run dockerd label "docker CLI → dockerd"
    fail run dockerd "dockerd did not start" "$d/dockerd/dockerd.log"
  fi

  # (d) podman
  podman_setup "$d/podman"
  if "${PODMAN[@]}" pull -q --tls-verify=false "$BUSYBOX" >"$d/podman-pull.out" 2>&1; then
    add_row podman "podman" "${PODMAN[@]}" run --rm "${PODMAN_RUN_OPTS[@]}" "$BUSYBOX" true
  else
    rec run podman label "podman"
    fail run podman "podman pull $BUSYBOX failed" "$d/podman-pull.out"
  fi

  # (e) ctr run
  if containerd_start "$d/ctr"; then
    local CTR=(ctr -a "$CTD_SOCK" -n "$CTR_NS")
    mkdir -p "$d/ctr/fifo"
    if "${CTR[@]}" images pull --plain-http "$BUSYBOX" >"$d/ctr-pull.out" 2>&1; then
      add_row ctr "ctr run (containerd)" "${CTR[@]}" run --rm --seccomp --runc-root "$d/ctr/runc" \
        --fifo-dir "$d/ctr/fifo" "$BUSYBOX" berth-bench true
    else
      rec run ctr label "ctr run (containerd)"
      fail run ctr "ctr images pull $BUSYBOX failed" "$d/ctr-pull.out"
    fi
  else
    rec run ctr label "ctr run (containerd)"
    fail run ctr "containerd did not start" "$d/ctr/containerd.log"
  fi

  sync
  measure_rows

  stop_pid "$STUB_PID"
  ctr_stop "$d/ctr"
  podman_stop "$d/podman"
  dockerd_stop "$d/dockerd"
  berth_stop "$d/berth"
  umount_under "$d"
  rm -rf "$d"
}

# --- section: pull -----------------------------------------------------------------------

# timed FILE CMD...: run CMD (output to FILE), print its wall time in seconds; CMD's status.
timed() {
  local out="$1" t=$EPOCHREALTIME rc
  shift
  timeout 600 "$@" >>"$out" 2>&1
  rc=$?
  ELAPSED="$(secs_since "$t")"
  return "$rc"
}

# pull_sample KEY PULL-SECONDS RUN-SECONDS
pull_sample() { rec pull "$1" sample "$2 $3"; }

pull_berth() { # DIR
  local d="$1" out="$1.out" p r
  berth_start "$d" || { fail pull berth "berthd did not start" "$d/berthd.log"; return 1; }
  timed "$out" "$DOCKER" -H "$BERTH_HOST" pull -q "$PYIMG" || { fail pull berth "\`docker pull $PYIMG\` against berthd failed" "$out"; berth_stop "$d"; return 1; }
  p=$ELAPSED
  timed "$out" "$DOCKER" -H "$BERTH_HOST" run --rm --network none "$PYIMG" true || { fail pull berth "\`docker run --rm $PYIMG true\` against berthd failed" "$out"; berth_stop "$d"; return 1; }
  r=$ELAPSED
  pull_sample berth "$p" "$r"
  berth_stop "$d"
}

pull_dockerd() {
  local d="$1" out="$1.out" p r
  dockerd_start "$d" || { fail pull dockerd "dockerd did not start" "$d/dockerd.log"; dockerd_stop "$d"; return 1; }
  timed "$out" "$DOCKER" -H "$DOCKERD_HOST" pull -q "$PYIMG" || { fail pull dockerd "docker pull failed" "$out"; dockerd_stop "$d"; return 1; }
  p=$ELAPSED
  timed "$out" "$DOCKER" -H "$DOCKERD_HOST" run --rm --network none "$PYIMG" true || { fail pull dockerd "docker run failed" "$out"; dockerd_stop "$d"; return 1; }
  r=$ELAPSED
  pull_sample dockerd "$p" "$r"
  dockerd_stop "$d"
}

pull_podman() {
  local d="$1" out="$1.out" p r
  podman_setup "$d"
  timed "$out" "${PODMAN[@]}" pull -q --tls-verify=false "$PYIMG" || { fail pull podman "podman pull failed" "$out"; podman_stop "$d"; return 1; }
  p=$ELAPSED
  timed "$out" "${PODMAN[@]}" run --rm "${PODMAN_RUN_OPTS[@]}" "$PYIMG" true || { fail pull podman "podman run failed" "$out"; podman_stop "$d"; return 1; }
  r=$ELAPSED
  pull_sample podman "$p" "$r"
  podman_stop "$d"
}

pull_ctr() {
  local d="$1" out="$1.out" p r
  containerd_start "$d" || { fail pull ctr "containerd did not start" "$d/containerd.log"; ctr_stop "$d"; return 1; }
  local CTR=(ctr -a "$CTD_SOCK" -n "$CTR_NS")
  mkdir -p "$d/fifo"
  # `ctr images pull` fetches and unpacks into the overlayfs snapshotter
  timed "$out" "${CTR[@]}" images pull --plain-http "$PYIMG" || { fail pull ctr "ctr images pull failed" "$out"; ctr_stop "$d"; return 1; }
  p=$ELAPSED
  timed "$out" "${CTR[@]}" run --rm --seccomp --runc-root "$d/runc" --fifo-dir "$d/fifo" "$PYIMG" berth-bench true || { fail pull ctr "ctr run failed" "$out"; ctr_stop "$d"; return 1; }
  r=$ELAPSED
  pull_sample ctr "$p" "$r"
  ctr_stop "$d"
}

pull_skopeo() {
  local d="$1" out="$1.out"
  mkdir -p "$d"
  timed "$out" skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$PYIMG" "dir:$d/x" || { fail pull skopeo "skopeo copy failed" "$out"; return 1; }
  pull_sample skopeo "$ELAPSED" 0
}

section_pull() {
  local i e d
  local -A label=([berth]="docker CLI → berthd" [dockerd]="docker CLI → dockerd" [podman]="podman"
    [ctr]="ctr (containerd)" [skopeo]="skopeo copy → dir: (floor, download only)")
  local -A broken=()
  for e in berth dockerd podman ctr skopeo; do rec pull "$e" label "${label[$e]}"; done
  # Rounds interleave the engines, so slow drift in machine load spreads over all of them.
  for ((i = 1; i <= PULL_ITERATIONS; i++)); do
    for e in berth dockerd podman ctr skopeo; do
      [ -z "${broken[$e]:-}" ] || continue
      log "pull: round $i/$PULL_ITERATIONS: ${label[$e]}"
      d="$WORK/pull-$e-$i"
      sync # no engine pays for the previous one's dirty pages
      "pull_$e" "$d" || broken[$e]=1 # after a failure, its later rounds are skipped
      umount_under "$d"
      rm -rf "$d" "$d.out"
    done
  done
}

# --- section: memory ---------------------------------------------------------------------

# mem_rec KEY LABEL PID: RSS and PSS of PID.
mem_rec() {
  rec memory "$1" label "$2"
  rec memory "$1" rss_kb "$(rss_kb "$3")"
  rec memory "$1" pss_kb "$(pss_kb "$3")"
}

mem_fail() { rec memory "$1" label "$2"; fail memory "$1" "$3" "${4:-}"; }

section_memory() {
  local d="$WORK/mem" id pid settle=3
  mkdir -p "$d"
  log "memory: berth"
  if berth_start "$d/berth"; then
    "$DOCKER" -H "$BERTH_HOST" pull -q "$BUSYBOX" >/dev/null 2>&1
    sleep "$settle"
    mem_rec berthd-idle "berthd, idle (started, busybox pulled)" "$BERTH_PID"
    if id="$("$DOCKER" -H "$BERTH_HOST" run -d --network none "$BUSYBOX" sleep 600 2>"$d/berth-run.err")"; then
      sleep 1
      if pid="$(find_proc conmon "$id")"; then
        mem_rec berth-monitor "conmon (berth) for one sleep container" "$pid"
      else
        mem_fail berth-monitor "conmon (berth) for one sleep container" "no conmon process found for container $id"
      fi
      "$DOCKER" -H "$BERTH_HOST" rm -f "$id" >/dev/null 2>&1
      sleep "$settle"
      mem_rec berthd-after "berthd, idle after one container came and went" "$BERTH_PID"
    else
      mem_fail berth-monitor "conmon (berth) for one sleep container" "docker run -d against berthd failed" "$d/berth-run.err"
    fi
    berth_stop "$d/berth"
  else
    mem_fail berthd-idle "berthd, idle" "berthd did not start" "$d/berth/berthd.log"
  fi

  log "memory: dockerd"
  if dockerd_start "$d/dockerd"; then
    "$DOCKER" -H "$DOCKERD_HOST" pull -q "$BUSYBOX" >/dev/null 2>&1
    sleep "$settle"
    mem_rec dockerd-idle "dockerd, idle (started, busybox pulled)" "$DOCKERD_PID"
    mem_rec dockerd-ctd-idle "containerd under dockerd, idle" "$DOCKERD_CTD_PID"
    if id="$("$DOCKER" -H "$DOCKERD_HOST" run -d --network none "$BUSYBOX" sleep 600 2>"$d/dockerd-run.err")"; then
      sleep 1
      if pid="$(find_proc containerd-shim "$id")"; then
        mem_rec dockerd-monitor "containerd-shim-runc-v2 (dockerd) for one sleep container" "$pid"
      else
        mem_fail dockerd-monitor "containerd-shim-runc-v2 (dockerd) for one sleep container" "no shim process found for container $id"
      fi
      "$DOCKER" -H "$DOCKERD_HOST" rm -f "$id" >/dev/null 2>&1
    else
      mem_fail dockerd-monitor "containerd-shim-runc-v2 (dockerd)" "docker run -d against dockerd failed" "$d/dockerd-run.err"
    fi
    dockerd_stop "$d/dockerd"
  else
    mem_fail dockerd-idle "dockerd, idle" "dockerd did not start" "$d/dockerd/dockerd.log"
    dockerd_stop "$d/dockerd"
  fi

  log "memory: ctr"
  if containerd_start "$d/ctr"; then
    local CTR=(ctr -a "$CTD_SOCK" -n "$CTR_NS")
    mkdir -p "$d/ctr/fifo"
    "${CTR[@]}" images pull --plain-http "$BUSYBOX" >/dev/null 2>&1
    sleep "$settle"
    mem_rec ctr-ctd-idle "containerd alone, idle (busybox pulled)" "$CTD_PID"
    if "${CTR[@]}" run -d --null-io --seccomp --runc-root "$d/ctr/runc" --fifo-dir "$d/ctr/fifo" \
      "$BUSYBOX" berth-bench-sleep sleep 600 >"$d/ctr-run.out" 2>&1; then
      sleep 1
      if pid="$(find_proc containerd-shim berth-bench-sleep)"; then
        mem_rec ctr-monitor "containerd-shim-runc-v2 (ctr) for one sleep container" "$pid"
      else
        mem_fail ctr-monitor "containerd-shim-runc-v2 (ctr) for one sleep container" "no shim process found"
      fi
    else
      mem_fail ctr-monitor "containerd-shim-runc-v2 (ctr)" "ctr run -d failed" "$d/ctr-run.out"
    fi
    ctr_stop "$d/ctr"
  else
    mem_fail ctr-ctd-idle "containerd alone, idle" "containerd did not start" "$d/ctr/containerd.log"
  fi

  log "memory: podman"
  podman_setup "$d/podman"
  if "${PODMAN[@]}" pull -q --tls-verify=false "$BUSYBOX" >"$d/podman-pull.out" 2>&1 &&
    id="$("${PODMAN[@]}" run -d "${PODMAN_RUN_OPTS[@]}" "$BUSYBOX" sleep 600 2>"$d/podman-run.err")"; then
    sleep 1
    if pid="$(find_proc conmon "$id")"; then
      mem_rec podman-monitor "conmon (podman) for one sleep container" "$pid"
    else
      mem_fail podman-monitor "conmon (podman) for one sleep container" "no conmon process found for container $id"
    fi
  else
    cat "$d/podman-pull.out" >>"$d/podman-run.err" 2>/dev/null
    mem_fail podman-monitor "conmon (podman)" "podman pull/run -d failed" "$d/podman-run.err"
  fi
  podman_stop "$d/podman"
  umount_under "$d"
  rm -rf "$d"
}

# --- section: exec -----------------------------------------------------------------------

section_exec() {
  local d="$WORK/exec" id
  mkdir -p "$d"
  ROW_SEC=exec
  ROWS=()
  log "exec: a sleep container in berthd, dockerd and podman"
  cli_floor_row exec "$d" exec bench-exec true
  if berth_start "$d/berth"; then
    if "$DOCKER" -H "$BERTH_HOST" run -d --network none --name bench-exec "$BUSYBOX" sleep 3600 >"$d/berth-ctr.out" 2>&1; then
      add_row berth "docker CLI → berthd" "$DOCKER" -H "$BERTH_HOST" exec bench-exec true
      add_row berth-cli "berth CLI → berthd" "$REPO/bin/berth" -H "$BERTH_HOST" exec bench-exec true
      # The floor: runc alone running the same exec in the same container (its config.json has
      # Docker's seccomp profile, which runc compiles again for every exec), no engine, no CLI.
      id="$("$DOCKER" -H "$BERTH_HOST" inspect -f '{{.Id}}' bench-exec)"
      add_row floor "runc exec (floor, no engine)" runc --root "$d/berth/exec/runc" exec "$id" true
    else
      rec exec berth label "docker CLI → berthd"
      fail exec berth "could not start the sleep container in berthd" "$d/berth-ctr.out"
    fi
  else
    rec exec berth label "docker CLI → berthd"
    fail exec berth "berthd did not start" "$d/berth/berthd.log"
  fi
  if dockerd_start "$d/dockerd"; then
    if "$DOCKER" -H "$DOCKERD_HOST" run -d --network none --name bench-exec "$BUSYBOX" sleep 3600 >"$d/dockerd-ctr.out" 2>&1; then
      add_row dockerd "docker CLI → dockerd" "$DOCKER" -H "$DOCKERD_HOST" exec bench-exec true
    else
      rec exec dockerd label "docker CLI → dockerd"
      fail exec dockerd "could not start the sleep container in dockerd" "$d/dockerd-ctr.out"
    fi
  else
    rec exec dockerd label "docker CLI → dockerd"
    fail exec dockerd "dockerd did not start" "$d/dockerd/dockerd.log"
  fi
  podman_setup "$d/podman"
  if "${PODMAN[@]}" run -d "${PODMAN_RUN_OPTS[@]}" --tls-verify=false --name bench-exec "$BUSYBOX" sleep 3600 >"$d/podman-ctr.out" 2>&1; then
    add_row podman "podman" "${PODMAN[@]}" exec bench-exec true
  else
    rec exec podman label "podman"
    fail exec podman "could not start the sleep container in podman" "$d/podman-ctr.out"
  fi
  measure_rows
  stop_pid "$STUB_PID"
  podman_stop "$d/podman"
  dockerd_stop "$d/dockerd"
  berth_stop "$d/berth"
  umount_under "$d"
  rm -rf "$d"
}

# --- section: ps -------------------------------------------------------------------------

# fill_containers HOST OUT: PS_CONTAINERS `sleep` containers, every other one started.
fill_containers() {
  local host="$1" out="$2" ids
  "$DOCKER" -H "$host" pull -q "$BUSYBOX" >>"$out" 2>&1 || return 1
  seq "$PS_CONTAINERS" | xargs -P 4 -I{} "$DOCKER" -H "$host" create --network none "$BUSYBOX" sleep 3600 >"$out.ids" 2>>"$out" || return 1
  [ "$(wc -l <"$out.ids")" -eq "$PS_CONTAINERS" ] || { echo "created $(wc -l <"$out.ids") of $PS_CONTAINERS" >>"$out"; return 1; }
  ids="$(awk 'NR % 2 == 0' "$out.ids")"
  [ -z "$ids" ] || xargs -n 25 -P 4 "$DOCKER" -H "$host" start <<<"$ids" >/dev/null 2>>"$out" || return 1
}

section_ps() {
  local d="$WORK/ps"
  mkdir -p "$d"
  ROW_SEC=ps
  ROWS=()
  log "ps: $PS_CONTAINERS containers (half running) in berthd and in dockerd"
  if berth_start "$d/berth" && fill_containers "$BERTH_HOST" "$d/berth-fill.out"; then
    add_row berth "docker CLI → berthd: ps -a" "$DOCKER" -H "$BERTH_HOST" ps -a
    add_row berth-cli "berth CLI → berthd: ps -a" "$REPO/bin/berth" -H "$BERTH_HOST" ps -a
    add_row berth-api "GET /containers/json?all=1 → berthd (curl)" curl -sSf -o /dev/null --unix-socket "${BERTH_HOST#unix://}" "http://berth/containers/json?all=1"
    rec ps berth-api vs dockerd-api
  else
    rec ps berth label "docker CLI → berthd: ps -a"
    fail ps berth "berthd did not start or could not create the containers" "$d/berth-fill.out"
  fi
  if dockerd_start "$d/dockerd" && fill_containers "$DOCKERD_HOST" "$d/dockerd-fill.out"; then
    add_row dockerd "docker CLI → dockerd: ps -a" "$DOCKER" -H "$DOCKERD_HOST" ps -a
    add_row dockerd-api "GET /containers/json?all=1 → dockerd (curl)" curl -sSf -o /dev/null --unix-socket "${DOCKERD_HOST#unix://}" "http://dockerd/containers/json?all=1"
    rec ps dockerd-api vs dockerd-api
  else
    rec ps dockerd label "docker CLI → dockerd: ps -a"
    fail ps dockerd "dockerd did not start or could not create the containers" "$d/dockerd-fill.out"
  fi
  rec fact ps_containers value "$PS_CONTAINERS"
  measure_rows
  dockerd_stop "$d/dockerd"
  berth_stop "$d/berth"
  umount_under "$d"
  rm -rf "$d"
}

# --- main --------------------------------------------------------------------------------

START=$EPOCHREALTIME
ensure_packages
command -v node >/dev/null || { echo "node is required" >&2; exit 2; }
[ -f "$REPO/dist/src/berthd.js" ] || { echo "berth is not built: run npm run build first" >&2; exit 2; }
DOCKER="${BENCH_DOCKER_CLI:-$(command -v docker)}"
[ -x "$DOCKER" ] || { echo "no docker CLI found" >&2; exit 2; }
export DOCKER_CONFIG="$WORK/docker-config" # never the user's config or credential helpers
mkdir -p "$DOCKER_CONFIG" && echo '{}' >"$DOCKER_CONFIG/config.json"
machine_facts "${SECTIONS[@]}"
start_registry

want run && section_run
want pull && section_pull
want memory && section_memory
want exec && section_exec
want ps && section_ps

rec fact load_after value "$(cut -d' ' -f1-3 /proc/loadavg)"
rec fact duration value "$(secs_since "$START") s"
node "$BENCH_DIR/report.mjs" "$RECORDS" "$RESULTS_MD" || FAILED=1
log "wrote $RESULTS_MD"
exit "$FAILED"
