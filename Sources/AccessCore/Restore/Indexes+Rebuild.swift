import HashTreeCollections

extension Indexes {
    /// The indexes computed from scratch from the primary collections. Tests
    /// compare this with the incrementally maintained ones after every step.
    init(rebuiltFrom state: AccessState) {
        self.init(rebuiltFrom: state.records)
    }

    /// The indexes of a snapshot's records, in three independent parts (a
    /// restore builds them at once, see `AccessState(restoring:)`).
    init(rebuiltFrom records: StateRecords) {
        self.init()
        rebuildEmailIndex(from: records)
        rebuildUserGroups(from: records)
        rebuildOtherIndexes(from: records)
        rebuildAccess(from: records)
    }

    // Each index is built in plain hash tables first (cheap lookups, no
    // copy-on-write checks), then turned into its persistent collection in one
    // pass: at a million users that is several times faster than inserting
    // into the persistent collections one by one.

    /// Users by email (per region).
    mutating func rebuildEmailIndex(from records: StateRecords) {
        var region: [AccountID: Region] = [:]
        region.reserveCapacity(records.accounts.count)
        for account in records.accounts { region[account.id] = account.region }
        // Two users with one email in a region collapse here (restore checks the count).
        userByEmail = TreeDictionary(
            records.users.lazy.map { (EmailKey(region: region[$0.account]!, email: $0.email), $0.id) },
            uniquingKeysWith: { first, _ in first })
    }

    /// Users by account and by role, licenses in use and active owners per account.
    mutating func rebuildUserGroups(from records: StateRecords) {
        var roles: [RoleID: Role] = [:]
        roles.reserveCapacity(records.roles.count)
        for role in records.roles { roles[role.id] = role }
        var byAccount: [AccountID: [UserID]] = [:]
        byAccount.reserveCapacity(records.accounts.count)
        var byRole: [RoleID: [UserID]] = [:]
        byRole.reserveCapacity(records.roles.count)
        var licenses: [AccountID: Int] = [:]
        var owners: [AccountID: Int] = [:]
        for user in records.users {
            byAccount[user.account, default: []].append(user.id)
            byRole[user.role, default: []].append(user.id)
            let role = roles[user.role]!
            if user.holdsLicense(with: role) { licenses[user.account, default: 0] += 1 }
            if user.isActiveOwner(with: role) { owners[user.account, default: 0] += 1 }
        }
        usersByAccount = Self.sets(byAccount)
        usersByRole = Self.sets(byRole)
        licensesInUse = TreeDictionary(uniqueKeysWithValues: licenses.lazy.map { ($0.key, $0.value) })
        activeOwners = TreeDictionary(uniqueKeysWithValues: owners.lazy.map { ($0.key, $0.value) })
    }

    /// Takes what `rebuildEmailIndex` built in another value.
    mutating func takeEmailIndex(from other: Indexes) { userByEmail = other.userByEmail }

    /// Takes what `rebuildUserGroups` built in another value.
    mutating func takeUserGroups(from other: Indexes) {
        usersByAccount = other.usersByAccount
        usersByRole = other.usersByRole
        licensesInUse = other.licensesInUse
        activeOwners = other.activeOwners
    }

    /// Every index but the users' ones.
    mutating func rebuildOtherIndexes(from records: StateRecords) {
        var rolesOf: [AccountID: [RoleID]] = [:]
        var roleNames: [(ScopedName, RoleID)] = []
        roleNames.reserveCapacity(records.roles.count)
        for role in records.roles {
            rolesOf[role.account, default: []].append(role.id)
            roleNames.append((ScopedName(account: role.account, name: role.name), role.id))
        }
        rolesByAccount = Self.sets(rolesOf)
        roleByName = TreeDictionary(roleNames, uniquingKeysWith: { first, _ in first })
        for office in records.offices {
            officesByAccount.insert(office.id, into: office.account)
            officeByName[ScopedName(account: office.account, name: office.name)] = office.id
        }
        for project in records.projects { projectsByAccount.insert(project.id, into: project.account) }
        for product in records.products { productsByAccount.insert(product.id, into: product.account) }
        for share in records.shares {
            sharesByOwner.insert(share.id, into: share.owner)
            sharesByGrantee.insert(share.id, into: share.grantee)
            shareByPair[SharePair(owner: share.owner, grantee: share.grantee)] = share.id
        }
        for link in records.clientLinks {
            clientsByAgency.insert(link.client, into: link.agency)
            agenciesByClient.insert(link.agency, into: link.client)
        }
        for activation in records.activations { activationByUser[activation.user] = activation.tokenHash }
    }

    /// Groups as persistent sets, one per key.
    private static func sets<Key: Hashable, Element: Hashable>(_ groups: [Key: [Element]]) -> TreeDictionary<Key, TreeSet<Element>> {
        TreeDictionary(uniqueKeysWithValues: groups.lazy.map { ($0.key, TreeSet($0.value)) })
    }
}

extension AccessState {
    /// True when every index equals the one rebuilt from the primary collections.
    var indexesAreConsistent: Bool { indexes == Indexes(rebuiltFrom: self) }
}

extension User {
    /// R2: a FULL role and PENDING or ACTIVE.
    func holdsLicense(with role: Role) -> Bool {
        role.access == .full && status != .deactivated
    }

    /// R5: counts toward "at least one ACTIVE Account Owner".
    func isActiveOwner(with role: Role) -> Bool {
        role.isAccountOwner && status == .active
    }
}
