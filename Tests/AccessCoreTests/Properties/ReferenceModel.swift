import AccessCore

/// A small answer to `Check(user, account, permission[, project or product])`,
/// written apart from the core for the property test to compare against.
///
/// It reads only the plain records of a state (users, roles, projects,
/// shares, client links) through the public API and restates the rules as
/// `docs/domain.md` and `docs/domain.md` word them; it calls none of the
/// core's decision functions (`grant`, `evaluate`, `sees`, `homePermissions`)
/// and none of its indexes.
///
/// - R7: only an ACTIVE user is allowed anything, by any way.
/// - R19: at home, the role's permissions and the user's extra ones; an Account
///   Owner has all; VIEW_ALL_PROJECTS implies VIEW_PROJECTS.
/// - R16: a grantee holds MANAGE_PRODUCTS on the shared products alone
///   (account-wide only with ALL_CURRENT_AND_NEW), VIEW_BILLING and
///   EDIT_BILLING if billing is set, nothing else, and sees no project.
/// - R18: through an APPROVED link, an ACTIVE agency user holding
///   MANAGE_CLIENTS in the agency acts with the link's role's permissions.
/// - R14: a project is seen by the Account Owner or a holder of
///   VIEW_ALL_PROJECTS; if PUBLIC, by everyone when it has no office, else by
///   who shares an office; and by its members. Offices and memberships count
///   for home users only, so through a client link only VIEW_ALL_PROJECTS or
///   PUBLIC projects without offices (docs/domain.md).
struct ReferenceModel {
    /// How a user may reach an account, and what that way gives.
    enum Way {
        case home(permissions: Set<Permission>, isOwner: Bool)
        case share(products: ShareScope, billing: Bool)
        case clientLink(permissions: Set<Permission>, isOwner: Bool)
    }

    private struct OwnerAndGrantee: Hashable {
        var owner: AccountID
        var grantee: UserID
    }

    private let state: AccessState
    private let shares: [OwnerAndGrantee: Share]

    init(_ state: AccessState) {
        self.state = state
        var shares: [OwnerAndGrantee: Share] = [:]
        for (_, share) in state.shares { shares[OwnerAndGrantee(owner: share.owner, grantee: share.grantee)] = share }
        self.shares = shares
    }

    /// Whether Check should allow it. The question must name things that exist,
    /// with a resource of its account that fits the permission.
    func allows(_ user: UserID, _ account: AccountID, _ permission: Permission, _ resource: CheckResource?) -> Bool {
        guard let user = state.users[user], user.status == .active else { return false }
        return ways(of: user, into: account).contains { allows($0, user: user, permission: permission, resource: resource) }
    }

    /// The accounts an ACTIVE user reaches by any way (`ListAccessibleAccounts`).
    func reachableAccounts(of userID: UserID) -> Set<AccountID> {
        guard let user = state.users[userID], user.status == .active else { return [] }
        var reached: Set<AccountID> = []
        for (id, _) in state.accounts where !ways(of: user, into: id).isEmpty { reached.insert(id) }
        return reached
    }

    // MARK: - The rules

    private func ways(of user: User, into account: AccountID) -> [Way] {
        var ways: [Way] = []
        let home = homePermissions(of: user)
        if user.account == account { ways.append(.home(permissions: home.permissions, isOwner: home.isOwner)) }
        if let share = shares[OwnerAndGrantee(owner: account, grantee: user.id)] {
            ways.append(.share(products: share.scope, billing: share.billing))
        }
        if let link = state.clientLinks[ClientLinkKey(agency: user.account, client: account)], link.status == .approved,
            let roleID = link.role, let role = state.roles[roleID], home.permissions.contains(.manageClients)
        {
            let isOwner = role.builtIn == .accountOwner
            ways.append(.clientLink(permissions: isOwner ? Self.every : Set(role.permissions.members), isOwner: isOwner))
        }
        return ways
    }

    private static let every = Set(Permission.allCases)

    private func homePermissions(of user: User) -> (permissions: Set<Permission>, isOwner: Bool) {
        guard let role = state.roles[user.role] else { return ([], false) }
        if role.builtIn == .accountOwner { return (Self.every, true) }
        return (Set(role.permissions.members).union(user.extraPermissions.members), false)
    }

    private static func holds(_ permissions: Set<Permission>, _ permission: Permission) -> Bool {
        permissions.contains(permission) || (permission == .viewProjects && permissions.contains(.viewAllProjects))
    }

    private func allows(_ way: Way, user: User, permission: Permission, resource: CheckResource?) -> Bool {
        switch way {
        case .home(let permissions, let isOwner):
            guard Self.holds(permissions, permission) else { return false }
            guard case .project(let id) = resource else { return true }
            let project = state.projects[id]!
            if isOwner || permissions.contains(.viewAllProjects) { return true }
            if project.visibility == .public && (project.offices.isEmpty || !project.offices.isDisjoint(with: user.offices)) {
                return true
            }
            return project.members.contains(user.id)

        case .share(let products, let billing):
            let given: Set<Permission> = billing ? [.manageProducts, .viewBilling, .editBilling] : [.manageProducts]
            guard given.contains(permission) else { return false }
            switch resource {
            case nil:
                if permission != .manageProducts { return true }
                if case .allCurrentAndNew = products { return true }
                return false
            case .project:
                return false
            case .product(let id):
                switch products {
                case .allCurrentAndNew: return true
                case .products(let list): return list.contains(id)
                }
            }

        case .clientLink(let permissions, let isOwner):
            guard Self.holds(permissions, permission) else { return false }
            guard case .project(let id) = resource else { return true }
            let project = state.projects[id]!
            if isOwner || permissions.contains(.viewAllProjects) { return true }
            return project.visibility == .public && project.offices.isEmpty
        }
    }
}
