public enum ProductKind: String, CaseIterable, Hashable, Sendable {
    case container = "CONTAINER"
    case gateway = "GATEWAY"
}

/// A container or a gateway (R15); what shared access hands out (R16).
public struct Product: Hashable, Sendable {
    public var id: ProductID
    public var account: AccountID
    public var kind: ProductKind
    public var name: String
    public var createdBy: UserID
    public var createdAt: Timestamp

    public init(
        id: ProductID, account: AccountID, kind: ProductKind, name: String, createdBy: UserID, createdAt: Timestamp
    ) {
        self.id = id
        self.account = account
        self.kind = kind
        self.name = name
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}
