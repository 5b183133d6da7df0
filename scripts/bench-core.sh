#!/usr/bin/env bash
# Release-mode micro-benchmark of the domain core (issue 2): Check, GetUser,
# AddUser, EditUser, ListUsers per call at 1,000,000 users in 100,000 accounts,
# memory per user, and copy-then-1,000-writes at 10,000 and 1,000,000 users.
# Pass --users N --accounts M --small N to change the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product accessd-core-bench --scratch-path .build-release >&2
exec .build-release/release/accessd-core-bench "$@"
