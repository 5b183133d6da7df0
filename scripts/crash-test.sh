#!/usr/bin/env bash
# The long version of the crash tests: kill -9 under write load (and during
# snapshots) ROUNDS times each (default 200; the test suite runs 20), and the
# power-cut trials of the simulated disk. Every acknowledged write must be
# found after each restart.
#
# Usage: scripts/crash-test.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-200}"
swift build --build-tests -Xswiftc -warnings-as-errors >&2
ACCESSD_CRASH_ROUNDS="$rounds" swift test --skip-build --filter 'CrashTests|PowerLossTests'
