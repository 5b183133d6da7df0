import AccessPaths
import AccessStore

/// Where a key of the config file lands in a `DaemonConfiguration`: how a
/// value the table accepted is put there, whether two configurations differ
/// in it (the reload diff), and how a reload keeps the old value of a key
/// that needs a restart.
struct ConfigField {
    /// Puts the value in; false when the field takes no such value.
    var set: (ConfigValue, inout DaemonConfiguration) -> Bool
    var differs: (DaemonConfiguration, DaemonConfiguration) -> Bool
    /// Copies the field of the first configuration into the second.
    var keep: (DaemonConfiguration, inout DaemonConfiguration) -> Void

    static func at<Value: Equatable>(
        _ path: WritableKeyPath<DaemonConfiguration, Value>, _ convert: @escaping (ConfigValue) -> Value?
    ) -> ConfigField {
        ConfigField(
            set: { value, configuration in
                guard let converted = convert(value) else { return false }
                configuration[keyPath: path] = converted
                return true
            },
            differs: { $0[keyPath: path] != $1[keyPath: path] },
            keep: { old, next in next[keyPath: path] = old[keyPath: path] })
    }

    /// A whole number, times `factor` (seconds in the file, milliseconds in the field).
    static func whole<Value: FixedWidthInteger>(
        _ path: WritableKeyPath<DaemonConfiguration, Value>, times factor: Int64 = 1
    ) -> ConfigField {
        at(path) { value in
            guard case .whole(let number) = value else { return nil }
            let (product, overflow) = number.multipliedReportingOverflow(by: factor)
            return overflow ? nil : Value(exactly: product)
        }
    }

    static func decimal(_ path: WritableKeyPath<DaemonConfiguration, Double>) -> ConfigField {
        at(path) { value in
            guard case .decimal(let number) = value else { return nil }
            return number
        }
    }

    static func ids(_ path: WritableKeyPath<DaemonConfiguration, Set<UInt32>>) -> ConfigField {
        at(path) { value in
            guard case .ids(let ids) = value else { return nil }
            return ids
        }
    }

    static func text(_ path: WritableKeyPath<DaemonConfiguration, String>) -> ConfigField {
        at(path) { value in
            guard case .text(let text) = value else { return nil }
            return text
        }
    }

    /// One of the words of an enum's raw values.
    static func word<Value: RawRepresentable<String> & Equatable>(
        _ path: WritableKeyPath<DaemonConfiguration, Value>
    ) -> ConfigField {
        at(path) { value in
            guard case .text(let text) = value else { return nil }
            return Value(rawValue: text)
        }
    }

    /// Set by `DaemonPaths` (where a flag and the environment win over the
    /// file), not here; compared and kept like any other.
    static func located(_ path: WritableKeyPath<DaemonConfiguration, String>) -> ConfigField {
        var field = at(path) { _ in nil }
        field.set = { _, _ in true }
        return field
    }
}

extension ConfigKey {
    /// The field of `DaemonConfiguration` the key sets; nil for `log_level`
    /// (the executable's: the loader reads it with `--log-level` and
    /// `$ACCESSD_LOG_LEVEL`) and for a former name (its key's field).
    var field: ConfigField? {
        switch self {
        case .socket: .located(\.socketPath)
        case .stateDir: .located(\.stateDirectory)
        case .fsync: .word(\.fsyncPolicy)
        case .snapshotEveryRecords: .whole(\.snapshotEveryRecords)
        case .log: .word(\.log)
        case .postgresqlHosts: .text(\.postgresqlHosts)
        case .postgresqlDatabase: .text(\.postgresqlDatabase)
        case .postgresqlUser: .text(\.postgresqlUser)
        case .postgresqlPasswordFile: .text(\.postgresqlPasswordFile)
        case .logWriter: .text(\.logWriter)
        case .logConnectTimeoutMs: .whole(\.logConnectTimeoutMilliseconds)
        case .logAppendTimeoutMs: .whole(\.logAppendTimeoutMilliseconds)
        case .logPollMs: .whole(\.logPollMilliseconds)
        case .maxStalenessMs: .whole(\.maxStalenessMilliseconds)
        case .adminUIDs: .ids(\.administratorUIDs)
        case .adminGIDs: .ids(\.administratorGIDs)
        case .serviceUIDs: .ids(\.peers.serviceUIDs)
        case .serviceGIDs: .ids(\.peers.serviceGIDs)
        case .readOnlyUIDs: .ids(\.peers.readOnlyUIDs)
        case .readOnlyGIDs: .ids(\.peers.readOnlyGIDs)
        case .defaultPeerClass: .word(\.peers.unlisted)
        case .maxFrameBytes: .whole(\.maximumFrameLength)
        case .maxCallsPerConnection: .whole(\.maximumCallsPerConnection)
        case .maxBatchChecks: .whole(\.maximumBatchChecks)
        case .maxConnections: .whole(\.maximumConnections)
        case .maxConnectionsPerUID: .whole(\.maximumConnectionsPerUID)
        case .adminReservedConnections: .whole(\.connectionsReservedForAdministrators)
        case .maxInboundBytesPerUID: .whole(\.maximumInboundBytesPerUID)
        case .outboundHighWaterBytes: .whole(\.outboundHighWaterBytes)
        case .frameStallTimeoutMs: .whole(\.frameStallTimeoutMilliseconds)
        case .revisionWaitMs: .whole(\.defaultMinRevisionWaitMilliseconds)
        case .maxRevisionWaitMs: .whole(\.maximumRevisionWaitMilliseconds)
        case .writeRatePerUID: .decimal(\.writesPerSecondPerUID)
        case .writeBurstPerUID: .decimal(\.writeBurstPerUID)
        case .maxIdempotencyKeyBytes: .whole(\.maximumIdempotencyKeyBytes)
        case .maxIdempotencyKeysPerUID: .whole(\.maximumIdempotencyKeysPerUID)
        case .maxIdempotencyKeys: .whole(\.maximumIdempotencyKeys)
        case .snapshotIntervalS: .whole(\.snapshotIntervalSeconds)
        case .drainTimeoutS: .whole(\.drainTimeoutSeconds)
        case .activationLifetimeS: .whole(\.policy.activationLifetimeMilliseconds, times: 1000)
        case .eventRetentionCount: .whole(\.eventRetentionCount)
        case .eventRetentionS: .whole(\.eventRetentionSeconds)
        case .eventMemoryCount: .whole(\.eventMemoryCount)
        case .eventRetention: nil
        case .eventLoops: .whole(\.eventLoopThreads)
        case .logLevel: nil
        case .metricsTextfile: .text(\.metricsTextfile)
        case .metricsTextfileIntervalS: .whole(\.metricsTextfileIntervalSeconds)
        }
    }
}
