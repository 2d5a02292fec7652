#!/usr/bin/env bash
# The whole test suite, as root: installs what it needs, builds, starts the fixture registry
# once for the run, then runs the unit and integration tests. Nothing is skipped: a missing
# prerequisite fails the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "$(id -u)" = 0 ] || { echo "the test suite needs root (runc, overlayfs, mounts)" >&2; exit 1; }
bash scripts/deps.sh test
if [ -n "${CI:-}" ] || [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi
npm run build

fixtures_run="$(mktemp -d /tmp/berth-fixtures.XXXXXX)"
cleanup() { bash scripts/fixtures/registry.sh stop "$fixtures_run" >/dev/null 2>&1 || true; rm -rf "$fixtures_run"; }
trap cleanup EXIT
BERTH_TEST_REGISTRY="$(bash scripts/fixtures/up.sh "$fixtures_run")"
export BERTH_TEST_REGISTRY
echo "fixture registry: $BERTH_TEST_REGISTRY"

mapfile -t test_files < <(find dist/test/unit dist/test/integration -name '*.test.js' | sort)
[ ${#test_files[@]} -gt 0 ] || { echo "no test files found under dist/test" >&2; exit 1; }
node --test --test-concurrency=1 --test-reporter=spec "${test_files[@]}"
