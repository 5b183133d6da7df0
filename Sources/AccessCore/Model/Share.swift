/// Which products a share covers (R16).
public enum ShareScope: Hashable, Sendable {
    /// Every product of the owner account, now and later.
    case allCurrentAndNew
    /// Only these products (deleting a product removes it from here, R15).
    case products(Set<ProductID>)

    public func covers(_ product: ProductID) -> Bool {
        switch self {
        case .allCurrentAndNew: true
        case .products(let list): list.contains(product)
        }
    }
}

/// Access to one account's products (and billing) granted to a user of another
/// account (R16). At most one share per owner account and grantee.
public struct Share: Hashable, Sendable {
    public var id: ShareID
    public var owner: AccountID
    public var grantee: UserID
    public var scope: ShareScope
    /// The grantee may view and edit the owner's billing.
    public var billing: Bool
    public var grantedBy: UserID
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(
        id: ShareID, owner: AccountID, grantee: UserID, scope: ShareScope, billing: Bool, grantedBy: UserID, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.id = id
        self.owner = owner
        self.grantee = grantee
        self.scope = scope
        self.billing = billing
        self.grantedBy = grantedBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The key of the one share an owner account may have for a grantee.
struct SharePair: Hashable, Sendable {
    var owner: AccountID
    var grantee: UserID
}
