extension Decider {
    /// R18: an AGENCY or PARTNER account adds a STANDARD account of its region as a client.
    mutating func addClient(agency agencyID: AccountID, client clientID: AccountID) throws(AccessError) {
        let (actor, _) = try authorize(.manageClients, in: agencyID)
        let agency = try account(agencyID)
        let client = try account(clientID)
        guard agency.kind != .standard else {
            throw .failedPrecondition(
                "account \(agencyID) is STANDARD; only AGENCY and PARTNER accounts have clients (share access instead, R16)",
                rule: .r18)
        }
        guard agencyID != clientID else { throw .invalidArgument("an account cannot be its own client", rule: .r18) }
        guard client.kind == .standard else {
            throw .failedPrecondition("account \(clientID) is \(client.kind.rawValue); only STANDARD accounts are clients", rule: .r18)
        }
        guard client.region == agency.region else {
            throw .failedPrecondition(
                "account \(clientID) is in region \(client.region.rawValue) and the agency in \(agency.region.rawValue); clients are in the agency's region",
                rule: .r18)
        }
        let key = ClientLinkKey(agency: agencyID, client: clientID)
        guard state.clientLinks[key] == nil else {
            throw .alreadyExists("account \(clientID) is already a client of \(agencyID)", rule: .r18)
        }
        recorder.record(
            .clientAdded(
                ClientLink(
                    agency: agencyID, client: clientID, status: .none, role: nil, addedBy: actor.id, createdAt: now,
                    updatedAt: now)))
    }

    /// R18: the agency asks the client for access.
    mutating func requestClientAccess(agency: AccountID, client: AccountID) throws(AccessError) {
        try authorize(.manageClients, in: agency)
        var link = try self.link(agency: agency, client: client)
        switch link.status {
        case .pending: throw .failedPrecondition("access to \(client) is already requested and waits for the client", rule: .r18)
        case .approved: throw .failedPrecondition("access to \(client) is already approved", rule: .r18)
        case .none, .denied: break
        }
        link.status = .pending
        link.role = nil
        link.updatedAt = now
        recorder.record(.clientAccessRequested(link))
    }

    /// R18: an ACTIVE user of the client with EDIT_ACCOUNT_SETTINGS approves,
    /// choosing the role the agency's users act with (default Member).
    mutating func approveClientAccess(client: AccountID, agency: AccountID, role roleID: RoleID?) throws(AccessError) {
        try authorizeClientSide(client: client, agency: agency)
        var link = try self.link(agency: agency, client: client)
        guard link.status == .pending else {
            throw .failedPrecondition("agency \(agency) has no pending request (it is \(link.status.rawValue))", rule: .r18)
        }
        let role: Role
        if let roleID {
            role = try self.role(roleID, in: client)
        } else {
            guard let memberID = state.indexes.roleByName[ScopedName(account: client, name: BuiltInRole.member.rawValue)]
            else { throw .notFound("account \(client) has no Member role") }
            role = state.roles[memberID]!
        }
        guard !role.isAccountOwner else {
            throw .invalidArgument("an agency cannot act as Account Owner; choose Member or another role", rule: .r18)
        }
        link.status = .approved
        link.role = role.id
        link.updatedAt = now
        recorder.record(.clientAccessApproved(link))
    }

    mutating func denyClientAccess(client: AccountID, agency: AccountID) throws(AccessError) {
        try authorizeClientSide(client: client, agency: agency)
        var link = try self.link(agency: agency, client: client)
        guard link.status == .pending else {
            throw .failedPrecondition("agency \(agency) has no pending request (it is \(link.status.rawValue))", rule: .r18)
        }
        link.status = .denied
        link.role = nil
        link.updatedAt = now
        recorder.record(.clientAccessDenied(link))
    }

    /// R18: the client revokes approval; it ends at once. The agency may ask again.
    mutating func revokeClientAccess(client: AccountID, agency: AccountID) throws(AccessError) {
        try authorizeClientSide(client: client, agency: agency)
        var link = try self.link(agency: agency, client: client)
        guard link.status == .approved else {
            throw .failedPrecondition("agency \(agency) has no approved access (it is \(link.status.rawValue))", rule: .r18)
        }
        link.status = .none
        link.role = nil
        link.updatedAt = now
        recorder.record(.clientAccessRevoked(link))
    }

    /// R18: removing the client ends any access at once.
    mutating func removeClient(agency: AccountID, client: AccountID) throws(AccessError) {
        try authorize(.manageClients, in: agency)
        let link = try self.link(agency: agency, client: client)
        recorder.record(.clientRemoved(link.key))
    }

    private func link(agency: AccountID, client: AccountID) throws(AccessError) -> ClientLink {
        guard let link = state.clientLinks[ClientLinkKey(agency: agency, client: client)] else {
            throw .notFound("account \(PeerText.quote(client)) is not a client of \(PeerText.quote(agency))", rule: .r18)
        }
        return link
    }

    /// The client side of R18 is a user of the client itself, with EDIT_ACCOUNT_SETTINGS.
    private func authorizeClientSide(client: AccountID, agency: AccountID) throws(AccessError) {
        let (actor, _) = try authorize(.editAccountSettings, in: client)
        guard actor.account == client else {
            throw .permissionDenied("only a user of account \(client) answers for it to agency \(PeerText.quote(agency))", rule: .r18)
        }
    }
}
