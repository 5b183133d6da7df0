#!/usr/bin/env bash
# Several hosts, one history (README "Several hosts"): three accessd on one
# shared log in PostgreSQL, each in its own network namespace, with writers on
# all three for a bounded time, and faults meanwhile:
#   - kill -9 of one daemon, and its restart;
#   - one host cut off the network for 5 s;
#   - PostgreSQL crashed (pg_ctl -m immediate) and restarted;
#   - PostgreSQL stopped for 10 s: writes fail within their deadline, reads
#     go on while max_staleness_ms is above the outage and are refused
#     (UNAVAILABLE) once a reload sets it below;
#   - failover: the primary crashed and its synchronous standby promoted
#     while the writers run (every daemon lists both servers, in order).
# Then: every acknowledged write is on every host, the log's lsn and event
# seqs have no gap, its hash chain holds, every host ends at the same record
# with the same hash and the same state digest, a min_revision read on one
# host sees a write made on another, and a new host started after
# `accessd log trim` begins from the log's newest snapshot and agrees. Last,
# the log loses its newest records (an asynchronous failover): the host
# that applied them refuses writes with DATA_LOSS, answers reads, and
# `accessd resync` rebuilds it.
#
#   scripts/test-cluster.sh [--seconds 60]
#
# ACCESSD names the accessd binary (default: the debug build's). Needs root
# (network namespaces, runuser); installs PostgreSQL 15 when missing. Writers
# are scripts/cluster-writer.py (Python's protobuf package, modules made by
# protoc from proto/). Prints one line per check and "N passed, M failed"
# (exit 1 if any failed). About 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

seconds=60
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        *) echo "test-cluster.sh: unknown flag $1" >&2; exit 64 ;;
    esac
done
[ "$seconds" -ge 60 ] || { echo "test-cluster.sh: --seconds must be at least 60 (the faults take 55 s)" >&2; exit 64; }
if [ "$(id -u)" != 0 ]; then
    echo "test-cluster.sh: skipped: needs root (network namespaces, runuser)" >&2
    exit 0
fi
source scripts/lib/netns.sh
source scripts/lib/postgres.sh
pg_install >&2
started_at=$SECONDS
accessd="${ACCESSD:-$(swift build --show-bin-path)/accessd}"
[ -x "$accessd" ] || { echo "test-cluster.sh: no accessd at $accessd (swift build, or set ACCESSD)" >&2; exit 1; }

# /var/tmp, 0755: the postgres user must reach the servers' directories.
work="$(mktemp -d /var/tmp/accessd-cluster.XXXXXX)"
chmod 0755 "$work"
prefix="cl$$"
primary="$work/pg1"
standby="$work/pg2"
hosts=(a b c)
declare -A daemon_pid=()
writer_pids=()
cleanup() {
    local status=$?
    local pid
    for pid in "${writer_pids[@]}" "${daemon_pid[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    pg_crash "$standby" 2>/dev/null || true
    pg_crash "$primary" 2>/dev/null || true
    lab_down "$prefix" 2>/dev/null || true
    if [ "$status" != 0 ] && [ -n "${KEEP_CLUSTER:-}" ]; then
        echo "test-cluster.sh: kept $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
check() { # check NAME COMMAND...
    local name="$1"
    shift
    if "$@" >"$work/check.out" 2>&1; then
        passed=$((passed + 1))
        echo "ok - $name"
    else
        failed=$((failed + 1))
        echo "not ok - $name"
        sed 's/^/    /' "$work/check.out" | tail -25
    fi
}
say() { echo "# [$((SECONDS - started_at)) s] $*"; }
eventually() { # eventually SECONDS COMMAND...
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

# ---- the writers' Python modules ----------------------------------------------
mkdir -p "$work/python"
protoc --python_out="$work/python" -Iproto proto/accessd/v1/*.proto
peer() { python3 scripts/cluster-writer.py "$work/python" "$@"; }

# ---- the network and PostgreSQL ------------------------------------------------
lab_up "$prefix" pg1 pg2 a b c d 2>"$work/lab_up.out" || { cat "$work/lab_up.out" >&2; exit 1; }
pg1_addr="$(lab_addr pg1)"
pg2_addr="$(lab_addr pg2)"
say "lab $prefix: pg1 $pg1_addr, pg2 $pg2_addr, hosts a b c d from $(lab_addr a)"
pg_init "$primary"
pg_start "$primary" "$(lab_ns pg1)" "$pg1_addr"
password="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$password" >"$work/password"
chmod 0600 "$work/password"
pg_make_role "$primary" accessd "$password"
pg_make_role "$primary" accessd_trim "$password"
pg_make_db "$primary" accessd postgres >/dev/null

# The schema, made as the superuser over the primary's socket.
cat >"$work/admin.conf" <<EOF
log = postgresql
postgresql_hosts = $primary/sock
postgresql_user = postgres
state_dir = $work/admin-state
socket = $work/admin.sock
EOF
check "accessd log init makes the schema and grants the daemons' role" \
    "$accessd" --config "$work/admin.conf" log init --writer-role accessd --trim-role accessd_trim
pg_standby "$primary" "$standby" "$(lab_ns pg2)" "$pg2_addr" "$pg1_addr" standby1
say "PostgreSQL: primary $pg1_addr, synchronous standby $pg2_addr"

# ---- the daemons -------------------------------------------------------------------
configure() { # configure HOST MAX_STALENESS_MS
    mkdir -p "$work/$1"
    cat >"$work/$1/accessd.conf" <<EOF
socket = $work/$1/accessd.sock
state_dir = $work/$1/state
log = postgresql
postgresql_hosts = $pg1_addr:5432, $pg2_addr:5432
postgresql_password_file = $work/password
log_writer = $1
log_connect_timeout_ms = 1000
log_append_timeout_ms = 2000
log_poll_ms = 500
max_staleness_ms = $2
snapshot_every_records = 300
log_level = info
EOF
}
start_daemon() { # start_daemon HOST
    local host="$1" started
    started="$(grep -c "listening on" "$work/$host/out" 2>/dev/null || true)"
    ip netns exec "$(lab_ns "$host")" "$accessd" --config "$work/$host/accessd.conf" >>"$work/$host/out" 2>&1 &
    daemon_pid[$host]=$!
    eventually 30 eval '[ "$(grep -c "listening on" "$work/$host/out")" -gt "${started:-0}" ]' ||
        { echo "accessd on $host did not start:"; tail -20 "$work/$host/out"; return 1; }
}
stat_of() { # stat_of HOST FIELD
    local out
    out="$(peer stats "$work/$1/accessd.sock")" || { echo "$out"; return 1; }
    awk -F= -v f="$2" '$1 == f { print substr($0, length(f) + 2) }' <<<"$out"
}
connected() { [ "$(stat_of "$1" log_connected)" = true ]; }
for host in "${hosts[@]}"; do configure "$host" 60000; done
all_started() {
    local host
    for host in "${hosts[@]}"; do start_daemon "$host" || return; done
    for host in "${hosts[@]}"; do eventually 15 connected "$host" || { echo "$host: not connected"; return 1; }; done
}
check "three accessd start on the shared log (hosts a b c, in their namespaces) and connect to it" all_started

# ---- writers on all three, and the faults --------------------------------------------
deadline_ms=2000
for host in "${hosts[@]}"; do
    peer write "$work/$host/accessd.sock" "$host" "$seconds" "$work/$host/acks" "$deadline_ms" >"$work/$host/writer.out" 2>&1 &
    writer_pids+=($!)
done
t0=$SECONDS
at() { # at SECONDS: sleep until SECONDS after the writers started
    local wait=$((t0 + $1 - SECONDS))
    [ $wait -le 0 ] || sleep $wait
}
faults=0

at 4
say "kill -9 accessd on b"
kill -9 "${daemon_pid[b]}"
wait "${daemon_pid[b]}" 2>/dev/null || true
faults=$((faults + 1))
sleep 2
check "accessd on b, killed with SIGKILL, starts again and connects" eval 'start_daemon b && eventually 15 connected b'

at 12
say "cut c off the network for 5 s"
lab_cut c
faults=$((faults + 1))
sleep 5
lab_heal c

at 22
say "crash PostgreSQL (pg_ctl -m immediate) and restart it"
pg_crash "$primary"
faults=$((faults + 1))
sleep 2
pg_start "$primary"

at 30
say "stop PostgreSQL for 10 s"
pg_stop "$primary"
faults=$((faults + 1))
stopped_at=$SECONDS
sleep 3
write_fails_fast() {
    local out code ms
    out="$(peer one "$work/a/accessd.sock" "cluster-outage-write")"
    read -r code _ _ _ ms _ <<<"$out"
    echo "$out"
    [ "$code" = UNAVAILABLE ] || [ "$code" = DEADLINE_EXCEEDED ] || { echo "expected UNAVAILABLE"; return 1; }
    [ "$ms" -le 5500 ] || { echo "took $ms ms, deadline 5000"; return 1; }
}
check "while PostgreSQL is stopped, a write on a fails within its deadline (UNAVAILABLE)" write_fails_fast
# Any acknowledged write's owner serves for the reads.
first_ack() { awk '$1 == "ok" { print $3, $4; exit }' "$work/a/acks"; }
read -r probe_account probe_email <<<"$(first_ack)"
read_answers() { # read_answers HOST EXPECTED_CODE
    local out
    out="$(peer check "$work/$1/accessd.sock" "$probe_email" "$probe_account")"
    echo "$out"
    [ "${out%% *}" = "$2" ]
}
check "while PostgreSQL is stopped, a Check on a is answered (max_staleness_ms 60000 is above the outage)" read_answers a OK
configure a 2000
kill -HUP "${daemon_pid[a]}"
sleep 3
check "after a reload sets max_staleness_ms to 2000, a Check on a fails closed with UNAVAILABLE" read_answers a UNAVAILABLE
configure a 60000
kill -HUP "${daemon_pid[a]}"
at 40
pg_start "$primary"
say "PostgreSQL back after $((SECONDS - stopped_at)) s"

at 45
say "failover: crash the primary, promote the synchronous standby"
pg_crash "$primary"
pg_promote "$standby"
faults=$((faults + 1))
say "the standby at $pg2_addr is the primary"

for pid in "${writer_pids[@]}"; do wait "$pid" || true; done
writer_pids=()
written_at=$SECONDS
for host in "${hosts[@]}"; do cat "$work/$host/writer.out"; done

# ---- convergence ---------------------------------------------------------------------
sql() { PGDATABASE=accessd pg_psql "$standby" "$@"; }
log_head() { sql "SELECT coalesce(max(lsn), 0) FROM accessd.log"; }
converged() {
    local head host
    head="$(log_head)" || return
    for host in "${hosts[@]}"; do
        [ "$(stat_of "$host" log_applied_lsn)" = "$head" ] || {
            echo "the log's newest record is $head; $host has applied $(stat_of "$host" log_applied_lsn) (writes stopped: $(stat_of "$host" writes_stopped))"
            return 1
        }
    done
}
check "every host reaches the log's newest record" eventually 60 converged
converge_s=$((SECONDS - written_at))
# The log's rows as they are now, for a failure's post-mortem (KEEP_CLUSTER=1 keeps $work).
sql "COPY (SELECT lsn, writer, first_seq, last_seq, encode(batch_id, 'hex'), encode(prev_hash, 'hex'), encode(hash, 'hex'), committed_at FROM accessd.log ORDER BY lsn) TO STDOUT" >"$work/log-rows" || true
say "converged $converge_s s after the writers stopped, at record $(log_head)"

acked=0
for host in "${hosts[@]}"; do acked=$((acked + $(grep -c '^ok ' "$work/$host/acks" || true))); done
acks=()
for host in "${hosts[@]}"; do acks+=("$work/$host/acks"); done
for host in "${hosts[@]}"; do
    check "every acknowledged write ($acked) is on $host" peer verify "$work/$host/accessd.sock" "${acks[@]}"
done
within_deadline() {
    local slow
    slow="$(awk -v limit=$((deadline_ms + 500)) '$1 == "err" && $4 > limit' "${acks[@]}")"
    [ -z "$slow" ] || { echo "answered after the deadline:"; head -5 <<<"$slow"; return 1; }
}
check "every failed write was answered within its deadline ($deadline_ms ms, +500)" within_deadline
some_unavailable() { grep -h '^err ' "${acks[@]}" | grep -c ' UNAVAILABLE ' >/dev/null; }
check "writes during the faults failed with UNAVAILABLE" some_unavailable

gapless() {
    local out
    out="$(sql "SELECT count(*) = max(lsn) - min(lsn) + 1 AND min(lsn) = 1 FROM accessd.log")"
    [ "$out" = t ] || { echo "lsns: $(sql "SELECT min(lsn), max(lsn), count(*) FROM accessd.log")"; return 1; }
    out="$(sql "SELECT count(*) FROM (SELECT first_seq, lag(last_seq) OVER (ORDER BY lsn) AS before FROM accessd.log) t WHERE before IS NOT NULL AND first_seq <> before + 1")"
    [ "$out" = 0 ] || { echo "$out records do not start at the seq after the previous one's"; return 1; }
}
check "the log's lsns and event seqs have no gap" gapless
chain_holds() {
    local out
    out="$(sql "SELECT count(*) FROM (SELECT lsn, prev_hash, hash, record, lag(hash) OVER (ORDER BY lsn) AS before FROM accessd.log) t WHERE (before IS NOT NULL AND prev_hash <> before) OR hash <> sha256(prev_hash || record)")"
    [ "$out" = 0 ] || { echo "$out records break the chain"; return 1; }
}
check "the log's hash chain holds (each record names the previous hash; hash = sha256(prev || record))" chain_holds
same_everywhere() { # same_everywhere FIELD [EXPECTED]
    local field="$1" expected="${2:-}" host value
    for host in "${hosts[@]}"; do
        value="$(stat_of "$host" "$field")" || return
        [ -n "$value" ] || { echo "$host: no $field"; return 1; }
        [ -n "$expected" ] || expected="$value"
        [ "$value" = "$expected" ] || { echo "$host: $field $value, expected $expected"; return 1; }
    done
    echo "$field $expected"
}
head_hash="$(sql "SELECT encode(hash, 'hex') FROM accessd.log ORDER BY lsn DESC LIMIT 1")"
check "every host's hash at the newest record is the log's" same_everywhere log_hash "$head_hash"
head_seq="$(sql "SELECT max(last_seq) FROM accessd.log")"
check "every host is at revision $head_seq, the log's newest event seq" same_everywhere revision "$head_seq"
check "every host has the same state digest" same_everywhere state_digest
no_stopped_writes() {
    local host
    for host in "${hosts[@]}"; do
        [ -z "$(stat_of "$host" writes_stopped)" ] || { echo "$host: $(stat_of "$host" writes_stopped)"; return 1; }
    done
}
check "no host stopped its writes" no_stopped_writes

min_revision_read() {
    local code account email revision ms out
    read -r code account email revision ms _ <<<"$(peer one "$work/a/accessd.sock" "cluster-min-revision")"
    [ "$code" = OK ] || { echo "the write on a: $code"; return 1; }
    out="$(peer check "$work/b/accessd.sock" "$email" "$account" "$revision" 5000)"
    echo "write on a at revision $revision ($ms ms); check on b with min_revision: $out"
    [ "${out%% *}" = OK ] && [[ "$out" == "OK allowed "* ]]
}
check "a Check on b with min_revision from a write on a sees the write" min_revision_read
follower_lag() {
    local out
    out="$(peer lag "$work/a/accessd.sock" "$work/b/accessd.sock" 20)" || { echo "$out"; return 1; }
    echo "$out"
    [[ "$out" == "RESULT name=follower_lag writes=20 "* ]]
}
check "writes on a reach b's FollowEvents stream (follower lag over 20 writes)" follower_lag
grep -h "name=follower_lag" "$work/check.out" | sed 's/^/# /' || true

# ---- trim, and a new host from the newest snapshot ------------------------------------
cat >"$work/trim.conf" <<EOF
log = postgresql
postgresql_hosts = $standby/sock
postgresql_user = postgres
state_dir = $work/admin-state
socket = $work/admin.sock
EOF
snapshots="$(sql "SELECT count(*) FROM accessd.snapshots")"
say "the log holds $snapshots snapshots"
trimmed() {
    "$accessd" --config "$work/trim.conf" log trim || return
    [ "$(sql "SELECT min(lsn) > 1 FROM accessd.log")" = t ] || { echo "nothing trimmed"; return 1; }
}
check "accessd log trim removes the records before the second-newest snapshot" trimmed
configure d 60000
sed -i "s/, $pg2_addr:5432//; s/$pg1_addr:5432/$pg2_addr:5432/" "$work/d/accessd.conf"
d_converged() {
    [ "$(stat_of d log_applied_lsn)" = "$(log_head)" ] || return 1
    [ "$(stat_of d state_digest)" = "$(stat_of a state_digest)" ]
}
new_host() {
    start_daemon d || return
    grep -q "starting from the log's newest snapshot" "$work/d/out" || { echo "d did not start from a snapshot:"; tail -20 "$work/d/out"; return 1; }
    eventually 30 d_converged || { echo "d: at record $(stat_of d log_applied_lsn) of $(log_head)"; return 1; }
}
check "a new host started after the trim begins from the newest snapshot and reaches the others' state" new_host
check "every acknowledged write is on d" peer verify "$work/d/accessd.sock" "${acks[@]}"

# ---- divergence, and accessd resync ------------------------------------------------------
# The log loses its last records, as after a failover to a standby that was
# not synchronous: a host that applied them no longer follows the log.
lost_from=$(($(log_head) - 2))
# The records first: a snapshot upload under way then either committed before (and
# its row goes with the second statement) or finds its record gone and stores nothing.
sql "DELETE FROM accessd.log WHERE lsn >= $lost_from" "DELETE FROM accessd.snapshots WHERE lsn >= $lost_from" >/dev/null
say "removed records $lost_from... from the log"
write_refused_data_loss() {
    local out
    out="$(peer one "$work/a/accessd.sock" "cluster-after-loss")"
    echo "$out"
    [ "${out%% *}" = DATA_LOSS ] && [[ "$out" =~ record\ [0-9]+ ]]
}
check "after the log lost records a applied, a write on a is refused with DATA_LOSS naming the record" write_refused_data_loss
check "reads on a go on meanwhile" read_answers a OK
stopped_reported() { [ -n "$(stat_of a writes_stopped)" ]; }
check "GetStats on a says why its writes stopped" stopped_reported
resynced() {
    kill -TERM "${daemon_pid[a]}"
    wait "${daemon_pid[a]}" 2>/dev/null || true
    ip netns exec "$(lab_ns a)" "$accessd" --config "$work/a/accessd.conf" resync || return
    start_daemon a || return
    eventually 30 eval '[ "$(stat_of a log_applied_lsn)" = "$(log_head)" ]' || { echo "a at $(stat_of a log_applied_lsn) of $(log_head)"; return 1; }
    local out
    out="$(peer one "$work/a/accessd.sock" "cluster-after-resync")"
    echo "$out"
    [ "${out%% *}" = OK ]
}
check "accessd resync rebuilds a from the log; a catches up and takes writes again" resynced

# ---- figures ---------------------------------------------------------------------------
errors="$(grep -h '^err \|^down ' "${acks[@]}" | awk '{ n[$1 == "down" ? "down" : $3]++ } END { for (k in n) printf "%s=%d ", k, n[k] }')"
say "figures: $acked writes acknowledged on 3 hosts in $seconds s, lost 0 of them unless a check above says otherwise; $faults faults (kill -9, cut 5 s, PostgreSQL crash, PostgreSQL stopped 10 s, failover); failed attempts: ${errors:-none}; converged in $converge_s s; log head $(log_head), revision $head_seq"
echo "$passed passed, $failed failed ($((SECONDS - started_at)) s)"
[ "$failed" = 0 ]
