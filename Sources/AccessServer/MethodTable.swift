import AccessMapping
public import AccessCore
public import Foundation

/// What a read sees: the latest published state, the recent events, and who asks.
public struct ReadContext: Sendable {
    public var state: AccessState
    public var history: EventHistory
    public var principal: Principal

    public init(state: AccessState, history: EventHistory, principal: Principal) {
        self.state = state
        self.history = history
        self.principal = principal
    }
}

/// How the daemon runs one method of `proto/accessd/v1`.
public enum MethodHandler: Sendable {
    /// Answered from a published state on any event loop; never waits for writes.
    case read(@Sendable (_ payload: Data, _ context: ReadContext) throws(AccessError) -> Data)
    /// Decoded into a command (ids parsed, names resolved against the state),
    /// run by the actor that owns the state (`decide` + `apply`), then
    /// answered from the events and the state after them. The owner builds
    /// the command against its working state, after the writes before it.
    case write(
        command: @Sendable (_ payload: Data, _ state: AccessState) throws(AccessError) -> Command,
        reply: @Sendable (_ events: [Event], _ state: AccessState) -> Data)
    /// Served by the daemon itself: streams (FollowEvents) and calls about the
    /// daemon rather than the domain (Snapshot, GetStats).
    case daemon

    /// A write, run by the state's owner.
    public var isWrite: Bool {
        if case .write = self { return true }
        return false
    }
}

/// Every method of the protos, by full path ("/accessd.v1.UserService/AddUser").
public enum MethodTable {
    public static func path(service: String, method: String) -> String { "/accessd.v1.\(service)/\(method)" }
}
