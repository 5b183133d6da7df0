extension Decider {
    /// R4: roles are account settings; names unique in the account; R10 for VIEWER roles.
    mutating func createRole(
        _ accountID: AccountID, _ name: String, _ access: RoleAccess, _ permissions: Permissions
    ) throws(AccessError) {
        try authorize(.editAccountSettings, in: accountID)
        let name = try Validation.name(name, field: "role name")
        try requireFreeRoleName(name, in: accountID)
        try requireViewerPermissions(permissions, access: access, what: "role \(PeerText.quote(name))")
        recorder.record(
            .roleCreated(
                Role(id: recorder.nextID(), account: accountID, name: name, access: access, permissions: permissions, builtIn: nil)))
    }

    /// R4, R10, R2 (a VIEWER role turning FULL needs a license per user who holds it), R6.
    mutating func editRole(_ request: EditRole) throws(AccessError) {
        guard let old = state.roles[request.role] else { throw .notFound("no role \(PeerText.quote(request.role))") }
        let (actor, grant) = try authorize(.editAccountSettings, in: old.account)
        guard !old.isAccountOwner else {
            throw .failedPrecondition("the Account Owner role cannot be edited; create another role instead", rule: .r4)
        }
        var new = old
        if let name = request.name {
            new.name = try Validation.name(name, field: "role name")
            if old.builtIn != nil && new.name != old.name {
                throw .failedPrecondition("the built-in role \(PeerText.quote(old.name)) keeps its name", rule: .r4)
            }
            try requireFreeRoleName(new.name, in: old.account, except: old.id)
        }
        if let access = request.access { new.access = access }
        if let permissions = request.permissions { new.permissions = permissions }
        // R6: the role you hold, at home or as an agency user through a client link (R18).
        let holdsRole = actor.role == old.id || grant.path == .clientLink(agency: actor.account, role: old.id)
        if holdsRole && (new.access != old.access || new.permissions != old.permissions) {
            throw .permissionDenied(
                "no user can change their own permissions, and you hold role \(PeerText.quote(old.name)); ask another user with EDIT_ACCOUNT_SETTINGS",
                rule: .r6)
        }
        try requireViewerPermissions(new.permissions, access: new.access, what: "role \(PeerText.quote(new.name))")
        let holders = (state.indexes.usersByRole[old.id] ?? []).map { state.users[$0]! }
        if new.access == .viewer && old.access == .full {
            if let user = holders.first(where: { !$0.extraPermissions.subtracting(.viewerAllowed).isEmpty }) {
                throw .failedPrecondition(
                    "user \(user.id) of role \(PeerText.quote(old.name)) has extra permissions a VIEWER role cannot carry; remove them first",
                    rule: .r10)
            }
        }
        let newLicenses = holders.reduce(0) { $0 + $1.licenseDelta(from: old, to: new) }
        if newLicenses > 0 {
            try requireLicenses(newLicenses, in: try account(old.account), for: "make role \(PeerText.quote(old.name)) FULL for its \(newLicenses) users")
        }
        recorder.record(.roleEdited(new))
    }

    /// R4: built-in roles stay; a role in use by users or client links stays.
    mutating func deleteRole(_ id: RoleID) throws(AccessError) {
        guard let role = state.roles[id] else { throw .notFound("no role \(PeerText.quote(id))") }
        try authorize(.editAccountSettings, in: role.account)
        guard role.builtIn == nil else {
            throw .failedPrecondition("the built-in role \(PeerText.quote(role.name)) cannot be deleted", rule: .r4)
        }
        if let holders = state.indexes.usersByRole[id] {
            throw .failedPrecondition(
                "\(holders.count) users have role \(PeerText.quote(role.name)); give them another role first", rule: .r4)
        }
        for agency in state.indexes.agenciesByClient[role.account] ?? []
        where state.clientLinks[ClientLinkKey(agency: agency, client: role.account)]?.role == id {
            throw .failedPrecondition(
                "agency \(agency) acts with role \(PeerText.quote(role.name)); revoke its access first", rule: .r18)
        }
        recorder.record(.roleDeleted(id))
    }

    private func requireFreeRoleName(_ name: String, in account: AccountID, except role: RoleID? = nil) throws(AccessError) {
        if let other = state.indexes.roleByName[ScopedName(account: account, name: name)], other != role {
            throw .alreadyExists("account \(account) already has a role named \(PeerText.quote(name))", rule: .r4)
        }
    }
}
