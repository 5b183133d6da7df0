#!/usr/bin/env bash
# accessd under a real systemd: boots systemd 252 as PID 1 of a minimal Debian 12
# in systemd-nspawn, installs the package there the way an operator would
# (apt-get install ./accessd_*.deb) and checks the service's life:
# socket activation, reload (good and broken config), the watchdog, draining
# stop, journal priorities, LimitNOFILE= and the snapshot thread's nice value,
# no thread-priority complaints from the Swift runtime, failing starts under
# socket activation, a state_dir outside /var/lib (ReadWritePaths=), health,
# metrics and metrics_textfile, backup, verify and restore, a shared log in
# the container's PostgreSQL (refused without the drop-in, written with it and
# the password as a credential, through the socket without it), upgrade,
# removal and purge; the C library package's ldconfig trigger there, and, on
# this machine, a C program built against libaccessd-client-dev with pkg-config.
#
#   scripts/test-systemd.sh [--debs DIR]
#
# --debs: where accessd_*.deb and libaccessd-client0_*.deb are (default: build
# them with scripts/package.sh --deb). A second accessd package, of a higher
# version, is built from the same binaries for the upgrade.
#
# Needs root (nspawn, nsenter); installs systemd-container and debootstrap
# when missing. The root file system is debootstrapped from the apt source
# this machine uses and cached in /var/cache/accessd-test-systemd (a tarball
# keyed by the suite, the package list and the mirror); a missing or broken
# cache only costs the debootstrap (about a minute). The container is always
# stopped and everything the script made removed (trap), the cache aside.
# Prints one line per check and ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

debs=""
while [ $# -gt 0 ]; do
    case "$1" in
        --debs) debs="$2"; shift 2 ;;
        -h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test-systemd.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done

if [ "$(id -u)" != 0 ]; then
    echo "test-systemd.sh: skipped: needs root (systemd-nspawn and nsenter)" >&2
    exit 0
fi
started_at=$(date +%s)

for tool in systemd-nspawn:systemd-container debootstrap:debootstrap zstd:zstd; do
    if ! command -v "${tool%%:*}" >/dev/null; then
        echo "installing ${tool##*:}" >&2
        apt-get update -qq >&2 && apt-get install -y -qq "${tool##*:}" >&2
    fi
done

work="$(mktemp -d /var/tmp/accessd-test-systemd.XXXXXX)"
root="$work/root"
nspawn_pid=""
ct=""
cleanup() {
    local status=$?
    if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
        # SIGTERM asks nspawn to shut the container down cleanly; then force it.
        kill -TERM "$nspawn_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$nspawn_pid" 2>/dev/null || true
        wait "$nspawn_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the packages ----------------------------------------------------------
if [ -z "$debs" ]; then
    debs="$work/debs"
    scripts/package.sh --deb --fast --out "$debs" >&2
fi
debs="$(cd "$debs" && pwd)"
first="$(ls "$debs"/accessd_*.deb | head -1)"
[ -f "$first" ] || { echo "test-systemd.sh: no accessd_*.deb in $debs" >&2; exit 1; }
version="$(dpkg-deb -f "$first" Version)"
upgrade_version="$version+upgrade1"
mkdir -p "$work/upgrade-bin" "$work/upgrade"
dpkg-deb -x "$first" "$work/upgrade-bin/x"
cp "$work/upgrade-bin/x/usr/bin/accessd" "$work/upgrade-bin/x/usr/bin/accessctl" "$work/upgrade-bin/"
scripts/package.sh --deb --fast --only-accessd --version "$upgrade_version" --binaries "$work/upgrade-bin" \
    --out "$work/upgrade" >/dev/null
upgrade="$(ls "$work/upgrade"/accessd_*.deb)"
library="$(ls "$debs"/libaccessd-client0_*.deb | head -1)"

# ---- the root file system ----------------------------------------------------
# The mirror this machine's apt uses for bookworm (deb822 .sources or sources.list).
mirror=""
for list in /etc/apt/sources.list.d/*.sources; do
    [ -f "$list" ] && [ -z "$mirror" ] || continue
    mirror="$(awk '/^URIs:/ {uri=$2} /^Suites:/ && / bookworm( |$)/ {print uri; exit}' "$list")"
done
for list in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$list" ] && [ -z "$mirror" ] || continue
    mirror="$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' "$list")"
done
mirror="${mirror:-http://deb.debian.org/debian}"
# procps: /bin/kill, which accessd.service's ExecReload= runs (the package depends on it);
# postgresql: the shared log's server, run by the container's systemd.
packages="systemd,systemd-sysv,dbus,procps,libprotobuf-c1,postgresql"
cache_dir=/var/cache/accessd-test-systemd
key="$(printf 'bookworm minbase %s %s' "$packages" "$mirror" | sha256sum | cut -c1-16)"
cache="$cache_dir/bookworm-$key.tar.zst"
mkdir -p "$root"
if [ -f "$cache" ] && tar -C "$root" -I zstd -xf "$cache" 2>/dev/null && [ -x "$root/lib/systemd/systemd" ]; then
    echo "root file system from the cache $cache" >&2
else
    rm -rf "$root" && mkdir -p "$root"
    echo "debootstrap bookworm from $mirror (about a minute)" >&2
    debootstrap --variant=minbase --include="$packages" bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    mkdir -p "$cache_dir"
    if tar -C "$root" -I 'zstd -T0 -3' -cf "$cache.tmp.$$" . 2>/dev/null; then
        mv "$cache.tmp.$$" "$cache"
        # Older caches (another package list or mirror) are of no more use.
        find "$cache_dir" -name 'bookworm-*.tar.zst' ! -name "bookworm-$key.tar.zst" -delete
    else
        rm -f "$cache.tmp.$$"
    fi
fi
cp "$first" "$upgrade" "$library" "$root/root/"
# The container's PostgreSQL listens on a port of its own (the container shares this machine's network).
pg_port=55432
sed -i "s/^port = .*/port = $pg_port/" "$root"/etc/postgresql/*/main/postgresql.conf 2>/dev/null || true

# ---- the C library's packages, on this machine: a C program built with pkg-config ----
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
development="$(ls "$debs"/libaccessd-client-dev_*.deb | head -1)"
build_against_packages() {
    local into="$work/c-packages" multiarch
    multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
    dpkg-deb -x "$library" "$into" && dpkg-deb -x "$development" "$into"
    local flags
    flags="$(PKG_CONFIG_SYSROOT_DIR="$into" PKG_CONFIG_PATH="$into/usr/lib/$multiarch/pkgconfig" \
        pkg-config --cflags --libs accessd-client)"
    echo "pkg-config --cflags --libs accessd-client: $flags"
    # shellcheck disable=SC2086
    cc -o "$work/readme-example" clients/c/examples/readme-example.c $flags
    LD_LIBRARY_PATH="$into/usr/lib/$multiarch" ldd "$work/readme-example" | grep "libaccessd-client.so.0 => $into"
}
check "libaccessd-client-dev: a C program builds with pkg-config and links libaccessd-client.so.0" build_against_packages

# ---- boot ---------------------------------------------------------------------
# Not under timeout(1), which would kill the container; without
# --register=no --keep-unit nspawn wants a system bus this machine may lack.
systemd-nspawn -b -D "$root" --register=no --keep-unit --console=passive > "$work/console.log" 2>&1 &
nspawn_pid=$!
for _ in $(seq 1 100); do
    ct="$(pgrep -P "$nspawn_pid" | head -1 || true)"
    [ -n "$ct" ] && [ "$(cat "/proc/$ct/comm" 2>/dev/null)" = systemd ] && break
    ct=""
    sleep 0.1
done
[ -n "$ct" ] || { cat "$work/console.log" >&2; echo "test-systemd.sh: the container's systemd did not start" >&2; exit 1; }

# A command inside the container (all its namespaces), with a plain environment.
in_ct() { nsenter -t "$ct" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# The same through sh -c.
sh_ct() { in_ct sh -c "$1"; }

# Booted once systemd says running (or degraded: a unit this container cannot start).
state=""
for _ in $(seq 1 300); do
    state="$(in_ct systemctl is-system-running 2>/dev/null || true)"
    case "$state" in running|degraded) break ;; esac
    sleep 0.2
done
echo "container booted in $(($(date +%s) - started_at)) s since the start: $state, $(in_ct systemctl --version | head -1)" >&2

# Waits up to $1 seconds for a shell condition inside the container.
wait_ct() {
    local seconds="$1" condition="$2"
    for _ in $(seq 1 $((seconds * 5))); do
        sh_ct "$condition" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "waited ${seconds}s for: $condition"
    sh_ct "systemctl status accessd.service accessd.socket --no-pager -n 15" || true
    return 1
}
main_pid() { in_ct systemctl show -P MainPID accessd.service; }
# The messages of accessd.service after the cursor $1 (or all), of the
# priorities $2 as journalctl -p takes them (warning: 0-4, info..info: 6).
# Filtered here from JSON: journalctl 252 with both -p and --after-cursor
# leaves out lines that came through the unit's stdout stream.
journal() {
    in_ct journalctl -u accessd.service -o json --no-pager ${1:+--after-cursor="$1"} | python3 -c '
import json, sys
names = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
spec = sys.argv[1] if len(sys.argv) > 1 else ""
def level(name): return int(name) if name.isdigit() else names.index(name)
if ".." in spec:
    low, high = sorted(level(part) for part in spec.split(".."))
elif spec:
    low, high = 0, level(spec)
else:
    low, high = 0, 7
for line in sys.stdin:
    entry = json.loads(line)
    message = entry.get("MESSAGE")
    if isinstance(message, list):
        message = bytes(message).decode("utf-8", "replace")
    if message is not None and low <= int(entry.get("PRIORITY", 6)) <= high:
        print(message)
' "${2:-}"
}
cursor() { in_ct journalctl -u accessd.service -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p'; }
contains() { # contains TEXT PATTERN: grep -E on a captured text, never a pipe into grep -q
    if grep -Eq -- "$2" <<<"$1"; then return 0; fi
    echo "no line matches '$2' in:"
    printf '%s\n' "$1" | tail -20
    return 1
}
lacks() {
    if ! grep -Eq -- "$2" <<<"$1"; then return 0; fi
    echo "a line matches '$2':"
    grep -E -- "$2" <<<"$1" | head -5
    return 1
}
config=/etc/accessd/accessd.conf

# ---- install -------------------------------------------------------------------
deb_name="$(basename "$first")"
check "apt-get install ./$deb_name" in_ct apt-get install -y -q "/root/$deb_name"
check "accessctl and accessd are on PATH (/usr/bin)" sh_ct 'command -v accessctl && command -v accessd && test "$(command -v accessctl)" = /usr/bin/accessctl'
check "the user and group accessd exist (systemd-sysusers)" sh_ct 'getent passwd accessd && getent group accessd'
check "accessd.socket is enabled and listening, accessd.service not started" sh_ct \
    'test "$(systemctl is-enabled accessd.socket)" = enabled && test "$(systemctl is-active accessd.socket)" = active && test "$(systemctl is-active accessd.service)" = inactive && test -S /run/accessd.sock'
check "the man pages and completions are installed" sh_ct \
    'test -s /usr/share/man/man8/accessd.8.gz && test -s /usr/share/man/man1/accessctl.1.gz && test -s /usr/share/bash-completion/completions/accessctl && test -s /usr/share/zsh/vendor-completions/_accessctl && test -s /usr/share/fish/vendor_completions.d/accessctl.fish'

# ---- socket activation ------------------------------------------------------------
out="$(in_ct accessctl stats 2>&1 || true)"
check "the first connection starts accessd.service (accessctl stats answers)" contains "$out" "revision"
check "accessd.service is active after it, with the socket systemd passed" \
    sh_ct 'test "$(systemctl is-active accessd.service)" = active && journalctl -u accessd -o cat | grep -c "accessd.activated=true" >/dev/null'
created="$(in_ct accessctl accounts create --name Acme --licenses 2 --owner-email olga@acme.example \
    --owner-first-name Olga --owner-last-name Owner 2>&1 || true)"
account="$(grep -oE 'acc_[a-z0-9]+' <<<"$created" | head -1 || true)"
check "a write is applied (accounts create)" test -n "$account"
has_acme() { local got; got="$(in_ct accessctl accounts get "$account" 2>&1 || true)"; contains "$got" "Acme"; }

# ---- limits and priorities ----------------------------------------------------------
pid="$(main_pid)"
limits="$(in_ct cat "/proc/$pid/limits")"
check "LimitNOFILE=8192 is in effect (/proc/PID/limits)" contains "$limits" "^Max open files +8192 +8192"
in_ct accessctl snapshot >/dev/null 2>&1 || true
# Each thread's name and nice value (field 19 of /proc/PID/task/TID/stat).
threads="$(sh_ct "for t in /proc/$pid/task/*; do echo \"\$(cat \$t/comm) \$(sed 's/.*) //' \$t/stat | cut -d' ' -f17)\"; done" || true)"
# NIOThreadPool threads are TP-#N: the snapshot thread (one) and the event
# log's readers; only the snapshot thread lowers its priority.
snapshot_threads() { [ "$(grep -c '^TP-#[0-9]* 10$' <<<"$threads")" = 1 ] || { echo "$threads"; return 1; }; }
check "the snapshot thread runs at nice 10 under the unit" snapshot_threads
check "the event loops run at nice 0" contains "$threads" "^NIO-ELT-1-#1 0$"
all="$(journal)"
# libdispatch sets each new thread's nice from its QoS: 0 for the workers
# (setpriority, allowed by the unit's filter) and -4 for its manager thread,
# which an unprivileged process may take only under RLIMIT_NICE (LimitNICE=-4).
check "no thread-priority refusal by the system-call filter (errno=1, EPERM)" lacks "$all" "Failed to set thread priority.*errno=1$"
check "no warning about the snapshot thread's priority" lacks "$all" "cannot lower the snapshot thread"
if contains "$limits" "^Max nice priority +24 +24" >/dev/null; then
    check "LimitNICE=-4 is in effect: libdispatch's manager thread has its nice -4" contains "$threads" "qos.overcommit -4"
    check "a start under the unit logs no 'Failed to set thread priority' (libdispatch)" lacks "$all" "Failed to set thread priority"
else
    # systemd raises the hard RLIMIT_NICE only with CAP_SYS_RESOURCE, which a
    # container gets only when the machine running it has it.
    echo "note: LimitNICE=-4 is not in effect in this container (its systemd lacks CAP_SYS_RESOURCE); libdispatch's manager thread cannot take nice -4:"
    grep "Failed to set thread priority" <<<"$all" | sed 's/^/    /' || true
    failures="$(grep -c "Failed to set thread priority" <<<"$all" || true)"
    check "without it, only the manager thread's nice -4 is refused (errno=13, once a start)" \
        test "$failures" = "$(grep -c "Failed to set thread priority.*errno=13$" <<<"$all" || true)" -a "$failures" -le 1
fi

# ---- reload ----------------------------------------------------------------------------
sh_ct "cp $config /root/accessd.conf.orig"
mark="$(cursor)"
sh_ct "echo 'max_connections = 500' >> $config"
check "systemctl reload with a good config succeeds" in_ct systemctl reload accessd
check "the reload applied it (accessd.changed=max_connections) in the same process" \
    sh_ct "journalctl -u accessd -o cat --after-cursor='$mark' | grep -c 'reloaded the configuration.*accessd.changed=max_connections' >/dev/null && test \"\$(systemctl show -P MainPID accessd)\" = $pid"
mark="$(cursor)"
sh_ct "echo 'max_connections = lots' >> $config"
reload_broken() {
    if in_ct systemctl reload accessd; then echo "systemctl reload exited 0 on a broken config"; return 1; fi
}
check "systemctl reload with a broken config FAILS (non-zero exit)" reload_broken
since="$(journal "$mark")"
check "the failed reload names the file and line (accessd --check-config, exit 78)" \
    contains "$since" "$config:[0-9]+: max_connections must be a whole number"
errors="$(journal "$mark" err)"
check "and says it at priority error (journalctl -p err)" contains "$errors" "config error: $config:[0-9]+: max_connections"
check "and the daemon kept its configuration: no SIGHUP, same process, still active" sh_ct \
    "! journalctl -u accessd -o cat --after-cursor='$mark' | grep -c 'reloaded the configuration' >/dev/null && test \"\$(systemctl show -P MainPID accessd)\" = $pid && systemctl is-active accessd"
# A key that needs a restart: a warning (priority 4), next to info and notice lines.
sh_ct "cp /root/accessd.conf.orig $config && echo 'event_loops = 3' >> $config"
in_ct systemctl reload accessd || true
warnings="$(journal "" warning)"
infos="$(journal "" info..info)"
check "journalctl -p warning shows the warnings (a key that needs a restart)" contains "$warnings" "cannot change on reload"
check "journalctl -p warning leaves the info lines out" lacks "$warnings" "accessd listening"
check "info lines are at priority info" contains "$infos" "accessd listening"
check "and the warning is not at info" lacks "$infos" "cannot change on reload"
notices="$(journal "" notice..notice)"
check "the reload's line is at notice" contains "$notices" "reloaded the configuration"
sh_ct "cp /root/accessd.conf.orig $config"

# ---- watchdog -----------------------------------------------------------------------------
# WatchdogSec=30s in the unit; a drop-in shortens it to keep the test short.
sh_ct 'mkdir -p /etc/systemd/system/accessd.service.d && printf "[Service]\nWatchdogSec=4s\n" > /etc/systemd/system/accessd.service.d/test-watchdog.conf && systemctl daemon-reload && systemctl restart accessd'
wait_ct 10 'systemctl is-active accessd' || true
pid="$(main_pid)"
mark="$(cursor)"
in_ct kill -STOP "$pid"
check "kill -STOP: the watchdog kills the daemon and systemd restarts it" \
    wait_ct 30 "test \"\$(systemctl show -P MainPID accessd)\" != $pid && test \"\$(systemctl show -P MainPID accessd)\" != 0 && systemctl is-active accessd"
check "systemd logged the watchdog timeout" \
    sh_ct "journalctl -o cat --after-cursor='$mark' | grep -c 'Watchdog timeout' >/dev/null"
check "the restarted daemon has the state (the account written before)" has_acme
sh_ct 'rm /etc/systemd/system/accessd.service.d/test-watchdog.conf && systemctl daemon-reload'

# ---- stop drains --------------------------------------------------------------------------
in_ct systemctl restart accessd
wait_ct 10 'systemctl is-active accessd' || true
in_ct accessctl accounts create --name Initech --owner-email ian@initech.example --owner-first-name Ian \
    --owner-last-name Agent >/dev/null 2>&1 || true
revision="$(in_ct accessctl stats 2>/dev/null | awk '/^ *revision/ {print $NF; exit}' || true)"
mark="$(cursor)"
check "systemctl stop accessd" in_ct systemctl stop accessd
stopped="$(journal "$mark")"
check "stop drains: SIGTERM taken (GoAway, calls finish), exit status 0, not killed" sh_ct \
    "test \"\$(systemctl show -P ExecMainStatus accessd)\" = 0 && test \"\$(systemctl show -P Result accessd)\" = success"
check "stop logs the SIGTERM" contains "$stopped" "shutting down accessd.signal=15"
check "stop writes the final snapshot at the last revision (${revision:-?})" contains "$stopped" "wrote a snapshot.*accessd.revision=${revision:-[0-9]+} "

# ---- failing starts under socket activation --------------------------------------------
# A config error (exit 78) while connections wait on the socket: systemd must
# not loop the service into start-limit-hit and take the socket down with it.
sh_ct "cp /root/accessd.conf.orig $config && echo 'sokcet = /run/x.sock' >> $config"
in_ct systemctl reset-failed accessd.service accessd.socket || true
mark="$(cursor)"
# --socket: with a broken config file accessctl cannot tell where the socket is.
answers="$(for _ in 1 2 3; do in_ct accessctl stats --socket /run/accessd.sock 2>&1 || true; done)"
sleep 1
check "a failing start stops with its exit status (78), not start-limit-hit" sh_ct \
    "test \"\$(systemctl show -P Result accessd)\" = exit-code && test \"\$(systemctl show -P ExecMainStatus accessd)\" = 78"
check "accessd.socket is still listening (not failed)" sh_ct 'test "$(systemctl is-active accessd.socket)" = active'
check "each waiting client is answered: UNAVAILABLE, accessd could not start (exit status 78)" \
    test "$(grep -c "accessd could not start (exit status 78" <<<"$answers" || true)" = 3
failing="$(journal "$mark")"
check "the failed start says what is wrong (file:line)" contains "$failing" "$config:[0-9]+: unknown key 'sokcet'"
sh_ct "cp /root/accessd.conf.orig $config"
out="$(in_ct accessctl stats 2>&1 || true)"
check "once the config is fixed, the next connection starts accessd again" contains "$out" "revision"

# ---- state_dir outside /var/lib: ProtectSystem=strict needs ReadWritePaths= ------------
in_ct systemctl stop accessd 2>/dev/null
sh_ct "mkdir -p /srv/accessd && chown accessd:accessd /srv/accessd && chmod 700 /srv/accessd && echo 'state_dir = /srv/accessd' >> $config"
mark="$(cursor)"
in_ct systemctl start accessd 2>/dev/null || true
sleep 1
readonly_log="$(journal "$mark")"
check "state_dir = /srv/accessd under ProtectSystem=strict: exit 78 saying a ReadWritePaths= drop-in is needed" \
    contains "$readonly_log" "read-only file system.*ReadWritePaths=/srv/accessd"
check "and it is not restarted in a loop (exit 78 prevents it)" sh_ct \
    "test \"\$(systemctl show -P ExecMainStatus accessd)\" = 78 && test \"\$(systemctl show -P NRestarts accessd)\" = 0"
sh_ct 'printf "[Service]\nReadWritePaths=/srv/accessd\n" > /etc/systemd/system/accessd.service.d/state-dir.conf && systemctl daemon-reload && systemctl reset-failed accessd'
check "with the drop-in it starts and keeps its state in /srv/accessd" sh_ct \
    'systemctl start accessd && accessctl stats | grep -c /srv/accessd >/dev/null && test -e /srv/accessd/lock'
in_ct systemctl stop accessd 2>/dev/null
sh_ct "rm /etc/systemd/system/accessd.service.d/state-dir.conf && systemctl daemon-reload && cp /root/accessd.conf.orig $config"

# ---- the snapshot thread's priority refused: one warning ----------------------------------
sh_ct 'printf "[Service]\nSystemCallFilter=~setpriority\n" > /etc/systemd/system/accessd.service.d/test-no-setpriority.conf && systemctl daemon-reload'
mark="$(cursor)"
in_ct systemctl start accessd
in_ct accessctl snapshot >/dev/null 2>&1 || true
in_ct accessctl accounts create --name Umbrella --owner-email una@umbrella.example --owner-first-name Una \
    --owner-last-name Owner >/dev/null 2>&1 || true
in_ct accessctl snapshot >/dev/null 2>&1 || true
refused="$(journal "$mark" warning)"
count="$(grep -c "cannot lower the snapshot thread's priority" <<<"$refused" || true)"
check "setpriority refused: the daemon warns once (two snapshots, $count warnings)" test "$count" = 1
sh_ct 'rm /etc/systemd/system/accessd.service.d/test-no-setpriority.conf && systemctl daemon-reload && systemctl restart accessd'

# ---- an operator's day: health, metrics for node_exporter, backup and restore ---------------
wait_ct 10 'systemctl is-active accessd' || true
health="$(in_ct accessctl health 2>&1)" && health_status=0 || health_status=$?
check "accessctl health: SERVING at revision N" contains "$health" "^SERVING at revision [0-9]+"
check "accessctl health exits 0 when serving (a probe's convention)" test "$health_status" = 0
metrics="$(in_ct accessctl metrics 2>&1 || true)"
check "accessctl metrics: Prometheus text with calls by method and status" \
    contains "$metrics" '^accessd_calls_total\{.*service="accessd.v1.HealthService".*method="Check".*code="OK".*\} [1-9][0-9]*$'
# node_exporter's textfile directory, as the README sets it up (a group, not an ACL: minbase has no setfacl).
textfile=/var/lib/prometheus/node-exporter/accessd.prom
sh_ct "mkdir -p /var/lib/prometheus/node-exporter && chgrp accessd /var/lib/prometheus/node-exporter && chmod 2775 /var/lib/prometheus/node-exporter"
sh_ct "printf '[Service]\nReadWritePaths=-/var/lib/prometheus/node-exporter\n' > /etc/systemd/system/accessd.service.d/metrics.conf && systemctl daemon-reload"
sh_ct "printf 'metrics_textfile = $textfile\nmetrics_textfile_interval_s = 1\n' >> $config && systemctl restart accessd"
wait_ct 10 "test -s $textfile" || true
check "metrics_textfile under the unit (ReadWritePaths= drop-in): written, mode 0644, owner accessd" sh_ct \
    "stat -c '%a %U' $textfile; grep -E '^accessd_(revision|serving) ' $textfile; test \"\$(stat -c '%a %U' $textfile)\" = '644 accessd' && grep -q '^accessd_revision ' $textfile && grep -Eq '^accessd_serving 1(\\.0)?$' $textfile || { journalctl -u accessd -n 15 --no-pager; exit 1; }"
first_mtime="$(in_ct stat -c %Y "$textfile" 2>/dev/null || echo 0)"
sleep 2.5
check "and rewritten every metrics_textfile_interval_s" sh_ct "test \"\$(stat -c %Y $textfile)\" -gt $first_mtime"
sh_ct "rm /etc/systemd/system/accessd.service.d/metrics.conf && systemctl daemon-reload && cp /root/accessd.conf.orig $config && systemctl restart accessd"

backup=/var/backups/accessd/day1.snap
sh_ct "mkdir -p /var/backups/accessd"
saved="$(in_ct accessctl backup "$backup" --json 2>&1 || true)"
backup_revision="$(grep -oE '"revision":[0-9]+' <<<"$saved" | grep -oE '[0-9]+' || true)"
backup_saved() { echo "$saved"; test -n "$backup_revision" && sh_ct "ls -l $backup && test \"\$(stat -c %a $backup)\" = 600"; }
check "accessctl backup $backup (while accessd runs): revision ${backup_revision:-?}, mode 0600" backup_saved
verified="$(in_ct accessctl backup verify "$backup" 2>&1)" && verify_status=0 || verify_status=$?
check "accessctl backup verify: intact (exit 0)" test "$verify_status" = 0
check "and it holds the same revision" contains "$verified" "^revision: +$backup_revision$"
after="$(in_ct accessctl accounts create --name Initech --owner-email ida@initech.example --owner-first-name Ida \
    --owner-last-name Owner 2>&1 || true)"
initech="$(grep -oE 'acc_[a-z0-9]+' <<<"$after" | head -1 || true)"
check "a write after the backup (accounts create Initech)" test -n "$initech"
check "accessd restore refuses while accessd holds the directory (exit 75)" sh_ct \
    "accessd restore $backup --state-dir /var/lib/accessd --force; test \$? = 75"
in_ct systemctl stop accessd.socket accessd.service
restored="$(in_ct accessd restore "$backup" --state-dir /var/lib/accessd --force 2>&1)" && restore_status=0 || restore_status=$?
check "systemctl stop accessd.socket accessd.service; accessd restore --force: exit 0" \
    sh -c "echo '$restored'; test $restore_status = 0"
check "the restored snapshot is the directory's only state, owned by accessd, mode 0600; the old files kept aside" sh_ct \
    "test \"\$(stat -c '%a %U' /var/lib/accessd/snapshot-*.snap)\" = '600 accessd' && ls -d /var/lib/accessd/before-restore-* && ! ls /var/lib/accessd/journal-* 2>/dev/null"
in_ct systemctl start accessd.socket
now="$(in_ct accessctl stats --json 2>&1 || true)"
check "after systemctl start accessd.socket the daemon is at the backup's revision ($backup_revision)" \
    contains "$now" "\"revision\":$backup_revision[,}]"
check "with what the backup held (Acme)" has_acme
gone="$(in_ct accessctl accounts get "${initech:-acc_none}" 2>&1)" && gone_status=0 || gone_status=$?
check "and without the write made after it (Initech: NOT_FOUND)" contains "$gone" "NOT_FOUND"
check "which accessctl reports as a refused call (exit 2)" test "$gone_status" = 2

# ---- the shared log: PostgreSQL in the container, the drop-in, the credential ---------------
# PostgreSQL 15 of the root file system, run by the container's systemd
# (postgresql@15-main) on port $pg_port: the container shares this machine's
# network namespace, where another PostgreSQL may hold 5432.
psql_ct() { in_ct runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$pg_port" "$@"; }
check "PostgreSQL runs under the container's systemd (postgresql@15-main, port $pg_port)" \
    wait_ct 60 "systemctl is-active postgresql@15-main && pg_isready -q -h 127.0.0.1 -p $pg_port"
pg_password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
# The daemons' role with a password for TCP (Debian's pg_hba: scram-sha-256
# on 127.0.0.1, peer on the socket), and the log's database.
psql_ct -c "CREATE ROLE accessd LOGIN PASSWORD '$pg_password'" -c "CREATE DATABASE accessd" >/dev/null 2>&1 || true
sh_ct "printf 'log = postgresql\npostgresql_hosts = /run/postgresql/.s.PGSQL.$pg_port\npostgresql_user = postgres\n' > /tmp/admin.conf && chmod 0644 /tmp/admin.conf"
initialized="$(in_ct runuser -u postgres -- accessd --config /tmp/admin.conf log init --writer-role accessd 2>&1)" \
    && init_status=0 || init_status=$?
log_init() { echo "$initialized"; test "$init_status" = 0; }
check "accessd log init (as postgres, through the socket) makes the schema and grants the role accessd" log_init
# "COUNT WRITERS" of accessd.log.
log_rows() { psql_ct -d accessd -tA -c "SELECT count(*) || ' ' || coalesce(string_agg(DISTINCT writer, ','), '-') FROM accessd.log" 2>&1 || true; }
# The shipped config with the shared log at $1, on a state directory of its
# own: this host's earlier state is not in this log.
shared_config() {
    sh_ct "cp /root/accessd.conf.orig $config && printf 'state_dir = /var/lib/accessd/shared\nlog = postgresql\npostgresql_hosts = $1\nlog_writer = ct-1\n' >> $config"
}
create_account() { # create_account NAME: accessctl's output
    in_ct accessctl accounts create --name "$1" --owner-email "owner@$1.example" --owner-first-name Ada \
        --owner-last-name Owner 2>&1
}

# Without the drop-in: the unit allows Unix sockets only.
shared_config "127.0.0.1:$pg_port"
mark="$(cursor)"
in_ct systemctl restart accessd
refused="$(create_account globex)" && refused_status=0 || refused_status=$?
refused_write() { echo "$refused"; test "$refused_status" = 2 && contains "$refused" "UNAVAILABLE"; }
check "without the drop-in, a write to a log over TCP fails with UNAVAILABLE (exit 2)" refused_write
check "and says why: this process may not open TCP sockets; install the shared-log drop-in" \
    contains "$refused" "may not open TCP sockets.*shared-log"
echo "note: without the drop-in, accessctl says: $(head -1 <<<"$refused")"
warned="$(journal "$mark" warning)"
check "the journal says it at priority warning (cannot reach the shared log)" \
    contains "$warned" "cannot reach the shared log.*may not open TCP sockets"
rows="$(log_rows)"
check "and the log holds no record ($rows)" test "${rows%% *}" = 0

# With the drop-in the package ships, and the password as a credential.
sh_ct "install -D -m 0644 /usr/share/doc/accessd/examples/shared-log.conf /etc/systemd/system/accessd.service.d/shared-log.conf"
sh_ct "install -m 0600 /dev/null /etc/accessd/postgresql-password && printf '%s\n' '$pg_password' > /etc/accessd/postgresql-password"
sh_ct "systemctl daemon-reload && systemctl restart accessd"
wait_ct 10 'systemctl is-active accessd' || true
written="$(create_account globex || true)"
globex="$(grep -oE 'acc_[a-z0-9]+' <<<"$written" | head -1 || true)"
acknowledged() { echo "$written"; test -n "$globex"; }
check "with shared-log.conf (PrivateNetwork=no, AF_INET, IPAddressAllow=localhost) a write is acknowledged" acknowledged
rows="$(log_rows)"
check "and it is in accessd.log, written by ct-1 ($rows)" test "${rows%% *}" -ge 1 -a "${rows#* }" = ct-1
stats="$(in_ct accessctl stats 2>&1 || true)"
check "accessctl stats: log postgresql, connected" contains "$stats" "postgresql, connected"
pid="$(main_pid)"
secret_kept() {
    local where properties
    for where in "/proc/$pid/cmdline" "/proc/$pid/environ"; do
        if [ "$(in_ct grep -c -a -F -- "$pg_password" "$where" || true)" != 0 ]; then echo "the password is in $where"; return 1; fi
    done
    properties="$(in_ct systemctl show accessd -p Environment -p ExecStart)"
    if [ "$(grep -c -F -- "$pg_password" <<<"$properties" || true)" != 0 ]; then echo "the password is in the unit's properties"; return 1; fi
    in_ct sh -c "tr '\\0' '\\n' < /proc/$pid/environ | grep '^CREDENTIALS_DIRECTORY='"
}
check "the password reached accessd as a credential: not in its command line, environment or unit" secret_kept
check "the credential is the service's only (/run/credentials/accessd.service, no access for others)" sh_ct \
    "ls -l /run/credentials/accessd.service/postgresql-password && stat -c %A /run/credentials/accessd.service/postgresql-password | grep -c -- '---\$' >/dev/null"

# Through the server's socket, with no drop-in and no password: peer authentication as accessd.
sh_ct "rm /etc/systemd/system/accessd.service.d/shared-log.conf /etc/accessd/postgresql-password && systemctl daemon-reload"
shared_config "/run/postgresql/.s.PGSQL.$pg_port"
sh_ct "systemctl restart accessd"
wait_ct 10 'systemctl is-active accessd' || true
# (Reads answer once the host has caught up with the log since its start.)
check "through the server's socket under the shipped unit: the host has the log's state (globex)" \
    wait_ct 15 "accessctl accounts get ${globex:-acc_none} | grep -c globex >/dev/null"
written="$(create_account hooli || true)"
check "and a write is acknowledged (peer authentication, no password)" contains "$written" "acc_[a-z0-9]+"
rows_after="$(log_rows)"
check "and lands in accessd.log ($rows -> $rows_after)" test "${rows_after%% *}" -gt "${rows%% *}"
sh_ct "cp /root/accessd.conf.orig $config && systemctl restart accessd"

# ---- upgrade, remove, purge -----------------------------------------------------------------
wait_ct 10 'systemctl is-active accessd' || true
pid="$(main_pid)"
upgrade_name="$(basename "$upgrade")"
check "apt-get install ./$upgrade_name (upgrade from $version)" in_ct apt-get install -y -q "/root/$upgrade_name"
check "the package is at $upgrade_version" sh_ct "test \"\$(dpkg-query -W -f '\${Version}' accessd)\" = '$upgrade_version'"
check "the upgrade restarted the running service" sh_ct \
    "systemctl is-active accessd && test \"\$(systemctl show -P MainPID accessd)\" != $pid"
check "and the state is kept" has_acme
check "apt-get remove accessd" in_ct apt-get remove -y -q accessd
check "removed: socket and service stopped, state, user and conffile kept" sh_ct \
    "! systemctl is-active accessd.socket && ! systemctl is-active accessd.service && test -d /var/lib/accessd && getent passwd accessd && test -f $config && ! test -e /usr/bin/accessd"
check "apt-get purge accessd" in_ct apt-get purge -y -q accessd
check "purged: the state directory, the user, the group and the conffile are gone" sh_ct \
    "! test -e /var/lib/accessd && ! getent passwd accessd && ! getent group accessd && ! test -e $config"

# ---- the C library ----------------------------------------------------------------------------
library_name="$(basename "$library")"
check "apt-get install ./$library_name: the ldconfig trigger makes libaccessd-client.so.0 known" sh_ct \
    "apt-get install -y -q /root/$library_name && ldconfig -p | grep -c 'libaccessd-client.so.0 ' >/dev/null"

echo "test-systemd.sh took $(($(date +%s) - started_at)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
