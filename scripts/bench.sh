#!/usr/bin/env bash
# The whole benchmark matrix of issue 6, in one run, with its baselines:
#   - a minimal C echo server with accessd's framing (scripts/bench-echo.c), an
#     echo server on SwiftNIO set up as accessd's connections are
#     (accessd-bench --serve-nio-echo: the floor of the I/O layer), and
#     Redis (redis-server on a private Unix socket, persistence off; a second one
#     with appendonly yes + appendfsync always), measured with redis-benchmark -s;
#   - Check at conns 1, 32, 128 x depth 1, 16 against a data set loaded through
#     the socket (default 100,000 users in 10,000 accounts), echo and Redis GET
#     beside each, with ratio_vs_echo and ratio_vs_redis;
#   - the mixed load (90% Check, 10% writes);
#   - durable writes (fsync = always) at 1, 8, 32, 64 writers beside Redis SET
#     with appendfsync always and the raw fdatasync rate;
#   - durable writes through a shared log in PostgreSQL at 1, 8, 64 writers on
#     one host and on three, and the follower lag (scripts/bench-shared-log.sh);
#   - snapshot pause, recovery and memory per user at 10,000 / 100,000 / 1,000,000 users.
# RESULT lines go to stdout, progress to stderr; BENCHMARKS.md is written with the figures.
#
# Usage: scripts/bench.sh [--seconds 3] [--users 100000] [--accounts 10000]
#                         [--sizes "10000 100000 1000000"] [--out BENCHMARKS.md] [--note TEXT]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=3
users=100000
accounts=10000
sizes="10000 100000 1000000"
out=BENCHMARKS.md
note=""
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --users) users="$2"; shift 2 ;;
        --accounts) accounts="$2"; shift 2 ;;
        --sizes) sizes="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --note) note="$2"; shift 2 ;;
        --bin) bin="$2"; shift 2 ;;
        *) echo "unknown flag $1" >&2; exit 64 ;;
    esac
done
began=$(date +%s)
say() { echo "bench.sh [$(( $(date +%s) - began ))s]: $*" >&2; }

if [ -z "$bin" ]; then
    say "building (release)"
    for product in accessd accessctl accessd-bench accessd-durability-bench accessd-core-bench; do
        swift build -c release --product "$product" --scratch-path .build-release >&2
    done
    bin=.build-release/release
fi
if ! command -v redis-server > /dev/null || ! command -v redis-benchmark > /dev/null; then
    say "installing redis-server"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >&2
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/accessd-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # file pattern
    for _ in $(seq 1200); do grep -qi "$2" "$1" 2> /dev/null && return; sleep 0.1; done
    echo "timed out waiting for '$2' in $1" >&2; exit 1
}
field() { # line key
    awk -v k="$2=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) { print substr($i, length(k) + 1); exit } }' <<< "$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# redis-benchmark: prints "rps p50_us p99_us max_us" of one test.
redis_run() { # socket test clients pipeline requests
    redis-benchmark -s "$1" -t "$2" -c "$3" -P "$4" -n "$5" -d 64 --csv -q 2> /dev/null \
        | awk -F'"' -v t="$(echo "$2" | tr a-z A-Z)" '$2 == t { printf "%d %d %d %d\n", $4, $10 * 1000, $14 * 1000, $16 * 1000 }'
}

# The servers, and the C generator that drives all three for the Check matrix.
cc -O2 -o "$work/bench-echo" scripts/bench-echo.c
cc -O2 -o "$work/bench-load" scripts/bench-load.c
"$work/bench-echo" "$work/echo.sock" > "$work/echo.out" &
echo_pid=$!
pids+=($echo_pid)
"$bin/accessd-bench" --serve-nio-echo --socket "$work/nio-echo.sock" --threads 2 > "$work/nio-echo.out" 2>&1 &
nio_echo_pid=$!
pids+=($nio_echo_pid)
redis-server --port 0 --unixsocket "$work/redis.sock" --save '' --appendonly no --daemonize no > "$work/redis.log" 2>&1 &
redis_pid=$!
pids+=($redis_pid)
mkdir -p "$work/aof"
redis-server --port 0 --unixsocket "$work/redis-aof.sock" --save '' --appendonly yes --appendfsync always \
    --dir "$work/aof" --daemonize no > "$work/redis-aof.log" 2>&1 &
pids+=($!)
"$bin/accessd" --socket "$work/accessd.sock" --state-dir "$work/state" --log-level warning > "$work/accessd.out" 2> "$work/accessd.err" &
accessd_pid=$!
pids+=($accessd_pid)
wait_for "$work/echo.out" listening
wait_for "$work/nio-echo.out" listening
wait_for "$work/redis.log" "ready to accept"
wait_for "$work/redis-aof.log" "ready to accept"
wait_for "$work/accessd.out" listening

# The data set, loaded through the socket.
say "loading $users users in $accounts accounts into accessd"
rss_before=$(rss_kib $accessd_pid)
setup=$("$bin/accessd-bench" --socket "$work/accessd.sock" --setup "users=$users,accounts=$accounts" \
    --save-ids "$work/ids" --conns 1 --seconds 0.2 --warmup 0 | grep 'name=setup')
echo "$setup"
rss_after=$(rss_kib $accessd_pid)
# The load's writes would start a snapshot within snapshot_interval_s, in the
# middle of the Check matrix: it is taken now, on demand, and the state stays
# unchanged after it (the snapshot pause is measured on its own, below).
snapshot_start=$(date +%s.%N)
"$bin/accessctl" snapshot --socket "$work/accessd.sock" --timeout 300s > /dev/null
snapshot_line="a snapshot taken on demand after the load ($(awk -v a="$snapshot_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s), so that none runs during the Check matrix"
loaded_users=$(field "$setup" users)
setup_line="$loaded_users users in $accounts accounts (with an office, a project, a share and a client link in every tenth account) loaded through the socket in $(field "$setup" s) s ($(field "$setup" calls_per_s) calls/s, $(field "$setup" failed_calls) failed); accessd's RSS $((rss_before / 1024)) MiB before, $((rss_after / 1024)) MiB after: $(awk -v a="$rss_after" -v u="$loaded_users" 'BEGIN { printf "%.0f", a * 1024 / u }') bytes per user (journal and call bookkeeping included)"

redis_requests() { # clients pipeline: about $seconds s of work
    local base
    if [ "$2" -gt 1 ]; then base=400000; elif [ "$1" -gt 1 ]; then base=100000; else base=30000; fi
    echo $((base * seconds))
}

# Check matrix: accessd, the echo baseline and Redis GET driven alike by
# scripts/bench-load.c (one C loop; each server's CPU per call from /proc),
# three runs of each, interleaved, the median taken of each figure;
# redis-benchmark's rate beside, as a cross-check of the generator.
frames_line=$("$bin/accessd-bench" --socket "$work/accessd.sock" --ids "$work/ids" --write-frames "$work/check.frames")
echo "$frames_line"
# As many Redis keys as the frames have users: the same working set on both sides.
redis_keys=$(field "$frames_line" requests)
value=$(head -c 64 /dev/zero | tr '\0' x)
for i in $(seq 0 $((redis_keys - 1))); do echo "SET key:$i $value"; done | redis-cli -s "$work/redis.sock" > /dev/null
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
load_median() { # name conns depth args...: a RESULT line of the medians of three runs
    local name="$1" conns="$2" depth="$3" run lines="" key
    shift 3
    for run in 1 2 3; do
        lines+="$("$work/bench-load" -c "$conns" -d "$depth" -t "$seconds" -w 1 -n "$name" "$@")"$'\n'
    done
    echo "$lines" | sed '/^$/d' >&2
    local out="RESULT name=$name conns=$conns depth=$depth"
    for key in rps p50_us p99_us p999_us max_us errors gen_cpu_us_per_call server_cpu_us_per_call; do
        out+=" $key=$(while read -r line; do [ -n "$line" ] && field "$line" $key; done <<< "$lines" | median)"
    done
    echo "$out runs=3"
}
check_rows=""
declare -A check_ratio_redis check_ratio_echo check_p99 redis_p99 check_cpu redis_cpu redis_rps
for conns in 1 32 128; do
    for depth in 1 16; do
        say "check conns=$conns depth=$depth"
        echo_line=$(load_median echo $conns $depth -s "$work/echo.sock" -f "$work/check.frames" -p $echo_pid)
        echo "$echo_line"
        nio_line=$(load_median nio_echo $conns $depth -s "$work/nio-echo.sock" -f "$work/check.frames" -p $nio_echo_pid)
        echo "$nio_line"
        redis_line=$(load_median redis_get $conns $depth -s "$work/redis.sock" --redis $redis_keys -p $redis_pid)
        echo "$redis_line"
        read -r rb_rps _ <<< "$(redis_run "$work/redis.sock" get $conns $depth "$(redis_requests $conns $depth)")"
        line=$(load_median check $conns $depth -s "$work/accessd.sock" -f "$work/check.frames" -p $accessd_pid)
        rps=$(field "$line" rps)
        e_rps=$(field "$echo_line" rps)
        r_rps=$(field "$redis_line" rps)
        line="$line ratio_vs_echo=$(ratio "$rps" "$e_rps") ratio_vs_redis=$(ratio "$rps" "$r_rps") redis_benchmark_rps=$rb_rps"
        echo "$line"
        key="$conns.$depth"
        check_ratio_echo[$key]=$(field "$line" ratio_vs_echo)
        check_ratio_redis[$key]=$(field "$line" ratio_vs_redis)
        check_p99[$key]=$(field "$line" p99_us)
        redis_p99[$key]=$(field "$redis_line" p99_us)
        check_cpu[$key]=$(field "$line" server_cpu_us_per_call)
        redis_cpu[$key]=$(field "$redis_line" server_cpu_us_per_call)
        redis_rps[$key]=$r_rps
        check_rows+="| $conns | $depth | $rps | $(field "$line" p50_us) | $(field "$line" p99_us) | $(field "$line" p999_us) | ${check_cpu[$key]} | $e_rps | $(field "$echo_line" p99_us) | $(field "$echo_line" server_cpu_us_per_call) | $(field "$nio_line" rps) | $(field "$nio_line" server_cpu_us_per_call) | $(ratio "$(field "$nio_line" rps)" "$r_rps") | $r_rps | $(field "$redis_line" p99_us) | ${redis_cpu[$key]} | $rb_rps | ${check_ratio_echo[$key]} | ${check_ratio_redis[$key]} | $(ratio "${check_cpu[$key]}" "${redis_cpu[$key]}") |"$'\n'
    done
done

# BatchCheck: 100 checks per call on 32 connections, one call in flight on
# each, by the same generator; checks per second against Redis GET pipelined
# 16 deep (the matrix above).
"$bin/accessd-bench" --socket "$work/accessd.sock" --ids "$work/ids" --write-frames "$work/batch.frames" --batch 100 >&2
say "batch check conns=32 depth=1, 100 checks per call"
batch_line=$(load_median batch_check 32 1 -s "$work/accessd.sock" -f "$work/batch.frames" -p $accessd_pid)
batch_checks=$(awk -v r="$(field "$batch_line" rps)" 'BEGIN { printf "%.0f", r * 100 }')
batch_cpu=$(awk -v c="$(field "$batch_line" server_cpu_us_per_call)" 'BEGIN { printf "%.3f", c / 100 }')
batch_ratio=$(ratio "$batch_checks" "${redis_rps[32.16]}")
echo "$batch_line checks_per_s=$batch_checks server_cpu_us_per_check=$batch_cpu ratio_vs_redis_pipelined_16=$batch_ratio"
batch_row="| 32 | 1 | 100 | $(field "$batch_line" rps) | $batch_checks | $(field "$batch_line" p50_us) | $(field "$batch_line" p99_us) | $(field "$batch_line" server_cpu_us_per_call) | $batch_cpu | ${redis_rps[32.16]} | $batch_ratio |"

# Mixed load.
mixed_rows=""
for conns in 32 128; do
    say "mixed conns=$conns"
    line=$("$bin/accessd-bench" --socket "$work/accessd.sock" --ids "$work/ids" --mix mixed --conns $conns --depth 1 --seconds "$seconds")
    echo "$line"
    mixed_rows+="| $conns | 1 | $(field "$line" rps) | $(field "$line" p50_us) | $(field "$line" p99_us) | $(field "$line" p999_us) | $(field "$line" read_p99_us) | $(field "$line" write_rps) | $(field "$line" write_p50_us) | $(field "$line" write_p99_us) | $(field "$line" errors) |"$'\n'
done

# Durable writes.
say "raw fdatasync rate"
raw=$("$bin/accessd-durability-bench" fsync --dir "$work" --seconds 2)
echo "$raw"
raw_rate=$(field "$raw" syncs_per_s)
durable_rows=""
declare -A durable_ratio
for writers in 1 8 32 64; do
    say "durable writes writers=$writers"
    read -r r_rps r_p50 r_p99 r_max <<< "$(redis_run "$work/redis-aof.sock" set $writers 1 $((5000 * seconds * (1 + writers / 4))))"
    echo "RESULT name=redis_set_aof_always writers=$writers rps=$r_rps p50_us=$r_p50 p99_us=$r_p99 max_us=$r_max"
    line=$("$bin/accessd-bench" --socket "$work/accessd.sock" --ids "$work/ids" --mix writes --conns $writers --depth 1 --seconds "$seconds" --name durable_writes)
    rps=$(field "$line" rps)
    durable_ratio[$writers]=$(ratio "$rps" "$r_rps")
    line="$line fsync=always ratio_vs_redis=${durable_ratio[$writers]} ratio_vs_raw_fdatasync=$(ratio "$rps" "$raw_rate")"
    echo "$line"
    durable_rows+="| $writers | $rps | $(field "$line" p50_us) | $(field "$line" p99_us) | $(field "$line" errors) | $r_rps | $r_p50 | $r_p99 | ${durable_ratio[$writers]} | $(ratio "$rps" "$raw_rate") |"$'\n'
done
kill "$accessd_pid"
wait "$accessd_pid" 2> /dev/null || true

# The shared log in PostgreSQL (issue 15): its own small data set and daemons.
say "shared log (scripts/bench-shared-log.sh)"
scripts/bench-shared-log.sh --bin "$bin" --seconds "$seconds" --rows "$work/shared-log-rows"
shared_rows=$(sed '/^| follower lag/d;/^$/d' "$work/shared-log-rows")
shared_lag=$(grep '^| follower lag' "$work/shared-log-rows" || true)

# Snapshot, recovery, memory at scale.
scale_rows=""
declare -A scale_pause scale_recovery scale_memory
for size in $sizes; do
    say "state of $size users"
    dir="$work/scale-$size"
    state=$("$bin/accessd-durability-bench" state --dir "$dir" --users "$size" --accounts $((size / 10)) --journal 100000)
    echo "$state"
    snapshot=$(echo "$state" | grep name=snapshot_write)
    # Recovery as a restart does it: in a fresh process (the state command's
    # own figure runs beside the state it just built, in a crowded heap).
    say "recovery of $size users in a fresh process"
    recovery=$("$bin/accessd-durability-bench" recover --dir "$dir" | sed 's/name=recovery/name=recovery_fresh_process/')
    echo "$recovery"
    say "accessd on $size users: memory and snapshot pause"
    "$bin/accessd" --socket "$work/scale.sock" --state-dir "$dir" --log-level warning > "$work/scale.out" 2> "$work/scale.err" &
    scale_pid=$!
    pids+=($scale_pid)
    wait_for "$work/scale.out" listening
    rss=$(rss_kib $scale_pid)
    per_user=$(awk -v a="$rss" -v u="$size" 'BEGIN { printf "%.0f", a * 1024 / u }')
    echo "RESULT name=memory users=$size rss_kib=$rss bytes_per_user=$per_user"
    pause=$("$bin/accessd-durability-bench" pause --socket "$work/scale.sock" --ids "$dir/bench-ids" --conns 8 --seconds 6)
    echo "$pause"
    kill "$scale_pid"
    wait "$scale_pid" 2> /dev/null || true
    rm -rf "$dir"
    longest=$(awk -v a="$(field "$pause" reads_max_wait_during_ms)" -v b="$(field "$pause" writes_max_wait_during_ms)" 'BEGIN { print (a > b ? a : b) }')
    scale_pause[$size]=$longest
    scale_recovery[$size]=$(field "$recovery" ms)
    scale_memory[$size]=$per_user
    scale_rows+="| $size | $(field "$snapshot" bytes) | $(field "$snapshot" ms) | $(field "$pause" snapshot_ms) | $(field "$pause" reads_max_wait_during_ms) | $(field "$pause" writes_max_wait_during_ms) | $(field "$pause" reads_max_wait_outside_ms) | $(field "$recovery" ms) | $per_user |"$'\n'
done

# The decision alone: the core in one process, Check beside a plain
# Dictionary lookup of the same users (accessd-core-bench, scripts/bench-core.sh).
big=$(echo $sizes | awk '{ print $NF }')
say "the core alone at $big users (accessd-core-bench)"
core=$("$bin/accessd-core-bench" --users "$big" --accounts $((big / 10)) --small 10000)
echo "$core"
core_line() { grep "name=$1 users=$big " <<< "$core" | grep "${2:-}" || true; }
core_lookup=$(field "$(core_line baseline_dictionary_lookup)" ns_per_call)
core_home=$(field "$(core_line check_home_account)" ns_per_call)
core_other=$(field "$(core_line check_other_account)" ns_per_call)
core_ratio_home=$(field "$(core_line vs_baseline figure=check_home_account)" ratio_vs_dictionary_lookup)
core_ratio_other=$(field "$(core_line vs_baseline figure=check_other_account)" ratio_vs_dictionary_lookup)
core_memory=$(field "$(core_line memory)" rss_bytes_per_user)

elapsed=$(( $(date +%s) - began ))
say "done in ${elapsed}s; writing $out"

# Targets.
verdict() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "**missed**"; fi; }
targets="| Check 32x1 vs Redis GET (at least 1.0x) | ${check_ratio_redis[32.1]}x | $(verdict "${check_ratio_redis[32.1]} >= 1.0") |
| Check 128x1 vs Redis GET (at least 1.0x) | ${check_ratio_redis[128.1]}x | $(verdict "${check_ratio_redis[128.1]} >= 1.0") |
| Check 32x1 vs echo (at least 0.5x) | ${check_ratio_echo[32.1]}x | $(verdict "${check_ratio_echo[32.1]} >= 0.5") |
| Check 32x1 p99 no worse than Redis GET's | ${check_p99[32.1]} us vs ${redis_p99[32.1]} us | $(verdict "${check_p99[32.1]} <= ${redis_p99[32.1]}") |
| Check 128x1 p99 no worse than Redis GET's | ${check_p99[128.1]} us vs ${redis_p99[128.1]} us | $(verdict "${check_p99[128.1]} <= ${redis_p99[128.1]}") |
| Check 32x1 server CPU per call at most 1.5x Redis GET's | ${check_cpu[32.1]} us vs ${redis_cpu[32.1]} us | $(verdict "${check_cpu[32.1]} <= 1.5 * ${redis_cpu[32.1]}") |
| Check 128x1 server CPU per call at most 1.5x Redis GET's | ${check_cpu[128.1]} us vs ${redis_cpu[128.1]} us | $(verdict "${check_cpu[128.1]} <= 1.5 * ${redis_cpu[128.1]}") |
| Check 32x16 vs Redis GET pipelined 16 (at least 0.5x) | ${check_ratio_redis[32.16]}x | $(verdict "${check_ratio_redis[32.16]} >= 0.5") |
| Check 32x16 server CPU per call (at most 1.5 us) | ${check_cpu[32.16]} us | $(verdict "${check_cpu[32.16]} <= 1.5") |
| BatchCheck of 100, 32x1: checks/s vs Redis GET pipelined 16 (at least 1.0x) | ${batch_ratio}x | $(verdict "$batch_ratio >= 1.0") |
| The decision alone at $big users: Check (home account) vs a Dictionary lookup (at most 2.5x) | ${core_ratio_home}x | $(verdict "$core_ratio_home <= 2.5") |
| The decision alone at $big users: Check (another account) vs a Dictionary lookup (at most 2.5x) | ${core_ratio_other}x | $(verdict "$core_ratio_other <= 2.5") |
| Durable writes, 32 writers, vs Redis SET appendfsync always (at least 1.0x) | ${durable_ratio[32]}x | $(verdict "${durable_ratio[32]} >= 1.0") |
| $big users: longest call wait during a snapshot (under 10 ms) | ${scale_pause[$big]} ms | $(verdict "${scale_pause[$big]} < 10") |
| $big users: recovery (under 3 s) | ${scale_recovery[$big]} ms | $(verdict "${scale_recovery[$big]} < 3000") |
| $big users: resident memory (under 1 KiB per user) | ${scale_memory[$big]} bytes/user | $(verdict "${scale_memory[$big]} < 1024") |"

cat > "$out" << EOF
# Benchmarks

Figures of one run of \`scripts/bench.sh\` (issue 6), in ${elapsed} s. The Check matrix and BatchCheck
are driven by \`scripts/bench-load.c\` for every server (see Check); the mixed and write loads by
\`accessd-bench\` (release): raw NIO channels over $(nproc) event loops, D calls in flight per connection,
requests written from pre-serialized bytes, replies read only as far as their id and code, latencies
in an HdrHistogram; ${seconds} s measured after 1 s of warm-up. The echo baseline is the same generator,
same code path, against \`scripts/bench-echo.c\` (epoll, returns each frame as is) and against an echo
server on SwiftNIO (\`accessd-bench --serve-nio-echo\`, see Check). Redis figures beside are
\`redis-benchmark -s SOCKET -d 64\` (\`-c\` connections, \`-P\` pipeline = depth) against a
\`redis-server\` on a private Unix socket; its latencies have millisecond resolution with 3 decimals.
Generator, servers and baselines all share the same machine, so every figure includes the
generator's own CPU.${note:+

**Note:** $note}

- Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) memory, Linux $(uname -r), state on $(df -h "$work" | awk 'NR==2 {print $1}') ($(stat -f -c %T "$work"))
- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Package.swift scripts || echo ' (with uncommitted changes)')
- $(redis-server --version | cut -d' ' -f1-3); $(swift --version 2>&1 | sed -n 1p)
- Data set: $setup_line; $snapshot_line

## Targets

| target | this run | |
|---|---|---|
$targets

## Check

accessd: \`AccessService/Check\` over the data set above (the frames rotate over all its users). One
generator for every server, \`scripts/bench-load.c\` (epoll, one thread, frames pre-serialized
with the id written per call, replies read to their id and code, a log-linear histogram; Redis: RESP
\`GET key:N\` over ${redis_keys} keys of 64 bytes through the same loop, as many keys as the frames have
users, so that both sides look up in a working set of the same size). Every figure is the median of
three ${seconds}-s runs (after 1 s of warm-up), interleaved echo, NIO echo, Redis, accessd. CPU
us/call: the server's user + system time over the run (/proc) per call. redis-benchmark's rate at
the same connections and pipeline is beside, as a cross-check of the generator. The NIO echo is
\`accessd-bench --serve-nio-echo\`: SwiftNIO with accessd's connection options (2 event loops, one
read of at most 8 KiB per connection per turn, one flush per read) returning every byte as it
came, no code of accessd's; it is the floor of the I/O layer accessd is built on, and "NIO echo vs
Redis" says how much of Redis's rate that floor leaves at each shape.

| conns | depth | accessd rps | p50 us | p99 us | p99.9 us | CPU us/call | echo rps | echo p99 us | echo CPU us/call | NIO echo rps | NIO echo CPU us/call | NIO echo vs Redis | Redis GET rps | Redis p99 us | Redis CPU us/call | redis-benchmark rps | ratio vs echo | ratio vs Redis | CPU vs Redis |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${check_rows}
## BatchCheck

\`AccessService/BatchCheck\` with 100 checks per call (the checks of the matrix above, taken in turn),
one call in flight on each of 32 connections, by \`scripts/bench-load.c\` (median of three runs);
checks per second against Redis GET pipelined 16 deep on 32 connections in the matrix above.

| conns | depth | checks per call | calls/s | checks/s | p50 us | p99 us | CPU us/call | CPU us/check | Redis GET 32x16 rps | checks/s vs Redis |
|---|---|---|---|---|---|---|---|---|---|---|
${batch_row}

## The decision alone

\`accessd-core-bench\` (as \`scripts/bench-core.sh\` runs it): $big users in $((big / 10)) accounts built
through \`execute\` in one process, then each figure the best of five rounds of 100,000 calls on
random users: a plain \`Dictionary<UserID, User>\` lookup of the same users, Check in the user's home
account (one lookup of the access kept for the user, a bit test), Check in a random other account
(mostly no path: the account and the client link looked up too). The process's RSS per user: $core_memory bytes.

| figure | ns per call | vs Dictionary lookup |
|---|---|---|
| Dictionary lookup | $core_lookup | 1.00 |
| Check, home account | $core_home | $core_ratio_home |
| Check, another account | $core_other | $core_ratio_other |

## Mixed load

90% Check, 10% \`AdminService/SetLicenseCount\` (each connection writes its own account), fsync = always.

| conns | depth | rps | p50 us | p99 us | p99.9 us | read p99 us | write rps | write p50 us | write p99 us | errors |
|---|---|---|---|---|---|---|---|---|---|---|
${mixed_rows}
## Durable writes

\`SetLicenseCount\` with fsync = always (each acknowledged write on disk), one write in flight per
writer, beside Redis SET with \`appendonly yes\`, \`appendfsync always\`, and the raw rate of 64-byte
append + fdatasync on the same filesystem: $raw_rate syncs/s.

| writers | accessd writes/s | p50 us | p99 us | errors | Redis AOF SET/s | Redis p50 us | Redis p99 us | ratio vs Redis | ratio vs raw fdatasync |
|---|---|---|---|---|---|---|---|---|---|
${durable_rows}
## Durable writes through a shared log

\`scripts/bench-shared-log.sh\`: a PostgreSQL 15 on this machine, reached through its Unix socket (its
data on the same disk), with \`synchronous_commit = on\` and no standby; 2,000 users in 200 accounts
loaded through the log. \`SetLicenseCount\` by \`accessd-bench\`, one write in flight per writer, each
acknowledged once its record is committed (an explicit transaction: BEGIN, \`accessd.append()\`,
COMMIT), beside the local journal (fsync = always) on the same data set. Three hosts: three accessd on
the one log, ceil(N/3) writers on each, three generators at once (rates summed, the worst
percentiles). Follower lag: \`scripts/cluster-writer.py lag\` (Python), one write at a time on one host,
timed from its acknowledgement to its events on another host's FollowEvents stream.

| log | hosts | writers | writes/s | p50 us | p99 us | errors | ratio vs local journal |
|---|---|---|---|---|---|---|---|
${shared_rows}

${shared_lag}

## Snapshot, recovery, memory

Per size: a state of N users in N/10 accounts built by \`accessd-durability-bench state\` (snapshot, then
100,000 journal records after it), recovered as accessd does at start, in a fresh process
(\`accessd-durability-bench recover\`); then a release accessd started on
it (memory per user: its VmRSS after loading, divided by users) while \`accessd-durability-bench pause\`
runs Checks on 7 connections and writes on one and asks for a snapshot.

| users | snapshot bytes | snapshot write ms | snapshot in accessd ms | longest read wait during ms | longest write wait during ms | longest read wait outside ms | recovery ms (snapshot + 100,000 records) | RSS bytes per user |
|---|---|---|---|---|---|---|---|---|
${scale_rows}
EOF
