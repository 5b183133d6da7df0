import AccessCore

/// Makes domain records from their fields.
///
/// AccessCore's records (`Account`, `User`, ...) have public fields but no
/// public initializer: only the core creates them. Decoding events from the
/// journal needs to create them here, so each factory starts from a template
/// record the core made (by running a fixed script of commands once, on a
/// scratch state) and sets every field. When the core gains public
/// memberwise initializers, each factory becomes a call to one.
enum Records {
    static func account(
        id: AccountID, name: String, kind: AccountKind, region: Region, fullAccessLicenses: Int, billing: Billing,
        createdAt: Timestamp, updatedAt: Timestamp
    ) -> Account {
        var record = RecordTemplates.shared.account
        record.id = id
        record.name = name
        record.kind = kind
        record.region = region
        record.fullAccessLicenses = fullAccessLicenses
        record.billing = billing
        record.createdAt = createdAt
        record.updatedAt = updatedAt
        return record
    }

    static func user(
        id: UserID, email: String, firstName: String, lastName: String, account: AccountID, role: RoleID,
        extraPermissions: Permissions, offices: Set<OfficeID>, status: UserStatus, createdAt: Timestamp,
        activatedAt: Timestamp?, deactivatedAt: Timestamp?
    ) -> User {
        var record = RecordTemplates.shared.user
        record.id = id
        record.email = email
        record.firstName = firstName
        record.lastName = lastName
        record.account = account
        record.role = role
        record.extraPermissions = extraPermissions
        record.offices = offices
        record.status = status
        record.createdAt = createdAt
        record.activatedAt = activatedAt
        record.deactivatedAt = deactivatedAt
        return record
    }

    static func role(
        id: RoleID, account: AccountID, name: String, access: RoleAccess, permissions: Permissions, builtIn: BuiltInRole?
    ) -> Role {
        var record = RecordTemplates.shared.role
        record.id = id
        record.account = account
        record.name = name
        record.access = access
        record.permissions = permissions
        record.builtIn = builtIn
        return record
    }

    static func office(id: OfficeID, account: AccountID, name: String) -> Office {
        var record = RecordTemplates.shared.office
        record.id = id
        record.account = account
        record.name = name
        return record
    }

    static func project(
        id: ProjectID, account: AccountID, name: String, visibility: ProjectVisibility, offices: Set<OfficeID>,
        members: Set<UserID>, createdBy: UserID, createdAt: Timestamp
    ) -> Project {
        var record = RecordTemplates.shared.project
        record.id = id
        record.account = account
        record.name = name
        record.visibility = visibility
        record.offices = offices
        record.members = members
        record.createdBy = createdBy
        record.createdAt = createdAt
        return record
    }

    static func product(
        id: ProductID, account: AccountID, kind: ProductKind, name: String, createdBy: UserID, createdAt: Timestamp
    ) -> Product {
        var record = RecordTemplates.shared.product
        record.id = id
        record.account = account
        record.kind = kind
        record.name = name
        record.createdBy = createdBy
        record.createdAt = createdAt
        return record
    }

    static func share(
        id: ShareID, owner: AccountID, grantee: UserID, scope: ShareScope, billing: Bool, grantedBy: UserID,
        createdAt: Timestamp, updatedAt: Timestamp
    ) -> Share {
        var record = RecordTemplates.shared.share
        record.id = id
        record.owner = owner
        record.grantee = grantee
        record.scope = scope
        record.billing = billing
        record.grantedBy = grantedBy
        record.createdAt = createdAt
        record.updatedAt = updatedAt
        return record
    }

    static func clientLink(
        agency: AccountID, client: AccountID, status: AccessRequestStatus, role: RoleID?, addedBy: UserID,
        createdAt: Timestamp, updatedAt: Timestamp
    ) -> ClientLink {
        var record = RecordTemplates.shared.clientLink
        record.agency = agency
        record.client = client
        record.status = status
        record.role = role
        record.addedBy = addedBy
        record.createdAt = createdAt
        record.updatedAt = updatedAt
        return record
    }

    static func pendingActivation(
        tokenHash: TokenHash, user: UserID, issuedAt: Timestamp, expiresAt: Timestamp
    ) -> PendingActivation {
        var record = RecordTemplates.shared.activation
        record.tokenHash = tokenHash
        record.user = user
        record.issuedAt = issuedAt
        record.expiresAt = expiresAt
        return record
    }

    static func outboxMessage(
        id: OutboxMessageID, kind: OutboxMessageKind, to: String, user: UserID, token: String, queuedAt: Timestamp,
        expiresAt: Timestamp
    ) -> OutboxMessage {
        var record = RecordTemplates.shared.outboxMessage
        record.id = id
        record.kind = kind
        record.to = to
        record.user = user
        record.token = token
        record.queuedAt = queuedAt
        record.expiresAt = expiresAt
        return record
    }
}

/// One record of each kind, made by the core from a fixed script of commands.
struct RecordTemplates: Sendable {
    var account: Account
    var user: User
    var role: Role
    var office: Office
    var project: Project
    var product: Product
    var share: Share
    var clientLink: ClientLink
    var activation: PendingActivation
    var outboxMessage: OutboxMessage

    static let shared = RecordTemplates.make()

    /// Two STANDARD accounts and an AGENCY one; a user added (with its
    /// activation and email), an office, a project, a product, a share to the
    /// other account's owner and a client link. Deterministic; it cannot fail
    /// unless the core's rules change under it, which the tests would show.
    private static func make() -> RecordTemplates {
        var state = AccessState()
        var random = TemplateRandom()
        var events: [Event] = []
        func run(_ command: Command, as principal: Principal) -> [Event] {
            let context = CommandContext(principal: principal, now: Timestamp(millisecondsSinceEpoch: 1))
            do {
                let produced = try state.execute(command, context: context, using: &random)
                events += produced
                return produced
            } catch {
                preconditionFailure("AccessServer cannot make its record templates: \(error)")
            }
        }
        func owner(of produced: [Event]) -> UserID {
            for event in produced { if case .userAdded(let user) = event.change { return user.id } }
            preconditionFailure("AccessServer cannot make its record templates: no owner")
        }
        func account(of produced: [Event]) -> AccountID {
            for event in produced { if case .accountCreated(let account) = event.change { return account.id } }
            preconditionFailure("AccessServer cannot make its record templates: no account")
        }
        func create(_ name: String, _ kind: AccountKind, _ email: String) -> [Event] {
            run(
                .createAccount(
                    CreateAccount(
                        name: name, kind: kind, fullAccessLicenses: 5, ownerEmail: email, ownerFirstName: "Template",
                        ownerLastName: "Owner")), as: .administrator)
        }
        let first = create("Template", .standard, "owner@template.invalid")
        let second = create("Grantee", .standard, "grantee@template.invalid")
        let agency = create("Agency", .agency, "agency@template.invalid")
        let (firstAccount, firstOwner) = (account(of: first), owner(of: first))
        var memberRole: RoleID?
        for event in first {
            if case .roleCreated(let role) = event.change, role.builtIn == .member { memberRole = role.id }
        }
        guard let memberRole else { preconditionFailure("AccessServer cannot make its record templates: no Member role") }
        let acting = Principal.user(firstOwner)
        _ = run(
            .addUser(
                AddUser(
                    account: firstAccount, email: "user@template.invalid", firstName: "Template", lastName: "User",
                    role: memberRole)), as: acting)
        _ = run(.createOffice(account: firstAccount, name: "Template"), as: acting)
        _ = run(.createProject(CreateProject(account: firstAccount, name: "Template")), as: acting)
        _ = run(.createProduct(account: firstAccount, kind: .container, name: "Template"), as: acting)
        _ = run(
            .shareAccess(ShareAccess(owner: firstAccount, granteeEmail: "grantee@template.invalid", scope: .allCurrentAndNew)),
            as: acting)
        _ = run(.addClient(agency: account(of: agency), client: account(of: second)), as: .user(owner(of: agency)))

        var templates: (
            account: Account?, user: User?, role: Role?, office: Office?, project: Project?, product: Product?,
            share: Share?, clientLink: ClientLink?, activation: PendingActivation?, outboxMessage: OutboxMessage?
        ) = (nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)
        for event in events {
            switch event.change {
            case .accountCreated(let record): templates.account = templates.account ?? record
            case .userAdded(let record): templates.user = templates.user ?? record
            case .roleCreated(let record): templates.role = templates.role ?? record
            case .officeCreated(let record): templates.office = templates.office ?? record
            case .projectCreated(let record): templates.project = templates.project ?? record
            case .productCreated(let record): templates.product = templates.product ?? record
            case .accessShared(let record): templates.share = templates.share ?? record
            case .clientAdded(let record): templates.clientLink = templates.clientLink ?? record
            case .activationIssued(let record): templates.activation = templates.activation ?? record
            case .outboxMessageQueued(let record): templates.outboxMessage = templates.outboxMessage ?? record
            default: break
            }
        }
        guard let account = templates.account, let user = templates.user, let role = templates.role,
            let office = templates.office, let project = templates.project, let product = templates.product,
            let share = templates.share, let clientLink = templates.clientLink, let activation = templates.activation,
            let outboxMessage = templates.outboxMessage
        else { preconditionFailure("AccessServer cannot make its record templates: a kind of record is missing") }
        return RecordTemplates(
            account: account, user: user, role: role, office: office, project: project, product: product, share: share,
            clientLink: clientLink, activation: activation, outboxMessage: outboxMessage)
    }
}

/// SplitMix64 with a fixed seed: the templates' activation tokens do not matter.
private struct TemplateRandom: RandomNumberGenerator {
    private var state: UInt64 = 0x7E3A_11A7_E5

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
