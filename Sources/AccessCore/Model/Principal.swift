/// Who a call acts for: the "actor" of `docs/protocol.md`.
public enum Principal: Hashable, Sendable, CustomStringConvertible {
    /// A privileged local peer (root or a configured administrator), not a user (R1, R3).
    case administrator
    /// A user; the domain rules decide what they may do.
    case user(UserID)
    /// No actor: calls that carry their own proof, such as activation with a token (R9).
    case anonymous

    public var description: String {
        switch self {
        case .administrator: "administrator"
        case .user(let id): id.rawValue
        case .anonymous: "anonymous"
        }
    }

    public var userID: UserID? {
        if case .user(let id) = self { id } else { nil }
    }
}
