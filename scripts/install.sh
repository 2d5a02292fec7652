#!/usr/bin/env bash
# Installs berth on this machine (Debian 12, as root), starts berthd, and runs the bundled
# default image: `berth run --rm busybox echo hello` prints hello.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "$(id -u)" = 0 ] || { echo "install.sh must run as root" >&2; exit 1; }
bash scripts/deps.sh runtime
npm ci --no-audit --no-fund
npm run build
ln -sf "$PWD/bin/berth" /usr/local/bin/berth
ln -sf "$PWD/bin/berthd" /usr/local/bin/berthd
sock=/run/berth/berth.sock
if ! curl -sf --unix-socket "$sock" http://berth/_ping >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup berthd >>/var/log/berthd.log 2>&1 </dev/null &
  for _ in $(seq 1 100); do
    curl -sf --unix-socket "$sock" http://berth/_ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi
berth run --rm busybox echo hello
