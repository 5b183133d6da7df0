#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's configuration file: `key = value` lines, `#` comments.
///
///     socket = /run/accessd/accessd.sock
///     state_dir = /var/lib/accessd
///     admin_uids = 0, 1001
///     admin_gids = 27
///     max_frame_bytes = 4194304
///     max_calls_per_connection = 128
///     max_connections = 1024
///     frame_stall_timeout_ms = 10000
///     snapshot_interval_s = 60
///     drain_timeout_s = 10
///     activation_lifetime_s = 604800
///     event_retention_count = 1000000
///     event_retention_s = 604800
///     log_level = info
///
/// Flags and the environment win over the file; the file wins over systemd's
/// directories and the XDG defaults.
///
/// `keys` is the one list of keys: the daemon applies them, and the clients
/// (accessctl; the C client's copy in clients/c/src/discovery.c, held equal
/// by ConfigurationTests) refuse a file with any other, as the daemon does,
/// while they use only `socket`.
public struct ConfigFile: Sendable {
    public var values: [String: String]
    /// The line each key was set on, for messages.
    public var lines: [String: Int] = [:]
    public let path: String

    public static let keys: Set<String> = [
        "socket", "state_dir", "admin_uids", "admin_gids", "max_frame_bytes", "max_calls_per_connection",
        "max_connections", "frame_stall_timeout_ms", "snapshot_interval_s", "drain_timeout_s", "activation_lifetime_s",
        "event_retention", "event_memory_count", "event_retention_count", "event_retention_s", "log_level", "fsync", "snapshot_every_records", "event_loops",
        "service_uids", "service_gids", "read_only_uids", "read_only_gids", "default_peer_class",
        "max_connections_per_uid", "admin_reserved_connections", "max_inbound_bytes_per_uid",
        "outbound_high_water_bytes", "revision_wait_ms", "max_revision_wait_ms", "write_rate_per_uid",
        "write_burst_per_uid", "max_idempotency_key_bytes", "max_idempotency_keys_per_uid", "max_idempotency_keys",
        "metrics_textfile", "metrics_textfile_interval_s",
    ]

    public struct Invalid: Error, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var reason: String
        public var description: String { "\(path):\(line): \(reason)" }

        public init(path: String, line: Int, reason: String) {
            self.path = path
            self.line = line
            self.reason = reason
        }
    }

    public init(text: String, path: String) throws {
        self.path = path
        var values: [String: String] = [:]
        // Split by Unicode scalars, not Characters: "\r\n" is one Character (a
        // file written on Windows would be one long line), and a combining mark
        // after '#' or '=' would hide it.
        for (index, raw) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? raw[raw.startIndex..<raw.startIndex]
            if Self.trimmed(line).isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw Invalid(path: path, line: index + 1, reason: "expected key = value")
            }
            let key = Self.trimmed(parts[0])
            guard Self.keys.contains(key) else {
                throw Invalid(
                    path: path, line: index + 1, reason: "unknown key '\(key)'; known: \(Self.keys.sorted().joined(separator: ", "))")
            }
            values[key] = Self.trimmed(parts[1])
            lines[key] = index + 1
        }
        self.values = values
    }

    /// Without leading and trailing whitespace (a "\r" of "\r\n" included), scalar by scalar.
    private static func trimmed(_ scalars: Substring.UnicodeScalarView) -> String {
        var view = scalars
        while let first = view.first, first.properties.isWhitespace { view.removeFirst() }
        while let last = view.last, last.properties.isWhitespace { view.removeLast() }
        return String(Substring(view))
    }
}

extension ConfigFile {
    /// Why a config file could not be read.
    public struct Unreadable: Error, Hashable, CustomStringConvertible {
        public var path: String
        /// The `errno` of open() or read().
        public var errno: Int32
        public var description: String {
            let reason = String(cString: strerror(errno))
            return "cannot read the config file \(path): \(reason.prefix(1).lowercased() + reason.dropFirst())"
        }
    }

    /// The text of the file at `path` (invalid UTF-8 replaced).
    public static func contents(of path: String) throws(Unreadable) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Unreadable(path: path, errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Unreadable(path: path, errno: errno)
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads and parses the file at `path`.
    public static func load(_ path: String) throws -> ConfigFile {
        try ConfigFile(text: try contents(of: path), path: path)
    }
}

extension String {
    /// Without leading and trailing whitespace.
    public var trimmingSpaces: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
