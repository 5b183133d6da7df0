extension Decider {
    /// R1: an administrator creates the account, its three built-in roles, and
    /// its first user as Account Owner, ACTIVE at once.
    mutating func createAccount(_ request: CreateAccount) throws(AccessError) {
        try requireAdministrator("creating an account", rule: .r1)
        let name = try Validation.name(request.name, field: "account name")
        guard request.fullAccessLicenses >= 1 else {
            throw .invalidArgument("an account needs at least 1 Full-Access license for its Account Owner", rule: .r2)
        }
        let billing = try validated(request.billing)
        let email = try Validation.email(request.ownerEmail, field: "owner email")
        let firstName = try Validation.name(request.ownerFirstName, field: "owner first name")
        let lastName = try Validation.name(request.ownerLastName, field: "owner last name")
        try requireFreeEmail(email, region: request.region)

        let accountID: AccountID = recorder.nextID()
        recorder.record(
            .accountCreated(
                Account(
                    id: accountID, name: name, kind: request.kind, region: request.region,
                    fullAccessLicenses: request.fullAccessLicenses, billing: billing, createdAt: now, updatedAt: now)))
        var ownerRole: RoleID?
        for builtIn in BuiltInRole.allCases {
            let roleID: RoleID = recorder.nextID()
            if builtIn == .accountOwner { ownerRole = roleID }
            recorder.record(
                .roleCreated(
                    Role(
                        id: roleID, account: accountID, name: builtIn.rawValue, access: builtIn.access,
                        permissions: builtIn.permissions, builtIn: builtIn)))
        }
        let ownerID: UserID = recorder.nextID()
        recorder.record(
            .userAdded(
                User(
                    id: ownerID, email: email, firstName: firstName, lastName: lastName, account: accountID,
                    role: ownerRole!, extraPermissions: [], offices: [], status: .active, createdAt: now, activatedAt: now,
                    deactivatedAt: nil)))
    }

    /// R3: an administrator's call; not below the licenses in use.
    mutating func setLicenseCount(_ id: AccountID, _ count: Int) throws(AccessError) {
        try requireAdministrator("changing the license count", rule: .r3)
        var account = try self.account(id)
        guard count >= 1 else {
            throw .invalidArgument("an account needs at least 1 Full-Access license, not \(count)", rule: .r3)
        }
        let inUse = state.licensesInUse(id)
        guard count >= inUse else {
            throw .failedPrecondition(
                "account \(id) has \(inUse) Full-Access licenses in use, more than \(count); deactivate users or move them to VIEWER roles first",
                rule: .r3)
        }
        account.fullAccessLicenses = count
        account.updatedAt = now
        recorder.record(.licenseCountChanged(account))
    }

    /// R4: the account name is an account setting.
    mutating func renameAccount(_ id: AccountID, _ name: String) throws(AccessError) {
        try authorize(.editAccountSettings, in: id)
        var account = try self.account(id)
        account.name = try Validation.name(name, field: "account name")
        account.updatedAt = now
        recorder.record(.accountRenamed(account))
    }

    /// EDIT_BILLING (which a share with billing also gives, R16).
    mutating func updateBilling(_ id: AccountID, _ billing: Billing) throws(AccessError) {
        try authorize(.editBilling, in: id)
        var account = try self.account(id)
        account.billing = try validated(billing)
        account.updatedAt = now
        recorder.record(.billingUpdated(account))
    }

    private func validated(_ billing: Billing) throws(AccessError) -> Billing {
        Billing(
            billingEmail: try billing.billingEmail.flatMap { raw throws(AccessError) in
                Validation.trim(raw).isEmpty ? nil : try Validation.email(raw, field: "billing email")
            },
            companyName: try Validation.optionalText(billing.companyName, field: "company name"),
            address: try Validation.optionalText(billing.address, field: "address"))
    }
}
