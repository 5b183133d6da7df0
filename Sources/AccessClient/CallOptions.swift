/// How one call is made, besides its method and request: who it acts for,
/// its deadline, and what a read waits for or a write may skip
/// (docs/protocol.md, "Requests").
public struct CallOptions: Hashable, Sendable {
    /// The id or email of the user the call acts for; empty for
    /// administrator calls and token calls such as activation.
    public var actor: String
    /// The deadline the daemon enforces, from receipt; 0 = none.
    public var timeoutMilliseconds: UInt32
    /// Free-form metadata, for example a trace id.
    public var metadata: [String: String]
    /// Reads: answered only once the daemon's state has reached this
    /// revision (the `revision` of an earlier reply): read your writes.
    public var minRevision: UInt64
    /// Writes: validated and answered as if applied; nothing changes.
    public var dryRun: Bool
    /// Writes: the same key from the same actor within 24 hours returns the
    /// first reply instead of applying the write again.
    public var idempotencyKey: String

    public init(
        actor: String = "", timeoutMilliseconds: UInt32 = 0, metadata: [String: String] = [:], minRevision: UInt64 = 0,
        dryRun: Bool = false, idempotencyKey: String = ""
    ) {
        self.actor = actor
        self.timeoutMilliseconds = timeoutMilliseconds
        self.metadata = metadata
        self.minRevision = minRevision
        self.dryRun = dryRun
        self.idempotencyKey = idempotencyKey
    }
}
