#!/usr/bin/env bash
# A quick release-mode Check benchmark: starts accessd on a temporary socket,
# runs accessd-bench against it (default 1,000 users, 32 connections, depth 1,
# 5 s), stops it. scripts/bench.sh runs the whole matrix with its baselines.
# Pass accessd-bench flags (--conns N --depth D --seconds S --mix M --setup
# users=N,accounts=M) to change the run.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product accessd --scratch-path .build-release >&2
swift build -c release --product accessd-bench --scratch-path .build-release >&2
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
.build-release/release/accessd --socket "$dir/accessd.sock" --state-dir "$dir/state" --log-level warning > "$dir/out" &
pid=$!
for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
.build-release/release/accessd-bench --socket "$dir/accessd.sock" "$@"
