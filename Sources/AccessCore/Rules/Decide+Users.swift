extension Decider {
    /// R8: a new user starts PENDING with an activation; R2 and R4 apply.
    mutating func addUser(_ request: AddUser) throws(AccessError) {
        try authorize(.editAccountSettings, in: request.account)
        let account = try self.account(request.account)
        let email = try Validation.email(request.email)
        let firstName = try Validation.name(request.firstName, field: "first name")
        let lastName = try Validation.name(request.lastName, field: "last name")
        let role = try self.role(request.role, in: account.id)
        try requireOffices(request.offices, in: account.id)
        try requireViewerPermissions(request.extraPermissions, access: role.access, what: "the new user")
        try requireFreeEmail(email, region: account.region)
        if role.access == .full { try requireLicenses(1, in: account, for: "add a user with the FULL role \(PeerText.quote(role.name))") }

        let user = User(
            id: recorder.nextID(), email: email, firstName: firstName, lastName: lastName, account: account.id,
            role: role.id, extraPermissions: request.extraPermissions, offices: request.offices, status: .pending,
            createdAt: now, activatedAt: nil, deactivatedAt: nil)
        recorder.record(.userAdded(user))
        issueActivation(for: user)
    }

    /// R10 in one atomic call; R6 for oneself; R5, R2, R8 hold.
    mutating func editUser(_ request: EditUser) throws(AccessError) {
        let actor = try actingUser()
        let old = try user(request.user)
        var new = old
        let isSelf = actor.id == old.id
        let changesRole = request.role.map { $0 != old.role } ?? false
        let changesPermissions = request.extraPermissions.map { $0 != old.extraPermissions } ?? false
        if isSelf && (changesRole || changesPermissions) {
            throw .permissionDenied(
                "no user can change their own role or permissions; ask another user with EDIT_ACCOUNT_SETTINGS", rule: .r6)
        }
        let changesEmail = request.email.map { Validation.foldCase(Validation.trim($0)) != Validation.foldCase(old.email) } ?? false
        let changesOffices = request.offices.map { $0 != old.offices } ?? false
        // R6: a user may edit their own first and last name; everything else is R4's.
        if !isSelf || changesEmail || changesOffices {
            try authorize(.editAccountSettings, in: old.account)
        }
        let account = try self.account(old.account)

        if let firstName = request.firstName { new.firstName = try Validation.name(firstName, field: "first name") }
        if let lastName = request.lastName { new.lastName = try Validation.name(lastName, field: "last name") }
        if let email = request.email { new.email = try Validation.email(email) }
        if let offices = request.offices {
            try requireOffices(offices, in: account.id)
            new.offices = offices
        }
        let oldRole = state.roles[old.role]!
        let newRole = try request.role.map { id throws(AccessError) in try role(id, in: account.id) } ?? oldRole
        new.role = newRole.id
        if let permissions = request.extraPermissions { new.extraPermissions = permissions }
        try requireViewerPermissions(new.extraPermissions, access: newRole.access, what: "user \(old.id)")
        try requireFreeEmail(new.email, region: account.region, except: old.id)
        if old.isActiveOwner(with: oldRole) && !new.isActiveOwner(with: newRole) {
            try requireAnotherActiveOwner(in: account.id, besides: old.id)
        }
        if new.holdsLicense(with: newRole) && !old.holdsLicense(with: oldRole) {
            try requireLicenses(1, in: account, for: "give user \(old.id) the FULL role \(PeerText.quote(newRole.name))")
        }
        recorder.record(.userEdited(new))
    }

    /// R11: keeps everything the user made, frees the license; R5 holds.
    mutating func deactivateUser(_ id: UserID) throws(AccessError) {
        let target = try user(id)
        let (actor, _) = try authorize(.editAccountSettings, in: target.account)
        guard actor.id != id else {
            throw .permissionDenied("no user can deactivate themselves; ask another user with EDIT_ACCOUNT_SETTINGS", rule: .r6)
        }
        guard target.status != .deactivated else {
            throw .failedPrecondition("user \(id) is already DEACTIVATED", rule: .r11)
        }
        if target.isActiveOwner(with: state.roles[target.role]!) {
            try requireAnotherActiveOwner(in: target.account, besides: id)
        }
        var new = target
        new.status = .deactivated
        new.deactivatedAt = now
        recorder.record(.userDeactivated(new))
    }

    /// R11: ACTIVE again if a license is free (R2). A user who never activated
    /// goes back to PENDING with a new activation.
    mutating func reactivateUser(_ id: UserID) throws(AccessError) {
        let target = try user(id)
        try authorize(.editAccountSettings, in: target.account)
        guard target.status == .deactivated else {
            throw .failedPrecondition("user \(id) is \(target.status.rawValue), not DEACTIVATED", rule: .r11)
        }
        let role = state.roles[target.role]!
        if role.access == .full {
            try requireLicenses(1, in: try account(target.account), for: "reactivate user \(id) with the FULL role \(PeerText.quote(role.name))")
        }
        var new = target
        new.status = target.activatedAt == nil ? .pending : .active
        new.deactivatedAt = nil
        recorder.record(.userReactivated(new))
        if new.status == .pending { issueActivation(for: new) }
    }

    /// R9: only for PENDING users; the old token stops working.
    mutating func resendActivation(_ id: UserID) throws(AccessError) {
        let target = try user(id)
        try authorize(.editAccountSettings, in: target.account)
        guard target.status == .pending else {
            throw .failedPrecondition(
                "user \(id) is \(target.status.rawValue); only PENDING users get an activation", rule: .r9)
        }
        issueActivation(for: target)
    }

    /// R9: a valid token makes its user ACTIVE. The errors never say which users exist.
    mutating func activateUser(_ token: String) throws(AccessError) {
        let token = Validation.trim(token)
        guard !token.isEmpty else { throw .invalidArgument("the activation token is empty", rule: .r9) }
        guard let activation = state.activations[TokenHash(token: token)] else {
            throw .notFound(
                "this activation token is not valid: it may have been used or replaced by a newer one; ask for a new activation email",
                rule: .r9)
        }
        guard now < activation.expiresAt else {
            throw .failedPrecondition(
                "this activation token has expired; ask a user with EDIT_ACCOUNT_SETTINGS to resend the activation",
                rule: .r9)
        }
        var user = state.users[activation.user]!
        user.status = .active
        user.activatedAt = now
        recorder.record(.userActivated(user))
    }

    /// R5: every account keeps at least one ACTIVE Account Owner.
    func requireAnotherActiveOwner(in account: AccountID, besides user: UserID) throws(AccessError) {
        guard (state.indexes.activeOwners[account] ?? 0) > 1 else {
            throw .failedPrecondition(
                "user \(user) is the last active Account Owner of account \(account); assign another Account Owner first",
                rule: .r5)
        }
    }
}
