import AccessStore
import NIOConcurrencyHelpers
import Synchronization

/// The configuration as it is now, shared by the listener and every
/// connection, so that a reload (SIGHUP) reaches connections already open
/// without dropping them. Readers that look often (a connection, per read)
/// compare `generation` (one atomic load) and copy `current` only when it moved.
public final class LiveConfiguration: Sendable {
    private let box: NIOLockedValueBox<DaemonConfiguration>
    private let counter = Synchronization.Atomic<UInt64>(0)

    public init(_ configuration: DaemonConfiguration) {
        self.box = NIOLockedValueBox(configuration)
    }

    /// The configuration in force.
    public var current: DaemonConfiguration { box.withLockedValue { $0 } }

    /// Moves on every `replace`.
    public var generation: UInt64 { counter.load(ordering: .acquiring) }

    /// Puts the reloadable settings of `new` in force and returns what changed.
    /// The socket, the state directory, the domain policy, the event retention,
    /// the loop count and the journal's settings are fixed for the process's life: they stay as they
    /// are and come back in `fixed` when `new` asked for other values.
    @discardableResult
    public func replace(with new: DaemonConfiguration) -> ConfigurationChange {
        let change = box.withLockedValue { configuration -> ConfigurationChange in
            let change = ConfigurationChange(from: configuration, to: new)
            var next = new
            next.socketPath = configuration.socketPath
            next.stateDirectory = configuration.stateDirectory
            next.policy = configuration.policy
            next.eventMemoryCount = configuration.eventMemoryCount
            next.eventRetentionCount = configuration.eventRetentionCount
            next.eventRetentionSeconds = configuration.eventRetentionSeconds
            next.eventLoopThreads = configuration.eventLoopThreads
            next.socketMode = configuration.socketMode
            next.fsyncPolicy = configuration.fsyncPolicy
            next.snapshotEveryRecords = configuration.snapshotEveryRecords
            next.acceptDataLoss = configuration.acceptDataLoss
            next.storage = configuration.storage
            configuration = next
            return change
        }
        counter.add(1, ordering: .releasing)
        return change
    }
}

/// The keys (config-file names) whose values differ between two configurations.
public struct ConfigurationChange: Sendable, Equatable {
    /// Changed and now in force.
    public var applied: [String] = []
    /// Changed in the file but fixed until a restart.
    public var fixed: [String] = []

    public var isEmpty: Bool { applied.isEmpty && fixed.isEmpty }

    public init(from old: DaemonConfiguration, to new: DaemonConfiguration) {
        func check(_ key: String, _ differs: Bool, fixed isFixed: Bool = false) {
            guard differs else { return }
            if isFixed { fixed.append(key) } else { applied.append(key) }
        }
        check("admin_uids", old.administratorUIDs != new.administratorUIDs)
        check("admin_gids", old.administratorGIDs != new.administratorGIDs)
        check("service_uids", old.peers.serviceUIDs != new.peers.serviceUIDs)
        check("service_gids", old.peers.serviceGIDs != new.peers.serviceGIDs)
        check("read_only_uids", old.peers.readOnlyUIDs != new.peers.readOnlyUIDs)
        check("read_only_gids", old.peers.readOnlyGIDs != new.peers.readOnlyGIDs)
        check("default_peer_class", old.peers.unlisted != new.peers.unlisted)
        check("max_connections_per_uid", old.maximumConnectionsPerUID != new.maximumConnectionsPerUID)
        check("admin_reserved_connections", old.connectionsReservedForAdministrators != new.connectionsReservedForAdministrators)
        check("max_inbound_bytes_per_uid", old.maximumInboundBytesPerUID != new.maximumInboundBytesPerUID)
        check("outbound_high_water_bytes", old.outboundHighWaterBytes != new.outboundHighWaterBytes)
        check("revision_wait_ms", old.defaultMinRevisionWaitMilliseconds != new.defaultMinRevisionWaitMilliseconds)
        check("max_revision_wait_ms", old.maximumRevisionWaitMilliseconds != new.maximumRevisionWaitMilliseconds)
        check("write_rate_per_uid", old.writesPerSecondPerUID != new.writesPerSecondPerUID)
        check("write_burst_per_uid", old.writeBurstPerUID != new.writeBurstPerUID)
        check("max_idempotency_key_bytes", old.maximumIdempotencyKeyBytes != new.maximumIdempotencyKeyBytes)
        check("max_idempotency_keys_per_uid", old.maximumIdempotencyKeysPerUID != new.maximumIdempotencyKeysPerUID)
        check("max_idempotency_keys", old.maximumIdempotencyKeys != new.maximumIdempotencyKeys)
        check("max_frame_bytes", old.maximumFrameLength != new.maximumFrameLength)
        check("max_calls_per_connection", old.maximumCallsPerConnection != new.maximumCallsPerConnection)
        check("max_connections", old.maximumConnections != new.maximumConnections)
        check("frame_stall_timeout_ms", old.frameStallTimeoutMilliseconds != new.frameStallTimeoutMilliseconds)
        check("snapshot_interval_s", old.snapshotIntervalSeconds != new.snapshotIntervalSeconds)
        check("drain_timeout_s", old.drainTimeoutSeconds != new.drainTimeoutSeconds)
        check("socket", old.socketPath != new.socketPath, fixed: true)
        check("state_dir", old.stateDirectory != new.stateDirectory, fixed: true)
        check(
            "activation_lifetime_s",
            old.policy.activationLifetimeMilliseconds != new.policy.activationLifetimeMilliseconds, fixed: true)
        check("event_memory_count", old.eventMemoryCount != new.eventMemoryCount, fixed: true)
        check("event_retention_count", old.eventRetentionCount != new.eventRetentionCount, fixed: true)
        check("event_retention_s", old.eventRetentionSeconds != new.eventRetentionSeconds, fixed: true)
        check("fsync", old.fsyncPolicy != new.fsyncPolicy, fixed: true)
        check("snapshot_every_records", old.snapshotEveryRecords != new.snapshotEveryRecords, fixed: true)
        check("event_loops", old.eventLoopThreads != new.eventLoopThreads, fixed: true)
        check("metrics_textfile", old.metricsTextfile != new.metricsTextfile, fixed: true)
        check(
            "metrics_textfile_interval_s", old.metricsTextfileIntervalSeconds != new.metricsTextfileIntervalSeconds, fixed: true)
    }
}
