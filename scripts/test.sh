#!/usr/bin/env bash
# The project's one test command (README, .ci/run): installs what the tests
# need on a clean Debian machine, builds everything with warnings as errors,
# and runs every test.
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

# protobuf-c and valgrind, for the C client (CClientTests and scripts/test-c-client.sh).
scripts/test-c-client.sh --install-deps

swift build --build-tests -Xswiftc -warnings-as-errors
# Every suite but the hostile peers, in parallel; then the hostile peers alone:
# they flood the real daemon from unprivileged uids and measure its memory,
# CPU and a Check's latency meanwhile, which other suites running beside them
# would disturb (and be disturbed by).
swift test --skip-build --skip HostilePeerTests
swift test --skip-build --filter HostilePeerTests
ACCESSD="$(swift build --show-bin-path)/accessd" scripts/test-c-client.sh
