/// Through what a user acts in an account (R19).
public enum AccessPath: Hashable, Sendable, CustomStringConvertible {
    /// The user's own account, with this role.
    case homeRole(RoleID)
    /// A share of the account's products (R16).
    case share(ShareID)
    /// An approved client link of the user's agency, acting with this role of the client (R18).
    case clientLink(agency: AccountID, role: RoleID)

    public var description: String {
        var text = ""
        forEachPart { text += $0 }
        return text
    }

    /// `description` in its parts (see `CheckResult.forEachReasonPart`).
    public func forEachPart(_ body: (String) -> Void) {
        switch self {
        case .homeRole(let role): body("home role "); body(role.rawValue)
        case .share(let share): body("share "); body(share.rawValue)
        case .clientLink(let agency, let role):
            body("client link of agency "); body(agency.rawValue); body(" with role "); body(role.rawValue)
        }
    }
}

/// What a user may do in one account, and why.
public struct AccessGrant: Hashable, Sendable {
    public var account: AccountID
    public var path: AccessPath
    /// The permissions held in the account. VIEW_ALL_PROJECTS implies VIEW_PROJECTS.
    public var permissions: Permissions
    public var isAccountOwner: Bool
    /// The products MANAGE_PRODUCTS covers: a share may narrow it (R16).
    public var productScope: ShareScope

    func holds(_ permission: Permission) -> Bool {
        permissions.contains(permission)
            || (permission == .viewProjects && permissions.contains(.viewAllProjects))
    }

    /// Whether the grant is the user's home role (offices and memberships count only there).
    var isHome: Bool { if case .homeRole = path { true } else { false } }
}

extension Permission {
    /// The rule that governs who holds this permission, named when a check fails for lack of it.
    var governingRule: Rule {
        switch self {
        case .editAccountSettings: .r4
        case .viewProjects, .viewAllProjects, .manageProjects: .r14
        case .manageProducts: .r15
        case .viewBilling, .editBilling, .shareAccess: .r16
        case .manageClients: .r18
        }
    }
}

extension AccessState {
    /// A user's permissions in their home account: the role's plus the extra
    /// ones; an Account Owner holds every permission.
    func homePermissions(of user: User) -> Permissions {
        guard let role = roles[user.role] else { return [] }
        return AccessGrant.homePermissions(role: role, extra: user.extraPermissions)
    }

    /// The access `user` has in `account`, by home role, share or client link,
    /// in that order; nil when none. Status is not looked at here (R7 is the
    /// caller's first question). Looked up from the primary collections: the
    /// reference for what `UserAccess` keeps. O(log n).
    func grant(of user: User, in account: AccountID) -> AccessGrant? {
        if user.account == account, let role = roles[user.role] {
            return AccessGrant(
                account: account, path: .homeRole(role.id), permissions: homePermissions(of: user),
                isAccountOwner: role.isAccountOwner, productScope: .allCurrentAndNew)
        }
        if let shareID = indexes.shareByPair[SharePair(owner: account, grantee: user.id)], let share = shares[shareID] {
            return .share(share)
        }
        if let link = clientLinks[ClientLinkKey(agency: user.account, client: account)],
            homePermissions(of: user).contains(.manageClients)
        {
            return .clientLink(link, roleOf: { roles[$0] })
        }
        return nil
    }

    /// R14: a user sees project P when they are Account Owner or hold
    /// VIEW_ALL_PROJECTS; or P is PUBLIC and (P has no offices, or the user
    /// shares an office with P); or the user is a member of P. Offices and
    /// memberships are the user's home ones; a share gives no project access.
    /// The user's record is looked at only for offices and memberships.
    func sees(_ project: Project, user: @autoclosure () -> User, grant: AccessGrant) -> Bool {
        if case .share = grant.path { return false }
        if grant.isAccountOwner || grant.permissions.contains(.viewAllProjects) { return true }
        guard grant.isHome else { return project.visibility == .public && project.offices.isEmpty }
        if project.visibility == .public {
            if project.offices.isEmpty { return true }
            if !project.offices.isDisjoint(with: user().offices) { return true }
        }
        return project.members.contains(user().id)
    }
}
