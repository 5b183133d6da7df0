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
///     event_retention = 100000
///     log_level = info
///
/// Flags and the environment win over the file; the file wins over systemd's
/// directories and the XDG defaults.
public struct ConfigFile: Sendable {
    public var values: [String: String]
    public let path: String

    public static let keys: Set<String> = [
        "socket", "state_dir", "admin_uids", "admin_gids", "max_frame_bytes", "max_calls_per_connection",
        "max_connections", "frame_stall_timeout_ms", "snapshot_interval_s", "drain_timeout_s", "activation_lifetime_s",
        "event_retention", "log_level",
    ]

    public struct Invalid: Error, CustomStringConvertible {
        public var path: String
        public var line: Int
        public var reason: String
        public var description: String { "\(path):\(line): \(reason)" }
    }

    public init(text: String, path: String) throws {
        self.path = path
        var values: [String: String] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let trimmed = line.trimmingSpaces
            if trimmed.isEmpty { continue }
            let parts = trimmed.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw Invalid(path: path, line: index + 1, reason: "expected key = value")
            }
            let key = String(parts[0]).trimmingSpaces
            guard Self.keys.contains(key) else {
                throw Invalid(
                    path: path, line: index + 1, reason: "unknown key '\(key)'; known: \(Self.keys.sorted().joined(separator: ", "))")
            }
            values[key] = String(parts[1]).trimmingSpaces
        }
        self.values = values
    }

    /// Applies the limits, admin ids and intervals to a configuration (paths are `DaemonPaths`' business).
    public func apply(to configuration: inout DaemonConfiguration) throws {
        func number(_ key: String, in range: ClosedRange<Int64>) throws -> Int64? {
            guard let text = values[key] else { return nil }
            guard let value = Int64(text), range.contains(value) else {
                throw Invalid(path: path, line: 0, reason: "\(key) must be a whole number in \(range), not '\(text)'")
            }
            return value
        }
        func ids(_ key: String) throws -> Set<UInt32>? {
            guard let text = values[key] else { return nil }
            var result = Set<UInt32>()
            for part in text.split(separator: ",") {
                guard let id = UInt32(String(part).trimmingSpaces) else {
                    throw Invalid(path: path, line: 0, reason: "\(key) must be a comma-separated list of numbers, not '\(text)'")
                }
                result.insert(id)
            }
            return result
        }
        if let value = try ids("admin_uids") { configuration.administratorUIDs = value }
        if let value = try ids("admin_gids") { configuration.administratorGIDs = value }
        if let value = try number("max_frame_bytes", in: 1024...(1 << 30)) { configuration.maximumFrameLength = Int(value) }
        if let value = try number("max_calls_per_connection", in: 1...65536) { configuration.maximumCallsPerConnection = Int(value) }
        if let value = try number("max_connections", in: 1...1_000_000) { configuration.maximumConnections = Int(value) }
        if let value = try number("frame_stall_timeout_ms", in: 1...3_600_000) { configuration.frameStallTimeoutMilliseconds = value }
        if let value = try number("snapshot_interval_s", in: 1...86_400) { configuration.snapshotIntervalSeconds = value }
        if let value = try number("drain_timeout_s", in: 0...3600) { configuration.drainTimeoutSeconds = value }
        if let value = try number("activation_lifetime_s", in: 60...(365 * 86_400)) {
            configuration.policy.activationLifetimeMilliseconds = value * 1000
        }
        if let value = try number("event_retention", in: 1...100_000_000) { configuration.eventRetention = Int(value) }
    }
}

extension String {
    var trimmingSpaces: String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
