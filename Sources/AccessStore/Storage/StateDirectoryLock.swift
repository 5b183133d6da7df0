import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on `<state directory>/lock` (flock), held while the
/// daemon runs, so that a second accessd on the same state directory stops
/// at start instead of interleaving its journal with ours. The kernel drops
/// it when the process dies, so a kill -9 leaves nothing to clean up.
package final class StateDirectoryLock: Sendable {
    private let fd: Int32
    private let released = NIOLockedValueBox(false)

    package struct InUse: Error, CustomStringConvertible {
        package var directory: String
        package var holder: String
        package var description: String {
            "the state directory \(directory) is in use by another accessd\(holder); stop it first, or give this one its own --state-dir"
        }
    }

    /// Takes the lock, creating `lock` in the checked directory when missing.
    /// A `lock` that is a symbolic link, not a regular file, or has other
    /// names (hard links) is refused, never opened for writing.
    package init(directory: OwnedDirectory) throws {
        let path = directory.path + "/lock"
        fd = openat(directory.descriptor, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EISDIR {
                throw OwnedDirectory.Refused(
                    description: "\(path) is a directory, not a regular file; remove it and start again")
            }
            if errno == ELOOP {
                throw OwnedDirectory.Refused(
                    description: "\(path) is a symbolic link; accessd never follows links in its state directory. Remove it (rm \(path)) and start again")
            }
            if errno == EACCES || errno == EPERM {
                let user = OwnedDirectory.userName(geteuid()) ?? String(geteuid())
                throw StorageError(
                    .permissionDenied,
                    "cannot open \(path): \(String(cString: strerror(errno))); give it to the user accessd runs as (chown \(user): \(path)) and start again")
            }
            throw StorageError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_nlink == 1 else {
            close(fd)
            throw OwnedDirectory.Refused(
                description: "\(path) is not a regular file of its own (a FIFO, a device, a directory or a hard link to another file); remove it (rm \(path)) and start again")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            let pid = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            close(fd)
            throw InUse(directory: directory.path, holder: pid.isEmpty ? "" : " (pid \(pid))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
    }

    /// Gives the lock file to the daemon's user (`accessd restore`, run as root, may have created it).
    package func setOwner(uid: UInt32, gid: UInt32) throws {
        guard fchown(fd, uid, gid) == 0 else { throw StorageError.errno("cannot change the owner of the lock file") }
    }

    /// Lets another daemon take the directory (at the end of a stop).
    package func release() {
        let first = released.withLockedValue { released in defer { released = true }; return !released }
        if first { close(fd) }
    }

    deinit { release() }
}
