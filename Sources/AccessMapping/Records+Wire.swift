package import AccessCore
package import AccessWire

// Domain records to their proto messages. Times are milliseconds since the
// epoch, an absent time is 0; sets of ids are listed in id order, permissions
// in declaration order, so that equal records encode to equal bytes.

extension Timestamp {
    /// An optional time on the wire: 0 when absent.
    package static func wire(_ time: Timestamp?) -> Int64 { time?.millisecondsSinceEpoch ?? 0 }
}

extension Sequence where Element: EntityID {
    /// Ids in their order (the sequence that minted them), as raw strings.
    package var wire: [String] { sorted().map(\.rawValue) }
}

extension Accessd_V1_Billing {
    package init(_ billing: Billing) {
        self.init()
        billingEmail = billing.billingEmail ?? ""
        companyName = billing.companyName ?? ""
        address = billing.address ?? ""
    }
}

extension Accessd_V1_Account {
    /// `licensesInUse` is derived from the users, not part of the record: 0 in events.
    package init(_ account: Account, licensesInUse: Int = 0) {
        self.init()
        id = account.id.rawValue
        name = account.name
        kind = account.kind.wire
        region = account.region.wire
        fullAccessLicenses = UInt32(clamping: account.fullAccessLicenses)
        billing = Accessd_V1_Billing(account.billing)
        createdAtMs = account.createdAt.millisecondsSinceEpoch
        updatedAtMs = account.updatedAt.millisecondsSinceEpoch
        self.licensesInUse = UInt32(clamping: licensesInUse)
    }

    /// An account as a reader sees it (billing empty without VIEW_BILLING).
    package init(_ summary: AccountSummary) {
        self.init(summary.account, licensesInUse: summary.licensesInUse)
    }
}

extension Accessd_V1_User {
    package init(_ user: User) {
        self.init()
        id = user.id.rawValue
        email = user.email
        firstName = user.firstName
        lastName = user.lastName
        accountID = user.account.rawValue
        roleID = user.role.rawValue
        extraPermissions = user.extraPermissions.wire
        officeIds = user.offices.wire
        status = user.status.wire
        createdAtMs = user.createdAt.millisecondsSinceEpoch
        activatedAtMs = Timestamp.wire(user.activatedAt)
        deactivatedAtMs = Timestamp.wire(user.deactivatedAt)
    }
}

extension Accessd_V1_Role {
    package init(_ role: Role) {
        self.init()
        id = role.id.rawValue
        accountID = role.account.rawValue
        name = role.name
        access = role.access.wire
        permissions = role.permissions.wire
        builtIn = Accessd_V1_BuiltInRole(role.builtIn)
    }
}

extension Accessd_V1_Office {
    package init(_ office: Office) {
        self.init()
        id = office.id.rawValue
        accountID = office.account.rawValue
        name = office.name
    }
}

extension Accessd_V1_Project {
    package init(_ project: Project) {
        self.init()
        id = project.id.rawValue
        accountID = project.account.rawValue
        name = project.name
        visibility = project.visibility.wire
        officeIds = project.offices.wire
        memberIds = project.members.wire
        createdBy = project.createdBy.rawValue
        createdAtMs = project.createdAt.millisecondsSinceEpoch
    }
}

extension Accessd_V1_Product {
    package init(_ product: Product) {
        self.init()
        id = product.id.rawValue
        accountID = product.account.rawValue
        kind = product.kind.wire
        name = product.name
        createdBy = product.createdBy.rawValue
        createdAtMs = product.createdAt.millisecondsSinceEpoch
    }
}

extension Accessd_V1_ShareScope {
    package init(_ scope: ShareScope) {
        self.init()
        switch scope {
        case .allCurrentAndNew:
            self.scope = .allCurrentAndNew(true)
        case .products(let list):
            var products = Accessd_V1_ProductList()
            products.productIds = list.wire
            self.scope = .products(products)
        }
    }
}

extension Accessd_V1_Share {
    package init(_ share: Share) {
        self.init()
        id = share.id.rawValue
        ownerAccountID = share.owner.rawValue
        granteeUserID = share.grantee.rawValue
        scope = Accessd_V1_ShareScope(share.scope)
        billing = share.billing
        grantedBy = share.grantedBy.rawValue
        createdAtMs = share.createdAt.millisecondsSinceEpoch
        updatedAtMs = share.updatedAt.millisecondsSinceEpoch
    }
}

extension Accessd_V1_ClientLink {
    package init(_ link: ClientLink) {
        self.init()
        agencyAccountID = link.agency.rawValue
        clientAccountID = link.client.rawValue
        status = link.status.wire
        roleID = link.role?.rawValue ?? ""
        addedBy = link.addedBy.rawValue
        createdAtMs = link.createdAt.millisecondsSinceEpoch
        updatedAtMs = link.updatedAt.millisecondsSinceEpoch
    }
}

extension Accessd_V1_ClientLinkKey {
    package init(_ key: ClientLinkKey) {
        self.init()
        agencyAccountID = key.agency.rawValue
        clientAccountID = key.client.rawValue
    }
}

extension Accessd_V1_PendingActivation {
    package init(_ activation: PendingActivation) {
        self.init()
        tokenHash = activation.tokenHash.hex
        userID = activation.user.rawValue
        issuedAtMs = activation.issuedAt.millisecondsSinceEpoch
        expiresAtMs = activation.expiresAt.millisecondsSinceEpoch
    }
}

extension Accessd_V1_Caller {
    /// The calling peer, as events and idempotent replies record it.
    package init(_ caller: Caller) {
        self.init()
        uid = caller.uid
        pid = caller.pid
    }
}

extension Caller {
    package init(wire: Accessd_V1_Caller) {
        self.init(uid: wire.uid, pid: wire.pid)
    }
}

extension Accessd_V1_OutboxMessage {
    /// - Parameter token: whether the activation token goes too: for the
    ///   mailer's ListOutbox and the snapshot's outbox, never in an event.
    package init(_ message: OutboxMessage, token includeToken: Bool = true) {
        self.init()
        id = message.id.rawValue
        kind = message.kind.rawValue
        to = message.to
        userID = message.user.rawValue
        if includeToken { token = message.token }
        queuedAtMs = message.queuedAt.millisecondsSinceEpoch
        expiresAtMs = message.expiresAt.millisecondsSinceEpoch
    }
}

extension Accessd_V1_AccessPath {
    package init(_ path: AccessPath) {
        self.init()
        switch path {
        case .homeRole(let role):
            self.path = .homeRoleID(role.rawValue)
        case .share(let share):
            self.path = .shareID(share.rawValue)
        case .clientLink(let agency, let role):
            var link = Accessd_V1_ClientLinkPath()
            link.agencyAccountID = agency.rawValue
            link.roleID = role.rawValue
            self.path = .clientLink(link)
        }
    }
}

// MARK: - Read results

extension Accessd_V1_CheckResponse {
    package init(_ result: CheckResult) {
        self.init()
        allowed = result.allowed
        if let path = result.path { self.path = Accessd_V1_AccessPath(path) }
        reason = result.reason
        deniedBy = result.deniedBy?.description ?? ""
    }
}

extension Accessd_V1_AccessibleAccount {
    package init(_ accessible: AccessibleAccount) {
        self.init()
        accountID = accessible.account.rawValue
        name = accessible.name
        path = Accessd_V1_AccessPath(accessible.path)
        permissions = accessible.permissions.wire
    }
}

extension Accessd_V1_UserRow {
    package init(_ row: UserRow) {
        self.init()
        id = row.id.rawValue
        firstName = row.firstName
        lastName = row.lastName
        email = row.email
        status = row.status.wire
        roleID = row.role.rawValue
        roleName = row.roleName
        roleAccess = row.roleAccess.wire
        permissions = row.permissions.wire
        offices = row.offices.map(Accessd_V1_Office.init)
    }
}

extension Accessd_V1_ListUsersResponse {
    package init(_ page: UserPage) {
        self.init()
        users = page.users.map(Accessd_V1_UserRow.init)
        nextPageToken = page.nextPageToken
        licensesInUse = UInt32(clamping: page.licensesInUse)
        licenseCount = UInt32(clamping: page.licenseCount)
        totalUsers = UInt32(clamping: page.totalUsers)
        totalMatching = UInt32(clamping: page.totalMatching)
    }
}

extension Accessd_V1_OutgoingShare {
    package init(_ outgoing: OutgoingShare) {
        self.init()
        share = Accessd_V1_Share(outgoing.share)
        granteeEmail = outgoing.granteeEmail
        granteeName = outgoing.granteeName
    }
}

extension Accessd_V1_IncomingShare {
    package init(_ incoming: IncomingShare) {
        self.init()
        share = Accessd_V1_Share(incoming.share)
        ownerAccountName = incoming.ownerName
    }
}
