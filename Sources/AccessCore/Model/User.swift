public enum UserStatus: String, CaseIterable, Hashable, Sendable {
    /// Added, not yet activated; holds a license if its role is FULL (R2).
    case pending = "PENDING"
    case active = "ACTIVE"
    /// Cannot act (R7) and holds no license (R11).
    case deactivated = "DEACTIVATED"
}

public struct User: Hashable, Sendable {
    public var id: UserID
    /// As entered (trimmed); compared case-insensitively through `EmailKey`.
    public var email: String
    public var firstName: String
    public var lastName: String
    /// The home account; exactly one, never changes.
    public var account: AccountID
    public var role: RoleID
    /// Granted on top of the role's permissions.
    public var extraPermissions: Permissions
    public var offices: Set<OfficeID>
    public var status: UserStatus
    public var createdAt: Timestamp
    public var activatedAt: Timestamp?
    public var deactivatedAt: Timestamp?

    /// "First Last".
    public var displayName: String { firstName + " " + lastName }

    public init(
        id: UserID, email: String, firstName: String, lastName: String, account: AccountID, role: RoleID, extraPermissions: Permissions, offices: Set<OfficeID>, status: UserStatus, createdAt: Timestamp, activatedAt: Timestamp?, deactivatedAt: Timestamp?
    ) {
        self.id = id
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.account = account
        self.role = role
        self.extraPermissions = extraPermissions
        self.offices = offices
        self.status = status
        self.createdAt = createdAt
        self.activatedAt = activatedAt
        self.deactivatedAt = deactivatedAt
    }
}

/// An email as compared: case-folded, within one region (domain.md: "an email
/// names at most one user per region").
public struct EmailKey: Hashable, Sendable {
    public var region: Region
    public var folded: String

    public init(region: Region, email: String) {
        self.region = region
        self.folded = Validation.foldCase(Validation.trim(email))
    }
}
