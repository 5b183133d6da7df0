# A closed test network of Linux network namespaces, for tests that run
# several hosts on one machine (scripts/test-lab.sh, scripts/test-cluster.sh).
# Sourced, never run; needs root and iproute2.
#
#   lab_up PREFIX HOST...   namespaces PREFIX-br (a bridge) and PREFIX-HOST,
#                           one per host, each with eth0 on the bridge
#   lab_ns HOST             the namespace's name (PREFIX-HOST)
#   lab_addr HOST           the host's IPv4 address (read from its eth0)
#   lab_hosts               one line per host: HOST ADDRESS NAMESPACE
#   lab_exec HOST CMD...    CMD inside the host's namespace (ip netns exec);
#                           to start a process in the background and keep
#                           its pid, use ip netns exec "$(lab_ns HOST)" CMD &
#                           ($! of `lab_exec ... &` is a subshell's)
#   lab_cut HOST            cut the host off the network (both ways)
#   lab_heal HOST           put it back
#   lab_down PREFIX         remove the lab, whatever state it is in
#
# Addresses: the hosts get $LAB_SUBNET.11, .12, ... in the order lab_up is
# given them (LAB_SUBNET defaults to 10.231.0, a /24). No namespace has a
# default route or a link to the root namespace, so nothing sent in the lab
# can leave it; two labs with the same subnet do not see each other either.
# lab_up exports LAB_PREFIX and LAB_SUBNET, which the other functions read.
#
# A cut detaches the host's port from the bridge: its eth0 stays up and
# keeps its address, frames to and from it are silently dropped, so TCP sees
# a real partition (no reset, no "network unreachable": connects and
# established connections hang until their timeouts) and an established
# connection resumes after lab_heal if neither end gave up meanwhile.
# The host cannot see or undo the cut from inside its namespace.

LAB_SUBNET="${LAB_SUBNET:-10.231.0}"

_lab_fail() {
    echo "netns.sh: $*" >&2
    return 1
}

_lab_need_prefix() {
    [ -n "${LAB_PREFIX:-}" ] || _lab_fail "no lab: call lab_up first (or export LAB_PREFIX)"
}

# PREFIX and HOST exclude '-', so PREFIX-HOST names exactly one lab's
# namespaces (lab_down matches on it); a HOST fits in an interface name (v+HOST).
_lab_valid_prefix() {
    [[ "$1" =~ ^[A-Za-z0-9_]{1,40}$ ]] || _lab_fail "bad prefix '$1' (letters, digits, _)"
}

_lab_valid_host() {
    [[ "$1" =~ ^[a-z0-9_]{1,14}$ && "$1" != br ]] || _lab_fail "bad host name '$1' (a-z, 0-9, _, at most 14, not 'br')"
}

lab_ns() {
    _lab_need_prefix && _lab_valid_host "${1:?lab_ns HOST}" && echo "$LAB_PREFIX-$1"
}

lab_up() {
    local prefix="${1:?lab_up PREFIX HOST...}" host ns n=10
    shift
    [ $# -gt 0 ] || _lab_fail "lab_up: no hosts" || return
    _lab_valid_prefix "$prefix" || return
    [[ "$LAB_SUBNET" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || _lab_fail "bad LAB_SUBNET '$LAB_SUBNET' (three octets, like 10.231.0)" || return
    [ $# -le 240 ] || _lab_fail "lab_up: at most 240 hosts" || return
    for host in "$@"; do _lab_valid_host "$host" || return; done
    if [ -n "$(_lab_namespaces "$prefix")" ]; then
        _lab_fail "a lab named $prefix exists already (lab_down $prefix removes it)"
        return
    fi
    export LAB_PREFIX="$prefix" LAB_SUBNET
    {
        ip netns add "$prefix-br" &&
            ip -n "$prefix-br" link set lo up &&
            ip -n "$prefix-br" link add br0 type bridge &&
            ip -n "$prefix-br" link set br0 up
    } || _lab_fail "lab_up: could not make the bridge namespace $prefix-br" || return
    for host in "$@"; do
        n=$((n + 1))
        ns="$prefix-$host"
        # Both veth ends are made directly in their namespaces: nothing of the
        # lab ever exists in the root namespace, not even for a moment.
        {
            ip netns add "$ns" &&
                ip -n "$ns" link set lo up &&
                ip -n "$prefix-br" link add "v$host" type veth peer name eth0 netns "$ns" &&
                ip -n "$prefix-br" link set "v$host" master br0 up &&
                ip -n "$ns" addr add "$LAB_SUBNET.$n/24" dev eth0 &&
                ip -n "$ns" link set eth0 up
        } || _lab_fail "lab_up: could not make host $host ($ns)" || return
    done
    lab_hosts | sed 's/^/lab: /' >&2
}

lab_addr() {
    local ns out
    ns="$(lab_ns "${1:?lab_addr HOST}")" || return
    out="$(ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null)" || _lab_fail "lab_addr: no host $1 in lab $LAB_PREFIX" || return
    out="${out#* inet }"
    echo "${out%%/*}"
}

lab_hosts() {
    _lab_need_prefix || return
    local ns host
    for ns in $(_lab_namespaces "$LAB_PREFIX"); do
        host="${ns#"$LAB_PREFIX"-}"
        [ "$host" = br ] || echo "$host $(lab_addr "$host") $ns"
    done | sort -t. -k4,4n
}

lab_exec() {
    local ns
    ns="$(lab_ns "${1:?lab_exec HOST CMD...}")" || return
    shift
    ip netns exec "$ns" "$@"
}

lab_cut() {
    _lab_need_prefix && _lab_valid_host "${1:?lab_cut HOST}" &&
        ip -n "$LAB_PREFIX-br" link set "v$1" nomaster ||
        _lab_fail "lab_cut: could not detach $1's port"
}

lab_heal() {
    # The bridge runs no STP, so the port forwards again at once.
    _lab_need_prefix && _lab_valid_host "${1:?lab_heal HOST}" &&
        ip -n "$LAB_PREFIX-br" link set "v$1" master br0 ||
        _lab_fail "lab_heal: could not attach $1's port"
}

# The namespaces of lab PREFIX, host namespaces first (br last).
_lab_namespaces() {
    local ns
    ip netns list 2>/dev/null | while read -r ns _; do
        if [[ "$ns" =~ ^$1-[^-]+$ ]]; then echo "$ns"; fi
    done | awk -F- '$NF == "br" { last = $0; next } { print } END { if (last) print last }'
}

lab_down() {
    local prefix="${1:?lab_down PREFIX}" ns pids status=0
    _lab_valid_prefix "$prefix" || return
    for ns in $(_lab_namespaces "$prefix"); do
        # A namespace lives on while a process is in it: stop what the test
        # left behind (its daemons should have been stopped before).
        pids="$(ip netns pids "$ns" 2>/dev/null)" || pids=""
        if [ -n "$pids" ]; then
            echo "lab_down: stopping processes left in $ns: ${pids//$'\n'/ }" >&2
            # shellcheck disable=SC2086 # one pid a word
            kill -TERM $pids 2>/dev/null || true
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                pids="$(ip netns pids "$ns" 2>/dev/null)" || pids=""
                [ -n "$pids" ] || break
                sleep 0.2
            done
            # shellcheck disable=SC2086
            [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
        fi
        ip netns del "$ns" || status=1
    done
    [ "${LAB_PREFIX:-}" != "$prefix" ] || unset LAB_PREFIX
    return $status
}
