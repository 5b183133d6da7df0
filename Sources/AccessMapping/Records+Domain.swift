package import AccessCore
package import AccessWire

// Proto messages back to domain records, as the journal's events carry them.
// Strict: every id must be well-formed and of its kind, every enum known;
// a failure is INVALID_ARGUMENT naming the field (`field` is the path to the
// record, for example "user_added"). Texts are taken as they are: the core
// validated them when it made the record. Derived fields (Account's
// licenses_in_use) are ignored.

extension Timestamp {
    /// A required time from the wire.
    package init(wireMilliseconds value: Int64) { self.init(millisecondsSinceEpoch: value) }

    /// An optional time from the wire: 0 is absent.
    package static func optional(wireMilliseconds value: Int64) -> Timestamp? {
        value == 0 ? nil : Timestamp(millisecondsSinceEpoch: value)
    }
}

extension Account {
    package init(wire: Accessd_V1_Account, field: String = "account") throws(AccessError) {
        self = Account(
            id: try WireInput.id(wire.id, field: "\(field).id"), name: wire.name,
            kind: try AccountKind.parse(wire.kind, field: "\(field).kind"),
            region: try Region.parse(wire.region, field: "\(field).region"),
            fullAccessLicenses: Int(wire.fullAccessLicenses), billing: Billing(wire: wire.billing),
            createdAt: Timestamp(wireMilliseconds: wire.createdAtMs), updatedAt: Timestamp(wireMilliseconds: wire.updatedAtMs))
    }
}

extension User {
    package init(wire: Accessd_V1_User, field: String = "user") throws(AccessError) {
        self = User(
            id: try WireInput.id(wire.id, field: "\(field).id"), email: wire.email, firstName: wire.firstName,
            lastName: wire.lastName, account: try WireInput.id(wire.accountID, field: "\(field).account_id"),
            role: try WireInput.id(wire.roleID, field: "\(field).role_id"),
            extraPermissions: try Permissions.parse(wire.extraPermissions, field: "\(field).extra_permissions"),
            offices: try WireInput.idSet(wire.officeIds, field: "\(field).office_ids"),
            status: try UserStatus.parse(wire.status, field: "\(field).status"),
            createdAt: Timestamp(wireMilliseconds: wire.createdAtMs),
            activatedAt: Timestamp.optional(wireMilliseconds: wire.activatedAtMs),
            deactivatedAt: Timestamp.optional(wireMilliseconds: wire.deactivatedAtMs))
    }
}

extension Role {
    package init(wire: Accessd_V1_Role, field: String = "role") throws(AccessError) {
        self = Role(
            id: try WireInput.id(wire.id, field: "\(field).id"),
            account: try WireInput.id(wire.accountID, field: "\(field).account_id"), name: wire.name,
            access: try RoleAccess.parse(wire.access, field: "\(field).access"),
            permissions: try Permissions.parse(wire.permissions, field: "\(field).permissions"),
            builtIn: try BuiltInRole.parse(wire.builtIn, field: "\(field).built_in"))
    }
}

extension Office {
    package init(wire: Accessd_V1_Office, field: String = "office") throws(AccessError) {
        self = Office(
            id: try WireInput.id(wire.id, field: "\(field).id"),
            account: try WireInput.id(wire.accountID, field: "\(field).account_id"), name: wire.name)
    }
}

extension Project {
    package init(wire: Accessd_V1_Project, field: String = "project") throws(AccessError) {
        self = Project(
            id: try WireInput.id(wire.id, field: "\(field).id"),
            account: try WireInput.id(wire.accountID, field: "\(field).account_id"), name: wire.name,
            visibility: try ProjectVisibility.parse(wire.visibility, field: "\(field).visibility"),
            offices: try WireInput.idSet(wire.officeIds, field: "\(field).office_ids"),
            members: try WireInput.idSet(wire.memberIds, field: "\(field).member_ids"),
            createdBy: try WireInput.id(wire.createdBy, field: "\(field).created_by"),
            createdAt: Timestamp(wireMilliseconds: wire.createdAtMs))
    }
}

extension Product {
    package init(wire: Accessd_V1_Product, field: String = "product") throws(AccessError) {
        self = Product(
            id: try WireInput.id(wire.id, field: "\(field).id"),
            account: try WireInput.id(wire.accountID, field: "\(field).account_id"),
            kind: try ProductKind.parse(wire.kind, field: "\(field).kind"), name: wire.name,
            createdBy: try WireInput.id(wire.createdBy, field: "\(field).created_by"),
            createdAt: Timestamp(wireMilliseconds: wire.createdAtMs))
    }
}

extension Share {
    package init(wire: Accessd_V1_Share, field: String = "share") throws(AccessError) {
        self = Share(
            id: try WireInput.id(wire.id, field: "\(field).id"),
            owner: try WireInput.id(wire.ownerAccountID, field: "\(field).owner_account_id"),
            grantee: try WireInput.id(wire.granteeUserID, field: "\(field).grantee_user_id"),
            scope: try ShareScope(wire: wire.scope, field: "\(field).scope"), billing: wire.billing,
            grantedBy: try WireInput.id(wire.grantedBy, field: "\(field).granted_by"),
            createdAt: Timestamp(wireMilliseconds: wire.createdAtMs), updatedAt: Timestamp(wireMilliseconds: wire.updatedAtMs))
    }
}

extension ClientLink {
    package init(wire: Accessd_V1_ClientLink, field: String = "link") throws(AccessError) {
        self = ClientLink(
            agency: try WireInput.id(wire.agencyAccountID, field: "\(field).agency_account_id"),
            client: try WireInput.id(wire.clientAccountID, field: "\(field).client_account_id"),
            status: try AccessRequestStatus.parse(wire.status, field: "\(field).status"),
            role: try WireInput.optionalID(wire.roleID, field: "\(field).role_id"),
            addedBy: try WireInput.id(wire.addedBy, field: "\(field).added_by"),
            createdAt: Timestamp(wireMilliseconds: wire.createdAtMs), updatedAt: Timestamp(wireMilliseconds: wire.updatedAtMs))
    }
}

extension ClientLinkKey {
    package init(wire: Accessd_V1_ClientLinkKey, field: String = "key") throws(AccessError) {
        self.init(
            agency: try WireInput.id(wire.agencyAccountID, field: "\(field).agency_account_id"),
            client: try WireInput.id(wire.clientAccountID, field: "\(field).client_account_id"))
    }
}

extension PendingActivation {
    package init(wire: Accessd_V1_PendingActivation, field: String = "activation") throws(AccessError) {
        guard !wire.tokenHash.isEmpty else { throw AccessError(.invalidArgument, "\(field).token_hash is required") }
        self = PendingActivation(
            tokenHash: TokenHash(hex: wire.tokenHash), user: try WireInput.id(wire.userID, field: "\(field).user_id"),
            issuedAt: Timestamp(wireMilliseconds: wire.issuedAtMs), expiresAt: Timestamp(wireMilliseconds: wire.expiresAtMs))
    }
}

extension OutboxMessage {
    package init(wire: Accessd_V1_OutboxMessage, field: String = "message") throws(AccessError) {
        guard let kind = OutboxMessageKind(rawValue: wire.kind) else {
            let known = OutboxMessageKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw AccessError(
                .invalidArgument, "\(field).kind \(PeerText.quote(wire.kind)) is not an outbox message kind (\(known))")
        }
        self = OutboxMessage(
            id: try WireInput.id(wire.id, field: "\(field).id"), kind: kind, to: wire.to,
            user: try WireInput.id(wire.userID, field: "\(field).user_id"), token: wire.token,
            queuedAt: Timestamp(wireMilliseconds: wire.queuedAtMs), expiresAt: Timestamp(wireMilliseconds: wire.expiresAtMs))
    }
}

extension AccessPath {
    package init(wire: Accessd_V1_AccessPath, field: String = "path") throws(AccessError) {
        switch wire.path {
        case nil:
            throw AccessError(.invalidArgument, "\(field) is required: one of home_role_id, share_id or client_link")
        case .homeRoleID(let role):
            self = .homeRole(try WireInput.id(role, field: "\(field).home_role_id"))
        case .shareID(let share):
            self = .share(try WireInput.id(share, field: "\(field).share_id"))
        case .clientLink(let link):
            self = .clientLink(
                agency: try WireInput.id(link.agencyAccountID, field: "\(field).client_link.agency_account_id"),
                role: try WireInput.id(link.roleID, field: "\(field).client_link.role_id"))
        }
    }
}

extension Principal {
    /// An event's actor: "administrator", "anonymous" or a user id.
    package init(wireActor text: String, field: String = "actor") throws(AccessError) {
        switch text {
        case "administrator": self = .administrator
        case "anonymous": self = .anonymous
        default:
            guard let id = UserID(text) else {
                throw AccessError(
                    .invalidArgument,
                    "\(field) \(PeerText.quote(text)) is neither \"administrator\", \"anonymous\" nor a user id (usr_...)")
            }
            self = .user(id)
        }
    }
}
