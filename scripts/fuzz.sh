#!/usr/bin/env bash
# scripts/fuzz.sh TARGET SECONDS   fuzz one target (frame, methods, journal, snapshot, config)
# scripts/fuzz.sh all SECONDS      each target in turn, SECONDS each
#
# Builds accessd-fuzz with libFuzzer and AddressSanitizer (release, cached in
# .build-fuzz), then runs the target from a working copy of its committed
# seed corpus (Tests/FuzzCorpus/TARGET/), so the repository stays clean. Its
# working corpus, log and crash inputs go to $ACCESSD_FUZZ_DIR (default
# /tmp/accessd-fuzz/TARGET/); the corpus grows from run to run. A crash stops
# the run; reduce it with
#     ACCESSD_FUZZ_TARGET=TARGET .build-fuzz/release/accessd-fuzz -minimize_crash=1 -runs=10000 CRASH
# and keep it in Tests/FuzzCorpus/TARGET/crashes/, which the replay test runs.
# ACCESSD_FUZZ_BUILD=0 runs the binary as last built (the build takes 15 minutes
# or more on 2 cores when it starts over). Prints one line per target: executions, exec/s, coverage (cov, ft) and crashes.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(frame methods journal snapshot config)
if [[ $# -ne 2 || ! $2 =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh ${targets[*]// /|}|all SECONDS" >&2
    exit 64
fi
if [[ $1 == all ]]; then
    chosen=("${targets[@]}")
elif [[ " ${targets[*]} " == *" $1 "* ]]; then
    chosen=("$1")
else
    echo "fuzz.sh: unknown target '$1'; known: ${targets[*]} all" >&2
    exit 64
fi
seconds=$2
base=${ACCESSD_FUZZ_DIR:-/tmp/accessd-fuzz}

# swiftc keeps only the last -sanitize= it is given, and SwiftPM passes one per
# --sanitize: without the combined flag the objects would get AddressSanitizer
# and no coverage counters, and libFuzzer would fuzz blind.
binary=.build-fuzz/release/accessd-fuzz
if [[ ${ACCESSD_FUZZ_BUILD:-1} == 1 || ! -x $binary ]]; then
    swift build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
        --scratch-path .build-fuzz --product accessd-fuzz >&2
fi

# Swift's runtime keeps caches that LeakSanitizer would call leaks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
status=0
for target in "${chosen[@]}"; do
    dir=$base/$target
    mkdir -p "$dir/corpus" "$dir/crashes"
    find "Tests/FuzzCorpus/$target" -maxdepth 1 -type f -exec cp {} "$dir/corpus/" \;
    log=$dir/fuzz.log
    before=$(find "$dir/crashes" -type f | wc -l)
    rc=0
    ACCESSD_FUZZ_TARGET=$target "$binary" "$dir/corpus" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$dir/crashes/" -timeout=25 -rss_limit_mb=4096 -detect_leaks=0 >"$log" 2>&1 || rc=$?
    after=$(find "$dir/crashes" -type f | wc -l)
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    crashes=$((after - before))
    log_text=$(cat "$log")
    if [[ $log_text == *"Is the code instrumented for coverage?"* ]]; then
        echo "fuzz.sh: $target found no coverage at all: is the binary built with coverage counters?" >&2
        rc=1
    fi
    echo "fuzz target=$target seconds=$seconds execs=$(stat number_of_executed_units) exec_per_s=$(stat average_exec_per_sec)" \
        "cov=${cov:-?} ft=${ft:-?} corpus=$(find "$dir/corpus" -type f | wc -l) crashes=$crashes rc=$rc crash_dir=$dir/crashes log=$log"
    if [[ $rc -ne 0 || $crashes -ne 0 ]]; then status=1; fi
done
exit $status
