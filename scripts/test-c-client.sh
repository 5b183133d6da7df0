#!/usr/bin/env bash
# The C client's test (issue 7), run by scripts/test.sh after the Swift tests.
#
#   scripts/test-c-client.sh                 # the whole test
#   scripts/test-c-client.sh --install-deps  # only install what it needs
#
# Installs protobuf-c-compiler, libprotobuf-c-dev and valgrind when missing;
# builds clients/c from clean with -Wall -Wextra -Werror; starts a real
# accessd (ACCESSD=path, else `swift build --product accessd`) on a temporary
# socket and state directory; runs the C test program there (accounts, users,
# sharing, checks allowed and denied, PERMISSION_DENIED, NOT_FOUND,
# RESOURCE_EXHAUSTED, timeouts, sockets it must not trust), then again under
# valgrind against a fresh daemon, with the example accessd-check (also
# refusing the daemon's socket once its directory is 0777, and reporting a broken config file) and the README's
# example under valgrind as well; checks the README's C example is the file it compiles;
# installs with `make install` and builds the README example through
# pkg-config. Exits non-zero on any failure, saying which.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

install_deps() {
    local missing=()
    command -v cc >/dev/null || missing+=(gcc)
    command -v make >/dev/null || missing+=(make)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    command -v protoc-c >/dev/null || missing+=(protobuf-c-compiler)
    pkg-config --exists libprotobuf-c 2>/dev/null || missing+=(libprotobuf-c-dev)
    command -v valgrind >/dev/null || missing+=(valgrind)
    if ((${#missing[@]})); then
        echo "installing ${missing[*]}" >&2
        apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2
    fi
}

install_deps
if [[ "${1:-}" == "--install-deps" ]]; then
    exit 0
fi

passed=0
failed=0
ok() {
    echo "ok - $*"
    passed=$((passed + 1))
}
fail() {
    echo "FAILED - $*"
    failed=$((failed + 1))
}

work=$(mktemp -d /tmp/accessd-c-client.XXXXXX)
daemon_pid=""
stop_daemon() {
    if [[ -n "$daemon_pid" ]]; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        local status=0
        wait "$daemon_pid" || status=$?
        daemon_pid=""
        return "$status"
    fi
}
cleanup() {
    stop_daemon || true
    rm -rf "$work"
}
trap cleanup EXIT

# The daemon.
if [[ -z "${ACCESSD:-}" ]]; then
    echo "building accessd" >&2
    swift build --product accessd >&2
    ACCESSD="$(swift build --show-bin-path)/accessd"
fi
[[ -x "$ACCESSD" ]] || { echo "test-c-client: no accessd at $ACCESSD" >&2; exit 1; }

# Starts accessd on $work/NAME/run/accessd.sock with an empty config file
# (so nothing on this machine changes its limits); sets $socket.
start_daemon() {
    local dir="$work/$1"
    mkdir -p "$dir"
    : >"$dir/accessd.conf"
    socket="$dir/run/accessd.sock"
    "$ACCESSD" --config "$dir/accessd.conf" --socket "$socket" --state-dir "$dir/state" --log-level warning \
        >"$dir/accessd.out" 2>"$dir/accessd.err" &
    daemon_pid=$!
    for _ in $(seq 200); do
        grep -q "listening on" "$dir/accessd.out" 2>/dev/null && return 0
        kill -0 "$daemon_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "test-c-client: accessd did not start:" >&2
    cat "$dir/accessd.out" "$dir/accessd.err" >&2
    exit 1
}

# The library, the examples and the test program, from clean, warnings as errors.
build=clients/c/build
make -C clients/c clean >/dev/null
if make -C clients/c -j2 CFLAGS="-O1 -g -Wall -Wextra -Werror" >"$work/make.log" 2>&1; then
    ok "make (clean build, -Wall -Wextra -Werror): library, accessd-check, readme-example, accessd-client-test"
else
    cat "$work/make.log"
    fail "make"
    echo "c-client: $passed passed, $failed failed"
    exit 1
fi
for file in libaccessd-client.a libaccessd-client.so.0 accessd-client.pc; do
    [[ -e "$build/$file" ]] && ok "built $file" || fail "built $file"
done

# Valgrind, strict: any error or any block not freed fails.
vg() {
    local log=$1
    shift
    valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
        --track-fds=no --log-file="$log" "$@"
}
# Valgrind's summary says no errors and nothing left on the heap.
clean_valgrind_log() {
    grep -q "ERROR SUMMARY: 0 errors from 0 contexts" "$1" && grep -q "All heap blocks were freed" "$1"
}

# 1. The C test program against a fresh daemon.
start_daemon plain
if "$build/accessd-client-test" --ids "$work/ids" "$socket" >"$work/test.out" 2>&1; then
    ok "accessd-client-test: $(tail -1 "$work/test.out")"
else
    cat "$work/test.out"
    fail "accessd-client-test: $(tail -1 "$work/test.out")"
fi
if stop_daemon; then ok "accessd stopped with SIGTERM, status 0"; else fail "accessd exit status after SIGTERM"; fi

# 2. The same under valgrind, against another fresh daemon, and the examples.
start_daemon valgrind
if vg "$work/vg-test.log" "$build/accessd-client-test" --ids "$work/ids" "$socket" >"$work/vg-test.out" 2>&1 &&
    clean_valgrind_log "$work/vg-test.log"; then
    ok "valgrind accessd-client-test: $(tail -1 "$work/vg-test.out"); $(grep -o 'ERROR SUMMARY: [0-9]* errors' "$work/vg-test.log"), all heap blocks freed"
else
    cat "$work/vg-test.out" "$work/vg-test.log"
    fail "valgrind accessd-client-test"
fi
# shellcheck disable=SC1091
source "$work/ids"

# accessd-check under valgrind: exit status, output, valgrind's summary.
expect_check() {
    local want=$1 output=$2
    shift 2
    local log="$work/vg-check-$passed-$failed.log" status=0
    vg "$log" "$build/accessd-check" "$@" >"$work/check.out" 2>"$work/check.err" || status=$?
    local said
    said="$(cat "$work/check.out" "$work/check.err")"
    if [[ "$status" == "$want" && "$said" == *"$output"* ]] && clean_valgrind_log "$log"; then
        ok "valgrind accessd-check $* -> exit $status, '$said'"
    else
        cat "$log"
        fail "accessd-check $*: exit $status (wanted $want), said '$said' (wanted '$output')"
    fi
}
expect_check 0 allowed -s "$socket" olga@acme.example "$ACME" share-access
expect_check 0 allowed -s "$socket" gus@globex.example "$ACME" MANAGE_PRODUCTS
expect_check 1 denied -s "$socket" "$ADA" "$ACME" SHARE_ACCESS
expect_check 1 denied -s "$socket" vic@acme.example "$ACME" view-projects
expect_check 2 "NOT_FOUND: " -s "$socket" nobody@acme.example "$ACME" share-access
expect_check 2 "INVALID_ARGUMENT: unknown permission 'fly'" -s "$socket" olga@acme.example "$ACME" fly
expect_check 2 "UNAVAILABLE: cannot connect to accessd at $work/none.sock" -s "$work/none.sock" olga@acme.example "$ACME" share-access
# The daemon still listens, but once others can write its socket's directory the library refuses it.
chmod 0777 "${socket%/*}"
expect_check 2 "FAILED_PRECONDITION: cannot connect to accessd at $socket: the socket's directory ${socket%/*} is writable by its group and others (mode 0777)" \
    -s "$socket" olga@acme.example "$ACME" share-access
chmod 0750 "${socket%/*}"
expect_check 2 usage olga@acme.example
ACCESSD_SOCKET="$socket" expect_check 0 "" -q olga@acme.example "$ACME" share-access
# A broken config file is said (file:line, the key), not passed over for another socket.
printf 'socket = %s\nsockte = /elsewhere.sock\n' "$socket" >"$work/broken.conf"
ACCESSD_CONFIG="$work/broken.conf" expect_check 2 \
    "FAILED_PRECONDITION: cannot find accessd's socket: $work/broken.conf:2: unknown key 'sockte'" \
    olga@acme.example "$ACME" share-access

# The README's example, under valgrind, finding the socket through $ACCESSD_SOCKET.
for who in olga@acme.example:0 vic@acme.example:1; do
    status=0
    ACCESSD_SOCKET="$socket" vg "$work/vg-readme.log" "$build/readme-example" "${who%%:*}" "$ACME" \
        >"$work/readme.out" 2>&1 || status=$?
    if [[ "$status" == "${who##*:}" ]] && clean_valgrind_log "$work/vg-readme.log"; then
        ok "valgrind readme-example ${who%%:*} -> exit $status"
    else
        cat "$work/readme.out" "$work/vg-readme.log"
        fail "readme-example ${who%%:*}: exit $status (wanted ${who##*:})"
    fi
done

# 3. The README shows exactly the file that is compiled.
readme_block=$(awk '/^<!-- c-client-example: clients\/c\/examples\/readme-example.c -->$/ {found=1; next}
    found && /^```c$/ {inside=1; next} inside && /^```$/ {exit} inside {print}' README.md)
if [[ -n "$readme_block" && "$readme_block" == "$(cat clients/c/examples/readme-example.c)" ]]; then
    ok "README's C example is clients/c/examples/readme-example.c ($(wc -l <clients/c/examples/readme-example.c) lines)"
else
    diff <(echo "$readme_block") clients/c/examples/readme-example.c || true
    fail "README's C example differs from clients/c/examples/readme-example.c"
fi

# 4. make install, and a program built through pkg-config against the shared library.
prefix="$work/prefix"
if make -C clients/c install PREFIX="$prefix" >"$work/install.log" 2>&1 &&
    [[ -f "$prefix/include/accessd/client.h" && -f "$prefix/include/accessd/v1/access.pb-c.h" &&
        -e "$prefix/lib/libaccessd-client.so" && -f "$prefix/lib/pkgconfig/accessd-client.pc" &&
        -x "$prefix/bin/accessd-check" ]]; then
    ok "make install PREFIX=...: header, generated headers, libraries, accessd-client.pc, accessd-check"
else
    cat "$work/install.log"
    fail "make install"
fi
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
if ! cc -std=c11 -Wall -Wextra -Werror $(pkg-config --cflags accessd-client) clients/c/examples/readme-example.c \
    $(pkg-config --libs accessd-client) -Wl,-rpath,"$prefix/lib" -o "$work/readme-installed" 2>"$work/cc.log"; then
    cat "$work/cc.log"
    fail "building the README example through pkg-config"
elif ! ldd_out="$(ldd "$work/readme-installed")" ||
    [[ "$ldd_out" != *"libaccessd-client.so.0 => $prefix/lib"* ]]; then
    # The output is captured first: piping ldd into a quiet grep under pipefail fails at
    # random when grep exits at its first match and ldd dies of SIGPIPE.
    echo "${ldd_out:-}"
    fail "the README example built through pkg-config links the installed libaccessd-client.so.0"
else
    status=0
    ACCESSD_SOCKET="$socket" "$work/readme-installed" olga@acme.example "$ACME" 2>"$work/readme-installed.err" || status=$?
    if [[ "$status" == 0 ]]; then
        ok "the README example built with pkg-config --cflags --libs accessd-client runs against the installed .so"
    else
        cat "$work/readme-installed.err"
        fail "the README example built through pkg-config: exit $status for an allowed check"
    fi
fi
unset PKG_CONFIG_PATH

if stop_daemon; then ok "accessd stopped with SIGTERM, status 0"; else fail "accessd exit status after SIGTERM"; fi

echo "c-client: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
