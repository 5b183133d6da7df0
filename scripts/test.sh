#!/usr/bin/env bash
# The project's one test command (README, .ci/run): builds everything and runs
# every test with warnings treated as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests -Xswiftc -warnings-as-errors
swift test --skip-build
