/*
 * accessd-check: answers a permission check from the shell.
 *
 *   accessd-check [-s SOCKET] [-t TIMEOUT_MS] [-q] USER ACCOUNT PERMISSION
 *
 * USER is a user id or email, ACCOUNT an account id, PERMISSION a name such
 * as share-access or MANAGE_PRODUCTS. Prints "allowed" or "denied" (unless
 * -q) and exits 0 when allowed, 1 when denied, 2 on any error (printed as
 * "accessd-check: CODE: message"). The socket is found as accessctl finds it
 * unless -s names it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <accessd/client.h>

static int usage(void)
{
    fprintf(stderr, "usage: accessd-check [-s SOCKET] [-t TIMEOUT_MS] [-q] USER ACCOUNT PERMISSION\n"
                    "exit status: 0 allowed, 1 denied, 2 error\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *socket_path = NULL;
    unsigned long timeout_ms = ACCESSD_DEFAULT_TIMEOUT_MS;
    int quiet = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
            socket_path = argv[++i];
        } else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
            char *end = NULL;
            timeout_ms = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || timeout_ms > UINT32_MAX) {
                return usage();
            }
        } else if (strcmp(argv[i], "-q") == 0) {
            quiet = 1;
        } else {
            return usage();
        }
    }
    if (argc - i != 3) {
        return usage();
    }
    const char *user = argv[i], *account = argv[i + 1];

    accessd_error error;
    Accessd__V1__Permission permission;
    if (accessd_permission_from_name(argv[i + 2], &permission, &error) != ACCESSD_OK) {
        fprintf(stderr, "accessd-check: %s: %s\n", accessd_code_name(error.code), error.message);
        return 2;
    }
    accessd_conn *conn = NULL;
    if (accessd_connect(socket_path, &conn, &error) != ACCESSD_OK) {
        fprintf(stderr, "accessd-check: %s: %s\n", accessd_code_name(error.code), error.message);
        return 2;
    }
    accessd_set_timeout(conn, (uint32_t)timeout_ms);
    bool allowed = false;
    int code = accessd_check(conn, user, account, permission, &allowed, &error);
    accessd_close(conn);
    if (code != ACCESSD_OK) {
        fprintf(stderr, "accessd-check: %s: %s\n", accessd_code_name(error.code), error.message);
        return 2;
    }
    if (!quiet) {
        puts(allowed ? "allowed" : "denied");
    }
    return allowed ? 0 : 1;
}
