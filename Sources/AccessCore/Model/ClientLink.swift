/// Where an agency's request for access to a client stands (R18).
public enum AccessRequestStatus: String, CaseIterable, Hashable, Sendable {
    case none = "NONE"
    case pending = "PENDING"
    case approved = "APPROVED"
    case denied = "DENIED"
}

/// Names a client link: one agency (or partner) account and one client account.
public struct ClientLinkKey: Hashable, Sendable, CustomStringConvertible {
    public var agency: AccountID
    public var client: AccountID

    public init(agency: AccountID, client: AccountID) {
        self.agency = agency
        self.client = client
    }

    public var description: String { "\(agency)->\(client)" }
}

/// An AGENCY or PARTNER account's link to a STANDARD client account (R18).
public struct ClientLink: Hashable, Sendable {
    public var agency: AccountID
    public var client: AccountID
    public var status: AccessRequestStatus
    /// The client's role the agency's users act with; set on approval.
    public var role: RoleID?
    public var addedBy: UserID
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public var key: ClientLinkKey { ClientLinkKey(agency: agency, client: client) }

    public init(
        agency: AccountID, client: AccountID, status: AccessRequestStatus, role: RoleID?, addedBy: UserID, createdAt: Timestamp, updatedAt: Timestamp
    ) {
        self.agency = agency
        self.client = client
        self.status = status
        self.role = role
        self.addedBy = addedBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
