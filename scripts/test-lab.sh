#!/usr/bin/env bash
# The test lab's own test: scripts/lib/netns.sh and scripts/lib/postgres.sh
# used for real, the way scripts/test-cluster.sh uses them. A primary
# PostgreSQL in namespace pg, a synchronous standby in pg2, a client host h1:
# password logins over TCP from h1, a cut of h1 (connects both ways and an
# open session), a cut of the standby (commits wait for it), replication,
# pg_crash and recovery, promotion; then everything is torn down and checked
# gone (namespaces, server processes).
#
#   scripts/test-lab.sh
#
# Needs root (network namespaces, runuser); installs PostgreSQL 15 when
# missing. Prints one line per check and ends with "N passed, M failed"
# (exit 1 if any failed). About 15 s.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "test-lab.sh: skipped: needs root (network namespaces, runuser)" >&2
    exit 0
fi
source scripts/lib/netns.sh
source scripts/lib/postgres.sh
started_at=$SECONDS

# /var/tmp, 0755: the postgres user must reach the servers' directories.
work="$(mktemp -d /var/tmp/accessd-test-lab.XXXXXX)"
chmod 0755 "$work"
prefix="lab$$"
primary="$work/primary"
standby="$work/standby"
listener_pid=""
cleanup() {
    local status=$?
    [ -z "$listener_pid" ] || kill "$listener_pid" 2>/dev/null || true
    pg_crash "$standby" 2>/dev/null || true
    pg_crash "$primary" 2>/dev/null || true
    lab_down "$prefix" || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
check() { # check NAME CONDITION-COMMAND...
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
equals() { # equals EXPECTED COMMAND...: COMMAND's output is EXPECTED
    local expected="$1" out
    shift
    out="$("$@")" || return
    [ "$out" = "$expected" ] || { echo "expected '$expected', got '$out'"; return 1; }
}
eventually() { # eventually SECONDS COMMAND...: COMMAND succeeds within SECONDS
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

# ---- the network -------------------------------------------------------------
lab_up "$prefix" pg pg2 h1 2>"$work/lab_up.out" || { cat "$work/lab_up.out" >&2; exit 1; }
pg_addr="$(lab_addr pg)"
pg2_addr="$(lab_addr pg2)"
h1_addr="$(lab_addr h1)"
echo "lab $prefix: pg $pg_addr, pg2 $pg2_addr, h1 $h1_addr"

closed_namespace() { # lo up, no default route
    local ns="$1" lo routes
    lo="$(ip -n "$ns" -o link show lo)" && routes="$(ip -n "$ns" route show default)" || return
    [[ "$lo" == *"<LOOPBACK,UP,"* ]] || { echo "$ns: lo is not up: $lo"; return 1; }
    [ -z "$routes" ] || { echo "$ns: a default route: $routes"; return 1; }
}
all_closed() {
    local ns
    for ns in "$prefix-br" "$prefix-pg" "$prefix-pg2" "$prefix-h1"; do closed_namespace "$ns" || return; done
}
check "every namespace has lo up and no default route" all_closed
unreachable_outside() {
    local out
    if out="$(lab_exec h1 ip route get 1.1.1.1 2>&1)"; then echo "h1 has a route out: $out"; return 1; fi
    [[ "$out" == *"unreachable"* ]] || { echo "$out"; return 1; }
}
check "from h1, an address outside the lab is unreachable" unreachable_outside

# ---- the primary, and logins from h1 -----------------------------------------
pg_init "$primary"
pg_start "$primary" "$(lab_ns pg)" "$pg_addr"
app_password="lab 'pass\"word"
pg_make_role "$primary" app "$app_password"
pg_psql "$primary" "CREATE TABLE lab (id int PRIMARY KEY, what text)" "GRANT SELECT, INSERT ON lab TO app" >/dev/null

# psql from h1 over TCP as role app; every call bounded (a hung one fails).
h1_psql() { # h1_psql ADDR SQL [PASSWORD]
    PGPASSWORD="${3-$app_password}" PGCONNECT_TIMEOUT=2 timeout 10 \
        ip netns exec "$(lab_ns h1)" "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$1" -U app -d postgres -c "$2"
}
check "the primary listens on $pg_addr in namespace pg" equals "$pg_addr" pg_psql "$primary" "SHOW listen_addresses"
check "from h1, psql -h $pg_addr -U app with the password logs in" \
    equals "app $pg_addr" h1_psql "$pg_addr" "SELECT current_user || ' ' || host(inet_server_addr())"
refused() { ! "$@"; }
check "from h1, a wrong password is refused" refused h1_psql "$pg_addr" "SELECT 1" wrong

# ---- a cut host ----------------------------------------------------------------
# A TCP listener in h1, for connects from pg to h1.
# Not lab_exec in the background: $! would be the subshell running the
# function, not the listener.
ip netns exec "$(lab_ns h1)" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen()
while True:
    c, _ = s.accept(); c.close()' &
listener_pid=$!
tcp_from_pg_to_h1() { lab_exec pg timeout 2 bash -c "exec 3<>/dev/tcp/$h1_addr/7000"; }
check "from pg, a TCP connect to h1 succeeds" eventually 5 tcp_from_pg_to_h1

# An open session from h1, to see what a cut does to it.
coproc SESSION { PGPASSWORD="$app_password" ip netns exec "$(lab_ns h1)" "$PG_BIN/psql" -X -At -h "$pg_addr" -U app -d postgres 2>&1; }
# Kept: bash unsets SESSION and SESSION_PID once the coprocess ends.
session_in="${SESSION[1]}" session_out="${SESSION[0]}" session_pid="$SESSION_PID"
session_answers() { # session_answers N SECONDS: SELECT N answers N in time
    local line
    echo "SELECT $1;" >&"$session_in"
    read -t "$2" -r line <&"$session_out" && [ "$line" = "$1" ] || { echo "got '${line:-nothing}'"; return 1; }
}
check "an open session from h1 answers" session_answers 1 5

lab_cut h1
cut_at=$SECONDS
quick_refusal() {
    local t0=$SECONDS
    ! h1_psql "$pg_addr" "SELECT 1" || return
    [ $((SECONDS - t0)) -le 4 ] || { echo "took $((SECONDS - t0)) s (connect_timeout=2)"; return 1; }
}
check "while h1 is cut, psql from h1 fails within its connect_timeout" quick_refusal
check "while h1 is cut, a TCP connect from pg to h1 fails" refused tcp_from_pg_to_h1
session_silent() {
    local line
    echo "SELECT 2;" >&"$session_in"
    if read -t 1 -r line <&"$session_out"; then echo "answered '$line' through the cut"; return 1; fi
}
check "while h1 is cut, its open session hangs (no answer, no reset)" session_silent
lab_heal h1
echo "(h1 was cut for $((SECONDS - cut_at)) s)"
session_resumes() {
    local line
    read -t 8 -r line <&"$session_out" && [ "$line" = 2 ] || { echo "got '${line:-nothing}'"; return 1; }
    session_answers 3 5
}
check "after heal, the open session resumes (the query sent during the cut is answered)" session_resumes
check "after heal, psql from h1 logs in again" equals 1 h1_psql "$pg_addr" "SELECT 1"
check "after heal, a TCP connect from pg to h1 succeeds" tcp_from_pg_to_h1
exec {session_in}>&-
wait "$session_pid" 2>/dev/null || true
kill "$listener_pid" 2>/dev/null || true
wait "$listener_pid" 2>/dev/null || true
listener_pid=""

# ---- a synchronous standby ---------------------------------------------------------
pg_standby "$primary" "$standby" "$(lab_ns pg2)" "$pg2_addr" "$pg_addr" standby1
check "pg_stat_replication shows standby1 streaming, synchronous" \
    equals "standby1 streaming sync $pg2_addr" pg_psql "$primary" \
    "SELECT concat_ws(' ', application_name, state, sync_state, host(client_addr)) FROM pg_stat_replication"
check "the standby listens on $pg2_addr and is in recovery" \
    equals "$pg2_addr true" pg_psql "$standby" "SELECT current_setting('listen_addresses') || ' ' || pg_is_in_recovery()"
check "a row committed on the primary from h1 (INSERT over TCP)" h1_psql "$pg_addr" "INSERT INTO lab VALUES (1, 'before the crash')"
on_standby() { equals "$2" pg_psql "$standby" "SELECT count(*) FROM lab WHERE id = $1"; }
check "is on the standby" eventually 5 on_standby 1 1

# A commit waits for the synchronous standby: cut it off, the commit hangs.
lab_cut pg2
commit_waits() { # the commit is not acknowledged within 2 s
    local status=0
    PGPASSWORD="$app_password" timeout 2 ip netns exec "$(lab_ns h1)" "$PG_BIN/psql" -X -q -At -h "$pg_addr" -U app -d postgres \
        -c "INSERT INTO lab VALUES (2, 'while the standby was cut')" || status=$?
    [ "$status" = 124 ] || { echo "psql ended with $status, not killed by timeout"; return 1; }
}
check "while the standby is cut, a commit on the primary waits for it" commit_waits
lab_heal pg2
check "after heal, that commit reaches the standby" eventually 10 on_standby 2 1

# ---- crash and recovery --------------------------------------------------------------
check "a second row committed on the primary" h1_psql "$pg_addr" "INSERT INTO lab VALUES (3, 'acknowledged before the crash')"
crashed_pid="$(pg_pid "$primary")"
pg_crash "$primary"
check "pg_crash stops the primary at once" refused _pg_alive "$crashed_pid"
pg_start "$primary"
recovered() {
    grep -q "automatic recovery in progress" "$primary/log" || { echo "no recovery in $primary/log"; return 1; }
    equals "3 false" pg_psql "$primary" "SELECT count(*) || ' ' || pg_is_in_recovery() FROM lab"
}
check "pg_start after pg_crash recovers in namespace pg with every committed row" recovered
check "from h1, psql logs in to the restarted primary" equals 1 h1_psql "$pg_addr" "SELECT 1"
sync_again() { equals "streaming sync" pg_psql "$primary" "SELECT concat_ws(' ', state, sync_state) FROM pg_stat_replication"; }
check "the standby streams again, synchronous" eventually 15 sync_again

# ---- failover --------------------------------------------------------------------------
check "a last row committed on the primary" h1_psql "$pg_addr" "INSERT INTO lab VALUES (4, 'acknowledged before the failover')"
pg_crash "$primary"
pg_promote "$standby"
check "pg_promote: the standby is out of recovery" equals f pg_psql "$standby" "SELECT pg_is_in_recovery()"
check "the promoted standby has every acknowledged row" equals "1 2 3 4" pg_psql "$standby" "SELECT string_agg(id::text, ' ' ORDER BY id) FROM lab"
check "from h1, an INSERT on the promoted standby ($pg2_addr) commits" h1_psql "$pg2_addr" "INSERT INTO lab VALUES (5, 'after the failover')"

# ---- teardown ---------------------------------------------------------------------------
pids=""
for dir in "$primary" "$standby"; do
    if pid="$(pg_pid "$dir" 2>/dev/null)"; then pids="$pids $pid"; fi
done
pg_stop "$standby"
pg_stop "$primary"
lab_down "$prefix"
no_namespace_left() {
    local left
    left="$(ip netns list | awk -v p="$prefix-" 'index($1, p) == 1 { print $1 }')"
    [ -z "$left" ] || { echo "left: $left"; return 1; }
}
check "lab_down leaves no namespace of the lab" no_namespace_left
# A server's processes all work in its data directory.
no_server_left() {
    local pid link left=""
    for pid in $pids; do _pg_alive "$pid" && left="$left $pid(postmaster)"; done
    for link in /proc/[0-9]*/cwd; do
        [[ "$(readlink "$link" 2>/dev/null)" == "$work"/* ]] && left="$left ${link//[^0-9]/}"
    done
    [ -z "$left" ] || { echo "left:$left"; return 1; }
}
check "no server process of the lab is left" no_server_left
check "lab_down again (nothing left) succeeds" lab_down "$prefix"

echo "$passed passed, $failed failed ($((SECONDS - started_at)) s)"
[ "$failed" = 0 ]
