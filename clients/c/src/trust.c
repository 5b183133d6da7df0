/* May a client trust the socket at a path? The client's rule of
 * Sources/AccessPaths/SocketTrust.swift, in C (README, "Where things are"):
 * the socket (not followed) is owned by root or by the connecting user
 * (geteuid); its directory (not followed) is a real directory owned by root
 * or by the socket's owner, with no group or other write bit (a shared,
 * sticky directory such as /tmp itself does not qualify). Whoever else could
 * write the directory could move the socket aside and bind an impostor. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* `path`'s directory ("." for a bare name, "/" at the root) into `directory`;
 * returns its name in it, or NULL when the directory does not fit. */
static const char *split(const char *path, char *directory, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(directory, size, ".");
        return path;
    }
    size_t length = slash == path ? 1 : (size_t)(slash - path);
    if (length >= size) {
        return NULL;
    }
    memcpy(directory, path, length);
    directory[length] = '\0';
    return slash + 1;
}

int accessd_socket_problem(const char *path, char *problem, size_t size)
{
    char directory[4096];
    const char *name = split(path, directory, sizeof directory);
    if (name == NULL) {
        return 0;
    }
    int fd = open(directory, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        struct stat link;
        if ((errno == ENOTDIR || errno == ELOOP) && lstat(directory, &link) == 0 && S_ISLNK(link.st_mode)) {
            snprintf(problem, size,
                     "the socket's directory %s is a symbolic link, which whoever can change it could point "
                     "elsewhere; connect through the directory it points to",
                     directory);
            return 1;
        }
        /* Missing, not a directory, not searchable: connect() says why it fails. */
        return 0;
    }
    struct stat socket_status, directory_status;
    int seen = fstatat(fd, name, &socket_status, AT_SYMLINK_NOFOLLOW) == 0 && fstat(fd, &directory_status) == 0;
    close(fd);
    if (!seen) {
        return 0;
    }
    if (S_ISLNK(socket_status.st_mode)) {
        snprintf(problem, size, "%s is a symbolic link, not a socket; connect to the socket itself", path);
        return 1;
    }
    if (!S_ISSOCK(socket_status.st_mode)) {
        return 0;
    }
    unsigned long owner = (unsigned long)socket_status.st_uid, user = (unsigned long)geteuid();
    if (owner != 0 && owner != user) {
        snprintf(problem, size,
                 "%s belongs to uid %lu, not to root or to you (uid %lu), so it may be that user's impostor; "
                 "connect to a socket owned by root or by you (accessd.socket makes /run/accessd.sock owned by root)",
                 path, owner, user);
        return 1;
    }
    unsigned long directory_owner = (unsigned long)directory_status.st_uid;
    unsigned mode = (unsigned)directory_status.st_mode & 07777;
    const char *elsewhere = "run accessd with --socket in a directory only its user can write";
    if (directory_owner != 0 && directory_owner != owner) {
        snprintf(problem, size,
                 "the socket's directory %s is owned by uid %lu, not by root or by the socket's owner (uid %lu), "
                 "so that user could replace the socket with an impostor; chown %lu %s, or %s",
                 directory, directory_owner, owner, owner, directory, elsewhere);
        return 1;
    }
    if ((mode & 01002) == 01002) {
        snprintf(problem, size,
                 "the socket's directory %s is shared (mode %04o): anyone may put a socket in it, so an impostor "
                 "could be there first; %s, such as %s/accessd-%lu/%s (accessd creates it mode 0750)",
                 directory, mode, elsewhere, strcmp(directory, "/") == 0 ? "" : directory, owner, name);
        return 1;
    }
    if ((mode & 022) != 0) {
        const char *who = (mode & 020) == 0 ? "others" : (mode & 002) == 0 ? "its group" : "its group and others";
        snprintf(problem, size,
                 "the socket's directory %s is writable by %s (mode %04o), so they could replace the socket with "
                 "an impostor; chmod go-w %s (accessd creates it mode 0750), or %s",
                 directory, who, mode, directory, elsewhere);
        return 1;
    }
    return 0;
}
