# Throw-away PostgreSQL 15 servers for tests (scripts/test-lab.sh,
# scripts/test-cluster.sh), run as root without systemd. Sourced, never run.
#
#   pg_install                     install PostgreSQL 15 if missing
#   pg_init DIR                    a new server in DIR (data, log, sock)
#   pg_start DIR [NETNS ADDR]      start it (see below); waits until it is ready
#   pg_stop DIR                    fast shutdown (nothing if not running)
#   pg_crash DIR                   immediate shutdown: recovery at the next start
#   pg_wait DIR [SECONDS]          wait until it accepts connections (30 s)
#   pg_running DIR                 status 0 if its postmaster runs
#   pg_pid DIR                     the postmaster's pid
#   pg_psql DIR [SQL...]           each SQL as psql -c (or stdin), as postgres
#                                  through the socket; unaligned, no headers
#   pg_conf DIR 'name = value'...  settings into postgresql.conf (+ reload)
#   pg_make_role DIR NAME PASSWORD [ATTRIBUTE...]
#                                  a login role with a password (made or
#                                  updated); ATTRIBUTEs like REPLICATION
#   pg_make_db DIR NAME OWNER      a database
#   pg_standby PRIMARY_DIR STANDBY_DIR NETNS ADDR PRIMARY_ADDR [APP_NAME]
#                                  a synchronous streaming standby, running
#   pg_promote DIR [SECONDS]       promote a standby; waits until writable
#
# DIR is made absolute; DIR/data is the cluster, DIR/log its server log,
# DIR/sock its Unix socket (port 5432 everywhere: each server has its own
# socket directory and network namespace). Every parent of DIR must be
# searchable by the postgres user (mktemp -d makes 0700 directories: chmod
# 755 them).
#
# pg_start DIR NETNS ADDR starts the server inside network namespace NETNS,
# listening on ADDR (TCP, port 5432) and on its socket; pg_start DIR ""
# "" listens on the socket only, in the root namespace; pg_start DIR alone
# starts it as it was started last time (socket only the first time), which
# is what a restart after pg_crash wants. The socket is reachable from the
# root namespace whatever NETNS is.
#
# Authentication: trust on the socket (any role), scram-sha-256 over TCP from
# PG_CLIENT_NET (default $LAB_SUBNET.0/24, which is 10.231.0.0/24 unless
# scripts/lib/netns.sh was told otherwise), for databases and replication;
# nothing else is let in.
#
# Failures say what failed on stderr and return non-zero (also where set -e
# does not apply, as in `if pg_start ...`); psql calls are bounded by
# PG_PSQL_TIMEOUT seconds (default 60).

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_CLIENT_NET="${PG_CLIENT_NET:-${LAB_SUBNET:-10.231.0}.0/24}"
PG_PSQL_TIMEOUT="${PG_PSQL_TIMEOUT:-60}"

_pg_fail() {
    echo "postgres.sh: $*" >&2
    return 1
}

# From /: postgres cannot enter root's working directory (and says so).
_pg_as_postgres() {
    (cd / && runuser -u postgres -- "$@")
}

_pg_dir() {
    [ -n "${1:-}" ] || _pg_fail "no DIR given" || return
    realpath -m -- "$1"
}

# The tail of a log, after a failure, indented.
_pg_tail() {
    [ -f "$1" ] && tail -n "${2:-15}" "$1" | sed 's/^/    /' >&2
    return 0
}

pg_install() {
    [ -x "$PG_BIN/initdb" ] && return 0
    echo "installing postgresql" >&2
    { apt-get update -qq && apt-get install -y -qq --no-upgrade postgresql; } >&2 ||
        _pg_fail "apt-get install postgresql failed" || return
    [ -x "$PG_BIN/initdb" ] || _pg_fail "postgresql installed, but no $PG_BIN/initdb (not version 15? set PG_BIN)"
}

# DIR owned by postgres, reachable by it through every parent; DIR and the
# socket are open to every local user (clients that are not root), the data
# directory is not (initdb makes it 0700).
_pg_make_dir() {
    local dir="$1"
    mkdir -p "$dir/sock" && chown postgres:postgres "$dir" "$dir/sock" && chmod 0755 "$dir" "$dir/sock" ||
        _pg_fail "cannot make $dir for postgres" || return
    _pg_as_postgres test -w "$dir/sock" ||
        _pg_fail "the postgres user cannot reach $dir (a parent directory not searchable by others? chmod 755 it)" || return
    # sun_path holds 107 bytes.
    [ ${#dir} -le 80 ] || _pg_fail "$dir is too long for a Unix socket path ($dir/sock/.s.PGSQL.5432)"
}

pg_init() {
    local dir
    dir="$(_pg_dir "${1:-}")" || return
    pg_install || return
    [ ! -e "$dir/data" ] || _pg_fail "pg_init: $dir/data exists already" || return
    _pg_make_dir "$dir" || return
    # --no-sync: a test cluster need not survive a power cut of the machine.
    _pg_as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
        >"$dir/initdb.log" 2>&1 || { _pg_fail "initdb failed in $dir:"; _pg_tail "$dir/initdb.log"; return 1; }
    _pg_as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF || return

# ---- scripts/lib/postgres.sh ----
# pg_start passes listen_addresses and the socket directory on the command line.
listen_addresses = ''
# Three daemons with a few connections each, psql, a standby or two.
max_connections = 100
shared_buffers = 32MB
# Streaming standbys (pg_standby); the standby is a copy of this file.
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
# A standby cut off for a while catches up from here (no replication slots).
wal_keep_size = 256MB
hot_standby = on
# A standby whose primary restarted (or moved) tries again after 1 s, not 5.
wal_retrieve_retry_interval = 1s
synchronous_commit = on
password_encryption = scram-sha-256
# A client cut off by the lab (no reset ever comes) is dropped after about
# 11 s idle or 10 s of unacknowledged data, so it cannot hold locks for long;
# a cut of a few seconds is survived.
tcp_keepalives_idle = 5
tcp_keepalives_interval = 2
tcp_keepalives_count = 3
tcp_user_timeout = 10s
log_line_prefix = '%m [%p] %q%a %u@%d '
log_connections = off
EOF
    # Written whole (initdb's default lets in 127.0.0.1 with trust).
    _pg_as_postgres tee "$dir/data/pg_hba.conf" >/dev/null <<EOF || return
# scripts/lib/postgres.sh: trust on the socket, passwords over TCP from the lab.
local   all          all                      trust
local   replication  all                      trust
host    all          all  $PG_CLIENT_NET      scram-sha-256
host    replication  all  $PG_CLIENT_NET      scram-sha-256
EOF
}

pg_running() {
    local dir
    dir="$(_pg_dir "${1:-}")" || return
    [ -d "$dir/data" ] && _pg_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

pg_pid() {
    local dir pid
    dir="$(_pg_dir "${1:-}")" || return
    pid="$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null)" && [ -n "$pid" ] ||
        _pg_fail "pg_pid: no postmaster.pid in $dir/data" || return
    echo "$pid"
}

pg_start() {
    local dir ns="" addr=""
    dir="$(_pg_dir "${1:-}")" || return
    case $# in
        1) [ ! -f "$dir/start.env" ] || { ns="$(sed -n 1p "$dir/start.env")"; addr="$(sed -n 2p "$dir/start.env")"; } ;;
        3) ns="$2" addr="$3"; printf '%s\n%s\n' "$ns" "$addr" >"$dir/start.env" || return ;;
        *) _pg_fail "usage: pg_start DIR [NETNS ADDR]"; return ;;
    esac
    [ -d "$dir/data" ] || _pg_fail "pg_start: no cluster in $dir (pg_init first)" || return
    ! pg_running "$dir" || _pg_fail "pg_start: the server in $dir runs already" || return
    [ -z "$ns" ] || [ -e "/run/netns/$ns" ] ||
        _pg_fail "pg_start: no network namespace $ns" || return
    [ -n "$ns" ] || [ -z "$addr" ] || _pg_fail "pg_start: a listen address needs a namespace" || return
    local cmd=("$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60
        -o "-c listen_addresses='$addr' -k $dir/sock" start)
    if [ -n "$ns" ]; then
        # The postmaster must live in the namespace: it inherits it from pg_ctl.
        (cd / && ip netns exec "$ns" runuser -u postgres -- "${cmd[@]}") >"$dir/pg_ctl.out" 2>&1
    else
        _pg_as_postgres "${cmd[@]}" >"$dir/pg_ctl.out" 2>&1
    fi || { _pg_fail "pg_start: the server in $dir did not start:"; _pg_tail "$dir/pg_ctl.out" 5; _pg_tail "$dir/log"; return 1; }
    pg_wait "$dir"
}

pg_wait() {
    local dir deadline
    dir="$(_pg_dir "${1:-}")" || return
    deadline=$((SECONDS + ${2:-30}))
    until "$PG_BIN/pg_isready" -q -h "$dir/sock" -U postgres -t 2 >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { _pg_fail "pg_wait: the server in $dir is not ready after ${2:-30} s:"; _pg_tail "$dir/log"; return 1; }
        sleep 0.1
    done
}

# A process is gone once it is a zombie or reaped.
_pg_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [ "${stat%% *}" != Z ]
}

_pg_shutdown() {
    local dir mode="$2" pid deadline
    dir="$(_pg_dir "${1:-}")" || return
    pg_running "$dir" || return 0
    pid="$(pg_pid "$dir")" || return
    _pg_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >"$dir/pg_ctl.out" 2>&1 ||
        { _pg_fail "pg_ctl stop -m $mode failed in $dir:"; _pg_tail "$dir/pg_ctl.out" 5; _pg_tail "$dir/log"; return 1; }
    # pg_ctl returns once postmaster.pid is removed, a moment before the
    # postmaster has exited: wait for that too.
    deadline=$((SECONDS + 10))
    while _pg_alive "$pid"; do
        [ $SECONDS -lt $deadline ] || { _pg_fail "the postmaster $pid of $dir still runs 10 s after pg_ctl stop"; return 1; }
        sleep 0.05
    done
}

pg_stop() { _pg_shutdown "${1:-}" fast; }

# -m immediate: every process quits at once, nothing is checkpointed, the next
# start replays the WAL (what a kill -9 of the whole server does, without
# leaving orphaned backends behind).
pg_crash() { _pg_shutdown "${1:-}" immediate; }

_pg_psql() {
    local dir="$1"
    shift
    timeout "$PG_PSQL_TIMEOUT" "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
        -h "$dir/sock" -U postgres -d "${PGDATABASE:-postgres}" "$@"
}

pg_psql() {
    local dir sql args=()
    dir="$(_pg_dir "${1:-}")" || return
    shift
    for sql in "$@"; do args+=(-c "$sql"); done
    _pg_psql "$dir" "${args[@]}"
}

pg_conf() {
    local dir setting
    dir="$(_pg_dir "${1:-}")" || return
    shift
    for setting in "$@"; do
        [[ "$setting" =~ ^[a-z_.]+\ *=.+$ ]] || _pg_fail "pg_conf: not a setting: $setting" || return
        printf '%s\n' "$setting" | _pg_as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null || return
    done
    ! pg_running "$dir" || _pg_psql "$dir" -c "SELECT pg_reload_conf()" >/dev/null
}

pg_make_role() {
    local dir name="${2:-}" password="${3:-}" attribute attributes=""
    dir="$(_pg_dir "${1:-}")" || return
    [ -n "$name" ] && [ -n "$password" ] || _pg_fail "usage: pg_make_role DIR NAME PASSWORD [ATTRIBUTE...]" || return
    shift 3
    for attribute in "$@"; do
        [[ "$attribute" =~ ^[A-Z]+$ ]] || _pg_fail "pg_make_role: not a role attribute: $attribute" || return
        attributes="$attributes $attribute"
    done
    # psql variables quote the name and the password (-c would not expand them).
    _pg_psql "$dir" -v name="$name" -v password="$password" -v attributes="$attributes" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') AS missing \gset
\if :missing
CREATE ROLE :"name" LOGIN PASSWORD :'password' :attributes;
\else
ALTER ROLE :"name" LOGIN PASSWORD :'password' :attributes;
\endif
SQL
}

pg_make_db() {
    local dir
    dir="$(_pg_dir "${1:-}")" || return
    [ -n "${2:-}" ] && [ -n "${3:-}" ] || _pg_fail "usage: pg_make_db DIR NAME OWNER" || return
    _pg_psql "$dir" -v name="$2" -v owner="$3" <<<'CREATE DATABASE :"name" OWNER :"owner";'
}

# The standby is a base backup of the running primary, taken over TCP from
# inside NETNS as role replicator, then started in NETNS on ADDR. Only then
# does the primary name it in synchronous_standby_names (set earlier, the
# standby would copy it and, once promoted, wait forever for itself): from
# the return on, a commit on the primary waits until the standby has flushed
# it (not until it is visible there: that is remote_apply). One synchronous
# standby: another pg_standby replaces the name. The primary keeps the name
# after a failover: restarted as a primary, its commits would wait.
pg_standby() {
    local primary standby ns="${3:-}" addr="${4:-}" primary_addr="${5:-}" app password deadline state
    primary="$(_pg_dir "${1:-}")" && standby="$(_pg_dir "${2:-}")" || return
    [ -n "$ns" ] && [ -n "$addr" ] && [ -n "$primary_addr" ] ||
        _pg_fail "usage: pg_standby PRIMARY_DIR STANDBY_DIR NETNS ADDR PRIMARY_ADDR [APP_NAME]" || return
    app="${6:-$(basename "$standby" | tr -c 'a-zA-Z0-9_\n' _)}"
    pg_running "$primary" || _pg_fail "pg_standby: the primary in $primary is not running" || return
    [ ! -e "$standby/data" ] || _pg_fail "pg_standby: $standby/data exists already" || return
    # One replication password per primary, kept beside it, so a second
    # standby does not lock the first one out.
    if [ ! -s "$primary/replication.password" ]; then
        od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$primary/replication.password" || return
    fi
    password="$(cat "$primary/replication.password")"
    pg_make_role "$primary" replicator "$password" REPLICATION || return
    _pg_make_dir "$standby" || return
    # A passfile, not the password in primary_conninfo or on a command line.
    printf '%s:5432:*:replicator:%s\n' "$primary_addr" "$password" |
        _pg_as_postgres tee "$standby/pgpass" >/dev/null && chmod 0600 "$standby/pgpass" || return
    (cd / && PGPASSFILE="$standby/pgpass" PGAPPNAME="$app" PGCONNECT_TIMEOUT=5 \
        ip netns exec "$ns" runuser -u postgres -- "$PG_BIN/pg_basebackup" -h "$primary_addr" -U replicator -w \
        -D "$standby/data" -X stream -c fast --no-sync) >"$standby/basebackup.log" 2>&1 ||
        { _pg_fail "pg_standby: pg_basebackup from $primary_addr (in $ns) failed:"; _pg_tail "$standby/basebackup.log"; return 1; }
    # What -R would write, with keepalives and a connect timeout, so that the
    # standby notices a cut-off primary and retries in seconds.
    _pg_as_postgres touch "$standby/data/standby.signal" || return
    printf "primary_conninfo = 'host=%s port=5432 user=replicator passfile=%s application_name=%s connect_timeout=2 keepalives_idle=5 keepalives_interval=2 keepalives_count=3'\n" \
        "$primary_addr" "$standby/pgpass" "$app" | _pg_as_postgres tee -a "$standby/data/postgresql.auto.conf" >/dev/null || return
    pg_start "$standby" "$ns" "$addr" || return
    _pg_psql "$primary" -v names="\"$app\"" >/dev/null <<'SQL' || return
ALTER SYSTEM SET synchronous_standby_names = :'names';
ALTER SYSTEM SET synchronous_commit = on;
SELECT pg_reload_conf();
SQL
    deadline=$((SECONDS + 30))
    until state="$(_pg_psql "$primary" -v app="$app" <<<"SELECT state || ' ' || sync_state FROM pg_stat_replication WHERE application_name = :'app';")" &&
        [ "$state" = "streaming sync" ]; do
        [ $SECONDS -lt $deadline ] || { _pg_fail "pg_standby: $app is not a streaming synchronous standby after 30 s (${state:-not connected}):"; _pg_tail "$standby/log"; return 1; }
        sleep 0.1
    done
}

pg_promote() {
    local dir deadline
    dir="$(_pg_dir "${1:-}")" || return
    deadline=$((SECONDS + ${2:-30}))
    _pg_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -w -t "${2:-30}" promote >"$dir/pg_ctl.out" 2>&1 ||
        { _pg_fail "pg_promote: pg_ctl promote failed in $dir:"; _pg_tail "$dir/pg_ctl.out" 5; _pg_tail "$dir/log"; return 1; }
    until [ "$(_pg_psql "$dir" -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ]; do
        [ $SECONDS -lt $deadline ] || { _pg_fail "pg_promote: $dir is still in recovery after ${2:-30} s"; _pg_tail "$dir/log"; return 1; }
        sleep 0.1
    done
}
