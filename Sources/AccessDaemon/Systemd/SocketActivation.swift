import AccessStore
#if canImport(Glibc)
    import Glibc
#endif

/// A listening socket that systemd (or `systemd-socket-activate`) passed to
/// this process. accessd serves it instead of binding one, and never unlinks
/// its path: the socket belongs to `accessd.socket`.
public struct ActivatedSocket: Sendable, Equatable {
    /// The descriptor (3 and up).
    public let descriptor: Int32
    /// Its name from `$LISTEN_FDNAMES` (`FileDescriptorName=`), when given.
    public let name: String?
    /// The path it is bound to (`@name` when abstract), when it has one.
    public let path: String?
}

/// sd_listen_fds(3) in Swift: `$LISTEN_PID`, `$LISTEN_FDS`, `$LISTEN_FDNAMES`.
public enum SocketActivation {
    public static let firstDescriptor: Int32 = 3

    public struct Invalid: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "socket activation: \(reason)" }
    }

    /// The listening socket passed to this process, or nil when none was
    /// (no `$LISTEN_FDS`, or `$LISTEN_PID` names another process). Several
    /// sockets: the one named `accessd` (or `accessd.socket`), the others closed.
    /// The variables are removed from the environment either way, so that no
    /// child takes them for its own.
    /// - Throws: `Invalid` when the variables are malformed or the socket is
    ///   not a listening Unix stream socket.
    public static func takeListener(
        environment: [String: String], pid: Int32? = nil, unsetEnvironment: Bool = true
    ) throws -> ActivatedSocket? {
        let pid = pid ?? getpid()
        defer {
            if unsetEnvironment {
                for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) }
            }
        }
        guard let countText = environment["LISTEN_FDS"], !countText.isEmpty else { return nil }
        guard let pidText = environment["LISTEN_PID"], let listenPID = pid_t(pidText) else {
            throw Invalid(reason: "LISTEN_FDS is set but LISTEN_PID is not a process id")
        }
        guard listenPID == pid else { return nil }
        guard let count = Int32(countText), count >= 1 else {
            throw Invalid(reason: "LISTEN_FDS must be a positive number, not '\(countText)'")
        }
        let names = (environment["LISTEN_FDNAMES"] ?? "").split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func name(_ index: Int) -> String? { index < names.count && !names[index].isEmpty ? names[index] : nil }

        var chosen = 0
        if count > 1 {
            guard let index = (0..<Int(count)).first(where: { name($0) == "accessd" || name($0) == "accessd.socket" }) else {
                throw Invalid(
                    reason: "systemd passed \(count) sockets (\(names.joined(separator: ", "))); "
                        + "name the one to serve 'accessd' with FileDescriptorName=")
            }
            chosen = index
            for other in 0..<Int(count) where other != chosen { close(firstDescriptor + Int32(other)) }
        }
        let descriptor = firstDescriptor + Int32(chosen)
        try checkListening(descriptor)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        return ActivatedSocket(descriptor: descriptor, name: name(chosen), path: boundPath(descriptor))
    }

    /// A Unix stream socket that listens, or `Invalid` saying what it is instead.
    static func checkListening(_ descriptor: Int32) throws {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw Invalid(reason: "descriptor \(descriptor) is not open")
        }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw Invalid(reason: "descriptor \(descriptor) is not a socket")
        }
        func option(_ name: Int32) -> Int32? {
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            return getsockopt(descriptor, SOL_SOCKET, name, &value, &length) == 0 ? value : nil
        }
        guard option(SO_DOMAIN) == AF_UNIX, option(SO_TYPE) == Int32(SOCK_STREAM.rawValue) else {
            throw Invalid(reason: "descriptor \(descriptor) is not a Unix stream socket; use ListenStream=/path in accessd.socket")
        }
        guard option(SO_ACCEPTCONN) == 1 else {
            throw Invalid(reason: "descriptor \(descriptor) does not listen (Accept=yes is not supported; use Accept=no)")
        }
    }

    /// The path a Unix socket is bound to, `@name` for an abstract one, nil for none.
    static func boundPath(_ descriptor: Int32) -> String? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        guard result == 0, Int(length) > offset else { return nil }
        let bytes = withUnsafeBytes(of: &address.sun_path) { Array($0.prefix(Int(length) - offset)) }
        if bytes.first == 0 {
            return "@" + String(decoding: bytes.dropFirst(), as: UTF8.self)
        }
        return String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
