public import AccessStore
public import AccessCore

/// How the daemon runs: where it listens, its limits, who administers it.
/// Plain data; parsing flags, environment and files happens at the edge.
///
/// The config file's keys land here through `ConfigKey.field`
/// (ConfigKey+Field.swift); the initial values below are the defaults
/// `ConfigKey`'s table shows (ConfigKeyTableTests holds them equal).
public struct DaemonConfiguration: Sendable {
    /// The Unix socket path.
    public var socketPath: String
    /// Where the journal and snapshots live.
    public var stateDirectory: String
    /// docs/protocol.md defaults.
    public var maximumFrameLength = 4 * 1024 * 1024
    public var maximumCallsPerConnection = 128
    /// Checks one BatchCheck may carry (`max_batch_checks`).
    public var maximumBatchChecks = 1000
    /// Connections in all (`max_connections`); the last
    /// `connectionsReservedForAdministrators` of them only for administrators.
    public var maximumConnections = 1024
    /// Connections one uid that is not an administrator may hold.
    public var maximumConnectionsPerUID = 128
    public var connectionsReservedForAdministrators = 16
    /// Bytes of frames begun and not finished, over all connections of one uid:
    /// the connection that goes past it is closed (RESOURCE_EXHAUSTED).
    public var maximumInboundBytesPerUID = 16 * 1024 * 1024
    /// Replies a peer has not read past which the daemon stops reading that
    /// connection's requests (it reads again below a quarter of it).
    public var outboundHighWaterBytes = 64 * 1024
    /// A frame that has started arriving must finish within this.
    public var frameStallTimeoutMilliseconds: Int64 = 10_000
    /// Who may do what: administrators (root always), services, read-only peers.
    public var peers = PeerClasses()
    /// Besides root (uid 0), the peers allowed administrator calls.
    public var administratorUIDs: Set<UInt32> {
        get { peers.administratorUIDs }
        set { peers.administratorUIDs = newValue }
    }
    public var administratorGIDs: Set<UInt32> {
        get { peers.administratorGIDs }
        set { peers.administratorGIDs = newValue }
    }
    /// Writes a second one uid that is not an administrator may make; 0: no limit.
    public var writesPerSecondPerUID: Double = 0
    /// How many writes a uid may make at once before the rate applies.
    public var writeBurstPerUID: Double = 100
    /// The socket file's mode (0660).
    public var socketMode: UInt16 = 0o660
    /// How long reads wait for `min_revision` when the call has no deadline.
    public var defaultMinRevisionWaitMilliseconds: Int64 = 1000
    /// The longest any read waits for `min_revision`, whatever its deadline:
    /// then it gets DEADLINE_EXCEEDED.
    public var maximumRevisionWaitMilliseconds: Int64 = 30_000
    /// Idempotency keys: the longest key, and how many first replies are held
    /// (24 hours each) per uid and in all; past a bound a keyed write gets
    /// RESOURCE_EXHAUSTED (keys are never evicted early).
    public var maximumIdempotencyKeyBytes = 128
    public var maximumIdempotencyKeysPerUID = 20_000
    public var maximumIdempotencyKeys = 200_000
    public var policy = DomainPolicy()
    /// The newest events kept in memory (`event_memory_count`): reads and
    /// streams of them need no disk read. At most `eventRetentionCount`.
    public var eventMemoryCount = 100_000
    /// The event history ListEvents and FollowEvents answer from (memory and
    /// the event archive on disk): the newest `event_retention_count` events, none
    /// older than `event_retention_s`; whichever keeps less.
    public var eventRetentionCount = 1_000_000
    public var eventRetentionSeconds: Int64 = 7 * 86_400
    /// A snapshot is written this often when the state changed (and at shutdown).
    public var snapshotIntervalSeconds: Int64 = 60
    /// ... and after this many journal records since the last one.
    public var snapshotEveryRecords: Int64 = 100_000
    /// When the journal makes acknowledged writes durable.
    public var fsyncPolicy: FsyncPolicy = .always
    /// Where acknowledged writes go (`log`): the local journal, or a shared log in PostgreSQL.
    public var log: LogKind = .local
    /// The shared log (`postgresql_*`, `log_*`): servers tried in order, database, role, password file.
    public var postgresqlHosts = ""
    public var postgresqlDatabase = "accessd"
    public var postgresqlUser = "accessd"
    public var postgresqlPasswordFile = ""
    /// This host's name in the log's rows; empty: the host name.
    public var logWriter = ""
    public var logConnectTimeoutMilliseconds: Int64 = 3000
    public var logAppendTimeoutMilliseconds: Int64 = 5000
    public var logPollMilliseconds: Int64 = 1000
    /// Reads fail closed (UNAVAILABLE) once the host has not caught up with a shared log for this long.
    public var maxStalenessMilliseconds: Int64 = 10_000
    /// Start even when the journal is damaged, keeping what comes before the damage.
    public var acceptDataLoss = false
    /// The files under the journal and snapshots (a simulated disk in tests).
    public var storage: any Storage = PosixStorage()
    /// At shutdown, how long connections may take to answer their calls in flight.
    public var drainTimeoutSeconds: Int64 = 10
    /// Event loops serving connections (the state's owner has a loop of its own).
    public var eventLoopThreads = 2
    /// Where to write the metrics for node_exporter's textfile collector
    /// (an absolute path ending in `.prom`); empty: not written.
    public var metricsTextfile = ""
    /// How often the metrics textfile is written.
    public var metricsTextfileIntervalSeconds: Int64 = 15

    /// Where acknowledged writes go.
    public enum LogKind: String, Sendable {
        case local
        case postgresql
    }

    public init(socketPath: String, stateDirectory: String) {
        self.socketPath = socketPath
        self.stateDirectory = stateDirectory
    }
}
