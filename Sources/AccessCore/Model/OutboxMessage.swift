public enum OutboxMessageKind: String, CaseIterable, Hashable, Sendable {
    case activationEmail = "activation_email"
}

/// A message for a person, waiting for the mailer to send and acknowledge it (R20).
public struct OutboxMessage: Hashable, Sendable {
    public var id: OutboxMessageID
    public var kind: OutboxMessageKind
    /// The address to write to.
    public var to: String
    public var user: UserID
    /// The activation token itself: the mailer puts it in the link it sends.
    public var token: String
    public var queuedAt: Timestamp
    public var expiresAt: Timestamp

    public init(
        id: OutboxMessageID, kind: OutboxMessageKind, to: String, user: UserID, token: String, queuedAt: Timestamp, expiresAt: Timestamp
    ) {
        self.id = id
        self.kind = kind
        self.to = to
        self.user = user
        self.token = token
        self.queuedAt = queuedAt
        self.expiresAt = expiresAt
    }
}
