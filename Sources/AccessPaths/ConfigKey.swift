/// The keys of the config file, each defined here once: its name (the raw
/// value), the values it takes, its default, whether a reload (SIGHUP) puts
/// it in force, what it does, and whether socket discovery reads it.
///
/// This table drives the parser (`ConfigFile` refuses any other key, checks
/// a value against its `Values` and names its line), applying the values to
/// the daemon's configuration and the reload diff (`ConfigKey.field` in
/// AccessDaemon: an exhaustive switch, so a key without a field does not
/// compile), `accessd --help-config` and the README's table
/// (`ConfigKey.markdownTable`, compared by ConfigurationTests). The C
/// client's copies in clients/c/src/discovery.c (the keys a file may have,
/// the keys discovery reads) are held equal to it by ConfigurationTests.
///
/// The order is the README's: where things are, durability, who may call,
/// limits, intervals, the event history, logging and metrics.
package enum ConfigKey: String, CaseIterable, Sendable {
    case socket = "socket"
    case stateDir = "state_dir"
    case fsync = "fsync"
    case snapshotEveryRecords = "snapshot_every_records"
    case log = "log"
    case postgresqlHosts = "postgresql_hosts"
    case postgresqlDatabase = "postgresql_database"
    case postgresqlUser = "postgresql_user"
    case postgresqlPasswordFile = "postgresql_password_file"
    case logWriter = "log_writer"
    case logConnectTimeoutMs = "log_connect_timeout_ms"
    case logAppendTimeoutMs = "log_append_timeout_ms"
    case logPollMs = "log_poll_ms"
    case maxStalenessMs = "max_staleness_ms"
    case adminUIDs = "admin_uids"
    case adminGIDs = "admin_gids"
    case serviceUIDs = "service_uids"
    case serviceGIDs = "service_gids"
    case readOnlyUIDs = "read_only_uids"
    case readOnlyGIDs = "read_only_gids"
    case defaultPeerClass = "default_peer_class"
    case maxFrameBytes = "max_frame_bytes"
    case maxCallsPerConnection = "max_calls_per_connection"
    case maxBatchChecks = "max_batch_checks"
    case maxConnections = "max_connections"
    case maxConnectionsPerUID = "max_connections_per_uid"
    case adminReservedConnections = "admin_reserved_connections"
    case maxInboundBytesPerUID = "max_inbound_bytes_per_uid"
    case outboundHighWaterBytes = "outbound_high_water_bytes"
    case frameStallTimeoutMs = "frame_stall_timeout_ms"
    case revisionWaitMs = "revision_wait_ms"
    case maxRevisionWaitMs = "max_revision_wait_ms"
    case writeRatePerUID = "write_rate_per_uid"
    case writeBurstPerUID = "write_burst_per_uid"
    case maxIdempotencyKeyBytes = "max_idempotency_key_bytes"
    case maxIdempotencyKeysPerUID = "max_idempotency_keys_per_uid"
    case maxIdempotencyKeys = "max_idempotency_keys"
    case snapshotIntervalS = "snapshot_interval_s"
    case drainTimeoutS = "drain_timeout_s"
    case activationLifetimeS = "activation_lifetime_s"
    case eventRetentionCount = "event_retention_count"
    case eventRetentionS = "event_retention_s"
    case eventMemoryCount = "event_memory_count"
    case eventRetention = "event_retention"
    case eventLoops = "event_loops"
    case logLevel = "log_level"
    case metricsTextfile = "metrics_textfile"
    case metricsTextfileIntervalS = "metrics_textfile_interval_s"

    /// The key's name in the file.
    package var name: String { rawValue }

    /// Everything the table says of the key.
    package var spec: Spec {
        switch self {
        case .socket:
            Spec(.path, default: nil, .restart, readByDiscovery: true, "the Unix socket")
        case .stateDir:
            Spec(.path, default: nil, .restart, "the journal and the snapshots")
        case .fsync:
            Spec(
                .oneOf(["always", "interval", "none"]), default: "always", .restart,
                "when the journal syncs: each acknowledged write is on disk (`always`), every second, or when the system decides; also `--fsync` (see Durability)")
        case .snapshotEveryRecords:
            Spec(
                .whole(1...1_000_000_000), default: "100000", .restart,
                "also snapshot after this many journal records (with `log = postgresql`, also how old the newest snapshot in the log may get)")
        case .log:
            Spec(
                .oneOf(["local", "postgresql"]), default: "local", .restart,
                "where acknowledged writes go: this host's journal, or a log in PostgreSQL that several hosts share (see Several hosts)")
        case .postgresqlHosts:
            Spec(
                .endpoints, default: "", .restart,
                "with `log = postgresql`: the servers, tried in order, only one that takes writes used: `host:port`, `[v6]:port` or a socket directory (`/run/postgresql`)")
        case .postgresqlDatabase:
            Spec(.word, default: "accessd", .restart, "the database holding the schema `accessd` (`accessd log init`)")
        case .postgresqlUser:
            Spec(.word, default: "accessd", .restart, "the role the daemon logs in as (SELECT and INSERT on the log)")
        case .postgresqlPasswordFile:
            Spec(
                .path, default: "", note: "none", .restart,
                "a file holding the role's password; else `$CREDENTIALS_DIRECTORY/postgresql-password` (systemd's `LoadCredential=`), else `$ACCESSD_POSTGRESQL_PASSWORD`; never a flag")
        case .logWriter:
            Spec(.word, default: "", note: "the host name", .restart, "this host's name in the log's rows")
        case .logConnectTimeoutMs:
            Spec(.whole(100...600_000), default: "3000", .restart, "how long connecting to one server of `postgresql_hosts` may take")
        case .logAppendTimeoutMs:
            Spec(
                .whole(100...600_000), default: "5000", .restart,
                "a write not committed in the log within this: UNAVAILABLE (not applied here; its idempotency key finds it if it did commit)")
        case .logPollMs:
            Spec(
                .whole(10...600_000), default: "1000", .restart,
                "how often the log is read besides its notifications (which a cut connection loses)")
        case .maxStalenessMs:
            Spec(
                .whole(100...86_400_000), default: "10000", .applied,
                "with `log = postgresql`: reads (Check too) fail closed with UNAVAILABLE once this host has not caught up with the log for this long")
        case .adminUIDs:
            Spec(.ids, default: "", note: "root always", .applied, "uids of administrators: every call (see Trust model)")
        case .adminGIDs:
            Spec(.ids, default: "", .applied, "groups of administrators")
        case .serviceUIDs:
            Spec(.ids, default: "", .applied, "uids of services: every call but administrator calls")
        case .serviceGIDs:
            Spec(.ids, default: "", .applied, "groups of services")
        case .readOnlyUIDs:
            Spec(.ids, default: "", .applied, "uids of read-only peers: Check and the read methods")
        case .readOnlyGIDs:
            Spec(.ids, default: "", .applied, "groups of read-only peers")
        case .defaultPeerClass:
            Spec(
                .oneOf(["service", "read-only", "none"]), default: "service", .applied,
                "the class of a peer no list names (`none`: refused at connect)")
        case .maxFrameBytes:
            Spec(.whole(1024...(1 << 30)), default: "4194304", .applied, "longer frames: RESOURCE_EXHAUSTED, connection closed")
        case .maxCallsPerConnection:
            Spec(.whole(1...65536), default: "128", .applied, "more in flight: RESOURCE_EXHAUSTED")
        case .maxBatchChecks:
            Spec(.whole(1...100_000), default: "1000", .applied, "checks one BatchCheck may carry; more: INVALID_ARGUMENT")
        case .maxConnections:
            Spec(
                .whole(1...1_000_000), default: "1024", .applied,
                "connections in all; more: one RESOURCE_EXHAUSTED frame, then closed; capped by the descriptor limit")
        case .maxConnectionsPerUID:
            Spec(.whole(1...1_000_000), default: "128", .applied, "connections one uid that is not an administrator may hold")
        case .adminReservedConnections:
            Spec(.whole(0...1_000_000), default: "16", .applied, "of `max_connections`, kept for administrators")
        case .maxInboundBytesPerUID:
            Spec(
                .whole(4096...(1 << 40)), default: "16777216", .applied,
                "bytes of unfinished frames and waiting reads over one uid's connections; the connection that goes past it is closed with RESOURCE_EXHAUSTED")
        case .outboundHighWaterBytes:
            Spec(
                .whole(4096...(1 << 30)), default: "65536", .applied,
                "replies a peer has not read past which its connection's requests are not read (resumed below a quarter of it); a reload reaches new connections")
        case .frameStallTimeoutMs:
            Spec(
                .whole(1...3_600_000), default: "10000", .applied,
                "a frame begun must finish within this; frames that keep finishing never trip it")
        case .revisionWaitMs:
            Spec(.whole(1...3_600_000), default: "1000", .applied, "how long a read waits for `min_revision` without a deadline")
        case .maxRevisionWaitMs:
            Spec(
                .whole(1...3_600_000), default: "30000", .applied,
                "the longest any read waits for `min_revision`: then DEADLINE_EXCEEDED")
        case .writeRatePerUID:
            Spec(
                .decimal(0...1_000_000), default: "0", note: "off", .applied,
                "writes a second a uid that is not an administrator may make; more: RESOURCE_EXHAUSTED with a retry time")
        case .writeBurstPerUID:
            Spec(.decimal(1...1_000_000), default: "100", .applied, "writes a uid may make at once before the rate applies")
        case .maxIdempotencyKeyBytes:
            Spec(.whole(1...4096), default: "128", .applied, "a longer `idempotency_key`: INVALID_ARGUMENT")
        case .maxIdempotencyKeysPerUID:
            Spec(
                .whole(0...100_000_000), default: "20000", .applied,
                "first replies held (24 hours each) for one uid's keyed writes; more: RESOURCE_EXHAUSTED")
        case .maxIdempotencyKeys:
            Spec(.whole(0...100_000_000), default: "200000", .applied, "first replies held in all")
        case .snapshotIntervalS:
            Spec(.whole(1...86_400), default: "60", .applied, "snapshot when changed, this often")
        case .drainTimeoutS:
            Spec(.whole(0...3600), default: "10", .applied, "at shutdown, time for calls in flight")
        case .activationLifetimeS:
            Spec(.whole(60...(365 * 86_400)), default: "604800", .restart, "activation tokens expire after this (R8)")
        case .eventRetentionCount:
            Spec(
                .whole(1...1_000_000_000_000), default: "1000000", .restart,
                "the event history ListEvents and FollowEvents answer from, in memory and on disk: the newest this many events (see Event history)")
        case .eventRetentionS:
            Spec(
                .whole(1...(100 * 365 * 86_400)), default: "604800", note: "7 days", .restart,
                "... and no event older than this; whichever of the two keeps less")
        case .eventMemoryCount:
            Spec(
                .whole(1...100_000_000), default: "100000", .restart,
                "of those, the newest held in memory too, read without touching the disk (at most `event_retention_count`)")
        case .eventRetention:
            Spec(formerNameOf: .eventMemoryCount)
        case .eventLoops:
            Spec(
                .whole(1...256), default: "2", .restart,
                "event-loop threads serving connections (the state's owner has one more of its own)")
        case .logLevel:
            Spec(
                .oneOf(["trace", "debug", "info", "notice", "warning", "error", "critical"]), default: "info", .applied,
                "also `--log-level`, `$ACCESSD_LOG_LEVEL`; `debug` logs one line per call")
        case .metricsTextfile:
            Spec(
                .promFile, default: "", note: "off", .restart,
                "write the metrics here for node_exporter's textfile collector (see Metrics and health)")
        case .metricsTextfileIntervalS:
            Spec(.whole(1...86_400), default: "15", .restart, "how often `metrics_textfile` is written (and once at start)")
        }
    }
}

extension ConfigKey {
    /// One row of the table.
    package struct Spec: Sendable {
        /// What the key may be set to.
        package var values: Values
        /// In force when the file does not set the key, written as the file
        /// would write it; nil when where accessd runs decides (`DaemonPaths`).
        package var defaultValue: String?
        /// Said beside the default ("7 days", "off").
        package var defaultNote: String?
        package var reload: Reload
        /// Socket discovery (accessctl, the C client) reads it; the other keys
        /// they only recognise, so that a file accessd refuses is refused there too.
        package var readByDiscovery: Bool
        /// The key's former name: set either, not both.
        package var formerNameOf: ConfigKey?
        /// What the key does (Markdown: backticks only).
        package var help: String

        init(
            _ values: Values, default defaultValue: String?, note: String? = nil, _ reload: Reload,
            readByDiscovery: Bool = false, _ help: String
        ) {
            self.values = values
            self.defaultValue = defaultValue
            self.defaultNote = note
            self.reload = reload
            self.readByDiscovery = readByDiscovery
            self.help = help
        }

        /// A former name of `key`: takes what `key` takes.
        init(formerNameOf key: ConfigKey) {
            self = key.spec
            self.formerNameOf = key
            self.help = "the former name of `\(key.name)`, still read; set only one of the two"
        }
    }

    /// When a changed value is put in force.
    package enum Reload: Sendable {
        /// On reload (SIGHUP), without dropping a connection.
        case applied
        /// At the next start: a reload that changes it says so and keeps the old value.
        case restart
    }

    /// What a key may be set to.
    package enum Values: Sendable, Equatable {
        /// Any text (a path; empty: as if unset).
        case path
        /// Comma-separated uids or gids (may be empty).
        case ids
        /// A whole number in the range.
        case whole(ClosedRange<Int64>)
        /// A finite number in the range.
        case decimal(ClosedRange<Double>)
        /// One of these words.
        case oneOf([String])
        /// An absolute path ending in `.prom`, or empty.
        case promFile
        /// A name without spaces or quotes (a database, a role, a host's name), or empty.
        case word
        /// Comma-separated PostgreSQL servers (`PostgresEndpoint`), or empty.
        case endpoints
    }

    /// The key named `name`, or nil.
    package init?(name: String) { self.init(rawValue: name) }

    /// The keys socket discovery reads.
    package static var discoveryKeys: [ConfigKey] { allCases.filter(\.spec.readByDiscovery) }
}

/// A value the table accepted, as the field it goes to takes it.
package enum ConfigValue: Sendable, Equatable {
    case text(String)
    case ids(Set<UInt32>)
    case whole(Int64)
    case decimal(Double)
}

extension ConfigKey.Values {
    /// `text` as a value of this kind, or nil when the key does not take it.
    package func parse(_ text: String) -> ConfigValue? {
        switch self {
        case .path:
            return .text(text)
        case .ids:
            var result = Set<UInt32>()
            for part in text.split(separator: ",") {
                guard let id = UInt32(String(part).trimmingSpaces) else { return nil }
                result.insert(id)
            }
            return .ids(result)
        case .whole(let range):
            guard let value = Int64(text), range.contains(value) else { return nil }
            return .whole(value)
        case .decimal(let range):
            guard let value = Double(text), value.isFinite, range.contains(value) else { return nil }
            return .decimal(value)
        case .oneOf(let words):
            return words.contains(text) ? .text(text) : nil
        case .promFile:
            // node_exporter's textfile collector reads only *.prom files of its directory.
            guard text.isEmpty || (text.hasPrefix("/") && text.hasSuffix(".prom") && text.count > 6) else { return nil }
            return .text(text)
        case .word:
            guard text.utf8.count <= 63,
                text.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.@".unicodeScalars.contains($0) })
            else { return nil }
            return .text(text)
        case .endpoints:
            guard text.isEmpty || PostgresEndpoint.list(text) != nil else { return nil }
            return .text(text)
        }
    }

    /// Why `text` is no value of `key`, said so that a person can fix it.
    package func refusal(of text: String, for key: ConfigKey) -> String {
        switch self {
        case .path:
            "\(key.name) must be a path, not '\(text)'"
        case .ids:
            "\(key.name) must be a comma-separated list of numbers, not '\(text)'"
        case .whole(let range):
            "\(key.name) must be a whole number in \(range), not '\(text)'"
        case .decimal(let range):
            "\(key.name) must be a number in \(range.lowerBound)...\(range.upperBound), not '\(text)'"
        case .oneOf(let words):
            "\(key.name) must be \(Self.either(words)), not '\(text)'"
        case .promFile:
            "\(key.name) must be an absolute path ending in .prom (node_exporter's textfile collector reads only *.prom files), or empty for none; not '\(text)'"
        case .word:
            "\(key.name) must be a name of at most 63 letters, digits and _ - . @, not '\(text)'"
        case .endpoints:
            "\(key.name) must be comma-separated servers (host, host:port, [v6]:port, or an absolute socket directory such as /run/postgresql), not '\(text)'"
        }
    }

    /// "a, b or c".
    package static func either(_ words: [String]) -> String {
        guard let last = words.last, words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " or " + last
    }
}
