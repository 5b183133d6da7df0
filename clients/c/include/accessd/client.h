/*
 * libaccessd-client: a small blocking C client of accessd.
 *
 * accessd answers local services over a Unix domain stream socket: each frame
 * is a 4-byte big-endian length and one protobuf message (a ClientFrame from
 * the client, a ServerFrame from the daemon), calls carry gRPC-style method
 * paths ("/accessd.v1.AccessService/Check") and gRPC status codes
 * (spec/protocol.md). This library speaks that wire with protobuf-c: requests
 * and replies are the messages protoc-c generates from proto/accessd/v1, which
 * this header includes (Accessd__V1__CheckRequest, ...).
 *
 * Rules that hold for every function:
 * - Nothing aborts the process, and nothing is left allocated except what a
 *   function hands to the caller (a reply message: accessd_free; reply bytes:
 *   free; a connection: accessd_close).
 * - A failure returns a non-zero accessd_code and, when `error` is not NULL,
 *   fills it with the code and a message for people. A code the daemon sent
 *   is passed on as it is (error->from_daemon = 1); a failure of the library
 *   itself uses the nearest gRPC code: UNAVAILABLE (cannot connect, connection
 *   lost), FAILED_PRECONDITION (a socket that cannot be trusted: fix it, then
 *   retry), DEADLINE_EXCEEDED (no reply in time), RESOURCE_EXHAUSTED (a frame
 *   above the maximum, out of memory), INVALID_ARGUMENT (a bad argument),
 *   INTERNAL (a reply that does not decode).
 * - A connection is for one thread at a time; use one per thread.
 * - SIGPIPE is never raised (writes use MSG_NOSIGNAL); EINTR is retried.
 *
 * Build with `pkg-config --cflags --libs accessd-client`.
 */
#ifndef ACCESSD_CLIENT_H
#define ACCESSD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include <accessd/v1/access.pb-c.h>
#include <accessd/v1/accounts.pb-c.h>
#include <accessd/v1/admin.pb-c.h>
#include <accessd/v1/clients.pb-c.h>
#include <accessd/v1/events.pb-c.h>
#include <accessd/v1/offices.pb-c.h>
#include <accessd/v1/products.pb-c.h>
#include <accessd/v1/projects.pb-c.h>
#include <accessd/v1/roles.pb-c.h>
#include <accessd/v1/sharing.pb-c.h>
#include <accessd/v1/types.pb-c.h>
#include <accessd/v1/users.pb-c.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ACCESSD_CLIENT_VERSION "0.1.0"

/* The gRPC status codes (spec/protocol.md, "Status codes"). */
typedef enum accessd_code {
    ACCESSD_OK = 0,
    ACCESSD_CANCELLED = 1,
    ACCESSD_UNKNOWN = 2,
    ACCESSD_INVALID_ARGUMENT = 3,
    ACCESSD_DEADLINE_EXCEEDED = 4,
    ACCESSD_NOT_FOUND = 5,
    ACCESSD_ALREADY_EXISTS = 6,
    ACCESSD_PERMISSION_DENIED = 7,
    ACCESSD_RESOURCE_EXHAUSTED = 8,
    ACCESSD_FAILED_PRECONDITION = 9,
    ACCESSD_ABORTED = 10,
    ACCESSD_OUT_OF_RANGE = 11,
    ACCESSD_UNIMPLEMENTED = 12,
    ACCESSD_INTERNAL = 13,
    ACCESSD_UNAVAILABLE = 14,
    ACCESSD_DATA_LOSS = 15,
    ACCESSD_UNAUTHENTICATED = 16
} accessd_code;

#define ACCESSD_ERROR_MESSAGE_MAX 512

/* Why a call failed. Plain data: nothing to free. */
typedef struct accessd_error {
    /* An accessd_code; never ACCESSD_OK after a failure. */
    int code;
    /* 1 when the daemon sent this code and message, 0 when the library decided. */
    int from_daemon;
    /* For people, NUL-terminated (cut at ACCESSD_ERROR_MESSAGE_MAX - 1 bytes). */
    char message[ACCESSD_ERROR_MESSAGE_MAX];
} accessd_error;

/* How one call is made. Zero (ACCESSD_CALL_OPTIONS_INIT, or NULL for the
 * options pointer) means: no actor, the connection's timeout, no minimum
 * revision, a real write, no idempotency key, no metadata. */
typedef struct accessd_call_options {
    /* The id or email of the user the call acts for; NULL or "" for
     * administrator calls and token calls such as ActivateUser. */
    const char *actor;
    /* The deadline in milliseconds, enforced by the daemon (a write past it
     * is not applied) and by the library while it waits; 0: the
     * connection's timeout (accessd_set_timeout). */
    uint32_t timeout_ms;
    /* Reads: answered once the daemon's state reached this revision
     * (accessd_last_revision after a write, on any connection). */
    uint64_t min_revision;
    /* Writes: validated and answered as if applied; nothing changes. */
    bool dry_run;
    /* Writes: the same key from the same actor within 24 hours returns the
     * first reply instead of applying the write again. NULL: none. */
    const char *idempotency_key;
    /* NULL, or {"key", "value", ..., NULL}: echoed in the daemon's logs
     * (for example a trace id). */
    const char *const *metadata;
} accessd_call_options;

#define ACCESSD_CALL_OPTIONS_INIT { NULL, 0, 0, false, NULL, NULL }

/* One connection to the daemon (opaque). */
typedef struct accessd_conn accessd_conn;

/* The default per-call timeout of a new connection: 10 s. */
#define ACCESSD_DEFAULT_TIMEOUT_MS 10000u
/* The protocol's default maximum frame length: 4 MiB. */
#define ACCESSD_DEFAULT_MAX_FRAME_BYTES (4u * 1024u * 1024u)

/*
 * Writes the daemon's socket path, found as accessctl finds it, into
 * `buffer` (NUL-terminated, cut to `size`): $ACCESSD_SOCKET, else the
 * `socket =` line of the config file ($ACCESSD_CONFIG, else
 * $XDG_CONFIG_HOME/accessd/accessd.conf (~/.config/...) or
 * /etc/accessd/accessd.conf when present), else
 * $RUNTIME_DIRECTORY/accessd.sock (the first of a colon-separated list), else
 * $XDG_RUNTIME_DIR/accessd/accessd.sock, else /tmp/accessd-$UID/accessd.sock
 * ($UID, else the real uid). Stores the path's length in *length (when not
 * NULL; like snprintf: when >= size, it was cut) and returns ACCESSD_OK.
 *
 * A config file that cannot be read, or does not parse as accessd parses it
 * (a line without `key = value`, a key accessd does not know; a key it knows
 * that this library does not use is fine), is not passed over for another
 * socket: it fails with FAILED_PRECONDITION, `error` saying what is wrong
 * ("/etc/accessd/accessd.conf:3: unknown key 'sockte' ..."), and `buffer`
 * holds "". accessd_connect with no path does this first.
 */
int accessd_find_socket(char *buffer, size_t size, size_t *length, accessd_error *error);

/* accessd_find_socket without the error: returns the path's length, or 0
 * (and "" in `buffer`) when the config file cannot be used. */
size_t accessd_socket_path(char *buffer, size_t size);

/*
 * Connects to the daemon at `socket_path`, or at the discovered path when it
 * is NULL or "". On success stores the connection in *conn and returns
 * ACCESSD_OK; otherwise *conn is NULL and the code is UNAVAILABLE (nothing
 * listens there), FAILED_PRECONDITION (the socket cannot be trusted, see
 * below; or, with no path, the config file that says where it is cannot be
 * used: accessd_find_socket), INVALID_ARGUMENT (a path too long for a Unix socket) or
 * RESOURCE_EXHAUSTED (out of memory, no file descriptor).
 *
 * Before connecting it checks that nobody else could have put the socket
 * there, as the Swift client does: the socket file (not followed) must be
 * owned by root or by the calling process's effective uid, and its
 * directory (not followed) must be a real directory, owned by root or by
 * the socket's owner, with no group or other write bit (so not /tmp
 * itself). Otherwise it fails with FAILED_PRECONDITION, without
 * connecting, and the message names the problem and the fix ("chmod go-w
 * DIR", "chown ...", or a socket in a directory only the daemon's user can
 * write). Directories above the socket's are not checked.
 */
int accessd_connect(const char *socket_path, accessd_conn **conn, accessd_error *error);

/* Closes the connection and frees it; NULL does nothing. */
void accessd_close(accessd_conn *conn);

/* The timeout of calls whose options give none; 0 waits without limit. */
void accessd_set_timeout(accessd_conn *conn, uint32_t timeout_ms);

/* The longest frame sent or accepted (default 4 MiB). A request above it
 * fails with RESOURCE_EXHAUSTED without being sent; a reply above it ends
 * the connection. */
void accessd_set_max_frame_bytes(accessd_conn *conn, uint32_t max_frame_bytes);

/* The `revision` of the last reply received on this connection (0 before
 * any): pass it as min_revision to read your writes on another connection. */
uint64_t accessd_last_revision(const accessd_conn *conn);

/*
 * Calls a unary method and waits for its reply.
 *
 * `method` is the full path ("/accessd.v1.UserService/AddUser"); `request`
 * the method's request message (for example &req.base of an
 * Accessd__V1__AddUserRequest made with ACCESSD__V1__ADD_USER_REQUEST__INIT);
 * `reply_type` the descriptor of its reply message
 * (&accessd__v1__user_response__descriptor). On ACCESSD_OK, *reply holds the
 * decoded reply (cast it to the reply's type; free it with accessd_free);
 * otherwise *reply is NULL and the daemon's code and message are returned
 * and put in `error`.
 *
 * Each call gets the connection's next id (1, 2, 3, ...). Replies to other
 * ids (of calls that timed out earlier) are read and dropped. A reply with
 * id 0 is the daemon's error about the connection (an oversize frame): its
 * code is returned and the connection is over, as it is after the daemon
 * closes it; later calls fail with UNAVAILABLE. When no reply comes in time
 * the call fails with DEADLINE_EXCEEDED, the daemon is sent a Cancel, and the
 * connection stays usable. Streaming methods (FollowEvents) are not
 * supported: they fail with UNIMPLEMENTED.
 */
int accessd_call(accessd_conn *conn, const char *method, const ProtobufCMessage *request,
                 const ProtobufCMessageDescriptor *reply_type, const accessd_call_options *options,
                 ProtobufCMessage **reply, accessd_error *error);

/* accessd_call with the request and reply as encoded bytes. On ACCESSD_OK,
 * *reply (free it with free(); NULL when the reply is empty) and *reply_len
 * hold the reply's payload as the daemon sent it. */
int accessd_call_bytes(accessd_conn *conn, const char *method, const uint8_t *request, size_t request_len,
                       const accessd_call_options *options, uint8_t **reply, size_t *reply_len,
                       accessd_error *error);

/* Frees a reply message of accessd_call; NULL does nothing. */
void accessd_free(void *reply);

/*
 * May `user` (an id or email) use `permission` in account `account_id`?
 * (AccessService/Check, with the connection's timeout.) On ACCESSD_OK,
 * *allowed says it; NOT_FOUND when the user or account does not exist.
 */
int accessd_check(accessd_conn *conn, const char *user, const char *account_id, Accessd__V1__Permission permission,
                  bool *allowed, accessd_error *error);

/* Parses a permission name: "SHARE_ACCESS", "share-access", "share_access"
 * or "PERMISSION_SHARE_ACCESS". Returns ACCESSD_OK, or INVALID_ARGUMENT for
 * an unknown name (listing the known ones in `error`). */
int accessd_permission_from_name(const char *name, Accessd__V1__Permission *permission, accessd_error *error);

/* "OK", "NOT_FOUND", ...; "UNKNOWN_CODE" for numbers outside 0-16. */
const char *accessd_code_name(int code);

#ifdef __cplusplus
}
#endif

#endif /* ACCESSD_CLIENT_H */
