extension Indexes {
    /// The indexes computed from scratch from the primary collections. Tests
    /// compare this with the incrementally maintained ones after every step.
    init(rebuiltFrom state: AccessState) {
        self.init()
        for (id, user) in state.users {
            userByEmail[EmailKey(region: state.accounts[user.account]!.region, email: user.email)] = id
            usersByAccount.insert(id, into: user.account)
            usersByRole.insert(id, into: user.role)
            let role = state.roles[user.role]!
            if user.holdsLicense(with: role) { licensesInUse.add(1, at: user.account) }
            if user.isActiveOwner(with: role) { activeOwners.add(1, at: user.account) }
        }
        for (id, role) in state.roles {
            rolesByAccount.insert(id, into: role.account)
            roleByName[ScopedName(account: role.account, name: role.name)] = id
        }
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
