/* One connection to accessd: framing, calls, timeouts (spec/protocol.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <accessd/v1/frames.pb-c.h>

#include "internal.h"

/* The read buffer is given back when it is empty and larger than this. */
#define KEEP_BUFFER_BYTES (64u * 1024u)
/* How long a Cancel may take to send before the connection is given up. */
#define CANCEL_SEND_MS 1000

struct accessd_conn {
    int fd;
    uint64_t next_id;
    uint32_t timeout_ms;
    uint32_t max_frame_bytes;
    uint64_t last_revision;
    /* Bytes received and not yet used: in[0 ..< in_len] of in_capacity. */
    uint8_t *in;
    size_t in_len;
    size_t in_capacity;
    /* Non-zero once the connection is over: later calls fail with UNAVAILABLE and this reason. */
    int broken;
    char broken_reason[ACCESSD_ERROR_MESSAGE_MAX];
    /* After a GoAway: no new calls; calls above last_accepted_id are not answered. */
    int going_away;
    uint64_t last_accepted_id;
    char go_away_reason[256];
};

/* MARK: - Time */

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The deadline `timeout_ms` from now; -1 (none) for 0. */
static int64_t deadline_after(uint32_t timeout_ms)
{
    return timeout_ms == 0 ? -1 : now_ms() + timeout_ms;
}

/* poll()'s timeout until `deadline`: -1 for none, 0 when it has passed. */
static int poll_timeout(int64_t deadline)
{
    if (deadline < 0) {
        return -1;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) {
        return 0;
    }
    return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits until `fd` is ready for `events`: 1 ready, 0 the deadline passed, -1 an error (errno). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd poller = { .fd = fd, .events = events, .revents = 0 };
        int timeout = poll_timeout(deadline);
        int ready = poll(&poller, 1, timeout);
        if (ready > 0) {
            /* POLLHUP and POLLERR too: the next recv or send says what happened. */
            return 1;
        }
        if (ready == 0) {
            if (timeout == 0 || now_ms() >= deadline) {
                return 0;
            }
            continue;
        }
        if (errno != EINTR) {
            return -1;
        }
    }
}

/* MARK: - Connection state */

/* Ends the connection: later calls fail with UNAVAILABLE naming `reason`. */
static void mark_broken(accessd_conn *conn, const char *reason)
{
    conn->broken = 1;
    snprintf(conn->broken_reason, sizeof conn->broken_reason, "%s", reason);
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
    }
    free(conn->in);
    conn->in = NULL;
    conn->in_len = 0;
    conn->in_capacity = 0;
}

/* Fails with `code` and ends the connection with the same message. */
static int fail_broken(accessd_conn *conn, accessd_error *error, int code, int from_daemon, const char *message)
{
    accessd_fail(error, code, from_daemon, "%s", message);
    char reason[ACCESSD_ERROR_MESSAGE_MAX];
    snprintf(reason, sizeof reason, "%s: %.480s", accessd_code_name(code), message);
    mark_broken(conn, reason);
    return code;
}

/* MARK: - Connecting */

int accessd_connect(const char *socket_path, accessd_conn **conn_out, accessd_error *error)
{
    if (conn_out == NULL) {
        return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0, "accessd_connect: conn must not be NULL");
    }
    *conn_out = NULL;
    char discovered[PATH_MAX];
    const char *path = socket_path;
    if (path == NULL || path[0] == '\0') {
        size_t length = 0;
        int code = accessd_find_socket(discovered, sizeof discovered, &length, error);
        if (code != ACCESSD_OK) {
            /* A broken config file is said, not passed over for another socket. */
            char reason[ACCESSD_ERROR_MESSAGE_MAX];
            snprintf(reason, sizeof reason, "%s", error != NULL ? error->message : "");
            return accessd_fail(error, code, 0, "cannot find accessd's socket: %.440s", reason);
        }
        if (length >= sizeof discovered) {
            return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0, "the discovered socket path is too long");
        }
        path = discovered;
    }
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof address.sun_path) {
        return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0,
                            "the socket path %s is longer than a Unix socket address allows (%zu bytes)", path,
                            sizeof address.sun_path - 1);
    }
    memcpy(address.sun_path, path, strlen(path) + 1);
    char problem[ACCESSD_ERROR_MESSAGE_MAX];
    if (accessd_socket_problem(path, problem, sizeof problem)) {
        /* Not a passing failure: retrying does not help until the directory or the socket is fixed. */
        return accessd_fail(error, ACCESSD_FAILED_PRECONDITION, 0, "cannot connect to accessd at %s: %s", path,
                            problem);
    }

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return accessd_fail(error, errno == EMFILE || errno == ENFILE || errno == ENOMEM ? ACCESSD_RESOURCE_EXHAUSTED
                                                                                           : ACCESSD_UNAVAILABLE,
                            0, "cannot create a socket: %s", strerror(errno));
    }
    int64_t deadline = deadline_after(ACCESSD_DEFAULT_TIMEOUT_MS);
    for (;;) {
        if (connect(fd, (const struct sockaddr *)&address, sizeof address) == 0 || errno == EISCONN) {
            break;
        }
        int failure = errno;
        if (failure == EAGAIN) {
            /* The daemon's backlog is full: try again shortly, until the deadline. */
            if (poll_timeout(deadline) == 0) {
                close(fd);
                return accessd_fail(error, ACCESSD_UNAVAILABLE, 0, "cannot connect to accessd at %s: %s", path,
                                    strerror(failure));
            }
            poll(NULL, 0, 10);
            continue;
        }
        if (failure == EINPROGRESS || failure == EINTR) {
            int ready = wait_fd(fd, POLLOUT, deadline);
            int status = ready == 1 ? 0 : ready == 0 ? ETIMEDOUT : errno;
            socklen_t length = sizeof status;
            if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &status, &length) != 0) {
                status = errno;
            }
            if (status == 0) {
                break;
            }
            failure = status;
        }
        close(fd);
        return accessd_fail(error, ACCESSD_UNAVAILABLE, 0, "cannot connect to accessd at %s: %s", path,
                            strerror(failure));
    }
    accessd_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL) {
        close(fd);
        return accessd_fail(error, ACCESSD_RESOURCE_EXHAUSTED, 0, "out of memory");
    }
    conn->fd = fd;
    conn->next_id = 1;
    conn->timeout_ms = ACCESSD_DEFAULT_TIMEOUT_MS;
    conn->max_frame_bytes = ACCESSD_DEFAULT_MAX_FRAME_BYTES;
    *conn_out = conn;
    return ACCESSD_OK;
}

void accessd_close(accessd_conn *conn)
{
    if (conn == NULL) {
        return;
    }
    if (conn->fd >= 0) {
        close(conn->fd);
    }
    free(conn->in);
    free(conn);
}

void accessd_set_timeout(accessd_conn *conn, uint32_t timeout_ms)
{
    if (conn != NULL) {
        conn->timeout_ms = timeout_ms;
    }
}

void accessd_set_max_frame_bytes(accessd_conn *conn, uint32_t max_frame_bytes)
{
    if (conn != NULL) {
        conn->max_frame_bytes = max_frame_bytes;
    }
}

uint64_t accessd_last_revision(const accessd_conn *conn)
{
    return conn == NULL ? 0 : conn->last_revision;
}

/* MARK: - Bytes in and out */

/* Sends all of `bytes` by `deadline`; *sent says how many went out. */
static int send_all(accessd_conn *conn, const uint8_t *bytes, size_t length, int64_t deadline, size_t *sent,
                    accessd_error *error)
{
    *sent = 0;
    while (*sent < length) {
        ssize_t written = send(conn->fd, bytes + *sent, length - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (written > 0) {
            *sent += (size_t)written;
            continue;
        }
        if (written < 0 && errno == EINTR) {
            continue;
        }
        if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = wait_fd(conn->fd, POLLOUT, deadline);
            if (ready == 1) {
                continue;
            }
            if (ready == 0) {
                return accessd_fail(error, ACCESSD_DEADLINE_EXCEEDED, 0,
                                    "the request could not be sent to accessd in time");
            }
        }
        return accessd_fail(error, ACCESSD_UNAVAILABLE, 0, "the request could not be sent to accessd: %s",
                            strerror(errno));
    }
    return ACCESSD_OK;
}

/* Makes room for `needed` bytes in the read buffer. */
static int reserve_input(accessd_conn *conn, size_t needed)
{
    if (conn->in_capacity >= needed) {
        return 1;
    }
    size_t capacity = conn->in_capacity < 4096 ? 4096 : conn->in_capacity;
    while (capacity < needed) {
        capacity *= 2;
    }
    uint8_t *grown = realloc(conn->in, capacity);
    if (grown == NULL) {
        return 0;
    }
    conn->in = grown;
    conn->in_capacity = capacity;
    return 1;
}

/* Drops the first `count` bytes of the read buffer. */
static void consume_input(accessd_conn *conn, size_t count)
{
    memmove(conn->in, conn->in + count, conn->in_len - count);
    conn->in_len -= count;
    if (conn->in_len == 0 && conn->in_capacity > KEEP_BUFFER_BYTES) {
        free(conn->in);
        conn->in = NULL;
        conn->in_capacity = 0;
    }
}

static uint32_t read_be32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | (uint32_t)bytes[3];
}

static void write_be32(uint8_t *bytes, uint32_t value)
{
    bytes[0] = (uint8_t)(value >> 24);
    bytes[1] = (uint8_t)(value >> 16);
    bytes[2] = (uint8_t)(value >> 8);
    bytes[3] = (uint8_t)value;
}

/*
 * Reads until a whole frame is buffered, by `deadline`. On ACCESSD_OK the
 * frame's message is in[4 ..< 4 + *length]. A deadline leaves what was read
 * buffered (the connection stays usable); anything else ends the connection.
 */
static int next_frame(accessd_conn *conn, int64_t deadline, uint32_t *length, accessd_error *error)
{
    for (;;) {
        size_t needed = 4;
        if (conn->in_len >= 4) {
            uint32_t announced = read_be32(conn->in);
            if (announced > conn->max_frame_bytes) {
                char message[200];
                snprintf(message, sizeof message,
                         "accessd sent a frame of %u bytes, above the maximum of %u bytes; the connection is closed",
                         announced, conn->max_frame_bytes);
                return fail_broken(conn, error, ACCESSD_RESOURCE_EXHAUSTED, 0, message);
            }
            needed = 4 + (size_t)announced;
            if (conn->in_len >= needed) {
                *length = announced;
                return ACCESSD_OK;
            }
        }
        if (!reserve_input(conn, needed)) {
            return fail_broken(conn, error, ACCESSD_RESOURCE_EXHAUSTED, 0, "out of memory for a reply frame");
        }
        ssize_t received = recv(conn->fd, conn->in + conn->in_len, conn->in_capacity - conn->in_len, MSG_DONTWAIT);
        if (received > 0) {
            conn->in_len += (size_t)received;
            continue;
        }
        if (received == 0) {
            char message[400];
            if (conn->going_away) {
                snprintf(message, sizeof message, "accessd closed the connection (it is going away: %s)",
                         conn->go_away_reason);
            } else {
                snprintf(message, sizeof message, "accessd closed the connection");
            }
            return fail_broken(conn, error, ACCESSD_UNAVAILABLE, 0, message);
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int ready = wait_fd(conn->fd, POLLIN, deadline);
            if (ready == 1) {
                continue;
            }
            if (ready == 0) {
                return accessd_fail(error, ACCESSD_DEADLINE_EXCEEDED, 0, "no reply from accessd in time");
            }
        }
        char message[300];
        snprintf(message, sizeof message, "cannot read from accessd: %s", strerror(errno));
        return fail_broken(conn, error, ACCESSD_UNAVAILABLE, 0, message);
    }
}

/* Tells the daemon to stop call `id`; a failure to send it all ends the connection. */
static void send_cancel(accessd_conn *conn, uint64_t id)
{
    Accessd__V1__Cancel cancel = ACCESSD__V1__CANCEL__INIT;
    Accessd__V1__ClientFrame frame = ACCESSD__V1__CLIENT_FRAME__INIT;
    uint8_t bytes[4 + 32];
    cancel.id = id;
    frame.kind_case = ACCESSD__V1__CLIENT_FRAME__KIND_CANCEL;
    frame.cancel = &cancel;
    size_t length = protobuf_c_message_get_packed_size(&frame.base);
    if (length > sizeof bytes - 4) {
        return;
    }
    write_be32(bytes, (uint32_t)length);
    protobuf_c_message_pack(&frame.base, bytes + 4);
    size_t sent = 0;
    if (send_all(conn, bytes, 4 + length, deadline_after(CANCEL_SEND_MS), &sent, NULL) != ACCESSD_OK && sent > 0) {
        mark_broken(conn, "a Cancel was cut off while being sent");
    }
}

/* MARK: - Calls */

/* Fills `request` from the options; the metadata entries are allocated in *entries. */
static int build_request(Accessd__V1__Request *request, const accessd_call_options *options, uint32_t timeout_ms,
                         Accessd__V1__Request__MetadataEntry **entries, Accessd__V1__Request__MetadataEntry ***pointers,
                         accessd_error *error)
{
    request->timeout_ms = timeout_ms;
    if (options == NULL) {
        return ACCESSD_OK;
    }
    if (options->actor != NULL) {
        request->actor = (char *)options->actor;
    }
    request->min_revision = options->min_revision;
    request->dry_run = options->dry_run;
    if (options->idempotency_key != NULL) {
        request->idempotency_key = (char *)options->idempotency_key;
    }
    if (options->metadata == NULL) {
        return ACCESSD_OK;
    }
    size_t count = 0;
    while (options->metadata[count] != NULL) {
        count++;
    }
    if (count % 2 != 0) {
        return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0,
                            "metadata must be key, value pairs ending in NULL; %zu strings given", count);
    }
    if (count == 0) {
        return ACCESSD_OK;
    }
    *entries = calloc(count / 2, sizeof **entries);
    *pointers = calloc(count / 2, sizeof **pointers);
    if (*entries == NULL || *pointers == NULL) {
        return accessd_fail(error, ACCESSD_RESOURCE_EXHAUSTED, 0, "out of memory");
    }
    for (size_t i = 0; i < count / 2; i++) {
        Accessd__V1__Request__MetadataEntry entry = ACCESSD__V1__REQUEST__METADATA_ENTRY__INIT;
        entry.key = (char *)options->metadata[2 * i];
        entry.value = (char *)options->metadata[2 * i + 1];
        (*entries)[i] = entry;
        (*pointers)[i] = &(*entries)[i];
    }
    request->n_metadata = count / 2;
    request->metadata = *pointers;
    return ACCESSD_OK;
}

/* Frames and sends one Request; *id is its id. *sent says how many bytes
 * went out and *io whether sending itself failed (rather than building). */
static int send_request(accessd_conn *conn, const char *method, const uint8_t *payload, size_t payload_len,
                        const accessd_call_options *options, uint32_t timeout_ms, int64_t deadline, uint64_t *id,
                        size_t *sent, int *io, accessd_error *error)
{
    Accessd__V1__Request request = ACCESSD__V1__REQUEST__INIT;
    Accessd__V1__ClientFrame frame = ACCESSD__V1__CLIENT_FRAME__INIT;
    Accessd__V1__Request__MetadataEntry *entries = NULL;
    Accessd__V1__Request__MetadataEntry **pointers = NULL;
    uint8_t *bytes = NULL;
    *sent = 0;
    *io = 0;
    int code = build_request(&request, options, timeout_ms, &entries, &pointers, error);
    if (code != ACCESSD_OK) {
        goto done;
    }
    *id = conn->next_id++;
    request.id = *id;
    request.method = (char *)method;
    request.payload.len = payload_len;
    request.payload.data = (uint8_t *)payload;
    frame.kind_case = ACCESSD__V1__CLIENT_FRAME__KIND_REQUEST;
    frame.request = &request;

    size_t length = protobuf_c_message_get_packed_size(&frame.base);
    if (length > conn->max_frame_bytes) {
        code = accessd_fail(error, ACCESSD_RESOURCE_EXHAUSTED, 0,
                            "the request is %zu bytes, above the frame maximum of %u bytes", length,
                            conn->max_frame_bytes);
        goto done;
    }
    bytes = malloc(4 + length);
    if (bytes == NULL) {
        code = accessd_fail(error, ACCESSD_RESOURCE_EXHAUSTED, 0, "out of memory for a %zu-byte request", length);
        goto done;
    }
    write_be32(bytes, (uint32_t)length);
    protobuf_c_message_pack(&frame.base, bytes + 4);
    code = send_all(conn, bytes, 4 + length, deadline, sent, error);
    *io = code != ACCESSD_OK;
done:
    free(bytes);
    free(pointers);
    free(entries);
    return code;
}

/*
 * After a send failed because the daemon closed the connection: the daemon
 * says why first (a Response with id 0, for an oversize frame), so read what
 * it sent. Returns its code (the connection is then over), or ACCESSD_OK
 * when it said nothing.
 */
static int read_parting_error(accessd_conn *conn, accessd_error *error)
{
    int64_t deadline = deadline_after(500);
    accessd_error ignored;
    uint32_t length = 0;
    while (!conn->broken && next_frame(conn, deadline, &length, &ignored) == ACCESSD_OK) {
        Accessd__V1__ServerFrame *frame = (Accessd__V1__ServerFrame *)protobuf_c_message_unpack(
            &accessd__v1__server_frame__descriptor, NULL, length, conn->in + 4);
        consume_input(conn, 4 + (size_t)length);
        if (frame == NULL) {
            return ACCESSD_OK;
        }
        if (frame->kind_case == ACCESSD__V1__SERVER_FRAME__KIND_RESPONSE && frame->response != NULL &&
            frame->response->id == 0) {
            int code = frame->response->code != 0 ? (int)frame->response->code : ACCESSD_UNKNOWN;
            char message[ACCESSD_ERROR_MESSAGE_MAX];
            snprintf(message, sizeof message, "%s", frame->response->message);
            protobuf_c_message_free_unpacked(&frame->base, NULL);
            return fail_broken(conn, error, code, 1, message);
        }
        protobuf_c_message_free_unpacked(&frame->base, NULL);
    }
    return ACCESSD_OK;
}

/*
 * Sends `method` with an encoded payload and waits for its Response; on
 * ACCESSD_OK, *frame_out holds the unpacked ServerFrame whose response is
 * the OK reply (the caller frees it).
 */
static int call_frame(accessd_conn *conn, const char *method, const uint8_t *payload, size_t payload_len,
                      const accessd_call_options *options, Accessd__V1__ServerFrame **frame_out,
                      accessd_error *error)
{
    accessd_error local;
    if (error == NULL) {
        error = &local;
    }
    *frame_out = NULL;
    if (conn == NULL || method == NULL || method[0] == '\0' || (payload == NULL && payload_len > 0)) {
        return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0,
                            "a call needs a connection, a method path and its payload");
    }
    if (conn->broken) {
        return accessd_fail(error, ACCESSD_UNAVAILABLE, 0,
                            "the connection to accessd is closed (%.400s); connect again", conn->broken_reason);
    }
    if (conn->going_away) {
        return accessd_fail(error, ACCESSD_UNAVAILABLE, 0, "accessd is going away (%s); connect again",
                            conn->go_away_reason);
    }
    uint32_t timeout_ms = options != NULL && options->timeout_ms != 0 ? options->timeout_ms : conn->timeout_ms;
    int64_t deadline = deadline_after(timeout_ms);
    uint64_t id = 0;
    size_t sent = 0;
    int io = 0;
    int code = send_request(conn, method, payload, payload_len, options, timeout_ms, deadline, &id, &sent, &io, error);
    if (code != ACCESSD_OK) {
        if (!io || (code == ACCESSD_DEADLINE_EXCEEDED && sent == 0)) {
            /* Nothing went out: the connection is as it was. */
            return code;
        }
        char reason[ACCESSD_ERROR_MESSAGE_MAX];
        snprintf(reason, sizeof reason, "%s: %.480s", accessd_code_name(code), error->message);
        if (code == ACCESSD_UNAVAILABLE) {
            int parting = read_parting_error(conn, error);
            if (parting != ACCESSD_OK) {
                return parting;
            }
        }
        /* Half a frame, or a dead socket: nothing more can be said on this connection. */
        mark_broken(conn, reason);
        return code;
    }
    for (;;) {
        uint32_t length = 0;
        code = next_frame(conn, deadline, &length, error);
        if (code == ACCESSD_DEADLINE_EXCEEDED) {
            send_cancel(conn, id);
            return accessd_fail(error, code, 0, "no reply from accessd to %s within %u ms", method, timeout_ms);
        }
        if (code != ACCESSD_OK) {
            return code;
        }
        Accessd__V1__ServerFrame *frame = (Accessd__V1__ServerFrame *)protobuf_c_message_unpack(
            &accessd__v1__server_frame__descriptor, NULL, length, conn->in + 4);
        consume_input(conn, 4 + (size_t)length);
        if (frame == NULL) {
            return fail_broken(conn, error, ACCESSD_INTERNAL, 0,
                               "a frame from accessd does not decode as a ServerFrame; the connection is closed");
        }
        if (frame->kind_case == ACCESSD__V1__SERVER_FRAME__KIND_GO_AWAY && frame->go_away != NULL) {
            conn->going_away = 1;
            conn->last_accepted_id = frame->go_away->last_accepted_id;
            snprintf(conn->go_away_reason, sizeof conn->go_away_reason, "%s", frame->go_away->reason);
            protobuf_c_message_free_unpacked(&frame->base, NULL);
            if (id > conn->last_accepted_id) {
                return accessd_fail(error, ACCESSD_UNAVAILABLE, 0,
                                    "accessd is going away (%s) and did not accept %s; connect again",
                                    conn->go_away_reason, method);
            }
            continue;
        }
        if (frame->kind_case != ACCESSD__V1__SERVER_FRAME__KIND_RESPONSE || frame->response == NULL) {
            /* A kind this library does not know yet. */
            protobuf_c_message_free_unpacked(&frame->base, NULL);
            continue;
        }
        const Accessd__V1__Response *response = frame->response;
        if (response->id == 0) {
            /* The daemon's error about the connection itself; it closes it after this. */
            int daemon_code = response->code != 0 ? (int)response->code : ACCESSD_UNKNOWN;
            char message[ACCESSD_ERROR_MESSAGE_MAX];
            snprintf(message, sizeof message, "%s", response->message);
            protobuf_c_message_free_unpacked(&frame->base, NULL);
            return fail_broken(conn, error, daemon_code, 1, message);
        }
        if (response->id != id) {
            /* The late reply of an earlier call that gave up waiting. */
            protobuf_c_message_free_unpacked(&frame->base, NULL);
            continue;
        }
        conn->last_revision = response->revision;
        if (response->more) {
            protobuf_c_message_free_unpacked(&frame->base, NULL);
            send_cancel(conn, id);
            return accessd_fail(error, ACCESSD_UNIMPLEMENTED, 0,
                                "%s streams its replies; this library makes unary calls only", method);
        }
        if (response->code != ACCESSD_OK) {
            code = accessd_fail(error, (int)response->code, 1, "%s", response->message);
            protobuf_c_message_free_unpacked(&frame->base, NULL);
            return code;
        }
        *frame_out = frame;
        return ACCESSD_OK;
    }
}

int accessd_call_bytes(accessd_conn *conn, const char *method, const uint8_t *request, size_t request_len,
                       const accessd_call_options *options, uint8_t **reply, size_t *reply_len,
                       accessd_error *error)
{
    if (reply == NULL || reply_len == NULL) {
        return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0, "accessd_call_bytes: reply must not be NULL");
    }
    *reply = NULL;
    *reply_len = 0;
    Accessd__V1__ServerFrame *frame = NULL;
    int code = call_frame(conn, method, request, request_len, options, &frame, error);
    if (code != ACCESSD_OK) {
        return code;
    }
    const ProtobufCBinaryData *payload = &frame->response->payload;
    if (payload->len > 0) {
        *reply = malloc(payload->len);
        if (*reply == NULL) {
            protobuf_c_message_free_unpacked(&frame->base, NULL);
            return accessd_fail(error, ACCESSD_RESOURCE_EXHAUSTED, 0, "out of memory for the reply");
        }
        memcpy(*reply, payload->data, payload->len);
        *reply_len = payload->len;
    }
    protobuf_c_message_free_unpacked(&frame->base, NULL);
    return ACCESSD_OK;
}

int accessd_call(accessd_conn *conn, const char *method, const ProtobufCMessage *request,
                 const ProtobufCMessageDescriptor *reply_type, const accessd_call_options *options,
                 ProtobufCMessage **reply, accessd_error *error)
{
    if (reply == NULL) {
        return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0, "accessd_call: reply must not be NULL");
    }
    *reply = NULL;
    if (request == NULL || reply_type == NULL) {
        return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0, "accessd_call: a request and a reply type are needed");
    }
    if (!protobuf_c_message_check(request)) {
        return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0,
                            "the request is not a valid %s (a string or message field is NULL?)",
                            request->descriptor->name);
    }
    size_t length = protobuf_c_message_get_packed_size(request);
    uint8_t *payload = malloc(length > 0 ? length : 1);
    if (payload == NULL) {
        return accessd_fail(error, ACCESSD_RESOURCE_EXHAUSTED, 0, "out of memory for a %zu-byte request", length);
    }
    protobuf_c_message_pack(request, payload);
    Accessd__V1__ServerFrame *frame = NULL;
    int code = call_frame(conn, method, payload, length, options, &frame, error);
    free(payload);
    if (code != ACCESSD_OK) {
        return code;
    }
    const ProtobufCBinaryData *bytes = &frame->response->payload;
    *reply = protobuf_c_message_unpack(reply_type, NULL, bytes->len, bytes->data);
    protobuf_c_message_free_unpacked(&frame->base, NULL);
    if (*reply == NULL) {
        return accessd_fail(error, ACCESSD_INTERNAL, 0, "the reply to %s does not decode as %s", method,
                            reply_type->name);
    }
    return ACCESSD_OK;
}

void accessd_free(void *reply)
{
    if (reply != NULL) {
        protobuf_c_message_free_unpacked((ProtobufCMessage *)reply, NULL);
    }
}
