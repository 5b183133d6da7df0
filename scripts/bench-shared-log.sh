#!/usr/bin/env bash
# The shared log's benchmark lines (issue 15; scripts/bench.sh runs it, or run
# it alone, about 2 minutes):
#   - durable writes (SetLicenseCount, one in flight per writer, each
#     acknowledged once committed) through a log in PostgreSQL 15 at 1, 8 and
#     64 writers on one host, beside the local journal (fsync = always) at the
#     same writers, on the same data set and by the same generator;
#   - the same spread over three accessd on the one log (ceil(N/3) writers on
#     each: 3, 9 and 66 in all; three generators at once, their rates summed,
#     the worst of their percentiles);
#   - follower lag: from a write's acknowledgement on one host to its events
#     arriving on another host's FollowEvents stream (scripts/cluster-writer.py
#     lag), p50 and p99 over 300 writes.
# PostgreSQL runs on this machine, reached through its Unix socket (its data
# on the same disk as the state directories); the generator is accessd-bench.
# RESULT lines go to stdout; --rows FILE also writes the Markdown table rows.
#
#   scripts/bench-shared-log.sh [--bin DIR] [--seconds 3] [--rows FILE]
#
# Needs root (runuser for PostgreSQL); installs PostgreSQL 15, protoc and Python's
# protobuf package when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build-release/release
seconds=3
rows=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --rows) rows="$2"; shift 2 ;;
        *) echo "bench-shared-log.sh: unknown flag $1" >&2; exit 64 ;;
    esac
done
began=$(date +%s)
say() { echo "bench-shared-log.sh [$(( $(date +%s) - began ))s]: $*" >&2; }
# The follower-lag client is Python on the generated protos: protoc, and
# Python's protobuf package for the python3 first on PATH (before any figure).
if ! command -v protoc > /dev/null; then
    say "installing protobuf-compiler (protoc)"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >&2
fi
if ! python3 -c 'import google.protobuf' 2> /dev/null; then
    say "installing the protobuf package for $(command -v python3)"
    python3 -m pip install -q protobuf >&2
fi
if [ ! -x "$bin/accessd" ] || [ ! -x "$bin/accessd-bench" ]; then
    say "building accessd and accessd-bench (release)"
    for product in accessd accessd-bench; do
        swift build -c release --product "$product" --scratch-path .build-release >&2
    done
fi
source scripts/lib/postgres.sh
pg_install >&2

work="$(mktemp -d /var/tmp/accessd-bench-log.XXXXXX)"
chmod 0755 "$work"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pg_crash "$work/pg" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

field() { # line key
    awk -v k="$2=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }' <<<"$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
wait_for() { # file pattern
    for _ in $(seq 600); do grep -qi "$2" "$1" 2>/dev/null && return; sleep 0.1; done
    echo "timed out waiting for '$2' in $1" >&2
    tail -5 "$1" >&2
    exit 1
}

pg_init "$work/pg" >&2
pg_start "$work/pg" "" "" >&2
pg_make_role "$work/pg" accessd "bench-$$" >/dev/null
pg_make_db "$work/pg" accessd postgres >/dev/null
cat >"$work/admin.conf" <<EOF
log = postgresql
postgresql_hosts = $work/pg/sock
postgresql_user = postgres
state_dir = $work/admin-state
socket = $work/admin.sock
EOF
"$bin/accessd" --config "$work/admin.conf" log init --writer-role accessd >&2

start() { # start NAME CONFIG-LINES...
    local name="$1"
    shift
    mkdir -p "$work/$name"
    {
        echo "socket = $work/$name/accessd.sock"
        echo "state_dir = $work/$name/state"
        echo "log_level = warning"
        printf '%s\n' "$@"
    } >"$work/$name/accessd.conf"
    "$bin/accessd" --config "$work/$name/accessd.conf" >"$work/$name/out" 2>"$work/$name/err" &
    pids+=($!)
    wait_for "$work/$name/out" listening
}
shared() { # the config lines of a host on the shared log
    printf '%s\n' "log = postgresql" "postgresql_hosts = $work/pg/sock" "postgresql_user = accessd" "log_writer = $1"
}
writes() { # socket writers name [ids]
    "$bin/accessd-bench" --socket "$1" --ids "${4:-$work/ids}" --mix writes --conns "$2" --depth 1 --seconds "$seconds" --name "$3"
}

# One data set (2,000 users in 200 accounts), loaded through host a of the
# shared log, and the same into the local journal's daemon.
start a "$(shared a)"
say "loading the data set through the shared log"
"$bin/accessd-bench" --socket "$work/a/accessd.sock" --setup "users=2000,accounts=200" --save-ids "$work/ids" \
    --conns 1 --seconds 0.2 --warmup 0 | grep 'name=setup' >&2
start local "fsync = always"
"$bin/accessd-bench" --socket "$work/local/accessd.sock" --setup "users=2000,accounts=200" --save-ids "$work/ids-local" \
    --conns 1 --seconds 0.2 --warmup 0 >/dev/null

out_rows=""
declare -A local_rps
for writers in 1 8 64; do
    say "local journal, writers=$writers"
    line="$(writes "$work/local/accessd.sock" "$writers" local_journal_writes "$work/ids-local") log=local"
    echo "$line"
    local_rps[$writers]=$(field "$line" rps)
    out_rows+="| local journal (fsync = always) | 1 | $writers | $(field "$line" rps) | $(field "$line" p50_us) | $(field "$line" p99_us) | $(field "$line" errors) | 1.00 |"$'\n'
done
for writers in 1 8 64; do
    say "shared log, one host, writers=$writers"
    line="$(writes "$work/a/accessd.sock" "$writers" shared_log_writes)"
    line="$line log=postgresql hosts=1 ratio_vs_local=$(ratio "$(field "$line" rps)" "${local_rps[$writers]}")"
    echo "$line"
    out_rows+="| PostgreSQL log | 1 | $writers | $(field "$line" rps) | $(field "$line" p50_us) | $(field "$line" p99_us) | $(field "$line" errors) | $(field "$line" ratio_vs_local) |"$'\n'
done

start b "$(shared b)"
start c "$(shared c)"
caught_up() {
    local host
    for host in b c; do
        "$bin/accessctl" stats --socket "$work/$host/accessd.sock" >"$work/$host/stats" 2>&1 || return 1
        grep -q "lag: *none" "$work/$host/stats" || return 1
    done
}
for _ in $(seq 300); do caught_up && break; sleep 0.1; done
for writers in 1 8 64; do
    each=$(((writers + 2) / 3))
    say "shared log, three hosts, $each writers on each"
    generators=()
    for host in a b c; do
        writes "$work/$host/accessd.sock" "$each" shared_log_writes >"$work/$host/line" &
        generators+=($!)
    done
    for pid in "${generators[@]}"; do wait "$pid"; done
    total=0 p50=0 p99=0 errors=0
    for host in a b c; do
        l="$(cat "$work/$host/line")"
        total=$((total + $(field "$l" rps | cut -d. -f1)))
        p50=$(awk -v a="$p50" -v b="$(field "$l" p50_us)" 'BEGIN { print (b > a ? b : a) }')
        p99=$(awk -v a="$p99" -v b="$(field "$l" p99_us)" 'BEGIN { print (b > a ? b : a) }')
        errors=$((errors + $(field "$l" errors)))
    done
    line="RESULT name=shared_log_writes hosts=3 writers=$((each * 3)) rps=$total p50_us=$p50 p99_us=$p99 errors=$errors ratio_vs_local=$(ratio "$total" "${local_rps[$writers]}")"
    echo "$line"
    out_rows+="| PostgreSQL log | 3 | $((each * 3)) | $total | $p50 | $p99 | $errors | $(field "$line" ratio_vs_local) |"$'\n'
done

say "follower lag"
mkdir -p "$work/python"
protoc --python_out="$work/python" -Iproto proto/accessd/v1/*.proto
lag="$(python3 scripts/cluster-writer.py "$work/python" lag "$work/a/accessd.sock" "$work/b/accessd.sock" 300)"
echo "$lag"
lag_row="| follower lag, a write's acknowledgement on a to its events on b's FollowEvents | $(field "$lag" writes) writes | p50 $(field "$lag" p50_ms) ms | p99 $(field "$lag" p99_ms) ms | max $(field "$lag" max_ms) ms |"
if [ -n "$rows" ]; then
    {
        echo "$out_rows"
        echo "$lag_row"
    } >"$rows"
fi
say "done"
