#!/usr/bin/env bash
# Installs accessd as a socket-activated systemd service:
#   /usr/local/bin/accessd, /usr/local/bin/accessctl
#   /etc/systemd/system/accessd.service, accessd.socket
#   /etc/sysusers.d/accessd.conf (the user and group accessd)
#   /etc/accessd/accessd.conf (kept when it exists)
#   /usr/local/share/doc/accessd/examples/shared-log.conf (the drop-in for a
#   shared log in PostgreSQL, an example: README "Several hosts")
# then creates the user, and enables and starts accessd.socket when systemd runs.
#
#   install.sh [--root DIR] [--binaries DIR] [--no-start]
#
# --binaries: where accessd and accessctl are (default: bin/ beside this script
# in a package from scripts/package.sh, else a release build made here).
# --root: install into DIR instead of / (for packaging and for the unit tests).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root=/
binaries=""
start=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="$2"; shift 2 ;;
        --binaries) binaries="$2"; shift 2 ;;
        --no-start) start=no; shift ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
done
units="$here/systemd"
if [ -z "$binaries" ]; then
    if [ -x "$here/bin/accessd" ]; then
        binaries="$here/bin"
    else
        echo "building accessd and accessctl (release, static Swift runtime)" >&2
        (cd "$here/.." && swift build -c release --static-swift-stdlib --product accessd >&2 \
            && swift build -c release --static-swift-stdlib --product accessctl >&2)
        binaries="$here/../.build/release"
    fi
fi

install -D -m 0755 "$binaries/accessd" "$root/usr/local/bin/accessd"
install -D -m 0755 "$binaries/accessctl" "$root/usr/local/bin/accessctl"
install -D -m 0644 "$units/accessd.service" "$root/etc/systemd/system/accessd.service"
install -D -m 0644 "$units/accessd.socket" "$root/etc/systemd/system/accessd.socket"
install -D -m 0644 "$units/accessd.sysusers" "$root/etc/sysusers.d/accessd.conf"
# An example, not in force: the drop-in for a shared log in PostgreSQL (README "Several hosts").
install -D -m 0644 "$units/accessd-shared-log.conf" "$root/usr/local/share/doc/accessd/examples/shared-log.conf"
if [ ! -e "$root/etc/accessd/accessd.conf" ]; then
    install -D -m 0644 "$units/accessd.conf" "$root/etc/accessd/accessd.conf"
fi

if [ "$root" != / ]; then
    echo "installed into $root" >&2
    exit 0
fi
# The group must exist before accessd.socket can be created with it.
systemd-sysusers /etc/sysusers.d/accessd.conf
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    if [ "$start" = yes ]; then
        systemctl enable --now accessd.socket
        systemctl try-restart accessd.service
        echo "accessd.socket listens on /run/accessd.sock; accessd starts on the first connection" >&2
    fi
else
    echo "systemd is not running here: run 'systemctl enable --now accessd.socket' once it does" >&2
fi
