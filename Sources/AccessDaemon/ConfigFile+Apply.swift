import AccessStore
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
        func decimal(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
            guard let text = values[key] else { return nil }
            guard let value = Double(text), value.isFinite, range.contains(value) else {
                throw Invalid(path: path, line: lines[key] ?? 0, reason: "\(key) must be a number in \(range.lowerBound)...\(range.upperBound), not '\(text)'")
            }
            return value
        }
        if let value = try ids("admin_uids") { configuration.administratorUIDs = value }
        if let value = try ids("admin_gids") { configuration.administratorGIDs = value }
        if let value = try ids("service_uids") { configuration.peers.serviceUIDs = value }
        if let value = try ids("service_gids") { configuration.peers.serviceGIDs = value }
        if let value = try ids("read_only_uids") { configuration.peers.readOnlyUIDs = value }
        if let value = try ids("read_only_gids") { configuration.peers.readOnlyGIDs = value }
        if let text = values["default_peer_class"] {
            guard let value = PeerClass(rawValue: text), value != .administrator else {
                throw Invalid(
                    path: path, line: lines["default_peer_class"] ?? 0,
                    reason: "default_peer_class must be service, read-only or none, not '\(text)'")
            }
            configuration.peers.unlisted = value
        }
        if let value = try number("max_connections_per_uid", in: 1...1_000_000) { configuration.maximumConnectionsPerUID = Int(value) }
        if let value = try number("admin_reserved_connections", in: 0...1_000_000) {
            configuration.connectionsReservedForAdministrators = Int(value)
        }
        if let value = try number("max_inbound_bytes_per_uid", in: 4096...(1 << 40)) { configuration.maximumInboundBytesPerUID = Int(value) }
        if let value = try number("outbound_high_water_bytes", in: 4096...(1 << 30)) { configuration.outboundHighWaterBytes = Int(value) }
        if let value = try number("revision_wait_ms", in: 1...3_600_000) { configuration.defaultMinRevisionWaitMilliseconds = value }
        if let value = try number("max_revision_wait_ms", in: 1...3_600_000) { configuration.maximumRevisionWaitMilliseconds = value }
        if let value = try decimal("write_rate_per_uid", in: 0...1_000_000) { configuration.writesPerSecondPerUID = value }
        if let value = try decimal("write_burst_per_uid", in: 1...1_000_000) { configuration.writeBurstPerUID = value }
        if let value = try number("max_idempotency_key_bytes", in: 1...4096) { configuration.maximumIdempotencyKeyBytes = Int(value) }
        if let value = try number("max_idempotency_keys_per_uid", in: 0...100_000_000) {
            configuration.maximumIdempotencyKeysPerUID = Int(value)
        }
        if let value = try number("max_idempotency_keys", in: 0...100_000_000) { configuration.maximumIdempotencyKeys = Int(value) }
        if let value = try number("max_frame_bytes", in: 1024...(1 << 30)) { configuration.maximumFrameLength = Int(value) }
        if let value = try number("max_calls_per_connection", in: 1...65536) { configuration.maximumCallsPerConnection = Int(value) }
        if let value = try number("max_connections", in: 1...1_000_000) { configuration.maximumConnections = Int(value) }
        if let value = try number("frame_stall_timeout_ms", in: 1...3_600_000) { configuration.frameStallTimeoutMilliseconds = value }
        if let value = try number("snapshot_interval_s", in: 1...86_400) { configuration.snapshotIntervalSeconds = value }
        if let value = try number("drain_timeout_s", in: 0...3600) { configuration.drainTimeoutSeconds = value }
        if let value = try number("activation_lifetime_s", in: 60...(365 * 86_400)) {
            configuration.policy.activationLifetimeMilliseconds = value * 1000
        }
        if values["event_retention"] != nil, values["event_memory_count"] != nil {
            throw Invalid(
                path: path, line: lines["event_retention"] ?? 0,
                reason: "event_retention is the former name of event_memory_count; set only event_memory_count")
        }
        for key in ["event_memory_count", "event_retention"] {
            if let value = try number(key, in: 1...100_000_000) { configuration.eventMemoryCount = Int(value) }
        }
        if let value = try number("event_retention_count", in: 1...1_000_000_000_000) { configuration.eventRetentionCount = Int(value) }
        if let value = try number("event_retention_s", in: 1...(100 * 365 * 86_400)) { configuration.eventRetentionSeconds = value }
        if let value = try number("snapshot_every_records", in: 1...1_000_000_000) { configuration.snapshotEveryRecords = value }
        if let value = try number("event_loops", in: 1...256) { configuration.eventLoopThreads = Int(value) }
        if let text = values["metrics_textfile"] {
            // node_exporter's textfile collector reads only *.prom files of its directory.
            guard text.isEmpty || (text.hasPrefix("/") && text.hasSuffix(".prom") && text.count > 6) else {
                throw Invalid(
                    path: path, line: lines["metrics_textfile"] ?? 0,
                    reason: "metrics_textfile must be an absolute path ending in .prom (node_exporter's textfile collector reads only *.prom files), or empty for none; not '\(text)'")
            }
            configuration.metricsTextfile = text
        }
        if let value = try number("metrics_textfile_interval_s", in: 1...86_400) { configuration.metricsTextfileIntervalSeconds = value }
        if let text = values["fsync"] {
            guard let policy = FsyncPolicy(rawValue: text) else {
                throw Invalid(path: path, line: lines["fsync"] ?? 0, reason: "fsync must be always, interval or none, not '\(text)'")
            }
            configuration.fsyncPolicy = policy
        }
    }
}
