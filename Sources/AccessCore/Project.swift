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
}
