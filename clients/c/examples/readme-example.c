#include <stdio.h>
#include <accessd/client.h>

/* May this user share the account's access? 1 yes, 0 no, -1 error. */
int may_share(const char *user, const char *account)
{
    accessd_conn *conn;
    accessd_error err;
    bool allowed = false;
    if (accessd_connect(NULL, &conn, &err) != ACCESSD_OK) {  /* $ACCESSD_SOCKET, ... */
        fprintf(stderr, "accessd: %s\n", err.message);
        return -1;
    }
    int code = accessd_check(conn, user, account, ACCESSD__V1__PERMISSION__PERMISSION_SHARE_ACCESS,
                             &allowed, &err);
    if (code != ACCESSD_OK)
        fprintf(stderr, "accessd: %s: %s\n", accessd_code_name(code), err.message);
    accessd_close(conn);
    return code == ACCESSD_OK ? allowed : -1;
}

int main(int argc, char **argv) { return argc == 3 ? may_share(argv[1], argv[2]) != 1 : 2; }
