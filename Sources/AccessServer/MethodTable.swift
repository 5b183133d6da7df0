import AccessMapping
public import AccessCore
public import AccessWire
public import Foundation

/// What a read sees: the latest published state, the recent events, and who asks.
public struct ReadContext: Sendable {
    public var state: AccessState
    public var history: EventHistory
    public var principal: Principal
    /// The most checks one BatchCheck may carry (`max_batch_checks`).
    public var batchCheckLimit: Int

    public init(state: AccessState, history: EventHistory, principal: Principal, batchCheckLimit: Int = 1000) {
        self.state = state
        self.history = history
        self.principal = principal
        self.batchCheckLimit = batchCheckLimit
    }
}

/// A way a read may be answered besides decoding its request with
/// swift-protobuf and running its handler; the daemon takes it when it can.
public enum ReadShortcut: Sendable, Hashable {
    case none
    /// Check: the request read in place from the frame and the reply written
    /// straight into the outbound buffer (`CheckFastPath`), when the payload
    /// has the common shape.
    case checkFastPath
    /// BatchCheck: the same, for every check of the batch (`BatchCheckFastPath`).
    case batchCheckFastPath
    /// ListEvents: answered from the event history the daemon keeps on disk,
    /// which reaches further back than the events held in memory.
    case eventHistoryOnDisk
}

/// The calls the daemon serves itself rather than from the state alone.
public enum DaemonCall: Sendable, Hashable {
    /// EventService.FollowEvents: a stream of events, live.
    case followEvents
    /// HealthService.Check: SERVING or NOT_SERVING, and why.
    case health
    /// AdminService.GetStats.
    case stats
    /// AdminService.GetMetrics: the Prometheus text.
    case metrics
    /// AdminService.Snapshot: a snapshot written now.
    case snapshot
    /// AdminService.Backup: a consistent snapshot streamed in pieces.
    case backup
}

/// How the daemon runs one method of `proto/accessd/v1`.
public enum MethodHandler: Sendable {
    /// Answered from a published state on any event loop; never waits for writes.
    case read(@Sendable (_ payload: Data, _ context: ReadContext) throws(AccessError) -> Data, shortcut: ReadShortcut)
    /// Decoded into a command (ids parsed, names resolved against the state),
    /// run by the actor that owns the state (`decide` + `apply`), then
    /// answered from the events and the state after them. The owner builds
    /// the command against its working state, after the writes before it.
    case write(
        command: @Sendable (_ payload: Data, _ state: AccessState) throws(AccessError) -> Command,
        reply: @Sendable (_ events: [Event], _ state: AccessState) -> Data)
    /// Served by the daemon itself: streams and calls about the daemon
    /// rather than the domain.
    case daemon(DaemonCall)

    /// A write, run by the state's owner.
    public var isWrite: Bool {
        if case .write = self { return true }
        return false
    }
}

/// Every method of the protos (`Methods`, the catalogue) with its handler:
/// the one router of the daemon.
public enum MethodTable {
    /// A method of the catalogue and how it runs.
    public struct Entry: Sendable {
        public let method: AnyMethod
        public let handler: MethodHandler
    }
}
