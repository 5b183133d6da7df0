/// An event that cannot follow the state it was applied to: a sequence gap or a
/// reference to something that does not exist. Only a damaged or foreign
/// history produces one; recovery stops and says which event.
public struct ReplayError: Error, Hashable, Sendable, CustomStringConvertible {
    public var seq: UInt64
    public var message: String

    public var description: String { "event \(seq): \(message)" }
}

extension AccessState {
    /// Applies events in order. This is the only way the state changes.
    public mutating func apply<S: Sequence<Event>>(_ events: S) throws(ReplayError) {
        for event in events { try apply(event) }
    }

    /// Applies one event. Indexes follow; cascades (R13, R15) happen here, so
    /// that replaying the event alone reproduces them.
    public mutating func apply(_ event: Event) throws(ReplayError) {
        guard event.seq == nextSeq else {
            throw ReplayError(seq: event.seq, message: "out of sequence: the state expects event \(nextSeq) next")
        }
        func fail(_ message: String) -> ReplayError { ReplayError(seq: event.seq, message: message) }

        switch event.change {
        case .accountCreated(let account):
            guard accounts[account.id] == nil else { throw fail("account \(account.id) exists already") }
            accounts[account.id] = account
        case .accountRenamed(let account), .licenseCountChanged(let account), .billingUpdated(let account):
            guard accounts.contains(account.id) else { throw fail("no account \(account.id)") }
            accounts[account.id] = account

        case .roleCreated(let role):
            guard roles[role.id] == nil, accounts.contains(role.account) else { throw fail("cannot create role \(role.id)") }
            roles[role.id] = role
            indexes.rolesByAccount.insert(role.id, into: role.account)
            indexes.roleByName[ScopedName(account: role.account, name: role.name)] = role.id
        case .roleEdited(let role):
            guard let old = roles[role.id], old.account == role.account else { throw fail("no role \(role.id)") }
            roles[role.id] = role
            indexes.roleByName[ScopedName(account: old.account, name: old.name)] = nil
            indexes.roleByName[ScopedName(account: role.account, name: role.name)] = role.id
            if old.access != role.access {
                for userID in indexes.usersByRole[role.id] ?? [] {
                    let user = users[userID]!
                    indexes.licensesInUse.add(user.licenseDelta(from: old, to: role), at: role.account)
                }
            }
            // What the role gives: to its users, and to the agencies' users who act with it in a client.
            if old.permissions != role.permissions || old.isAccountOwner != role.isAccountOwner {
                refreshAccess(of: indexes.usersByRole[role.id] ?? [])
                refreshAccess(of: agencyUsers(actingWith: role.id, in: role.account))
            }
        case .roleDeleted(let id):
            guard let old = roles[id], indexes.usersByRole[id] == nil else { throw fail("cannot delete role \(id)") }
            let actingWith = agencyUsers(actingWith: id, in: old.account)
            roles[id] = nil
            indexes.rolesByAccount.remove(id, from: old.account)
            indexes.roleByName[ScopedName(account: old.account, name: old.name)] = nil
            refreshAccess(of: actingWith)

        case .userAdded(let user):
            guard users[user.id] == nil else { throw fail("user \(user.id) exists already") }
            try upsert(user, fail: fail)
        case .userEdited(let user), .userActivated(let user), .userDeactivated(let user), .userReactivated(let user):
            guard let old = users[user.id], old.account == user.account else { throw fail("no user \(user.id)") }
            try upsert(user, fail: fail)
        case .activationIssued(let activation):
            guard users[activation.user]?.status == .pending, activations[activation.tokenHash] == nil else {
                throw fail("cannot issue an activation to \(activation.user)")
            }
            dropActivation(of: activation.user)
            activations[activation.tokenHash] = activation
            indexes.activationByUser[activation.user] = activation.tokenHash

        case .officeCreated(let office):
            guard offices[office.id] == nil, accounts.contains(office.account) else {
                throw fail("cannot create office \(office.id)")
            }
            offices[office.id] = office
            indexes.officesByAccount.insert(office.id, into: office.account)
            indexes.officeByName[ScopedName(account: office.account, name: office.name)] = office.id
        case .officeRenamed(let office):
            guard let old = offices[office.id], old.account == office.account else { throw fail("no office \(office.id)") }
            offices[office.id] = office
            indexes.officeByName[ScopedName(account: old.account, name: old.name)] = nil
            indexes.officeByName[ScopedName(account: office.account, name: office.name)] = office.id
        case .officeDeleted(let id):
            guard let old = offices[id] else { throw fail("no office \(id)") }
            // R13: the office leaves every user and project of the account.
            for userID in indexes.usersByAccount[old.account] ?? [] where users[userID]!.offices.contains(id) {
                users[userID]!.offices.remove(id)
            }
            for projectID in indexes.projectsByAccount[old.account] ?? [] where projects[projectID]!.offices.contains(id) {
                projects[projectID]!.offices.remove(id)
            }
            offices[id] = nil
            indexes.officesByAccount.remove(id, from: old.account)
            indexes.officeByName[ScopedName(account: old.account, name: old.name)] = nil

        case .projectCreated(let project):
            guard projects[project.id] == nil, accounts.contains(project.account) else {
                throw fail("cannot create project \(project.id)")
            }
            projects[project.id] = project
            indexes.projectsByAccount.insert(project.id, into: project.account)
        case .projectUpdated(let project):
            guard projects[project.id]?.account == project.account else { throw fail("no project \(project.id)") }
            projects[project.id] = project
        case .projectDeleted(let id):
            guard let old = projects[id] else { throw fail("no project \(id)") }
            projects[id] = nil
            indexes.projectsByAccount.remove(id, from: old.account)

        case .productCreated(let product):
            guard products[product.id] == nil, accounts.contains(product.account) else {
                throw fail("cannot create product \(product.id)")
            }
            products[product.id] = product
            indexes.productsByAccount.insert(product.id, into: product.account)
        case .productRenamed(let product):
            guard products[product.id]?.account == product.account else { throw fail("no product \(product.id)") }
            products[product.id] = product
        case .productDeleted(let id):
            guard let old = products[id] else { throw fail("no product \(id)") }
            // R15: the product leaves every share that lists it.
            for shareID in indexes.sharesByOwner[old.account] ?? [] {
                if case .products(var list) = shares[shareID]!.scope, list.contains(id) {
                    list.remove(id)
                    shares[shareID]!.scope = .products(list)
                    refreshAccess(of: shares[shareID]!.grantee)
                }
            }
            products[id] = nil
            indexes.productsByAccount.remove(id, from: old.account)

        case .accessShared(let share):
            let pair = SharePair(owner: share.owner, grantee: share.grantee)
            guard shares[share.id] == nil, indexes.shareByPair[pair] == nil, accounts.contains(share.owner),
                users.contains(share.grantee)
            else { throw fail("cannot create share \(share.id)") }
            shares[share.id] = share
            indexes.sharesByOwner.insert(share.id, into: share.owner)
            indexes.sharesByGrantee.insert(share.id, into: share.grantee)
            indexes.shareByPair[pair] = share.id
            refreshAccess(of: share.grantee)
        case .shareUpdated(let share):
            guard let old = shares[share.id], old.owner == share.owner, old.grantee == share.grantee else {
                throw fail("no share \(share.id)")
            }
            shares[share.id] = share
            refreshAccess(of: share.grantee)
        case .shareRemoved(let id), .shareRetired(let id):
            guard let old = shares[id] else { throw fail("no share \(id)") }
            shares[id] = nil
            indexes.sharesByOwner.remove(id, from: old.owner)
            indexes.sharesByGrantee.remove(id, from: old.grantee)
            indexes.shareByPair[SharePair(owner: old.owner, grantee: old.grantee)] = nil
            refreshAccess(of: old.grantee)

        case .clientAdded(let link):
            guard clientLinks[link.key] == nil, accounts.contains(link.agency), accounts.contains(link.client) else {
                throw fail("cannot add client link \(link.key)")
            }
            clientLinks[link.key] = link
            indexes.clientsByAgency.insert(link.client, into: link.agency)
            indexes.agenciesByClient.insert(link.agency, into: link.client)
            if link.status == .approved { refreshAccess(of: indexes.usersByAccount[link.agency] ?? []) }
        case .clientAccessRequested(let link), .clientAccessApproved(let link), .clientAccessDenied(let link),
            .clientAccessRevoked(let link):
            guard clientLinks[link.key] != nil else { throw fail("no client link \(link.key)") }
            if let role = link.role, roles[role]?.account != link.client { throw fail("no role \(role) in the client") }
            let before = clientLinks[link.key]!
            clientLinks[link.key] = link
            // Only an approval, or its end, or its role changes what the agency's users hold.
            if (before.status == .approved) != (link.status == .approved) || before.role != link.role {
                refreshAccess(of: indexes.usersByAccount[link.agency] ?? [])
            }
        case .clientRemoved(let key):
            guard let old = clientLinks[key] else { throw fail("no client link \(key)") }
            clientLinks[key] = nil
            indexes.clientsByAgency.remove(key.client, from: key.agency)
            indexes.agenciesByClient.remove(key.agency, from: key.client)
            if old.status == .approved { refreshAccess(of: indexes.usersByAccount[key.agency] ?? []) }

        case .outboxMessageQueued(let message):
            guard outbox[message.id] == nil else { throw fail("outbox message \(message.id) exists already") }
            outbox[message.id] = message
        case .outboxAcknowledged(let ids):
            guard ids.allSatisfy({ outbox[$0] != nil }) else { throw fail("acknowledges an unknown outbox message") }
            for id in ids { outbox[id] = nil }
        }
        nextSeq += 1
    }

    /// Stores a user and moves every index that depends on it.
    private mutating func upsert(_ user: User, fail: (String) -> ReplayError) throws(ReplayError) {
        guard let account = accounts[user.account], let role = roles[user.role], role.account == user.account else {
            throw fail("user \(user.id) refers to a missing account or role")
        }
        let old = users[user.id]
        let oldRole = old.flatMap { roles[$0.role] }
        let newKey = EmailKey(region: account.region, email: user.email)
        if let owner = indexes.userByEmail[newKey], owner != user.id {
            throw fail("email of \(user.id) is used by \(owner)")
        }

        if let old {
            let oldKey = EmailKey(region: account.region, email: old.email)
            if oldKey != newKey { indexes.userByEmail[oldKey] = nil }
            if old.role != user.role {
                indexes.usersByRole.remove(user.id, from: old.role)
                indexes.usersByRole.insert(user.id, into: user.role)
            }
        } else {
            indexes.usersByAccount.insert(user.id, into: user.account)
            indexes.usersByRole.insert(user.id, into: user.role)
        }
        indexes.userByEmail[newKey] = user.id

        let licenses = (user.holdsLicense(with: role) ? 1 : 0) - (oldRole.map { old!.holdsLicense(with: $0) ? 1 : 0 } ?? 0)
        let owners = (user.isActiveOwner(with: role) ? 1 : 0) - (oldRole.map { old!.isActiveOwner(with: $0) ? 1 : 0 } ?? 0)
        indexes.licensesInUse.add(licenses, at: user.account)
        indexes.activeOwners.add(owners, at: user.account)

        users[user.id] = user
        refreshAccess(of: user.id)
        // Only a PENDING user has an activation (R9, R11).
        if user.status != .pending { dropActivation(of: user.id) }
    }

    private mutating func dropActivation(of user: UserID) {
        if let hash = indexes.activationByUser.removeValue(forKey: user) { activations[hash] = nil }
    }
}

extension User {
    /// How a role edit moves this user's license count (R2).
    func licenseDelta(from old: Role, to new: Role) -> Int {
        (holdsLicense(with: new) ? 1 : 0) - (holdsLicense(with: old) ? 1 : 0)
    }
}
