/// An account as a reader sees it, with its license use (R2, R12).
public struct AccountSummary: Hashable, Sendable {
    /// Billing is empty unless the reader holds VIEW_BILLING.
    public var account: Account
    public var licensesInUse: Int
}

/// One account a user can act in, and through what (R19).
public struct AccessibleAccount: Hashable, Sendable {
    public var account: AccountID
    public var name: String
    public var path: AccessPath
    public var permissions: Permissions
}

/// "Already shared with" (R17): the owner's view of a share.
public struct OutgoingShare: Hashable, Sendable {
    public var share: Share
    public var granteeEmail: String
    public var granteeName: String
}

/// The grantee's view of a share (R17).
public struct IncomingShare: Hashable, Sendable {
    public var share: Share
    public var ownerName: String
}

extension AccessState {
    // MARK: - Who reads

    /// The user a caller's `actor` names: a user id, or an email (unique per
    /// region; an email used in two regions must be given as an id).
    public func principal(forActor actor: String) throws(AccessError) -> Principal {
        let text = Validation.trim(actor)
        if let id = UserID(text) {
            guard users.contains(id) else { throw .unauthenticated("the actor \(PeerText.quote(text)) is not a user") }
            return .user(id)
        }
        let matches = Region.allCases.compactMap { indexes.userByEmail[EmailKey(region: $0, email: text)] }
        switch matches.count {
        case 0: throw .unauthenticated("the actor \(PeerText.quote(text)) is neither a user id nor the email of a user")
        case 1: return .user(matches[0])
        default:
            throw .invalidArgument("the email \(PeerText.quote(text)) names a user in more than one region; name the actor by user id")
        }
    }

    /// The record of the user `actor` names, as `principal(forActor:)` finds
    /// it, with one lookup for an id (Check's hot path).
    public func user(forActor actor: String) throws(AccessError) -> User {
        let text = Validation.trim(actor)
        if let id = UserID(text) {
            guard let user = users[id] else { throw .unauthenticated("the actor \(PeerText.quote(text)) is not a user") }
            return user
        }
        guard let id = try principal(forActor: text).userID, let user = users[id] else {
            throw .unauthenticated("the actor \(PeerText.quote(text)) is neither a user id nor the email of a user")
        }
        return user
    }

    /// For reads: nil for an administrator (who reads everything), else the
    /// acting user's grant in the account, if it holds `permission` (any grant when nil).
    func readerGrant(
        _ principal: Principal, in account: AccountID, needs permission: Permission? = nil, membersOnly: Bool = false
    ) throws(AccessError) -> (user: User, grant: AccessGrant)? {
        guard accounts.contains(account) else { throw .notFound("no account \(PeerText.quote(account))") }
        if principal == .administrator { return nil }
        let user = try actingUser(principal)
        if let permission {
            let result = evaluate(user: user, account: account, permission: permission, resource: nil)
            guard result.allowed else { throw .permissionDenied(result.reason, rule: result.deniedBy) }
        }
        guard let grant = grant(of: user, in: account) else {
            throw .permissionDenied("user \(user.id) has no role, share or client link in account \(account)", rule: .r19)
        }
        if membersOnly, case .share = grant.path {
            throw .permissionDenied("a share gives products and billing only, not this (\(grant.path))", rule: .r16)
        }
        return (user, grant)
    }

    // MARK: - Accounts

    /// Anyone who acts in the account; billing only with VIEW_BILLING.
    public func getAccount(_ id: AccountID, as principal: Principal) throws(AccessError) -> AccountSummary {
        let reader = try readerGrant(principal, in: id)
        var account = accounts[id]!
        if let reader, !reader.grant.holds(.viewBilling) { account.billing = Billing() }
        return AccountSummary(account: account, licensesInUse: licensesInUse(id))
    }

    /// VIEW_BILLING.
    public func getBilling(_ id: AccountID, as principal: Principal) throws(AccessError) -> Billing {
        _ = try readerGrant(principal, in: id, needs: .viewBilling)
        return accounts[id]!.billing
    }

    // MARK: - Users

    /// The user themselves, or R4's users of their account.
    public func getUser(_ id: UserID, as principal: Principal) throws(AccessError) -> User {
        guard let user = users[id] else { throw .notFound("no user \(PeerText.quote(id))") }
        if principal.userID == id, (try? actingUser(principal)) != nil { return user }
        _ = try readerGrant(principal, in: user.account, needs: .editAccountSettings)
        return user
    }

    // MARK: - Roles and offices

    public func getRole(_ id: RoleID, as principal: Principal) throws(AccessError) -> Role {
        guard let role = roles[id] else { throw .notFound("no role \(PeerText.quote(id))") }
        _ = try readerGrant(principal, in: role.account, membersOnly: true)
        return role
    }

    /// The account's roles, built-in first, then by name.
    public func listRoles(_ account: AccountID, as principal: Principal) throws(AccessError) -> [Role] {
        _ = try readerGrant(principal, in: account, membersOnly: true)
        return (indexes.rolesByAccount[account] ?? []).map { roles[$0]! }.sorted {
            ($0.builtIn == nil ? 1 : 0, Validation.foldCase($0.name), $0.id) < ($1.builtIn == nil ? 1 : 0, Validation.foldCase($1.name), $1.id)
        }
    }

    public func getOffice(_ id: OfficeID, as principal: Principal) throws(AccessError) -> Office {
        guard let office = offices[id] else { throw .notFound("no office \(PeerText.quote(id))") }
        _ = try readerGrant(principal, in: office.account, membersOnly: true)
        return office
    }

    /// The account's offices by name.
    public func listOffices(_ account: AccountID, as principal: Principal) throws(AccessError) -> [Office] {
        _ = try readerGrant(principal, in: account, membersOnly: true)
        return (indexes.officesByAccount[account] ?? []).map { offices[$0]! }.sorted {
            (Validation.foldCase($0.name), $0.id) < (Validation.foldCase($1.name), $1.id)
        }
    }

    // MARK: - Projects (R14)

    public func getProject(_ id: ProjectID, as principal: Principal) throws(AccessError) -> Project {
        guard let project = projects[id] else { throw .notFound("no project \(PeerText.quote(id))") }
        if let reader = try readerGrant(principal, in: project.account, needs: .viewProjects),
            !sees(project, user: reader.user, grant: reader.grant)
        {
            throw .permissionDenied("user \(reader.user.id) does not see project \(id)", rule: .r14)
        }
        return project
    }

    /// R14: only the projects the actor sees, by name. Needs VIEW_PROJECTS
    /// (or VIEW_ALL_PROJECTS); costs in proportion to the account's projects.
    public func listProjects(_ account: AccountID, as principal: Principal) throws(AccessError) -> [Project] {
        let reader = try readerGrant(principal, in: account, needs: .viewProjects)
        return (indexes.projectsByAccount[account] ?? []).compactMap { id -> Project? in
            let project = projects[id]!
            if let reader, !sees(project, user: reader.user, grant: reader.grant) { return nil }
            return project
        }.sorted { (Validation.foldCase($0.name), $0.id) < (Validation.foldCase($1.name), $1.id) }
    }

    // MARK: - Products (R15, R16)

    public func getProduct(_ id: ProductID, as principal: Principal) throws(AccessError) -> Product {
        guard let product = products[id] else { throw .notFound("no product \(PeerText.quote(id))") }
        if let reader = try readerGrant(principal, in: product.account), !reader.grant.productScope.covers(id) {
            throw .permissionDenied("\(reader.grant.path) does not cover product \(id)", rule: .r16)
        }
        return product
    }

    /// The account's products the reader can reach (a grantee: the shared ones), by name.
    public func listProducts(_ account: AccountID, as principal: Principal) throws(AccessError) -> [Product] {
        let reader = try readerGrant(principal, in: account)
        return (indexes.productsByAccount[account] ?? []).compactMap { id -> Product? in
            if let reader, !reader.grant.productScope.covers(id) { return nil }
            return products[id]!
        }.sorted { (Validation.foldCase($0.name), $0.id) < (Validation.foldCase($1.name), $1.id) }
    }

    // MARK: - Shared access (R17)

    /// "Already shared with": SHARE_ACCESS in the owner account; newest first.
    public func sharedWith(_ owner: AccountID, as principal: Principal) throws(AccessError) -> [OutgoingShare] {
        _ = try readerGrant(principal, in: owner, needs: .shareAccess)
        return (indexes.sharesByOwner[owner] ?? []).map { id in
            let share = shares[id]!
            let grantee = users[share.grantee]!
            return OutgoingShare(share: share, granteeEmail: grantee.email, granteeName: grantee.displayName)
        }.sorted { $0.share.id > $1.share.id }
    }

    /// What was shared with the acting user; newest first.
    public func sharedWithMe(as principal: Principal) throws(AccessError) -> [IncomingShare] {
        let user = try actingUser(principal)
        return (indexes.sharesByGrantee[user.id] ?? []).map { id in
            let share = shares[id]!
            return IncomingShare(share: share, ownerName: accounts[share.owner]!.name)
        }.sorted { $0.share.id > $1.share.id }
    }

    // MARK: - Agency clients (R18)

    /// An agency's clients: MANAGE_CLIENTS in the agency.
    public func listClients(_ agency: AccountID, as principal: Principal) throws(AccessError) -> [ClientLink] {
        _ = try readerGrant(principal, in: agency, needs: .manageClients)
        return (indexes.clientsByAgency[agency] ?? []).map { clientLinks[ClientLinkKey(agency: agency, client: $0)]! }
            .sorted { $0.client < $1.client }
    }

    /// The agencies that have a client as client, with their requests:
    /// EDIT_ACCOUNT_SETTINGS in the client, as a user of it.
    public func listAgencies(_ client: AccountID, as principal: Principal) throws(AccessError) -> [ClientLink] {
        if let reader = try readerGrant(principal, in: client, needs: .editAccountSettings), reader.user.account != client {
            throw .permissionDenied("only users of account \(client) see the agencies it is a client of", rule: .r18)
        }
        return (indexes.agenciesByClient[client] ?? []).map { clientLinks[ClientLinkKey(agency: $0, client: client)]! }
            .sorted { $0.agency < $1.agency }
    }

    // MARK: - Checks (R19)

    /// Every account the user can act in, and through what: none unless ACTIVE (R7).
    public func accessibleAccounts(of userID: UserID) throws(AccessError) -> [AccessibleAccount] {
        guard let user = users[userID] else { throw .notFound("no user \(PeerText.quote(userID))") }
        guard user.status == .active else { return [] }
        var candidates = [user.account]
        for shareID in indexes.sharesByGrantee[userID] ?? [] { candidates.append(shares[shareID]!.owner) }
        for client in indexes.clientsByAgency[user.account] ?? [] { candidates.append(client) }
        return candidates.compactMap { account in
            grant(of: user, in: account).map {
                AccessibleAccount(account: account, name: accounts[account]!.name, path: $0.path, permissions: $0.permissions)
            }
        }
    }

    // MARK: - Outbox (R20)

    /// Unacknowledged messages after `after`, oldest first: the mailer's (an administrator's) read.
    public func outboxMessages(
        after: OutboxMessageID? = nil, limit: Int = 100, as principal: Principal
    ) throws(AccessError) -> [OutboxMessage] {
        guard principal == .administrator else {
            throw .permissionDenied("reading the outbox is the mailer's call, an administrator's", rule: .r20)
        }
        guard limit >= 1 else { throw .invalidArgument("limit must be at least 1, not \(limit)") }
        return outbox.values.filter { after == nil || $0.id > after! }.sorted { $0.id < $1.id }.prefix(limit).map { $0 }
    }
}
