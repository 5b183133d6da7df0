import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on `<state directory>/lock` (flock), held while the
/// daemon runs, so that a second accessd on the same state directory stops
/// at start instead of interleaving its journal with ours. The kernel drops
/// it when the process dies, so a kill -9 leaves nothing to clean up.
final class StateDirectoryLock: Sendable {
    private let fd: Int32
    private let released = NIOLockedValueBox(false)

    struct InUse: Error, CustomStringConvertible {
        var directory: String
        var holder: String
        var description: String {
            "the state directory \(directory) is in use by another accessd\(holder); stop it first, or give this one its own --state-dir"
        }
    }

    init(directory: String) throws {
        let path = directory + "/lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StorageError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            let pid = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            close(fd)
            throw InUse(directory: directory, holder: pid.isEmpty ? "" : " (pid \(pid))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
    }

    /// Lets another daemon take the directory (at the end of a stop).
    func release() {
        let first = released.withLockedValue { released in defer { released = true }; return !released }
        if first { close(fd) }
    }

    deinit { release() }
}
