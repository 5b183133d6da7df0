/* Where the daemon's socket is: the rules of Sources/AccessPaths (DaemonPaths,
 * ConfigFile) and accessctl's SocketDiscovery, in C. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The keys a config file may have; any other makes the file invalid. The
 * names of ConfigKey's table in Sources/AccessPaths/ConfigKey.swift
 * (ConfigurationTests holds them equal). */
static const char *const config_keys[] = {
    "socket", "state_dir", "admin_uids", "admin_gids", "max_frame_bytes", "max_calls_per_connection", "max_batch_checks",
    "max_connections", "frame_stall_timeout_ms", "snapshot_interval_s", "drain_timeout_s",
    "activation_lifetime_s", "event_retention", "event_memory_count", "event_retention_count",
    "event_retention_s", "log_level", "fsync", "snapshot_every_records", "event_loops",
    "service_uids", "service_gids", "read_only_uids", "read_only_gids", "default_peer_class",
    "max_connections_per_uid", "admin_reserved_connections", "max_inbound_bytes_per_uid",
    "outbound_high_water_bytes", "revision_wait_ms", "max_revision_wait_ms", "write_rate_per_uid",
    "write_burst_per_uid", "max_idempotency_key_bytes", "max_idempotency_keys_per_uid",
    "max_idempotency_keys", "metrics_textfile", "metrics_textfile_interval_s", "log",
    "postgresql_hosts", "postgresql_database", "postgresql_user", "postgresql_password_file",
    "log_writer", "log_connect_timeout_ms", "log_append_timeout_ms", "log_poll_ms", "max_staleness_ms",
};

/* The keys socket discovery reads, the others it only recognises: the keys
 * ConfigKey's table marks readByDiscovery (ConfigurationTests holds them equal). */
enum { DISCOVERY_SOCKET };
static const char *const discovery_keys[] = {
    [DISCOVERY_SOCKET] = "socket",
};

/* Config files are small; a larger one is not read. */
#define CONFIG_MAX_BYTES (1024 * 1024)

static const char *nonempty_env(const char *name)
{
    const char *value = getenv(name);
    return value != NULL && value[0] != '\0' ? value : NULL;
}

static int file_exists(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0;
}

/* The config file the daemon would read, or 0 when there is none. */
static int config_file_path(char *buffer, size_t size)
{
    const char *explicit_path = nonempty_env("ACCESSD_CONFIG");
    if (explicit_path != NULL) {
        return snprintf(buffer, size, "%s", explicit_path) < (int)size;
    }
    const char *config_home = nonempty_env("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int written = -1;
    if (config_home != NULL) {
        written = snprintf(buffer, size, "%s/accessd/accessd.conf", config_home);
    } else if (home != NULL) {
        written = snprintf(buffer, size, "%s/.config/accessd/accessd.conf", home);
    }
    if (written >= 0 && written < (int)size && file_exists(buffer)) {
        return 1;
    }
    if (file_exists("/etc/accessd/accessd.conf")) {
        return snprintf(buffer, size, "%s", "/etc/accessd/accessd.conf") < (int)size;
    }
    return 0;
}

/* [start, end) without leading and trailing whitespace. */
static void trim(const char **start, const char **end)
{
    while (*start < *end && isspace((unsigned char)**start)) {
        (*start)++;
    }
    while (*end > *start && isspace((unsigned char)(*end)[-1])) {
        (*end)--;
    }
}

static int is_config_key(const char *start, size_t length)
{
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
        if (strlen(config_keys[i]) == length && memcmp(config_keys[i], start, length) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * The `socket` value of the config text at `path`, parsed as ConfigFile does:
 * lines of `key = value`, `#` starts a comment, blank lines skipped; the last
 * `socket` line wins. A line without `key = value`, or with a key accessd does
 * not know, makes the file invalid, as it is for accessd: then it fails with
 * FAILED_PRECONDITION and "PATH:LINE: ..." (a key accessd knows but this
 * library does not use is no error). On ACCESSD_OK *socket is a malloc'd
 * string, or NULL when the file names no socket.
 */
static int config_socket(const char *path, const char *text, size_t length, char **socket, accessd_error *error)
{
    *socket = NULL;
    const char *socket_start = NULL, *socket_end = NULL;
    const char *line = text, *text_end = text + length;
    for (size_t number = 1;; number++) {
        const char *line_end = memchr(line, '\n', (size_t)(text_end - line));
        if (line_end == NULL) {
            line_end = text_end;
        }
        const char *comment = memchr(line, '#', (size_t)(line_end - line));
        const char *start = line, *end = comment != NULL ? comment : line_end;
        trim(&start, &end);
        if (start < end) {
            /* Swift's split(separator: "=", maxSplits: 1) drops empty pieces:
             * leading '=' are skipped, and both key and value must be non-empty. */
            const char *key = start;
            while (key < end && *key == '=') {
                key++;
            }
            const char *equals = memchr(key, '=', (size_t)(end - key));
            if (equals == NULL || equals == key || equals + 1 == end) {
                return accessd_fail(error, ACCESSD_FAILED_PRECONDITION, 0, "%s:%zu: expected key = value", path, number);
            }
            const char *key_end = equals, *value = equals + 1, *value_end = end;
            trim(&key, &key_end);
            trim(&value, &value_end);
            if (!is_config_key(key, (size_t)(key_end - key))) {
                return accessd_fail(error, ACCESSD_FAILED_PRECONDITION, 0,
                                    "%s:%zu: unknown key '%.*s' (accessd refuses this file too)", path, number,
                                    (int)(key_end - key > 64 ? 64 : key_end - key), key);
            }
            const char *socket_key = discovery_keys[DISCOVERY_SOCKET];
            if ((size_t)(key_end - key) == strlen(socket_key) && memcmp(key, socket_key, strlen(socket_key)) == 0) {
                socket_start = value;
                socket_end = value_end;
            }
        }
        if (line_end == text_end) {
            break;
        }
        line = line_end + 1;
    }
    if (socket_start != NULL && socket_start < socket_end) {
        *socket = strndup(socket_start, (size_t)(socket_end - socket_start));
        if (*socket == NULL) {
            return accessd_fail(error, ACCESSD_RESOURCE_EXHAUSTED, 0, "out of memory");
        }
    }
    return ACCESSD_OK;
}

/* The `socket` of the config file the daemon would read (*socket NULL when
 * there is no file or it names none), or why the file cannot be used. */
static int config_file_socket(char **socket, accessd_error *error)
{
    *socket = NULL;
    char path[4096];
    if (!config_file_path(path, sizeof path)) {
        return ACCESSD_OK;
    }
    FILE *file = fopen(path, "re");
    if (file == NULL) {
        return accessd_fail(error, ACCESSD_FAILED_PRECONDITION, 0, "cannot read the config file %s: %s", path,
                            strerror(errno));
    }
    char *text = malloc(CONFIG_MAX_BYTES);
    if (text == NULL) {
        fclose(file);
        return accessd_fail(error, ACCESSD_RESOURCE_EXHAUSTED, 0, "out of memory");
    }
    size_t length = fread(text, 1, CONFIG_MAX_BYTES, file);
    int code;
    if (ferror(file)) {
        code = accessd_fail(error, ACCESSD_FAILED_PRECONDITION, 0, "cannot read the config file %s: %s", path,
                            strerror(errno));
    } else if (length >= CONFIG_MAX_BYTES) {
        code = accessd_fail(error, ACCESSD_FAILED_PRECONDITION, 0, "the config file %s is larger than %d bytes", path,
                            CONFIG_MAX_BYTES - 1);
    } else {
        code = config_socket(path, text, length, socket, error);
    }
    free(text);
    fclose(file);
    return code;
}

/* snprintf's result as a length (0 when it failed). */
static size_t written_length(int written)
{
    return written < 0 ? 0 : (size_t)written;
}

int accessd_find_socket(char *buffer, size_t size, size_t *length, accessd_error *error)
{
    size_t ignored;
    if (length == NULL) {
        length = &ignored;
    }
    *length = 0;
    if (buffer != NULL && size > 0) {
        buffer[0] = '\0';
    }
    const char *value = nonempty_env("ACCESSD_SOCKET");
    if (value != NULL) {
        *length = written_length(snprintf(buffer, size, "%s", value));
        return ACCESSD_OK;
    }
    char *from_file = NULL;
    int code = config_file_socket(&from_file, error);
    if (code != ACCESSD_OK) {
        return code;
    }
    if (from_file != NULL) {
        *length = written_length(snprintf(buffer, size, "%s", from_file));
        free(from_file);
        return ACCESSD_OK;
    }
    value = getenv("RUNTIME_DIRECTORY");
    if (value != NULL) {
        /* systemd passes a colon-separated list: the first non-empty entry. */
        while (*value == ':') {
            value++;
        }
        if (*value != '\0') {
            int first = (int)strcspn(value, ":");
            *length = written_length(snprintf(buffer, size, "%.*s/accessd.sock", first, value));
            return ACCESSD_OK;
        }
    }
    value = nonempty_env("XDG_RUNTIME_DIR");
    if (value != NULL) {
        *length = written_length(snprintf(buffer, size, "%s/accessd/accessd.sock", value));
        return ACCESSD_OK;
    }
    value = getenv("UID");
    if (value != NULL) {
        *length = written_length(snprintf(buffer, size, "/tmp/accessd-%s/accessd.sock", value));
    } else {
        *length = written_length(snprintf(buffer, size, "/tmp/accessd-%lu/accessd.sock", (unsigned long)getuid()));
    }
    return ACCESSD_OK;
}

size_t accessd_socket_path(char *buffer, size_t size)
{
    size_t length = 0;
    if (accessd_find_socket(buffer, size, &length, NULL) != ACCESSD_OK) {
        if (buffer != NULL && size > 0) {
            buffer[0] = '\0';
        }
        return 0;
    }
    return length;
}
