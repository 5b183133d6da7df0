public import AccessPaths

extension ConfigFile {
    /// Applies the limits, admin ids and intervals to a configuration (paths are `DaemonPaths`' business).
    public func apply(to configuration: inout DaemonConfiguration) throws {
        func number(_ key: String, in range: ClosedRange<Int64>) throws -> Int64? {
            guard let text = values[key] else { return nil }
            guard let value = Int64(text), range.contains(value) else {
                throw Invalid(path: path, line: lines[key] ?? 0, reason: "\(key) must be a whole number in \(range), not '\(text)'")
            }
            return value
        }
        func ids(_ key: String) throws -> Set<UInt32>? {
            guard let text = values[key] else { return nil }
            var result = Set<UInt32>()
            for part in text.split(separator: ",") {
                guard let id = UInt32(String(part).trimmingSpaces) else {
                    throw Invalid(path: path, line: lines[key] ?? 0, reason: "\(key) must be a comma-separated list of numbers, not '\(text)'")
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
        if let value = try number("snapshot_every_records", in: 1...1_000_000_000) { configuration.snapshotEveryRecords = value }
        if let value = try number("event_loops", in: 1...256) { configuration.eventLoopThreads = Int(value) }
        if let text = values["fsync"] {
            guard let policy = FsyncPolicy(rawValue: text) else {
                throw Invalid(path: path, line: lines["fsync"] ?? 0, reason: "fsync must be always, interval or none, not '\(text)'")
            }
            configuration.fsyncPolicy = policy
        }
    }
}
