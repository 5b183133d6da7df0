public import AccessCore

/// How the daemon runs: where it listens, its limits, who administers it.
/// Plain data; parsing flags, environment and files happens at the edge.
public struct DaemonConfiguration: Sendable {
    /// The Unix socket path.
    public var socketPath: String
    /// Where the journal and snapshots live.
    public var stateDirectory: String
    /// spec/protocol.md defaults.
    public var maximumFrameLength = 4 * 1024 * 1024
    public var maximumCallsPerConnection = 128
    public var maximumConnections = 1024
    /// A frame that has started arriving must finish within this.
    public var frameStallTimeoutMilliseconds: Int64 = 10_000
    /// Besides root (uid 0), the peers allowed administrator calls.
    public var administratorUIDs: Set<UInt32> = []
    public var administratorGIDs: Set<UInt32> = []
    /// The socket file's mode (0660).
    public var socketMode: UInt16 = 0o660
    /// How long reads wait for `min_revision` when the call has no deadline.
    public var defaultMinRevisionWaitMilliseconds: Int64 = 1000
    public var policy = DomainPolicy()
    /// Recent events kept in memory for ListEvents/FollowEvents.
    public var eventRetention = 100_000
    /// A snapshot is written this often when the state changed (and at shutdown).
    public var snapshotIntervalSeconds: Int64 = 60
    /// ... and after this many journal records since the last one.
    public var snapshotEveryRecords: Int64 = 100_000
    /// When the journal makes acknowledged writes durable.
    public var fsyncPolicy: FsyncPolicy = .always
    /// Start even when the journal is damaged, keeping what comes before the damage.
    public var acceptDataLoss = false
    /// The files under the journal and snapshots (a simulated disk in tests).
    public var storage: any Storage = PosixStorage()
    /// At shutdown, how long connections may take to answer their calls in flight.
    public var drainTimeoutSeconds: Int64 = 10
    /// Event loops serving connections (the state's owner has a loop of its own).
    public var eventLoopThreads = 2

    public init(socketPath: String, stateDirectory: String) {
        self.socketPath = socketPath
        self.stateDirectory = stateDirectory
    }
}
