/*
 * The C client library's test program (scripts/test-c-client.sh runs it,
 * under valgrind too).
 *
 *   accessd-client-test [--ids FILE] SOCKET
 *       Offline tests first (socket discovery, permission names, the
 *       sockets the library refuses to trust, a fake daemon in a thread that
 *       sends partial frames, replies to other ids, late replies, a GoAway,
 *       an id-0 error, garbage), then a whole flow
 *       against the real accessd at SOCKET, as root (an administrator):
 *       accounts, users, activation, sharing, checks allowed and denied,
 *       PERMISSION_DENIED, NOT_FOUND, RESOURCE_EXHAUSTED (licenses, and the
 *       daemon's frame maximum), timeouts. Writes NAME=VALUE lines of the
 *       ids it made to FILE. Prints one line per check and
 *       "N passed, N failed"; exits 1 when one failed.
 *
 *   accessd-client-test --replay SOCKET
 *       The C side of the byte comparison with the Swift client
 *       (Tests/AccessDaemonTests/CClientTests.swift): reads calls from stdin,
 *       one per line "METHOD ACTOR PAYLOAD_HEX" ("-" for an empty actor or
 *       payload), makes them in order on one connection with no timeout, and
 *       prints one line per reply: "CODE PAYLOAD_HEX MESSAGE".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <accessd/client.h>
#include <accessd/v1/frames.pb-c.h>

/* MARK: - Checks */

static int passed, failed;

static void check(int ok, const char *file, int line, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void check(int ok, const char *file, int line, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    printf("%s - ", ok ? "ok" : "FAILED");
    vprintf(format, args);
    va_end(args);
    if (!ok) {
        printf("  (%s:%d)", file, line);
        failed++;
    } else {
        passed++;
    }
    printf("\n");
    fflush(stdout);
}

#define CHECK(ok, ...) check((ok) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

/* A call's outcome: its code and, for failures, the message. */
#define CHECK_CODE(got, error, want, ...)                                                                        \
    do {                                                                                                         \
        int got_ = (got);                                                                                        \
        char what_[256];                                                                                         \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                                              \
        CHECK(got_ == (want) && (error).code == got_, "%s: %s%s%s", what_, accessd_code_name(got_),              \
              got_ != ACCESSD_OK ? ": " : "", got_ != ACCESSD_OK ? (error).message : "");                        \
    } while (0)

static int contains(const char *text, const char *part)
{
    return text != NULL && strstr(text, part) != NULL;
}

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* accessd_call leaves error untouched on success; tests read error.code after every call. */
static void reset(accessd_error *error)
{
    error->code = ACCESSD_OK;
    error->from_daemon = 0;
    error->message[0] = '\0';
}

/* MARK: - Socket discovery */

static char scratch[256];

static void write_file(const char *path, const char *text)
{
    FILE *file = fopen(path, "w");
    if (file != NULL) {
        fputs(text, file);
        fclose(file);
    }
}

static const char *discovered(void)
{
    static char path[512];
    accessd_socket_path(path, sizeof path);
    return path;
}

static void test_discovery(void)
{
    static const char *const names[] = {
        "ACCESSD_SOCKET", "ACCESSD_CONFIG", "XDG_CONFIG_HOME", "RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR", "UID", "HOME",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        unsetenv(names[i]);
    }
    char config[512], xdg_config[512], file[600];
    snprintf(config, sizeof config, "%s/accessd.conf", scratch);
    snprintf(xdg_config, sizeof xdg_config, "%s/xdg", scratch);

    if (access("/etc/accessd/accessd.conf", F_OK) != 0) {
        char expected[64];
        snprintf(expected, sizeof expected, "/tmp/accessd-%lu/accessd.sock", (unsigned long)getuid());
        CHECK(strcmp(discovered(), expected) == 0, "discovery: nothing set gives %s (got %s)", expected, discovered());
        setenv("UID", "4242", 1);
        CHECK(strcmp(discovered(), "/tmp/accessd-4242/accessd.sock") == 0, "discovery: $UID names the /tmp directory");
        setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
        CHECK(strcmp(discovered(), "/run/user/4242/accessd/accessd.sock") == 0, "discovery: $XDG_RUNTIME_DIR");
        setenv("RUNTIME_DIRECTORY", ":/run/first:/run/second", 1);
        CHECK(strcmp(discovered(), "/run/first/accessd.sock") == 0,
              "discovery: $RUNTIME_DIRECTORY, first entry of a list (got %s)", discovered());
    }
    setenv("RUNTIME_DIRECTORY", "/run/first", 1);
    setenv("XDG_CONFIG_HOME", xdg_config, 1);
    snprintf(file, sizeof file, "%s/accessd", xdg_config);
    mkdir(xdg_config, 0700);
    mkdir(file, 0700);
    snprintf(file, sizeof file, "%s/accessd/accessd.conf", xdg_config);
    write_file(file, "socket = /from/xdg-config.sock\n");
    CHECK(strcmp(discovered(), "/from/xdg-config.sock") == 0, "discovery: $XDG_CONFIG_HOME/accessd/accessd.conf");

    setenv("ACCESSD_CONFIG", config, 1);
    write_file(config, "# accessd\n\nlog_level = debug\n  socket=  /from/config.sock   # the socket\r\nsocket = /last/wins.sock\n");
    CHECK(strcmp(discovered(), "/last/wins.sock") == 0, "discovery: $ACCESSD_CONFIG's socket line, comments, last wins");
    /* A broken or unreadable config file is said, never passed over for another socket. */
    accessd_error error;
    char found[512];
    size_t found_length = 99;
    char where[700];
    write_file(config, "socket = /from/config.sock\nno_such_key = 1\n");
    snprintf(where, sizeof where, "%s:2: unknown key 'no_such_key'", config);
    CHECK(accessd_find_socket(found, sizeof found, &found_length, &error) == ACCESSD_FAILED_PRECONDITION &&
              contains(error.message, where) && found[0] == '\0' && found_length == 0,
          "discovery: an unknown key is reported as FILE:LINE (got '%s', '%s')", found, error.message);
    CHECK(accessd_socket_path(found, sizeof found) == 0 && found[0] == '\0',
          "discovery: accessd_socket_path gives \"\" for a broken config file (got '%s')", found);
    accessd_conn *none = (accessd_conn *)1;
    snprintf(where, sizeof where, "cannot find accessd's socket: %s:2: unknown key 'no_such_key'", config);
    CHECK(accessd_connect(NULL, &none, &error) == ACCESSD_FAILED_PRECONDITION && none == NULL &&
              contains(error.message, where),
          "discovery: accessd_connect(NULL) reports the broken config file: %s", error.message);
    write_file(config, "socket =\n");
    snprintf(where, sizeof where, "%s:1: expected key = value", config);
    CHECK(accessd_find_socket(found, sizeof found, NULL, &error) == ACCESSD_FAILED_PRECONDITION &&
              contains(error.message, where),
          "discovery: 'socket =' without a value is reported (%s)", error.message);
    write_file(config, "# fine\nsocket /from/config.sock\n");
    snprintf(where, sizeof where, "%s:2: expected key = value", config);
    CHECK(accessd_find_socket(found, sizeof found, NULL, &error) == ACCESSD_FAILED_PRECONDITION &&
              contains(error.message, where),
          "discovery: a line without '=' is reported with its line (%s)", error.message);
    setenv("ACCESSD_CONFIG", scratch, 1);
    snprintf(where, sizeof where, "cannot read the config file %s", scratch);
    CHECK(accessd_find_socket(found, sizeof found, NULL, &error) == ACCESSD_FAILED_PRECONDITION &&
              contains(error.message, where),
          "discovery: a config file that cannot be read is reported (%s)", error.message);
    setenv("ACCESSD_CONFIG", config, 1);
    write_file(config, "state_dir = /var/lib/x\nmax_connections = 5\nfsync = interval\n");
    CHECK(accessd_find_socket(found, sizeof found, &found_length, &error) == ACCESSD_OK &&
              strcmp(found, "/run/first/accessd.sock") == 0 && found_length == strlen(found),
          "discovery: keys accessd knows but the library does not use are fine; no socket line: the next rule");
    write_file(config, "socket = /from/config.sock\n");
    setenv("ACCESSD_SOCKET", "/from/env.sock", 1);
    CHECK(strcmp(discovered(), "/from/env.sock") == 0, "discovery: $ACCESSD_SOCKET wins over everything");

    char small[8];
    size_t length = accessd_socket_path(small, sizeof small);
    CHECK(length == strlen("/from/env.sock") && strlen(small) == sizeof small - 1,
          "discovery: a small buffer is cut and the full length returned");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        unsetenv(names[i]);
    }
}

/* MARK: - Library basics */

static void test_basics(void)
{
    accessd_error error;
    Accessd__V1__Permission permission = ACCESSD__V1__PERMISSION__PERMISSION_UNSPECIFIED;
    CHECK(accessd_permission_from_name("share-access", &permission, &error) == ACCESSD_OK &&
              permission == ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS,
          "permission names: share-access");
    CHECK(accessd_permission_from_name("PERMISSION_MANAGE_PRODUCTS", &permission, &error) == ACCESSD_OK &&
              permission == ACCESSD__V1__PERMISSION__PERMISSION_MANAGE_PRODUCTS,
          "permission names: PERMISSION_MANAGE_PRODUCTS");
    CHECK(accessd_permission_from_name("edit_billing", &permission, &error) == ACCESSD_OK &&
              permission == ACCESSD__V1__PERMISSION__PERMISSION_EDIT_BILLING,
          "permission names: edit_billing");
    int code = accessd_permission_from_name("fly", &permission, &error);
    CHECK(code == ACCESSD_INVALID_ARGUMENT && contains(error.message, "SHARE_ACCESS"),
          "permission names: unknown -> INVALID_ARGUMENT: %s", error.message);
    CHECK(accessd_permission_from_name("unspecified", &permission, NULL) == ACCESSD_INVALID_ARGUMENT,
          "permission names: UNSPECIFIED is not a permission");
    CHECK(strcmp(accessd_code_name(8), "RESOURCE_EXHAUSTED") == 0 && strcmp(accessd_code_name(99), "UNKNOWN_CODE") == 0,
          "code names");

    accessd_conn *conn = (accessd_conn *)1;
    char path[600];
    snprintf(path, sizeof path, "%s/nobody-listens.sock", scratch);
    code = accessd_connect(path, &conn, &error);
    CHECK(code == ACCESSD_UNAVAILABLE && conn == NULL && contains(error.message, path) && !error.from_daemon,
          "connect where nothing listens: UNAVAILABLE: %s", error.message);
    char long_path[200];
    memset(long_path, 'x', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
    code = accessd_connect(long_path, &conn, &error);
    CHECK(code == ACCESSD_INVALID_ARGUMENT && conn == NULL, "connect with a path too long: INVALID_ARGUMENT");
    CHECK(accessd_connect(path, &conn, NULL) == ACCESSD_UNAVAILABLE, "a NULL error is allowed");
    CHECK(accessd_call(NULL, "/x", NULL, NULL, NULL, NULL, &error) == ACCESSD_INVALID_ARGUMENT,
          "accessd_call with NULL arguments: INVALID_ARGUMENT");
    accessd_close(NULL);
}

/* MARK: - Whom the library trusts (README, "Where things are") */

/*
 * A plain listening socket (no daemon; nothing accepts) at
 * scratch/NAME/accessd.sock, owned by `socket_owner`, in a directory made
 * with `mode` and `directory_owner`; `link` 1 puts a symbolic link named
 * NAME in place of the directory. Returns accessd_connect's code for it
 * (the path in `path`) and sets *connected when a connection reached the
 * listener's backlog.
 */
static int connect_to(const char *name, mode_t mode, uid_t directory_owner, uid_t socket_owner, int link, char *path,
                      size_t size, accessd_error *error, int *connected)
{
    char directory[400], real[420];
    snprintf(directory, sizeof directory, "%s/%s", scratch, name);
    snprintf(real, sizeof real, "%s-real", directory);
    const char *made = link ? real : directory;
    *connected = 0;
    snprintf(path, size, "%s/accessd.sock", directory);
    char bound[600];
    snprintf(bound, sizeof bound, "%s/accessd.sock", made);
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof address.sun_path, "%.100s", bound);
    int listener = -1;
    if (mkdir(made, 0755) != 0 || (link && symlink(real, directory) != 0) ||
        (listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 4) != 0 ||
        chown(bound, socket_owner, socket_owner) != 0 || chown(made, directory_owner, directory_owner) != 0 ||
        chmod(made, mode) != 0) {
        perror("untrusted socket");
        if (listener >= 0) {
            close(listener);
        }
        return -1;
    }
    accessd_conn *conn = NULL;
    int code = accessd_connect(path, &conn, error);
    accessd_close(conn);
    struct pollfd poller = { .fd = listener, .events = POLLIN, .revents = 0 };
    *connected = poll(&poller, 1, 0) > 0;
    close(listener);
    unlink(bound);
    if (link) {
        unlink(directory);
    }
    rmdir(made);
    return code;
}

/* What accessd_connect said: its message, or that it connected. */
static const char *outcome(int code, const accessd_error *error)
{
    return code == ACCESSD_OK ? "connected" : error->message;
}

static void test_socket_trust(void)
{
    accessd_error error;
    char path[600], directory[500];
    int connected;

    int code = connect_to("open", 0777, 0, 0, 0, path, sizeof path, &error, &connected);
    snprintf(directory, sizeof directory, "%s/open", scratch);
    char fix[600];
    snprintf(fix, sizeof fix, "chmod go-w %s (accessd creates it mode 0750)", directory);
    CHECK(code == ACCESSD_FAILED_PRECONDITION && !error.from_daemon && !connected &&
              contains(error.message, "cannot connect to accessd at ") && contains(error.message, path) &&
              contains(error.message, "is writable by its group and others (mode 0777)") &&
              contains(error.message, fix),
          "a socket in a directory others can write (0777): FAILED_PRECONDITION, not connected: %s",
          outcome(code, &error));

    code = connect_to("shared", 01777, 0, 0, 0, path, sizeof path, &error, &connected);
    CHECK(code == ACCESSD_FAILED_PRECONDITION && !connected && contains(error.message, "is shared (mode 1777)"),
          "a socket in a shared sticky directory like /tmp (1777): FAILED_PRECONDITION: %s", outcome(code, &error));

    code = connect_to("group", 0770, 0, 0, 0, path, sizeof path, &error, &connected);
    CHECK(code == ACCESSD_FAILED_PRECONDITION && !connected &&
              contains(error.message, "writable by its group (mode 0770)"),
          "a socket in a directory its group can write (0770): FAILED_PRECONDITION: %s", outcome(code, &error));

    code = connect_to("link", 0755, 0, 0, 1, path, sizeof path, &error, &connected);
    CHECK(code == ACCESSD_FAILED_PRECONDITION && !connected && contains(error.message, "is a symbolic link"),
          "a symbolic link in place of the socket's directory: FAILED_PRECONDITION: %s", outcome(code, &error));

    if (geteuid() == 0) {
        code = connect_to("theirs", 0755, 65534, 0, 0, path, sizeof path, &error, &connected);
        CHECK(code == ACCESSD_FAILED_PRECONDITION && !connected &&
                  contains(error.message, "is owned by uid 65534, not by root or by the socket's owner (uid 0)"),
              "a socket in a directory another user owns: FAILED_PRECONDITION: %s", outcome(code, &error));
        code = connect_to("impostor", 0755, 65534, 65534, 0, path, sizeof path, &error, &connected);
        CHECK(code == ACCESSD_FAILED_PRECONDITION && !connected &&
                  contains(error.message, "belongs to uid 65534, not to root or to you (uid 0)"),
              "a socket another user owns, in their directory: FAILED_PRECONDITION: %s", outcome(code, &error));
    }

    code = connect_to("mine", 0750, 0, 0, 0, path, sizeof path, &error, &connected);
    CHECK(code == ACCESSD_OK && connected, "a socket in a directory only its owner can write (0750) is trusted: %s",
          outcome(code, &error));
}

/* MARK: - A fake daemon */

typedef void (*fake_script)(int fd);

struct fake {
    char path[600];
    int listener;
    fake_script script;
    pthread_t thread;
};

static void *fake_main(void *argument)
{
    struct fake *fake = argument;
    int fd = accept(fake->listener, NULL, NULL);
    if (fd >= 0) {
        fake->script(fd);
        close(fd);
    }
    return NULL;
}

static int fake_start(struct fake *fake, const char *name, fake_script script)
{
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    snprintf(fake->path, sizeof fake->path, "%s/%s.sock", scratch, name);
    snprintf(address.sun_path, sizeof address.sun_path, "%.100s", fake->path);
    unlink(fake->path);
    fake->script = script;
    fake->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fake->listener < 0 || bind(fake->listener, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(fake->listener, 1) != 0 || pthread_create(&fake->thread, NULL, fake_main, fake) != 0) {
        perror("fake daemon");
        return 0;
    }
    return 1;
}

static void fake_stop(struct fake *fake)
{
    pthread_join(fake->thread, NULL);
    close(fake->listener);
    unlink(fake->path);
}

static int read_exact(int fd, uint8_t *bytes, size_t length)
{
    size_t done = 0;
    while (done < length) {
        ssize_t got = read(fd, bytes + done, length - done);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return 0;
        }
        done += (size_t)got;
    }
    return 1;
}

/* The next ClientFrame the client sent, or NULL. */
static Accessd__V1__ClientFrame *read_client_frame(int fd)
{
    uint8_t header[4];
    if (!read_exact(fd, header, 4)) {
        return NULL;
    }
    size_t length = (size_t)header[0] << 24 | (size_t)header[1] << 16 | (size_t)header[2] << 8 | header[3];
    uint8_t *body = malloc(length > 0 ? length : 1);
    Accessd__V1__ClientFrame *frame = NULL;
    if (body != NULL && read_exact(fd, body, length)) {
        frame = (Accessd__V1__ClientFrame *)protobuf_c_message_unpack(&accessd__v1__client_frame__descriptor, NULL,
                                                                      length, body);
    }
    free(body);
    return frame;
}

/* The id of the next Request (0 if it was not one). */
static uint64_t read_request_id(int fd)
{
    Accessd__V1__ClientFrame *frame = read_client_frame(fd);
    uint64_t id = frame != NULL && frame->kind_case == ACCESSD__V1__CLIENT_FRAME__KIND_REQUEST ? frame->request->id : 0;
    if (frame != NULL) {
        protobuf_c_message_free_unpacked(&frame->base, NULL);
    }
    return id;
}

/* Writes `bytes` in pieces of `piece` bytes with a pause between them. */
static void write_pieces(int fd, const uint8_t *bytes, size_t length, size_t piece, int pause_ms)
{
    for (size_t done = 0; done < length;) {
        size_t count = length - done < piece ? length - done : piece;
        ssize_t written = send(fd, bytes + done, count, MSG_NOSIGNAL);
        if (written <= 0) {
            return;
        }
        done += (size_t)written;
        if (pause_ms > 0 && done < length) {
            poll(NULL, 0, pause_ms);
        }
    }
}

static void write_server_frame(int fd, const Accessd__V1__ServerFrame *frame, size_t piece, int pause_ms)
{
    size_t length = protobuf_c_message_get_packed_size(&frame->base);
    uint8_t *bytes = malloc(4 + length);
    if (bytes == NULL) {
        return;
    }
    bytes[0] = (uint8_t)(length >> 24);
    bytes[1] = (uint8_t)(length >> 16);
    bytes[2] = (uint8_t)(length >> 8);
    bytes[3] = (uint8_t)length;
    protobuf_c_message_pack(&frame->base, bytes + 4);
    write_pieces(fd, bytes, 4 + length, piece, pause_ms);
    free(bytes);
}

/* A Response whose payload is a CheckResponse saying `allowed`. */
static void write_response(int fd, uint64_t id, uint32_t code, const char *message, int allowed, int more,
                           size_t piece, int pause_ms)
{
    Accessd__V1__CheckResponse check = ACCESSD__V1__CHECK_RESPONSE__INIT;
    check.allowed = allowed;
    uint8_t payload[64];
    size_t payload_len = protobuf_c_message_pack(&check.base, payload);
    Accessd__V1__Response response = ACCESSD__V1__RESPONSE__INIT;
    response.id = id;
    response.code = code;
    response.message = (char *)message;
    response.payload.data = payload;
    response.payload.len = code == 0 ? payload_len : 0;
    response.more = more;
    response.revision = 40 + id;
    Accessd__V1__ServerFrame frame = ACCESSD__V1__SERVER_FRAME__INIT;
    frame.kind_case = ACCESSD__V1__SERVER_FRAME__KIND_RESPONSE;
    frame.response = &response;
    write_server_frame(fd, &frame, piece, pause_ms);
}

/* A reply to another id, a byte at a time; then the reply, in three pieces. */
static void script_partial(int fd)
{
    uint64_t id = read_request_id(fd);
    write_response(fd, id + 100, 0, "", 0, 0, 1, 1);
    write_response(fd, id, 0, "", 1, 0, 7, 20);
}

/* The first reply comes after the client gave up; it cancels; the second call is answered. */
static volatile uint64_t cancelled_id;

static void script_late(int fd)
{
    uint64_t first = read_request_id(fd);
    poll(NULL, 0, 400);
    write_response(fd, first, 0, "", 0, 0, 1 << 20, 0);
    Accessd__V1__ClientFrame *cancel = read_client_frame(fd);
    if (cancel != NULL && cancel->kind_case == ACCESSD__V1__CLIENT_FRAME__KIND_CANCEL) {
        cancelled_id = cancel->cancel->id;
    }
    if (cancel != NULL) {
        protobuf_c_message_free_unpacked(&cancel->base, NULL);
    }
    uint64_t second = read_request_id(fd);
    write_response(fd, second, 0, "", 1, 0, 1 << 20, 0);
}

static void script_connection_error(int fd)
{
    (void)read_request_id(fd);
    write_response(fd, 0, ACCESSD_RESOURCE_EXHAUSTED, "a frame of 9 bytes is longer than the maximum", 0, 0, 1 << 20, 0);
}

static void script_hang_up(int fd)
{
    (void)read_request_id(fd);
}

static void script_go_away(int fd)
{
    uint64_t id = read_request_id(fd);
    Accessd__V1__GoAway go_away = ACCESSD__V1__GO_AWAY__INIT;
    go_away.reason = "shutting down";
    go_away.last_accepted_id = id;
    Accessd__V1__ServerFrame frame = ACCESSD__V1__SERVER_FRAME__INIT;
    frame.kind_case = ACCESSD__V1__SERVER_FRAME__KIND_GO_AWAY;
    frame.go_away = &go_away;
    write_server_frame(fd, &frame, 1 << 20, 0);
    write_response(fd, id, 0, "", 1, 0, 1 << 20, 0);
}

static void script_oversize(int fd)
{
    (void)read_request_id(fd);
    static const uint8_t header[4] = { 0x00, 0x10, 0x00, 0x00 };
    write_pieces(fd, header, 4, 4, 0);
    poll(NULL, 0, 200);
}

static void script_garbage(int fd)
{
    (void)read_request_id(fd);
    static const uint8_t bytes[] = { 0, 0, 0, 3, 0xff, 0xff, 0xff };
    write_pieces(fd, bytes, sizeof bytes, 8, 0);
    poll(NULL, 0, 200);
}

static void script_stream(int fd)
{
    uint64_t id = read_request_id(fd);
    write_response(fd, id, 0, "", 1, 1, 1 << 20, 0);
    Accessd__V1__ClientFrame *cancel = read_client_frame(fd);
    if (cancel != NULL && cancel->kind_case == ACCESSD__V1__CLIENT_FRAME__KIND_CANCEL) {
        cancelled_id = cancel->cancel->id;
    }
    if (cancel != NULL) {
        protobuf_c_message_free_unpacked(&cancel->base, NULL);
    }
}

static void test_fake_daemon(void)
{
    struct fake fake;
    accessd_conn *conn = NULL;
    accessd_error error;
    bool allowed = false;
    int code;

    if (fake_start(&fake, "partial", script_partial) && accessd_connect(fake.path, &conn, &error) == ACCESSD_OK) {
        reset(&error);
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_OK && allowed && accessd_last_revision(conn) == 41,
              "fake: a reply to another id is skipped, a reply in pieces is put together (code %d)", code);
        accessd_close(conn);
        fake_stop(&fake);
    }

    if (fake_start(&fake, "late", script_late) && accessd_connect(fake.path, &conn, &error) == ACCESSD_OK) {
        Accessd__V1__CheckRequest request = ACCESSD__V1__CHECK_REQUEST__INIT;
        accessd_call_options options = ACCESSD_CALL_OPTIONS_INIT;
        ProtobufCMessage *reply = NULL;
        options.timeout_ms = 100;
        int64_t start = now_ms();
        code = accessd_call(conn, "/accessd.v1.AccessService/Check", &request.base,
                            &accessd__v1__check_response__descriptor, &options, &reply, &error);
        int64_t took = now_ms() - start;
        CHECK(code == ACCESSD_DEADLINE_EXCEEDED && reply == NULL && !error.from_daemon && took >= 90 && took < 1500,
              "fake: no reply within 100 ms: DEADLINE_EXCEEDED after %lld ms: %s", (long long)took, error.message);
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_OK && allowed, "fake: the next call gets its own reply, the late one is dropped");
        accessd_close(conn);
        fake_stop(&fake);
        CHECK(cancelled_id == 1, "fake: the call that timed out was cancelled (id %llu)",
              (unsigned long long)cancelled_id);
    }

    if (fake_start(&fake, "id0", script_connection_error) && accessd_connect(fake.path, &conn, &error) == ACCESSD_OK) {
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_RESOURCE_EXHAUSTED && error.from_daemon && contains(error.message, "longer"),
              "fake: a Response with id 0 fails the call with its code: %s", error.message);
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_UNAVAILABLE && contains(error.message, "RESOURCE_EXHAUSTED"),
              "fake: after it the connection is closed: %s", error.message);
        accessd_close(conn);
        fake_stop(&fake);
    }

    if (fake_start(&fake, "eof", script_hang_up) && accessd_connect(fake.path, &conn, &error) == ACCESSD_OK) {
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_UNAVAILABLE && contains(error.message, "closed"),
              "fake: the daemon hangs up: UNAVAILABLE: %s", error.message);
        accessd_close(conn);
        fake_stop(&fake);
    }

    if (fake_start(&fake, "goaway", script_go_away) && accessd_connect(fake.path, &conn, &error) == ACCESSD_OK) {
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_OK && allowed, "fake: a call accepted before a GoAway is answered");
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_UNAVAILABLE && contains(error.message, "shutting down"),
              "fake: after a GoAway new calls fail: %s", error.message);
        accessd_close(conn);
        fake_stop(&fake);
    }

    if (fake_start(&fake, "oversize", script_oversize) && accessd_connect(fake.path, &conn, &error) == ACCESSD_OK) {
        accessd_set_max_frame_bytes(conn, 1024);
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_RESOURCE_EXHAUSTED && !error.from_daemon && contains(error.message, "1048576"),
              "fake: a reply frame above the maximum is refused before it is read: %s", error.message);
        accessd_close(conn);
        fake_stop(&fake);
    }

    if (fake_start(&fake, "garbage", script_garbage) && accessd_connect(fake.path, &conn, &error) == ACCESSD_OK) {
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_INTERNAL, "fake: a frame that does not decode: INTERNAL: %s", error.message);
        accessd_close(conn);
        fake_stop(&fake);
    }

    cancelled_id = 0;
    if (fake_start(&fake, "stream", script_stream) && accessd_connect(fake.path, &conn, &error) == ACCESSD_OK) {
        code = accessd_check(conn, "u", "a", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_UNIMPLEMENTED, "fake: a streamed reply: UNIMPLEMENTED: %s", error.message);
        accessd_close(conn);
        fake_stop(&fake);
        CHECK(cancelled_id == 1, "fake: the stream was cancelled");
    }
}

/* MARK: - Against the real daemon */

static const char *socket_path;

static char *copy(const char *text)
{
    return strdup(text != NULL ? text : "");
}

/* CreateAccount as an administrator; the new account's id and its owner's id. */
static int create_account(accessd_conn *conn, const char *name, const char *owner_email, uint32_t licenses,
                          char **account_id, char **owner_id)
{
    Accessd__V1__CreateAccountRequest request = ACCESSD__V1__CREATE_ACCOUNT_REQUEST__INIT;
    request.name = (char *)name;
    request.kind = ACCESSD__V1__ACCOUNT_KIND__ACCOUNT_KIND_STANDARD;
    request.full_access_licenses = licenses;
    request.owner_email = (char *)owner_email;
    request.owner_first_name = "First";
    request.owner_last_name = "Owner";
    Accessd__V1__CreateAccountResponse *reply = NULL;
    accessd_error error;
    reset(&error);
    int code = accessd_call(conn, "/accessd.v1.AdminService/CreateAccount", &request.base,
                            &accessd__v1__create_account_response__descriptor, NULL, (ProtobufCMessage **)&reply,
                            &error);
    CHECK_CODE(code, error, ACCESSD_OK, "CreateAccount %s as administrator", name);
    if (code == ACCESSD_OK) {
        *account_id = copy(reply->account != NULL ? reply->account->id : "");
        *owner_id = copy(reply->owner != NULL ? reply->owner->id : "");
        CHECK(reply->owner != NULL && reply->owner->status == ACCESSD__V1__USER_STATUS__USER_STATUS_ACTIVE,
              "CreateAccount %s: account %s, owner %s ACTIVE", name, *account_id, *owner_id);
        accessd_free(reply);
    } else {
        *account_id = copy("");
        *owner_id = copy("");
    }
    return code;
}

/* AddUser acting as `actor`; on OK the new user's id is put in *user_id (when not NULL). */
static int add_user(accessd_conn *conn, const char *actor, const char *account, const char *email, const char *role,
                    bool dry_run, char **user_id, accessd_error *error)
{
    Accessd__V1__AddUserRequest request = ACCESSD__V1__ADD_USER_REQUEST__INIT;
    request.account_id = (char *)account;
    request.email = (char *)email;
    request.first_name = "Test";
    request.last_name = "User";
    request.role = (char *)role;
    accessd_call_options options = ACCESSD_CALL_OPTIONS_INIT;
    options.actor = actor;
    options.dry_run = dry_run;
    Accessd__V1__UserResponse *reply = NULL;
    reset(error);
    int code = accessd_call(conn, "/accessd.v1.UserService/AddUser", &request.base,
                            &accessd__v1__user_response__descriptor, &options, (ProtobufCMessage **)&reply, error);
    if (code == ACCESSD_OK) {
        CHECK(reply->user != NULL && reply->user->status == ACCESSD__V1__USER_STATUS__USER_STATUS_PENDING,
              "AddUser %s as %s: PENDING%s", email, actor, dry_run ? " (dry run)" : "");
        if (user_id != NULL) {
            *user_id = copy(reply->user != NULL ? reply->user->id : "");
        }
        accessd_free(reply);
    }
    return code;
}

/* The activation token the outbox holds for `email` (the mailer's read, as administrator). */
static char *activation_token(accessd_conn *conn, const char *email)
{
    Accessd__V1__ListOutboxRequest request = ACCESSD__V1__LIST_OUTBOX_REQUEST__INIT;
    Accessd__V1__ListOutboxResponse *reply = NULL;
    accessd_error error;
    reset(&error);
    int code = accessd_call(conn, "/accessd.v1.EventService/ListOutbox", &request.base,
                            &accessd__v1__list_outbox_response__descriptor, NULL, (ProtobufCMessage **)&reply, &error);
    CHECK_CODE(code, error, ACCESSD_OK, "ListOutbox as administrator");
    char *token = NULL;
    if (code == ACCESSD_OK) {
        for (size_t i = 0; i < reply->n_messages; i++) {
            if (strcmp(reply->messages[i]->to, email) == 0) {
                free(token);
                token = copy(reply->messages[i]->token);
            }
        }
        accessd_free(reply);
    }
    CHECK(token != NULL && strlen(token) == 64, "the outbox holds %s's activation token", email);
    return token;
}

static void expect_check(accessd_conn *conn, const char *user, const char *account, Accessd__V1__Permission permission,
                         bool want, const char *what)
{
    accessd_error error;
    bool allowed = !want;
    reset(&error);
    int code = accessd_check(conn, user, account, permission, &allowed, &error);
    CHECK(code == ACCESSD_OK && allowed == want, "Check %s: %s (%s%s%s)", what, want ? "allowed" : "denied",
          accessd_code_name(code), code != ACCESSD_OK ? ": " : "", code != ACCESSD_OK ? error.message : "");
}

static void test_daemon(const char *ids_file)
{
    accessd_conn *conn = NULL, *second = NULL;
    accessd_error error;
    int code;

    /* Found by the discovery rules: $ACCESSD_SOCKET, then a config file's socket line. */
    setenv("ACCESSD_SOCKET", socket_path, 1);
    code = accessd_connect(NULL, &conn, &error);
    CHECK(code == ACCESSD_OK, "connect to accessd found through $ACCESSD_SOCKET");
    unsetenv("ACCESSD_SOCKET");
    if (code != ACCESSD_OK) {
        printf("# %s\n", error.message);
        return;
    }
    char config[600], text[700];
    snprintf(config, sizeof config, "%s/client.conf", scratch);
    snprintf(text, sizeof text, "socket = %s\n", socket_path);
    write_file(config, text);
    setenv("ACCESSD_CONFIG", config, 1);
    code = accessd_connect(NULL, &second, &error);
    CHECK(code == ACCESSD_OK, "connect to accessd found through the config file's socket line");
    unsetenv("ACCESSD_CONFIG");

    char *acme = NULL, *olga = NULL, *globex = NULL, *gus = NULL, *ada = NULL, *vic = NULL;
    create_account(conn, "Acme", "olga@acme.example", 2, &acme, &olga);
    create_account(conn, "Globex", "gus@globex.example", 1, &globex, &gus);

    /* Users: Ada takes the second license, Bob finds none left, Vic needs none. */
    code = add_user(conn, "olga@acme.example", acme, "ada@acme.example", "Member", false, &ada, &error);
    CHECK_CODE(code, error, ACCESSD_OK, "AddUser ada as olga");
    code = add_user(conn, "olga@acme.example", acme, "bob@acme.example", "Member", false, NULL, &error);
    CHECK_CODE(code, error, ACCESSD_RESOURCE_EXHAUSTED, "AddUser bob beyond the licenses");
    CHECK(error.from_daemon && contains(error.message, "2 of 2") && contains(error.message, "(R2)"),
          "RESOURCE_EXHAUSTED names the licenses in use and R2");
    code = add_user(conn, "olga@acme.example", acme, "vic@acme.example", "Viewer", false, &vic, &error);
    CHECK_CODE(code, error, ACCESSD_OK, "AddUser vic (Viewer, no license) as olga");
    code = add_user(conn, "olga@acme.example", acme, "dry@acme.example", "Viewer", true, NULL, &error);
    CHECK_CODE(code, error, ACCESSD_OK, "AddUser dry@ with dry_run");

    /* Ada activates with the token from the outbox (a token call: no actor). */
    char *token = activation_token(conn, "ada@acme.example");
    if (token != NULL) {
        Accessd__V1__ActivateUserRequest request = ACCESSD__V1__ACTIVATE_USER_REQUEST__INIT;
        request.token = token;
        Accessd__V1__UserResponse *reply = NULL;
        reset(&error);
        code = accessd_call(conn, "/accessd.v1.UserService/ActivateUser", &request.base,
                            &accessd__v1__user_response__descriptor, NULL, (ProtobufCMessage **)&reply, &error);
        CHECK_CODE(code, error, ACCESSD_OK, "ActivateUser with ada's token");
        CHECK(code == ACCESSD_OK && reply->user->status == ACCESSD__V1__USER_STATUS__USER_STATUS_ACTIVE,
              "ada is ACTIVE");
        accessd_free(reply);
        free(token);
    }

    /* Olga shares every product of Acme with Gus. */
    {
        Accessd__V1__ShareScope scope = ACCESSD__V1__SHARE_SCOPE__INIT;
        scope.scope_case = ACCESSD__V1__SHARE_SCOPE__SCOPE_ALL_CURRENT_AND_NEW;
        scope.all_current_and_new = 1;
        Accessd__V1__ShareAccessRequest request = ACCESSD__V1__SHARE_ACCESS_REQUEST__INIT;
        request.owner_account_id = acme;
        request.grantee_email = "gus@globex.example";
        request.scope = &scope;
        accessd_call_options options = ACCESSD_CALL_OPTIONS_INIT;
        static const char *const metadata[] = { "trace_id", "c-client-test", NULL };
        options.actor = "olga@acme.example";
        options.metadata = metadata;
        options.idempotency_key = "share-acme-gus";
        Accessd__V1__ShareResponse *reply = NULL;
        reset(&error);
        code = accessd_call(conn, "/accessd.v1.SharingService/ShareAccess", &request.base,
                            &accessd__v1__share_response__descriptor, &options, (ProtobufCMessage **)&reply, &error);
        CHECK_CODE(code, error, ACCESSD_OK, "ShareAccess Acme -> gus as olga (metadata, idempotency key)");
        CHECK(code == ACCESSD_OK && reply->share != NULL && strncmp(reply->share->id, "shr_", 4) == 0,
              "the share has an id (%s)", code == ACCESSD_OK && reply->share != NULL ? reply->share->id : "none");
        accessd_free(reply);
    }

    /* Checks, allowed and denied. */
    expect_check(conn, "olga@acme.example", acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, true,
                 "the owner SHARE_ACCESS");
    expect_check(conn, ada, acme, ACCESSD__V1__PERMISSION__PERMISSION_MANAGE_PRODUCTS, true,
                 "an active Member MANAGE_PRODUCTS");
    expect_check(conn, "ada@acme.example", acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, false,
                 "a Member SHARE_ACCESS");
    expect_check(conn, "vic@acme.example", acme, ACCESSD__V1__PERMISSION__PERMISSION_VIEW_PROJECTS, false,
                 "a PENDING Viewer VIEW_PROJECTS (R7)");
    expect_check(conn, "gus@globex.example", acme, ACCESSD__V1__PERMISSION__PERMISSION_MANAGE_PRODUCTS, true,
                 "the grantee of a share MANAGE_PRODUCTS in the owner account");
    expect_check(conn, "gus@globex.example", acme, ACCESSD__V1__PERMISSION__PERMISSION_EDIT_ACCOUNT_SETTINGS, false,
                 "the grantee EDIT_ACCOUNT_SETTINGS in the owner account");
    {
        Accessd__V1__CheckRequest request = ACCESSD__V1__CHECK_REQUEST__INIT;
        request.user = vic;
        request.account_id = acme;
        request.permission = ACCESSD__V1__PERMISSION__PERMISSION_VIEW_PROJECTS;
        Accessd__V1__CheckResponse *reply = NULL;
        reset(&error);
        code = accessd_call(conn, "/accessd.v1.AccessService/Check", &request.base,
                            &accessd__v1__check_response__descriptor, NULL, (ProtobufCMessage **)&reply, &error);
        CHECK(code == ACCESSD_OK && !reply->allowed && strcmp(reply->denied_by, "R7") == 0,
              "Check through accessd_call: denied_by %s, reason: %s", code == ACCESSD_OK ? reply->denied_by : "-",
              code == ACCESSD_OK ? reply->reason : error.message);
        accessd_free(reply);
    }

    /* PERMISSION_DENIED, with the daemon's messages. */
    code = add_user(conn, "ada@acme.example", acme, "eve@acme.example", "Viewer", false, NULL, &error);
    CHECK_CODE(code, error, ACCESSD_PERMISSION_DENIED, "AddUser as a Member without EDIT_ACCOUNT_SETTINGS");
    code = add_user(conn, "vic@acme.example", acme, "eve@acme.example", "Viewer", false, NULL, &error);
    CHECK_CODE(code, error, ACCESSD_PERMISSION_DENIED, "AddUser as a PENDING user");
    CHECK(contains(error.message, "only ACTIVE users act") && error.from_daemon, "the message names R7");
    {
        Accessd__V1__CreateAccountRequest request = ACCESSD__V1__CREATE_ACCOUNT_REQUEST__INIT;
        request.name = "Nope";
        request.owner_email = "nope@nope.example";
        request.owner_first_name = "No";
        request.owner_last_name = "Pe";
        accessd_call_options options = ACCESSD_CALL_OPTIONS_INIT;
        options.actor = "olga@acme.example";
        ProtobufCMessage *reply = NULL;
        reset(&error);
        code = accessd_call(conn, "/accessd.v1.AdminService/CreateAccount", &request.base,
                            &accessd__v1__create_account_response__descriptor, &options, &reply, &error);
        CHECK_CODE(code, error, ACCESSD_PERMISSION_DENIED, "CreateAccount acting for a user");
        CHECK(reply == NULL && contains(error.message, "administrator"), "the message says it is an administrator's call");
    }

    /* NOT_FOUND. */
    {
        Accessd__V1__GetUserRequest request = ACCESSD__V1__GET_USER_REQUEST__INIT;
        request.user_id = "usr_nobody";
        Accessd__V1__User *reply = NULL;
        reset(&error);
        code = accessd_call(conn, "/accessd.v1.UserService/GetUser", &request.base, &accessd__v1__user__descriptor,
                            NULL, (ProtobufCMessage **)&reply, &error);
        CHECK_CODE(code, error, ACCESSD_NOT_FOUND, "GetUser usr_nobody");
        CHECK(contains(error.message, "no user 'usr_nobody'"), "the message names the id, quoted: %s", error.message);
        request.user_id = ada;
        reset(&error);
        code = accessd_call(conn, "/accessd.v1.UserService/GetUser", &request.base, &accessd__v1__user__descriptor,
                            NULL, (ProtobufCMessage **)&reply, &error);
        CHECK(code == ACCESSD_OK && strcmp(reply->email, "ada@acme.example") == 0 &&
                  reply->status == ACCESSD__V1__USER_STATUS__USER_STATUS_ACTIVE,
              "GetUser ada: ada@acme.example ACTIVE");
        accessd_free(reply);
        bool allowed = true;
        reset(&error);
        code = accessd_check(conn, "nobody@acme.example", acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS,
                             &allowed, &error);
        CHECK_CODE(code, error, ACCESSD_NOT_FOUND, "accessd_check for an unknown user");
        code = accessd_check(conn, olga, "acc_nothing", ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed,
                             &error);
        CHECK_CODE(code, error, ACCESSD_NOT_FOUND, "accessd_check in an unknown account");
    }

    /* ListUsers as the owner: what the writes left, read on the second connection after them. */
    {
        Accessd__V1__ListUsersRequest request = ACCESSD__V1__LIST_USERS_REQUEST__INIT;
        request.account_id = acme;
        accessd_call_options options = ACCESSD_CALL_OPTIONS_INIT;
        options.actor = olga;
        options.min_revision = accessd_last_revision(conn);
        Accessd__V1__ListUsersResponse *reply = NULL;
        reset(&error);
        code = accessd_call(second, "/accessd.v1.UserService/ListUsers", &request.base,
                            &accessd__v1__list_users_response__descriptor, &options, (ProtobufCMessage **)&reply,
                            &error);
        CHECK(code == ACCESSD_OK && reply->total_users == 3 && reply->licenses_in_use == 2 && reply->license_count == 2,
              "ListUsers (min_revision %llu, other connection): 3 users, 2 of 2 licenses (%s)",
              (unsigned long long)options.min_revision, accessd_code_name(code));
        accessd_free(reply);
    }

    /* A NULL string field is sent as empty (protobuf-c's proto3 rule), never a crash. */
    {
        Accessd__V1__CheckRequest request = ACCESSD__V1__CHECK_REQUEST__INIT;
        request.user = NULL;
        request.account_id = acme;
        request.permission = ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS;
        ProtobufCMessage *reply = NULL;
        reset(&error);
        code = accessd_call(conn, "/accessd.v1.AccessService/Check", &request.base,
                            &accessd__v1__check_response__descriptor, NULL, &reply, &error);
        CHECK(code != ACCESSD_OK && error.from_daemon && reply == NULL, "Check with a NULL user: %s: %s",
              accessd_code_name(code), error.message);
    }

    /* Unknown method; raw bytes. */
    {
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        reset(&error);
        code = accessd_call_bytes(conn, "/accessd.v1.AccessService/Nothing", NULL, 0, NULL, &reply, &reply_len, &error);
        CHECK_CODE(code, error, ACCESSD_UNIMPLEMENTED, "an unknown method");
        free(reply);
        static const uint8_t not_a_message[] = { 0xff, 0xff, 0xff };
        reset(&error);
        code = accessd_call_bytes(conn, "/accessd.v1.AccessService/Check", not_a_message, sizeof not_a_message, NULL,
                                  &reply, &reply_len, &error);
        CHECK_CODE(code, error, ACCESSD_INVALID_ARGUMENT, "a payload that does not decode");
        free(reply);
        static const char *const odd[] = { "trace_id", NULL };
        accessd_call_options options = ACCESSD_CALL_OPTIONS_INIT;
        options.metadata = odd;
        code = accessd_call_bytes(conn, "/accessd.v1.AdminService/GetStats", NULL, 0, &options, &reply, &reply_len,
                                  &error);
        CHECK(code == ACCESSD_INVALID_ARGUMENT && !error.from_daemon, "metadata that is not pairs: %s", error.message);
        code = accessd_call_bytes(conn, "/accessd.v1.AdminService/GetStats", NULL, 0, NULL, &reply, &reply_len, &error);
        Accessd__V1__GetStatsResponse *stats =
            code == ACCESSD_OK ? (Accessd__V1__GetStatsResponse *)protobuf_c_message_unpack(
                                     &accessd__v1__get_stats_response__descriptor, NULL, reply_len, reply)
                               : NULL;
        CHECK(stats != NULL && stats->accounts == 2 && strcmp(stats->socket_path, socket_path) == 0,
              "GetStats through accessd_call_bytes: 2 accounts, socket %s", stats != NULL ? stats->socket_path : "-");
        accessd_free(stats);
        free(reply);
    }

    /* Timeouts: a read waiting for a revision that never comes. */
    {
        Accessd__V1__CheckRequest request = ACCESSD__V1__CHECK_REQUEST__INIT;
        request.user = olga;
        request.account_id = acme;
        request.permission = ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS;
        accessd_call_options options = ACCESSD_CALL_OPTIONS_INIT;
        options.timeout_ms = 300;
        options.min_revision = accessd_last_revision(conn) + 1000000;
        ProtobufCMessage *reply = NULL;
        int64_t start = now_ms();
        reset(&error);
        code = accessd_call(conn, "/accessd.v1.AccessService/Check", &request.base,
                            &accessd__v1__check_response__descriptor, &options, &reply, &error);
        int64_t took = now_ms() - start;
        CHECK(code == ACCESSD_DEADLINE_EXCEEDED && took >= 250 && took < 2000,
              "a 300 ms deadline: DEADLINE_EXCEEDED after %lld ms (%s): %s", (long long)took,
              error.from_daemon ? "the daemon" : "the library", error.message);
        expect_check(conn, olga, acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, true,
                     "after a timeout, on the same connection");
    }

    /* Frames above the maxima: the library's (not sent) and the daemon's (id 0, connection closed). */
    {
        bool allowed = false;
        accessd_set_max_frame_bytes(conn, 16);
        code = accessd_check(conn, olga, acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
        CHECK(code == ACCESSD_RESOURCE_EXHAUSTED && !error.from_daemon,
              "a request above the library's maximum is not sent: %s", error.message);
        accessd_set_max_frame_bytes(conn, ACCESSD_DEFAULT_MAX_FRAME_BYTES);
        expect_check(conn, olga, acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, true,
                     "the connection is still usable");

        size_t big = 5u * 1024u * 1024u;
        char *user = malloc(big + 1);
        if (user != NULL) {
            memset(user, 'x', big);
            user[big] = '\0';
            accessd_set_max_frame_bytes(second, 16u * 1024u * 1024u);
            reset(&error);
            code = accessd_check(second, user, acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
            CHECK(code == ACCESSD_RESOURCE_EXHAUSTED && error.from_daemon && contains(error.message, "longer than the maximum"),
                  "a 5 MiB request: the daemon's RESOURCE_EXHAUSTED: %s", error.message);
            free(user);
            code = accessd_check(second, olga, acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error);
            CHECK(code == ACCESSD_UNAVAILABLE, "after it the connection is over: %s", error.message);
        }
    }

    /* Many calls and connections: nothing grows (valgrind counts). */
    {
        int ok = 1;
        for (int i = 0; i < 500 && ok; i++) {
            bool allowed = false;
            ok = accessd_check(conn, olga, acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed, &error) ==
                     ACCESSD_OK &&
                 allowed;
        }
        for (int i = 0; i < 50 && ok; i++) {
            accessd_conn *extra = NULL;
            ok = accessd_connect(socket_path, &extra, &error) == ACCESSD_OK;
            bool allowed = false;
            ok = ok && accessd_check(extra, ada, acme, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS, &allowed,
                                     &error) == ACCESSD_OK &&
                 !allowed;
            accessd_close(extra);
        }
        CHECK(ok, "500 checks on one connection, 50 connections");
    }

    if (ids_file != NULL) {
        FILE *file = fopen(ids_file, "w");
        if (file != NULL) {
            fprintf(file, "ACME=%s\nGLOBEX=%s\nOLGA=%s\nADA=%s\nVIC=%s\nGUS=%s\n", acme, globex, olga, ada ? ada : "",
                    vic ? vic : "", gus);
            fclose(file);
        }
    }
    free(acme);
    free(olga);
    free(globex);
    free(gus);
    free(ada);
    free(vic);
    accessd_close(second);
    accessd_close(conn);
}

/* MARK: - Replay (the byte comparison) */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static int replay(const char *path)
{
    accessd_conn *conn = NULL;
    accessd_error error;
    if (accessd_connect(path, &conn, &error) != ACCESSD_OK) {
        fprintf(stderr, "replay: %s\n", error.message);
        return 1;
    }
    accessd_set_timeout(conn, 0);
    char *line = NULL;
    size_t capacity = 0;
    int status = 0;
    while (status == 0 && getline(&line, &capacity, stdin) > 0) {
        char *method = strtok(line, " \n"), *actor = strtok(NULL, " \n"), *hex = strtok(NULL, " \n");
        if (method == NULL || actor == NULL || hex == NULL) {
            continue;
        }
        size_t length = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
        uint8_t *payload = malloc(length + 1);
        for (size_t i = 0; payload != NULL && i < length; i++) {
            payload[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
        }
        accessd_call_options options = ACCESSD_CALL_OPTIONS_INIT;
        options.actor = strcmp(actor, "-") == 0 ? NULL : actor;
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        reset(&error);
        int code = accessd_call_bytes(conn, method, payload, length, &options, &reply, &reply_len, &error);
        printf("%d ", code);
        for (size_t i = 0; i < reply_len; i++) {
            printf("%02x", reply[i]);
        }
        printf("%s %s\n", reply_len == 0 ? "-" : "", code == ACCESSD_OK ? "" : error.message);
        free(reply);
        free(payload);
        if (code == ACCESSD_UNAVAILABLE) {
            status = 1;
        }
    }
    free(line);
    accessd_close(conn);
    return status;
}

/* MARK: - Main */

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--replay") == 0) {
        return replay(argv[2]);
    }
    const char *ids_file = NULL;
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--ids") == 0) {
        ids_file = argv[2];
        i = 3;
    }
    if (argc - i != 1) {
        fprintf(stderr, "usage: accessd-client-test [--ids FILE] SOCKET | --replay SOCKET\n");
        return 2;
    }
    socket_path = argv[i];
    snprintf(scratch, sizeof scratch, "/tmp/accessd-c-test-XXXXXX");
    if (mkdtemp(scratch) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    test_discovery();
    test_basics();
    test_socket_trust();
    test_fake_daemon();
    test_daemon(ids_file);

    char command[400];
    snprintf(command, sizeof command, "rm -rf '%s'", scratch);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", scratch);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
