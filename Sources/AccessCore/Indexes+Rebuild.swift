import HashTreeCollections

extension Indexes {
    /// The indexes computed from scratch from the primary collections. Tests
    /// compare this with the incrementally maintained ones after every step;
    /// a restored snapshot gets its indexes here.
    ///
    /// Built in plain hash tables first (cheap lookups, no copy-on-write
    /// checks), then turned into the persistent collections in one pass each:
    /// at a million users that is several times faster than inserting into
    /// the persistent collections one by one.
    init(rebuiltFrom state: AccessState) {
        self.init()
        var region: [AccountID: Region] = [:]
        region.reserveCapacity(state.accounts.count)
        for (id, account) in state.accounts { region[id] = account.region }
        var roles: [RoleID: Role] = [:]
        roles.reserveCapacity(state.roles.count)
        for (id, role) in state.roles { roles[id] = role }

        var emails: [(EmailKey, UserID)] = []
        emails.reserveCapacity(state.users.count)
        var byAccount: [AccountID: [UserID]] = [:]
        var byRole: [RoleID: [UserID]] = [:]
        var licenses: [AccountID: Int] = [:]
        var owners: [AccountID: Int] = [:]
        for (id, user) in state.users {
            emails.append((EmailKey(region: region[user.account]!, email: user.email), id))
            byAccount[user.account, default: []].append(id)
            byRole[user.role, default: []].append(id)
            let role = roles[user.role]!
            if user.holdsLicense(with: role) { licenses[user.account, default: 0] += 1 }
            if user.isActiveOwner(with: role) { owners[user.account, default: 0] += 1 }
        }
        // Two users with one email in a region collapse here (restore checks the count).
        userByEmail = TreeDictionary(emails, uniquingKeysWith: { first, _ in first })
        usersByAccount = Self.sets(byAccount)
        usersByRole = Self.sets(byRole)
        licensesInUse = TreeDictionary(uniqueKeysWithValues: licenses.lazy.map { ($0.key, $0.value) })
        activeOwners = TreeDictionary(uniqueKeysWithValues: owners.lazy.map { ($0.key, $0.value) })

        var rolesOf: [AccountID: [RoleID]] = [:]
        var roleNames: [(ScopedName, RoleID)] = []
        for (id, role) in roles {
            rolesOf[role.account, default: []].append(id)
            roleNames.append((ScopedName(account: role.account, name: role.name), id))
        }
        rolesByAccount = Self.sets(rolesOf)
        roleByName = TreeDictionary(roleNames, uniquingKeysWith: { first, _ in first })
        for (id, office) in state.offices {
            officesByAccount.insert(id, into: office.account)
            officeByName[ScopedName(account: office.account, name: office.name)] = id
        }
        for (id, project) in state.projects { projectsByAccount.insert(id, into: project.account) }
        for (id, product) in state.products { productsByAccount.insert(id, into: product.account) }
        for (id, share) in state.shares {
            sharesByOwner.insert(id, into: share.owner)
            sharesByGrantee.insert(id, into: share.grantee)
            shareByPair[SharePair(owner: share.owner, grantee: share.grantee)] = id
        }
        for (key, _) in state.clientLinks {
            clientsByAgency.insert(key.client, into: key.agency)
            agenciesByClient.insert(key.agency, into: key.client)
        }
        for (hash, activation) in state.activations { activationByUser[activation.user] = hash }
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
