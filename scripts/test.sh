#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what the tests
# need on a clean Debian machine, builds everything with warnings as errors,
# runs every test, then builds the Debian packages and tests them under a
# real systemd (scripts/test-systemd.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# protoc (the Python peer's modules are generated at test time).
if ! command -v protoc >/dev/null; then
    echo "installing protobuf-compiler" >&2
    apt-get update -qq && apt-get install -y -qq protobuf-compiler >&2
fi
# systemd's tools (systemd-analyze, systemd-socket-activate, systemd-sysusers),
# which work without systemd as PID 1: the unit-file and socket-activation tests.
if ! command -v systemd-analyze >/dev/null || ! command -v systemd-socket-activate >/dev/null; then
    echo "installing systemd (for systemd-analyze and systemd-socket-activate)" >&2
    apt-get update -qq && apt-get install -y -qq systemd >&2
fi
# Python's protobuf package, for the python3 first on PATH.
if ! python3 -c 'import google.protobuf' 2>/dev/null; then
    echo "installing the protobuf package for $(command -v python3)" >&2
    python3 -m pip install -q protobuf >&2
fi
# PostgreSQL 15 for the shared log's tests (they start their own throw-away server).
# shellcheck source=lib/postgres.sh
source "$(dirname "$0")/lib/postgres.sh"
pg_install >&2

# protobuf-c and valgrind, for the C client (CClientTests and scripts/test-c-client.sh).
scripts/test-c-client.sh --install-deps
# The Debian packages and their test under a real systemd: dpkg-dev
# (dpkg-shlibdeps), lintian, systemd-nspawn, debootstrap and zstd (the cached
# root file system).
missing=""
for tool in dpkg-shlibdeps:dpkg-dev lintian:lintian systemd-nspawn:systemd-container debootstrap:debootstrap zstd:zstd; do
    command -v "${tool%%:*}" >/dev/null || missing="$missing ${tool##*:}"
done
if [ -n "$missing" ]; then
    echo "installing$missing" >&2
    apt-get update -qq && apt-get install -y -qq $missing >&2
fi

# Warnings are errors, and a target may import only the targets it declares
# (Package.swift is the architecture: docs/ARCHITECTURE.md).
swift build --build-tests -Xswiftc -warnings-as-errors --explicit-target-dependency-import-check error
scripts/architecture.sh --check
# The unit tests (every test target but AccessIntegrationTests, in this
# process), then the integration tests against the real binaries but the
# hostile peers, then the hostile peers alone: they flood the real daemon from
# unprivileged uids and measure its memory, CPU and a Check's latency
# meanwhile, which other suites running beside them would disturb (and be
# disturbed by).
swift test --skip-build --skip AccessIntegrationTests
swift test --skip-build --filter AccessIntegrationTests --skip HostilePeerTests
swift test --skip-build --filter HostilePeerTests
ACCESSD="$(swift build --show-bin-path)/accessd" scripts/test-c-client.sh
# Several hosts (README "Several hosts"): the test lab itself (network
# namespaces, PostgreSQL with a synchronous standby), then three accessd on
# one shared log with writers and faults (kill -9, a cut host, PostgreSQL
# crashed and stopped, a failover).
scripts/test-lab.sh
ACCESSD="$(swift build --show-bin-path)/accessd" scripts/test-cluster.sh

# The Debian packages, from one release build (the only one): lintian must
# find no error in any of them (each override says why it is there), then
# scripts/test-systemd.sh installs, runs, upgrades, removes and purges accessd
# under systemd 252 booted in a container (it needs root, which CI has).
rm -rf .build/deb
scripts/package.sh --deb --fast --out .build/deb
lintian --fail-on error --display-info --tag-display-limit 0 .build/deb/*.deb 2>&1 | tee .build/deb/lintian.txt
echo "lintian: $(grep -c '^E:' .build/deb/lintian.txt || true) errors, $(grep -c '^W:' .build/deb/lintian.txt || true) warnings, $(grep -c '^I:' .build/deb/lintian.txt || true) infos in $(ls .build/deb/*.deb | wc -l) packages"
scripts/test-systemd.sh --debs .build/deb
