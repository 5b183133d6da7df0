import AccessCore
import AccessTestSupport
import Testing

/// A history built through the core that holds every kind of `Change` at least
/// once, with the shapes the mapping must carry: optional times set and unset,
/// billing partly set, shares of all products and of a list (also an empty list
/// with billing), client links with and without a role, every enum value that
/// matters, anonymous, administrator and user actors.
struct RichHistory {
    var state = AccessState()
    var events: [Event] = []
    var rng = SeededGenerator(seed: 0x5EED)
    var now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    /// Every kind of change, by name (`Change.kind`).
    static let allKinds: Set<String> = [
        "accountCreated", "accountRenamed", "licenseCountChanged", "billingUpdated", "roleCreated", "roleEdited",
        "roleDeleted", "userAdded", "userEdited", "userActivated", "userDeactivated", "userReactivated",
        "activationIssued", "officeCreated", "officeRenamed", "officeDeleted", "projectCreated", "projectUpdated",
        "projectDeleted", "productCreated", "productRenamed", "productDeleted", "accessShared", "shareUpdated",
        "shareRemoved", "shareRetired", "clientAdded", "clientAccessRequested", "clientAccessApproved",
        "clientAccessDenied", "clientAccessRevoked", "clientRemoved", "outboxMessageQueued", "outboxAcknowledged",
    ]

    @discardableResult
    mutating func run(_ command: Command, as principal: Principal) throws -> [Event] {
        let produced = try state.execute(command, context: CommandContext(principal: principal, now: now), using: &rng)
        events += produced
        now = now.adding(milliseconds: 1000)
        return produced
    }

    static func build() throws -> RichHistory {
        var h = RichHistory()
        func created<T>(_ events: [Event], _ pick: (Change) -> T?) throws -> T {
            let found = events.compactMap { pick($0.change) }.first
            return try #require(found)
        }
        func account(_ events: [Event]) throws -> AccountID {
            try created(events) { if case .accountCreated(let a) = $0 { a.id } else { nil } }
        }
        func user(_ events: [Event]) throws -> UserID {
            try created(events) { if case .userAdded(let u) = $0 { u.id } else { nil } }
        }
        func token(_ events: [Event]) throws -> String {
            try created(events) { if case .outboxMessageQueued(let m) = $0 { m.token } else { nil } }
        }
        func roles(_ account: AccountID) -> [String: RoleID] {
            Dictionary(uniqueKeysWithValues: h.state.roles.values.filter { $0.account == account }.map { ($0.name, $0.id) })
        }

        // Accounts of every kind and region (R1, R3), billing (R16).
        let a = try h.run(
            .createAccount(
                CreateAccount(
                    name: "Acme", fullAccessLicenses: 10,
                    billing: Billing(billingEmail: "billing@acme.example", companyName: "Acme GmbH"),
                    ownerEmail: "ann@acme.example", ownerFirstName: "Ann", ownerLastName: "Admin")), as: .administrator)
        let (acme, ann) = (try account(a), try user(a))
        let b = try h.run(
            .createAccount(
                CreateAccount(
                    name: "Beta", fullAccessLicenses: 5, ownerEmail: "bob@beta.example", ownerFirstName: "Bob",
                    ownerLastName: "Boss")), as: .administrator)
        let (beta, bob) = (try account(b), try user(b))
        let g = try h.run(
            .createAccount(
                CreateAccount(
                    name: "Agency", kind: .agency, fullAccessLicenses: 2, ownerEmail: "gary@agency.example",
                    ownerFirstName: "Gary", ownerLastName: "Agent")), as: .administrator)
        let (agency, gary) = (try account(g), try user(g))
        try h.run(
            .createAccount(
                CreateAccount(
                    name: "Euro", kind: .partner, region: .eu, fullAccessLicenses: 1,
                    billing: Billing(address: "1 Rue de Paris"), ownerEmail: "ann@acme.example", ownerFirstName: "Ann",
                    ownerLastName: "Europe")), as: .administrator)
        let asAnn = Principal.user(ann)
        try h.run(.renameAccount(account: acme, name: "Acme Inc"), as: asAnn)
        try h.run(.setLicenseCount(account: acme, count: 12), as: .administrator)
        try h.run(.updateBilling(account: acme, billing: Billing(companyName: "Acme Inc", address: "1 Main St")), as: asAnn)

        // Roles (R4, R10).
        let auditor = try created(
            try h.run(
                .createRole(account: acme, name: "Auditor", access: .viewer, permissions: Permissions([.viewProjects, .viewBilling])),
                as: asAnn)
        ) { if case .roleCreated(let r) = $0 { r.id } else { nil } }
        try h.run(.editRole(EditRole(role: auditor, name: "Auditors", permissions: Permissions([.viewBilling]))), as: asAnn)
        let temp = try created(
            try h.run(.createRole(account: acme, name: "Temp", access: .full, permissions: []), as: asAnn)
        ) { if case .roleCreated(let r) = $0 { r.id } else { nil } }
        try h.run(.deleteRole(temp), as: asAnn)
        let acmeRoles = roles(acme)
        let member = try #require(acmeRoles["Member"])
        let viewer = try #require(acmeRoles["Viewer"])

        // Offices (R13).
        let berlin = try created(try h.run(.createOffice(account: acme, name: "Berlin"), as: asAnn)) {
            if case .officeCreated(let o) = $0 { o.id } else { nil }
        }
        let paris = try created(try h.run(.createOffice(account: acme, name: "Paris"), as: asAnn)) {
            if case .officeCreated(let o) = $0 { o.id } else { nil }
        }
        try h.run(.renameOffice(paris, name: "Lyon"), as: asAnn)

        // Users (R8-R11), an anonymous activation.
        let carlAdded = try h.run(
            .addUser(
                AddUser(
                    account: acme, email: "carl@acme.example", firstName: "Carl", lastName: "Coder", role: member,
                    extraPermissions: Permissions([.viewAllProjects, .shareAccess]), offices: [berlin, paris])), as: asAnn)
        let carl = try user(carlAdded)
        try h.run(.activateUser(token: try token(carlAdded)), as: .anonymous)
        try h.run(.editUser(EditUser(user: carl, firstName: "Carlos")), as: .user(carl))
        let dora = try user(
            try h.run(
                .addUser(
                    AddUser(
                        account: acme, email: "dora@acme.example", firstName: "Dora", lastName: "Viewer", role: viewer,
                        extraPermissions: Permissions([.viewBilling]))), as: asAnn))
        try h.run(.resendActivation(dora), as: asAnn)
        try h.run(.deactivateUser(dora), as: asAnn)
        try h.run(.reactivateUser(dora), as: asAnn)
        try h.run(.deactivateUser(carl), as: asAnn)
        try h.run(.reactivateUser(carl), as: asAnn)
        try h.run(.editUser(EditUser(user: carl, role: acmeRoles["Account Owner"])), as: asAnn)
        try h.run(.deleteOffice(paris), as: asAnn)

        // Projects (R14).
        try h.run(
            .createProject(
                CreateProject(account: acme, name: "Apollo", visibility: .private, offices: [berlin], members: [dora])),
            as: .user(carl))
        let apollo = try #require(h.state.projects.values.first { $0.name == "Apollo" }?.id)
        try h.run(.updateProject(UpdateProject(project: apollo, name: "Apollo 11", visibility: .public, offices: [])), as: asAnn)
        let gemini = try created(try h.run(.createProject(CreateProject(account: acme, name: "Gemini")), as: asAnn)) {
            if case .projectCreated(let p) = $0 { p.id } else { nil }
        }
        try h.run(.deleteProject(gemini), as: asAnn)

        // Products (R15) and shares (R16, R17).
        let web = try created(try h.run(.createProduct(account: acme, kind: .container, name: "Web"), as: asAnn)) {
            if case .productCreated(let p) = $0 { p.id } else { nil }
        }
        let gateway = try created(try h.run(.createProduct(account: acme, kind: .gateway, name: "GW"), as: asAnn)) {
            if case .productCreated(let p) = $0 { p.id } else { nil }
        }
        try h.run(.renameProduct(gateway, name: "Gateway"), as: asAnn)
        let toBob = try created(
            try h.run(
                .shareAccess(ShareAccess(owner: acme, granteeEmail: "bob@beta.example", scope: .products([web]), billing: true)),
                as: asAnn)
        ) { if case .accessShared(let s) = $0 { s.id } else { nil } }
        try h.run(
            .shareAccess(ShareAccess(owner: acme, granteeEmail: "BOB@beta.example", scope: .products([web, gateway]))),
            as: .user(carl))
        try h.run(.deleteProduct(gateway), as: asAnn)
        try h.run(.shareAccess(ShareAccess(owner: acme, granteeEmail: "bob@beta.example", scope: .allCurrentAndNew)), as: asAnn)
        try h.run(.removeShare(toBob), as: asAnn)
        let toAnn = try created(
            try h.run(.shareAccess(ShareAccess(owner: beta, granteeEmail: "ann@acme.example", scope: .allCurrentAndNew)), as: .user(bob))
        ) { if case .accessShared(let s) = $0 { s.id } else { nil } }
        try h.run(.retireShare(toAnn), as: asAnn)
        try h.run(
            .shareAccess(ShareAccess(owner: beta, granteeEmail: "carl@acme.example", scope: .products([]), billing: true)),
            as: .user(bob))

        // Client links (R18).
        let asGary = Principal.user(gary)
        try h.run(.addClient(agency: agency, client: beta), as: asGary)
        try h.run(.requestClientAccess(agency: agency, client: beta), as: asGary)
        try h.run(.denyClientAccess(client: beta, agency: agency), as: .user(bob))
        try h.run(.requestClientAccess(agency: agency, client: beta), as: asGary)
        try h.run(.approveClientAccess(client: beta, agency: agency, role: nil), as: .user(bob))
        try h.run(.revokeClientAccess(client: beta, agency: agency), as: .user(bob))
        try h.run(.removeClient(agency: agency, client: beta), as: asGary)
        try h.run(.addClient(agency: agency, client: acme), as: asGary)
        try h.run(.requestClientAccess(agency: agency, client: acme), as: asGary)
        try h.run(.approveClientAccess(client: acme, agency: agency, role: auditor), as: asAnn)

        // Outbox (R20).
        let queued = h.state.outbox.values.map(\.id).sorted()
        try h.run(.acknowledgeOutbox(Array(queued.prefix(2))), as: .administrator)
        return h
    }
}
