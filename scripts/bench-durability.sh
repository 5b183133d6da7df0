#!/usr/bin/env bash
# Durability figures (issue 4), one RESULT line each, on this machine's disk:
# for each size (default 10,000 / 100,000 / 1,000,000 users): snapshot size and
# write time, journal of 100,000 records after it, recovery time from both, and
# the longest call wait while a snapshot is written by a running accessd, and
# while a backup is streamed from it (AdminService.Backup, as accessctl backup); then
# the raw fdatasync rate of the disk and durable writes per second with
# fsync=always at 1, 8 and 64 writers, with their ratio to the raw rate.
#
# Usage: scripts/bench-durability.sh [--sizes "10000 100000 1000000"] [--journal 100000]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="10000 100000 1000000"
journal=100000
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) sizes="$2"; shift 2 ;;
        --journal) journal="$2"; shift 2 ;;
        *) echo "unknown flag $1" >&2; exit 64 ;;
    esac
done
swift build -c release --product accessd --scratch-path .build-release >&2
swift build -c release --product accessd-durability-bench --scratch-path .build-release >&2
swift build -c release --product accessd-bench --scratch-path .build-release >&2
bin=.build-release/release
work=$(mktemp -d "${TMPDIR:-/var/tmp}/accessd-bench.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

start_daemon() { # state-dir
    "$bin/accessd" --socket "$work/accessd.sock" --state-dir "$1" --log-level warning > "$work/out" 2> "$work/err" &
    pid=$!
    for _ in $(seq 600); do grep -q listening "$work/out" 2>/dev/null && return; sleep 0.1; done
    echo "accessd did not start: $(cat "$work/err")" >&2; exit 1
}
stop_daemon() {
    kill -TERM $pid; wait $pid || true; pid=
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(df -h "$work" | awk 'NR==2 {print $1}') ($(stat -f -c %T "$work"))"
for users in $sizes; do
    dir="$work/state-$users"
    "$bin/accessd-durability-bench" state --dir "$dir" --users "$users" --accounts $((users / 10)) --journal "$journal"
    start_daemon "$dir"
    "$bin/accessd-durability-bench" pause --socket "$work/accessd.sock" --ids "$dir/bench-ids" --conns 8 --seconds 6 | sed "s/^RESULT name=snapshot_pause /RESULT name=snapshot_pause users=$users /"
    "$bin/accessd-durability-bench" pause --socket "$work/accessd.sock" --ids "$dir/bench-ids" --conns 8 --seconds 6 --backup "$work/backup.snap" | sed "s/^RESULT name=backup_pause /RESULT name=backup_pause users=$users /"
    rm -f "$work/backup.snap"
    stop_daemon
    rm -rf "$dir"
done

raw=$("$bin/accessd-durability-bench" fsync --dir "$work" --seconds 3)
echo "$raw"
raw_rate=$(echo "$raw" | grep -o 'syncs_per_s=[0-9.]*' | cut -d= -f2)
start_daemon "$work/state-writes"
for writers in 1 8 64; do
    line=$("$bin/accessd-bench" --socket "$work/accessd.sock" --setup users=10,accounts=1 --mix writes \
        --conns "$writers" --depth 1 --seconds 3 --name durable_writes | grep '^RESULT name=durable_writes')
    rate=$(echo "$line" | grep -o ' rps=[0-9.]*' | cut -d= -f2)
    echo "$line ratio_vs_raw_fdatasync=$(awk -v a="$rate" -v b="$raw_rate" 'BEGIN { printf "%.2f", a / b }')"
done
stop_daemon
