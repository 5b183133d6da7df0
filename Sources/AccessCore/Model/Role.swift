/// FULL roles need a Full-Access license (R2); VIEWER roles do not, and carry
/// only VIEW_PROJECTS and VIEW_BILLING (R10).
public enum RoleAccess: String, CaseIterable, Hashable, Sendable {
    case full = "FULL"
    case viewer = "VIEWER"
}

/// The three roles every account is created with (R1).
public enum BuiltInRole: String, CaseIterable, Hashable, Sendable {
    case accountOwner = "Account Owner"
    case member = "Member"
    case viewer = "Viewer"

    var access: RoleAccess { self == .viewer ? .viewer : .full }

    var permissions: Permissions {
        switch self {
        case .accountOwner: .all
        case .member: Permissions([.viewProjects, .manageProjects, .manageProducts])
        case .viewer: Permissions([.viewProjects])
        }
    }
}

public struct Role: Hashable, Sendable {
    public var id: RoleID
    public var account: AccountID
    /// Unique in the account, compared case-insensitively.
    public var name: String
    public var access: RoleAccess
    public var permissions: Permissions
    /// Set for the built-in roles: they keep their names and cannot be deleted;
    /// `Account Owner` cannot be edited at all.
    public var builtIn: BuiltInRole?

    public var isAccountOwner: Bool { builtIn == .accountOwner }

    public init(
        id: RoleID, account: AccountID, name: String, access: RoleAccess, permissions: Permissions, builtIn: BuiltInRole?
    ) {
        self.id = id
        self.account = account
        self.name = name
        self.access = access
        self.permissions = permissions
        self.builtIn = builtIn
    }
}

/// A name unique within one account, compared case-insensitively (roles, offices).
struct ScopedName: Hashable, Sendable {
    var account: AccountID
    var folded: String

    init(account: AccountID, name: String) {
        self.account = account
        self.folded = Validation.foldCase(name)
    }
}
