import AccessStore
#if canImport(Glibc)
    import Glibc
#endif

/// The sd_notify protocol in Swift (no libsystemd): one datagram of
/// newline-separated `KEY=value` assignments to the AF_UNIX socket named by
/// `$NOTIFY_SOCKET` (a path, or an abstract name written `@name`). Without
/// `$NOTIFY_SOCKET` (not started by systemd, or `Type=` other than `notify`)
/// every call does nothing.
///
/// accessd sends `READY=1` once the state is loaded and the socket listens,
/// `STATUS=` with a one-line summary, `WATCHDOG=1` from the serving loop
/// (`SystemdWatchdog`), `RELOADING=1` ... `READY=1` around a reload and
/// `STOPPING=1` when it starts to drain.
public struct SystemdNotifier: Sendable {
    /// The socket's address as given (`/run/systemd/notify` or `@name`); nil when there is none.
    public let socketPath: String?

    public init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"] ?? ""
        self.socketPath = path.isEmpty ? nil : path
    }

    public var isEnabled: Bool { socketPath != nil }

    /// Sends one datagram of assignments, e.g. `["READY=1", "STATUS=serving"]`.
    /// Never blocks: a full queue drops the message (systemd reads promptly).
    /// Returns false when it could not be sent (or there is no socket).
    @discardableResult
    public func notify(_ assignments: [String]) -> Bool {
        guard let socketPath else { return false }
        // One line per assignment: a value may not carry a newline.
        let message = assignments.map { $0.replacingNewlines() }.joined(separator: "\n")
        guard var address = Self.address(socketPath) else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &address.storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { buffer in
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), socketAddress, address.length)
                }
            }
        }
        return sent == bytes.count
    }

    public func ready(status: String) { notify(["READY=1", "STATUS=" + status]) }

    public func status(_ status: String) { notify(["STATUS=" + status]) }

    /// Before a reload; systemd 253+ also wants the monotonic time it began.
    public func reloading() { notify(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())", "STATUS=reloading the configuration"]) }

    public func stopping(status: String) { notify(["STOPPING=1", "STATUS=" + status]) }

    public func watchdog() { notify(["WATCHDOG=1"]) }

    /// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, when it is set
    /// for this process (`$WATCHDOG_PID`, when present, must be ours).
    /// - Returns: the interval in microseconds, or nil when no watchdog is asked for.
    public static func watchdogInterval(environment: [String: String], pid: Int32? = nil) -> Int64? {
        let pid = pid ?? getpid()
        guard let text = environment["WATCHDOG_USEC"], let usec = Int64(text), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], !owner.isEmpty, Int32(owner) != pid { return nil }
        return max(1, usec / 2)
    }

    static func monotonicMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }

    /// `sockaddr_un` for a path, or for an abstract name (`@` becomes the leading NUL).
    static func address(_ path: String) -> (storage: sockaddr_un, length: socklen_t)? {
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        // A path needs room for its NUL; an abstract name is counted by length.
        guard !bytes.isEmpty, bytes.count <= (abstract ? capacity : capacity - 1) else { return nil }
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        let length = abstract ? offset + bytes.count : MemoryLayout<sockaddr_un>.size
        return (storage, socklen_t(length))
    }
}

extension String {
    /// The text on one line: newlines become `\n`, carriage returns `\r`.
    func replacingNewlines() -> String {
        guard contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return self }
        var out = ""
        for character in self {
            switch character {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\r\n": out += "\\r\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
