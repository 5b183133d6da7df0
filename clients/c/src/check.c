/* The convenience of local services: one permission check, and permission names. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

int accessd_check(accessd_conn *conn, const char *user, const char *account_id, Accessd__V1__Permission permission,
                  bool *allowed, accessd_error *error)
{
    if (user == NULL || account_id == NULL || allowed == NULL) {
        return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0, "accessd_check needs a user, an account and allowed");
    }
    *allowed = false;
    Accessd__V1__CheckRequest request = ACCESSD__V1__CHECK_REQUEST__INIT;
    request.user = (char *)user;
    request.account_id = (char *)account_id;
    request.permission = permission;
    Accessd__V1__CheckResponse *reply = NULL;
    int code = accessd_call(conn, "/accessd.v1.AccessService/Check", &request.base,
                            &accessd__v1__check_response__descriptor, NULL, (ProtobufCMessage **)&reply, error);
    if (code == ACCESSD_OK) {
        *allowed = reply->allowed != 0;
        accessd_free(reply);
    }
    return code;
}

/* Does `name` say `value` ("SHARE_ACCESS", "share-access", ...)? */
static int names_value(const char *name, const char *value)
{
    size_t length = strlen(name);
    if (strlen(value) != length) {
        return 0;
    }
    for (size_t i = 0; i < length; i++) {
        char c = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
        if (c != value[i]) {
            return 0;
        }
    }
    return 1;
}

int accessd_permission_from_name(const char *name, Accessd__V1__Permission *permission, accessd_error *error)
{
    static const char prefix[] = "PERMISSION_";
    const ProtobufCEnumDescriptor *descriptor = &accessd__v1__permission__descriptor;
    if (name != NULL && permission != NULL) {
        const char *bare = strncasecmp(name, prefix, strlen(prefix)) == 0 ? name + strlen(prefix) : name;
        for (unsigned i = 0; i < descriptor->n_values; i++) {
            const ProtobufCEnumValue *value = &descriptor->values[i];
            if (value->value != ACCESSD__V1__PERMISSION__PERMISSION_UNSPECIFIED &&
                names_value(bare, value->name + strlen(prefix))) {
                *permission = (Accessd__V1__Permission)value->value;
                return ACCESSD_OK;
            }
        }
    }
    char known[ACCESSD_ERROR_MESSAGE_MAX] = "";
    size_t used = 0;
    for (unsigned i = 0; i < descriptor->n_values; i++) {
        const ProtobufCEnumValue *value = &descriptor->values[i];
        if (value->value == ACCESSD__V1__PERMISSION__PERMISSION_UNSPECIFIED || used >= sizeof known) {
            continue;
        }
        int written = snprintf(known + used, sizeof known - used, "%s%s", used > 0 ? ", " : "",
                               value->name + strlen(prefix));
        used += written > 0 ? (size_t)written : 0;
    }
    return accessd_fail(error, ACCESSD_INVALID_ARGUMENT, 0, "unknown permission '%s'; known: %s",
                        name != NULL ? name : "(null)", known);
}
