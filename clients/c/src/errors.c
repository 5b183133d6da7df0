/* Status code names and error filling. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static const char *const code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *accessd_code_name(int code)
{
    if (code < 0 || code >= (int)(sizeof code_names / sizeof code_names[0])) {
        return "UNKNOWN_CODE";
    }
    return code_names[code];
}

int accessd_fail(accessd_error *error, int code, int from_daemon, const char *format, ...)
{
    if (error != NULL) {
        va_list args;
        error->code = code;
        error->from_daemon = from_daemon;
        va_start(args, format);
        vsnprintf(error->message, sizeof error->message, format, args);
        va_end(args);
    }
    return code;
}
