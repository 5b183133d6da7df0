/// What one user holds in every account they can act in, computed when it
/// changes rather than when it is asked (R19's hot path): the home role with
/// the user's extra permissions, each share granted to them (R16), and each
/// approved client link of their agency they act through (R18).
///
/// `apply` keeps one per user in `Indexes.access`: a user edit recomputes
/// that user; a role edit, the users of the role and the agencies' users who
/// act with it; a share, the grantee; a client link, the agency's users; a
/// product deletion, the grantees of the shares it narrows. A product created
/// changes nothing here: a share of ALL_CURRENT_AND_NEW covers it by its
/// scope. `grant(of:in:)`, which looks everything up from the primary
/// collections, stays as the reference: the property tests compare the two
/// answers after every step, and a restore compares a sample.
public struct UserAccess: Hashable, Sendable {
    /// The home account, its role, and the permissions held there (the role's
    /// plus the extra ones; every permission for an Account Owner).
    var account: AccountID
    var role: RoleID
    var permissions: Permissions
    var isAccountOwner: Bool
    /// R7 is the first question of every check.
    var status: UserStatus
    /// Grants in other accounts, by account id; empty (no allocation) for most users.
    var elsewhere: [AccessGrant]
    /// Clients the user's agency is approved in while the user lacks
    /// MANAGE_CLIENTS (R18's denial, told apart from "no path" without a
    /// lookup of the link); empty for most users.
    var lackingManageClients: [AccountID]

    /// The grant in `account`, home first (the order `grant(of:in:)` looks in).
    func grant(in account: AccountID) -> AccessGrant? {
        if account == self.account { return home }
        for grant in elsewhere where grant.account == account { return grant }
        return nil
    }

    var home: AccessGrant {
        AccessGrant(
            account: account, path: .homeRole(role), permissions: permissions, isAccountOwner: isAccountOwner,
            productScope: .allCurrentAndNew)
    }

    /// Every grant, home first.
    var grants: [AccessGrant] { [home] + elsewhere }
}

extension UserAccess {
    /// A user's access from the records it depends on: the user's role, the
    /// shares granted to the user, and the client links of the user's agency
    /// (any status: only approved ones count). The bulk build of a restore
    /// and the incremental one of `apply` both come here.
    init(
        user: User, role: Role, shares: some Sequence<Share>, agencyLinks: some Sequence<ClientLink>,
        roleOf: (RoleID) -> Role?
    ) {
        account = user.account
        self.role = role.id
        permissions = AccessGrant.homePermissions(role: role, extra: user.extraPermissions)
        isAccountOwner = role.isAccountOwner
        status = user.status
        var others: [AccountID: AccessGrant] = [:]
        for share in shares where share.grantee == user.id && share.owner != user.account {
            others[share.owner] = .share(share)
        }
        var lacking: [AccountID] = []
        for link in agencyLinks where link.agency == user.account && link.client != user.account && others[link.client] == nil {
            if permissions.contains(.manageClients), let grant = AccessGrant.clientLink(link, roleOf: roleOf) {
                others[link.client] = grant
            } else if link.status == .approved {
                lacking.append(link.client)
            }
        }
        elsewhere = others.values.sorted { $0.account < $1.account }
        lackingManageClients = lacking.sorted()
    }
}

extension AccessGrant {
    /// R10: the role's permissions plus the extra ones; an Account Owner holds every one.
    static func homePermissions(role: Role, extra: Permissions) -> Permissions {
        role.isAccountOwner ? .all : role.permissions.union(extra)
    }

    /// R16: a grantee holds MANAGE_PRODUCTS on the shared products, and billing if set; nothing else.
    static func share(_ share: Share) -> AccessGrant {
        var permissions = Permissions(.manageProducts)
        if share.billing { permissions.formUnion(Permissions([.viewBilling, .editBilling])) }
        return AccessGrant(
            account: share.owner, path: .share(share.id), permissions: permissions, isAccountOwner: false,
            productScope: share.scope)
    }

    /// R18: an approved link's role, for the agency's users with MANAGE_CLIENTS
    /// (the caller's question); nil unless approved with an existing role.
    static func clientLink(_ link: ClientLink, roleOf: (RoleID) -> Role?) -> AccessGrant? {
        guard link.status == .approved, let roleID = link.role, let role = roleOf(roleID) else { return nil }
        return AccessGrant(
            account: link.client, path: .clientLink(agency: link.agency, role: roleID),
            permissions: role.isAccountOwner ? .all : role.permissions, isAccountOwner: role.isAccountOwner,
            productScope: .allCurrentAndNew)
    }
}

extension AccessState {
    /// The access kept for a user (nil for an unknown id): one lookup.
    public func access(of user: UserID) -> UserAccess? { indexes.access[user] }

    /// The access kept for each of these users, in order (nil for an unknown
    /// id). The users' entries are loaded all together first
    /// (`WideHashMap.warm`), so that a batch of lookups waits on memory about
    /// as long as one does (BatchCheck).
    public func access(of users: [UserID]) -> [UserAccess?] {
        let hashes = users.map(\.hashValue)
        let map = indexes.access
        // Never true (the sum is small): the test makes the loads happen.
        if hashes.withUnsafeBufferPointer({ map.warm($0) }) == .min { return [] }
        return users.indices.map { map.value(forKey: users[$0], hash: hashes[$0]) }
    }

    /// Loads the entries of the users whose ids hash to these values
    /// (`UserID.hashValue`) into cache, all at once, for the lookups that
    /// follow (the Check frames of one read). Returns what it read, for the
    /// caller to keep, so that the loads are made.
    public func warmAccess(hashes: UnsafeBufferPointer<Int>) -> Int { indexes.access.warm(hashes) }

    /// A user's access computed from the state's tables.
    func computedAccess(of user: User) -> UserAccess? {
        guard let role = roles[user.role] else { return nil }
        let shares = (indexes.sharesByGrantee[user.id] ?? []).lazy.compactMap { self.shares[$0] }
        let links = (indexes.clientsByAgency[user.account] ?? []).lazy.compactMap {
            self.clientLinks[ClientLinkKey(agency: user.account, client: $0)]
        }
        return UserAccess(user: user, role: role, shares: shares, agencyLinks: links, roleOf: { roles[$0] })
    }

    /// Recomputes what `apply` keeps for these users (after the records they depend on changed).
    mutating func refreshAccess<S: Sequence<UserID>>(of users: S) {
        for id in users { indexes.access[id] = self.users[id].flatMap(computedAccess(of:)) }
    }

    mutating func refreshAccess(of user: UserID) { refreshAccess(of: CollectionOfOne(user)) }

    /// The users of the agencies that act in `client` through a link with this role.
    func agencyUsers(actingWith role: RoleID, in client: AccountID) -> [UserID] {
        var found: [UserID] = []
        for agency in indexes.agenciesByClient[client] ?? [] where clientLinks[ClientLinkKey(agency: agency, client: client)]?.role == role {
            found += indexes.usersByAccount[agency] ?? []
        }
        return found
    }

    /// A restore's check of what it built in bulk: for each of these users,
    /// the kept access equals the one computed from the tables, and each of
    /// the user's grants equals `grant(of:in:)`. Nil when all agree.
    func accessDisagreement(among sample: some Sequence<User>) -> String? {
        for user in sample {
            let kept = indexes.access[user.id]
            guard kept == computedAccess(of: user) else {
                return "the access kept for user \(user.id) is not the one its records give"
            }
            for grant in kept?.grants ?? [] where grant != self.grant(of: user, in: grant.account) {
                return "user \(user.id)'s grant in \(grant.account) is not the one the records give"
            }
        }
        return nil
    }
}

extension Indexes {
    /// Every user's access, from a snapshot's records.
    mutating func rebuildAccess(from records: StateRecords) {
        var roles: [RoleID: Role] = [:]
        roles.reserveCapacity(records.roles.count)
        for role in records.roles { roles[role.id] = role }
        var sharesOf: [UserID: [Share]] = [:]
        for share in records.shares { sharesOf[share.grantee, default: []].append(share) }
        var linksOf: [AccountID: [ClientLink]] = [:]
        for link in records.clientLinks where link.status == .approved { linksOf[link.agency, default: []].append(link) }
        access = WideHashMap(
            uniqueKeysWithValues: records.users.lazy.compactMap { user -> (UserID, UserAccess)? in
                guard let role = roles[user.role] else { return nil }
                return (
                    user.id,
                    UserAccess(
                        user: user, role: role, shares: sharesOf[user.id] ?? [], agencyLinks: linksOf[user.account] ?? [],
                        roleOf: { roles[$0] })
                )
            })
    }

    /// Takes what `rebuildAccess` built in another value.
    mutating func takeAccess(from other: Indexes) { access = other.access }
}
