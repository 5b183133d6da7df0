import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain Unix stream socket bound and listening at `path`, accepting
/// nothing: something a client could connect to that is not accessd.
package final class ListeningSocket {
    package let fd: Int32
    package let path: String

    package init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8.prefix($0.count - 1))) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            throw RawConnection.Failure(description: "bind/listen(\(path)) failed: errno \(errno)")
        }
    }

    /// Whether a connection waits to be accepted (someone connected).
    package var hasPendingConnection: Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 0) > 0
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
