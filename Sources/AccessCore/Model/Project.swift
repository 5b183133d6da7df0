public enum ProjectVisibility: String, CaseIterable, Hashable, Sendable {
    case `public` = "PUBLIC"
    case `private` = "PRIVATE"
}

/// Who sees a project is R14's business.
public struct Project: Hashable, Sendable {
    public var id: ProjectID
    public var account: AccountID
    public var name: String
    public var visibility: ProjectVisibility
    public var offices: Set<OfficeID>
    /// Users of the account.
    public var members: Set<UserID>
    public var createdBy: UserID
    public var createdAt: Timestamp

    public init(
        id: ProjectID, account: AccountID, name: String, visibility: ProjectVisibility, offices: Set<OfficeID>, members: Set<UserID>, createdBy: UserID, createdAt: Timestamp
    ) {
        self.id = id
        self.account = account
        self.name = name
        self.visibility = visibility
        self.offices = offices
        self.members = members
        self.createdBy = createdBy
        self.createdAt = createdAt
    }
}
