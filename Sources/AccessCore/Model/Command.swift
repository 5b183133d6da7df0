/// A write, as a caller asks for it. `AccessState.decide` validates it for a
/// principal and turns it into events, or refuses it with an `AccessError`.
///
/// Fields are raw caller input (ids as strings are parsed by the wire layer;
/// names and emails are trimmed and checked here).
public enum Command: Hashable, Sendable {
    // Accounts and licenses (R1, R3), account settings (R4), billing (R16).
    case createAccount(CreateAccount)
    case setLicenseCount(account: AccountID, count: Int)
    case renameAccount(account: AccountID, name: String)
    case updateBilling(account: AccountID, billing: Billing)

    // Users (R4-R11).
    case addUser(AddUser)
    case editUser(EditUser)
    case deactivateUser(UserID)
    case reactivateUser(UserID)
    case resendActivation(UserID)
    case activateUser(token: String)

    // Roles (R4, R10).
    case createRole(account: AccountID, name: String, access: RoleAccess, permissions: Permissions)
    case editRole(EditRole)
    case deleteRole(RoleID)

    // Offices (R13).
    case createOffice(account: AccountID, name: String)
    case renameOffice(OfficeID, name: String)
    case deleteOffice(OfficeID)

    // Projects (R14).
    case createProject(CreateProject)
    case updateProject(UpdateProject)
    case deleteProject(ProjectID)

    // Products (R15).
    case createProduct(account: AccountID, kind: ProductKind, name: String)
    case renameProduct(ProductID, name: String)
    case deleteProduct(ProductID)

    // Shared access (R16, R17).
    case shareAccess(ShareAccess)
    case removeShare(ShareID)
    case retireShare(ShareID)

    // Agency clients (R18).
    case addClient(agency: AccountID, client: AccountID)
    case requestClientAccess(agency: AccountID, client: AccountID)
    case approveClientAccess(client: AccountID, agency: AccountID, role: RoleID?)
    case denyClientAccess(client: AccountID, agency: AccountID)
    case revokeClientAccess(client: AccountID, agency: AccountID)
    case removeClient(agency: AccountID, client: AccountID)

    // Outbox (R20).
    case acknowledgeOutbox([OutboxMessageID])
}

public struct CreateAccount: Hashable, Sendable {
    public var name: String
    public var kind: AccountKind
    public var region: Region
    public var fullAccessLicenses: Int
    public var billing: Billing
    public var ownerEmail: String
    public var ownerFirstName: String
    public var ownerLastName: String

    public init(
        name: String, kind: AccountKind = .standard, region: Region = .global, fullAccessLicenses: Int,
        billing: Billing = Billing(), ownerEmail: String, ownerFirstName: String, ownerLastName: String
    ) {
        self.name = name
        self.kind = kind
        self.region = region
        self.fullAccessLicenses = fullAccessLicenses
        self.billing = billing
        self.ownerEmail = ownerEmail
        self.ownerFirstName = ownerFirstName
        self.ownerLastName = ownerLastName
    }
}

public struct AddUser: Hashable, Sendable {
    public var account: AccountID
    public var email: String
    public var firstName: String
    public var lastName: String
    public var role: RoleID
    public var extraPermissions: Permissions
    public var offices: Set<OfficeID>

    public init(
        account: AccountID, email: String, firstName: String, lastName: String, role: RoleID,
        extraPermissions: Permissions = [], offices: Set<OfficeID> = []
    ) {
        self.account = account
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.role = role
        self.extraPermissions = extraPermissions
        self.offices = offices
    }
}

/// R10: every field optional; the ones given change together or not at all.
/// A quick role change is this with only `role`.
public struct EditUser: Hashable, Sendable {
    public var user: UserID
    public var firstName: String?
    public var lastName: String?
    public var email: String?
    public var offices: Set<OfficeID>?
    public var role: RoleID?
    public var extraPermissions: Permissions?

    public init(
        user: UserID, firstName: String? = nil, lastName: String? = nil, email: String? = nil,
        offices: Set<OfficeID>? = nil, role: RoleID? = nil, extraPermissions: Permissions? = nil
    ) {
        self.user = user
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.offices = offices
        self.role = role
        self.extraPermissions = extraPermissions
    }
}

public struct EditRole: Hashable, Sendable {
    public var role: RoleID
    public var name: String?
    public var access: RoleAccess?
    public var permissions: Permissions?

    public init(role: RoleID, name: String? = nil, access: RoleAccess? = nil, permissions: Permissions? = nil) {
        self.role = role
        self.name = name
        self.access = access
        self.permissions = permissions
    }
}

public struct CreateProject: Hashable, Sendable {
    public var account: AccountID
    public var name: String
    public var visibility: ProjectVisibility
    public var offices: Set<OfficeID>
    public var members: Set<UserID>

    public init(
        account: AccountID, name: String, visibility: ProjectVisibility = .public, offices: Set<OfficeID> = [],
        members: Set<UserID> = []
    ) {
        self.account = account
        self.name = name
        self.visibility = visibility
        self.offices = offices
        self.members = members
    }
}

public struct UpdateProject: Hashable, Sendable {
    public var project: ProjectID
    public var name: String?
    public var visibility: ProjectVisibility?
    public var offices: Set<OfficeID>?
    public var members: Set<UserID>?

    public init(
        project: ProjectID, name: String? = nil, visibility: ProjectVisibility? = nil, offices: Set<OfficeID>? = nil,
        members: Set<UserID>? = nil
    ) {
        self.project = project
        self.name = name
        self.visibility = visibility
        self.offices = offices
        self.members = members
    }
}

public struct ShareAccess: Hashable, Sendable {
    public var owner: AccountID
    /// The grantee, named by email (R16).
    public var granteeEmail: String
    public var scope: ShareScope
    public var billing: Bool

    public init(owner: AccountID, granteeEmail: String, scope: ShareScope, billing: Bool = false) {
        self.owner = owner
        self.granteeEmail = granteeEmail
        self.scope = scope
        self.billing = billing
    }
}
