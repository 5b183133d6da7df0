/* Shared by the library's sources; not installed. */
#ifndef ACCESSD_CLIENT_INTERNAL_H
#define ACCESSD_CLIENT_INTERNAL_H

#include "accessd/client.h"

#if defined(__GNUC__)
#define ACCESSD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ACCESSD_PRINTF(f, a)
#endif

/* Fills `error` (when not NULL) and returns `code`. */
int accessd_fail(accessd_error *error, int code, int from_daemon, const char *format, ...) ACCESSD_PRINTF(4, 5);

/* May a client trust the socket at `path` (src/trust.c; SocketTrust in Swift)? 1 when it may not, with
 * the reason and the fix in `problem`; 0 when it may, or when there is no socket to judge (connect fails). */
int accessd_socket_problem(const char *path, char *problem, size_t size);

#endif
