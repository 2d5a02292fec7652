#!/usr/bin/env bash
# Installs the Debian packages berth needs at run time ("runtime") or to run its test suite
# ("test"). Idempotent: packages already present are not touched, apt is not even updated.
set -euo pipefail
runtime_pkgs=(runc conmon iptables busybox-static containernetworking-plugins pigz zstd catatonit squashfs-tools-ng)
test_pkgs=(docker-registry umoci skopeo jq debootstrap apache2-utils docker-compose python3-docker iproute2)
want=("${runtime_pkgs[@]}")
[ "${1:-runtime}" = test ] && want+=("${test_pkgs[@]}")
# The real docker CLI drives berth in tests; Debian's docker.io provides it where none is installed.
[ "${1:-runtime}" = test ] && ! command -v docker >/dev/null 2>&1 && want+=(docker.io)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
