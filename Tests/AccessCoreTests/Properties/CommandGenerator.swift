@testable import AccessCore

/// Names a `Command` case, so that the property test can count what it ran.
/// The switch is exhaustive on purpose: a new command does not compile here
/// until the generator learns to make it.
enum CommandKind: String, CaseIterable, Hashable, Sendable {
    case createAccount, setLicenseCount, renameAccount, updateBilling
    case addUser, editUser, deactivateUser, reactivateUser, resendActivation, activateUser
    case createRole, editRole, deleteRole
    case createOffice, renameOffice, deleteOffice
    case createProject, updateProject, deleteProject
    case createProduct, renameProduct, deleteProduct
    case shareAccess, removeShare, retireShare
    case addClient, requestClientAccess, approveClientAccess, denyClientAccess, revokeClientAccess, removeClient
    case acknowledgeOutbox

    init(_ command: Command) {
        switch command {
        case .createAccount: self = .createAccount
        case .setLicenseCount: self = .setLicenseCount
        case .renameAccount: self = .renameAccount
        case .updateBilling: self = .updateBilling
        case .addUser: self = .addUser
        case .editUser: self = .editUser
        case .deactivateUser: self = .deactivateUser
        case .reactivateUser: self = .reactivateUser
        case .resendActivation: self = .resendActivation
        case .activateUser: self = .activateUser
        case .createRole: self = .createRole
        case .editRole: self = .editRole
        case .deleteRole: self = .deleteRole
        case .createOffice: self = .createOffice
        case .renameOffice: self = .renameOffice
        case .deleteOffice: self = .deleteOffice
        case .createProject: self = .createProject
        case .updateProject: self = .updateProject
        case .deleteProject: self = .deleteProject
        case .createProduct: self = .createProduct
        case .renameProduct: self = .renameProduct
        case .deleteProduct: self = .deleteProduct
        case .shareAccess: self = .shareAccess
        case .removeShare: self = .removeShare
        case .retireShare: self = .retireShare
        case .addClient: self = .addClient
        case .requestClientAccess: self = .requestClientAccess
        case .approveClientAccess: self = .approveClientAccess
        case .denyClientAccess: self = .denyClientAccess
        case .revokeClientAccess: self = .revokeClientAccess
        case .removeClient: self = .removeClient
        case .acknowledgeOutbox: self = .acknowledgeOutbox
        }
    }
}

/// A command and the principal it runs as.
struct GeneratedCommand: CustomStringConvertible {
    var command: Command
    var principal: Principal

    var kind: CommandKind { CommandKind(command) }
    var description: String { "\(principal) runs \(command)" }
}

/// The ids of one state, sorted. Hash order differs from process to process,
/// so every random pick goes through these lists to stay the same on every run.
struct StateCatalog {
    var accounts: [AccountID] = []
    var users: [UserID] = []
    var usersOf: [AccountID: [UserID]] = [:]
    var activeUsersOf: [AccountID: [UserID]] = [:]
    var activeOwnersOf: [AccountID: [UserID]] = [:]
    /// ACTIVE users who hold EDIT_ACCOUNT_SETTINGS at home without being Account Owner.
    var activeSettingsEditorsOf: [AccountID: [UserID]] = [:]
    /// Users who may reach an account from outside: grantees of its shares and users of its agencies.
    var outsidersOf: [AccountID: [UserID]] = [:]
    var roles: [RoleID] = []
    var rolesOf: [AccountID: [RoleID]] = [:]
    var offices: [OfficeID] = []
    var officesOf: [AccountID: [OfficeID]] = [:]
    var projects: [ProjectID] = []
    var projectsOf: [AccountID: [ProjectID]] = [:]
    var products: [ProductID] = []
    var productsOf: [AccountID: [ProductID]] = [:]
    var shares: [ShareID] = []
    var links: [ClientLinkKey] = []
    var outbox: [OutboxMessageID] = []

    init() {}

    init(_ state: AccessState) {
        accounts = state.accounts.keys.sorted()
        users = state.users.keys.sorted()
        for id in users {
            let user = state.users[id]!
            usersOf[user.account, default: []].append(id)
            if user.status == .active, let role = state.roles[user.role] {
                activeUsersOf[user.account, default: []].append(id)
                if role.builtIn == .accountOwner {
                    activeOwnersOf[user.account, default: []].append(id)
                } else if role.permissions.union(user.extraPermissions).contains(.editAccountSettings) {
                    activeSettingsEditorsOf[user.account, default: []].append(id)
                }
            }
        }
        roles = state.roles.keys.sorted()
        for id in roles { rolesOf[state.roles[id]!.account, default: []].append(id) }
        offices = state.offices.keys.sorted()
        for id in offices { officesOf[state.offices[id]!.account, default: []].append(id) }
        projects = state.projects.keys.sorted()
        for id in projects { projectsOf[state.projects[id]!.account, default: []].append(id) }
        products = state.products.keys.sorted()
        for id in products { productsOf[state.products[id]!.account, default: []].append(id) }
        shares = state.shares.keys.sorted()
        links = state.clientLinks.keys.sorted { ($0.agency, $0.client) < ($1.agency, $1.client) }
        outbox = state.outbox.keys.sorted()

        var outsiders: [AccountID: Set<UserID>] = [:]
        for id in shares {
            let share = state.shares[id]!
            outsiders[share.owner, default: []].insert(share.grantee)
        }
        for key in links { outsiders[key.client, default: []].formUnion(usersOf[key.agency] ?? []) }
        outsidersOf = outsiders.mapValues { $0.sorted() }
    }
}

/// Makes random commands from a seeded source, most of them meaningful in the
/// current state: ids mostly of things that exist (and of the right account),
/// sometimes of another account or never minted; emails from a small pool so
/// that they collide; few licenses so that they run out; actors of every kind.
struct CommandGenerator {
    private var rng: SeededGenerator
    /// Every activation token ever queued, so that used and replaced ones are tried again.
    private var tokens: [String] = []
    private var state = AccessState()
    private var catalog = StateCatalog()

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// Learns the activation tokens an accepted command queued (as the mailer would read them).
    mutating func observe(_ events: [Event]) {
        for event in events {
            if case .outboxMessageQueued(let message) = event.change { tokens.append(message.token) }
        }
    }

    mutating func next(in state: AccessState) -> GeneratedCommand {
        self.state = state
        catalog = StateCatalog(state)
        return make(pickKind())
    }

    // MARK: - Pools

    static let emails = (1...28).map { "user\($0)@example.com" } + ["ada@example.com", "bob@example.org"]
    static let badEmails = ["", "   ", "not-an-email", "a@b", "two@@example.com", "sp ace@example.com"]
    static let badNames = ["", "   ", String(repeating: "x", count: 201), "tab\tname", "bell\u{07}"]
    static let accountNames = ["Acme", "Globex", "Initech", "Umbrella", "  Stark  ", "Wayne"]
    static let firstNames = ["Ada", "Bob", "Chen", "Dana", "Émile"]
    static let lastNames = ["Lovelace", "Builder", "Li", "Scully", "Zola"]
    static let roleNames = ["Editor", "editor", "Auditor", "Billing", "Member", "viewer", "Account Owner", "Agent"]
    static let officeNames = ["Berlin", "berlin", "Paris", "Tokyo", "Lagos"]
    static let projectNames = ["Website", "App", "Launch", "Backoffice"]
    static let productNames = ["web container", "server gateway", "tags", "GA4"]

    // MARK: - Random helpers

    private mutating func roll(_ n: Int) -> Int { Int.random(in: 0..<n, using: &rng) }

    private mutating func chance(_ percent: Int) -> Bool { roll(100) < percent }

    private mutating func pick<T>(_ items: [T]) -> T? { items.isEmpty ? nil : items[roll(items.count)] }

    private mutating func subset<T: Hashable>(of items: [T], percent: Int) -> Set<T> {
        var result = Set<T>()
        for item in items where chance(percent) { result.insert(item) }
        return result
    }

    /// An id no event of a test run mints.
    private mutating func neverMinted<ID: EntityID>() -> ID { ID(sequence: 3_000_000_000 + UInt64(roll(1000))) }

    /// Mostly one of `preferred`, sometimes any of `all` (perhaps another account's), sometimes one never minted.
    private mutating func id<ID: EntityID>(_ preferred: [ID], _ all: [ID], preferredPercent: Int = 82) -> ID {
        let r = roll(100)
        if r < preferredPercent, let id = pick(preferred) { return id }
        if r < 93, let id = pick(all) { return id }
        return neverMinted()
    }

    private mutating func account() -> AccountID { id(catalog.accounts, catalog.accounts, preferredPercent: 93) }

    private mutating func name(_ pool: [String]) -> String {
        chance(4) ? pick(Self.badNames)! : pick(pool)!
    }

    private mutating func email() -> String {
        let r = roll(100)
        if r < 4 { return pick(Self.badEmails)! }
        let email = pick(Self.emails)!
        return r < 14 ? "  " + email.uppercased() + " " : email
    }

    /// The email of an existing user, as given or in another case.
    private mutating func email(of user: UserID) -> String {
        let email = state.users[user]!.email
        return chance(15) ? email.uppercased() : email
    }

    private mutating func permissions(percent: Int) -> Permissions {
        var result = Permissions()
        for permission in Permission.allCases where chance(percent) { result.insert(Permissions(permission)) }
        return result
    }

    /// Mostly what a VIEWER may carry (R10), sometimes more.
    private mutating func viewerPermissions() -> Permissions {
        chance(80) ? permissions(percent: 50).intersection(.viewerAllowed) : permissions(percent: 20)
    }

    private mutating func extraPermissions() -> Permissions {
        let r = roll(100)
        if r < 45 { return [] }
        if r < 60 { return Permissions(.editAccountSettings) }
        if r < 80 { return permissions(percent: 12) }
        return viewerPermissions()
    }

    private mutating func billing() -> Billing {
        if chance(30) { return Billing() }
        return Billing(
            billingEmail: chance(60) ? (chance(90) ? "billing@example.com" : "nope") : nil,
            companyName: chance(60) ? pick(Self.accountNames)! + " GmbH" : nil,
            address: chance(40) ? (chance(95) ? "1 Main Street" : "line\nbreak") : nil)
    }

    /// Offices for a user or project of `account`: some of its own, now and then one that is not.
    private mutating func offices(of account: AccountID) -> Set<OfficeID> {
        var result = subset(of: catalog.officesOf[account] ?? [], percent: 30)
        if chance(6) { result.insert(id([], catalog.offices)) }
        return result
    }

    // MARK: - Actors

    /// Who runs a command about `account`: mostly an ACTIVE user of it (an
    /// owner half the time), sometimes an outsider who may reach it by a share or
    /// a client link, any user of any status, the administrator, anonymous, or
    /// a user id that does not exist.
    private mutating func actor(in account: AccountID?) -> Principal {
        let r = roll(100)
        if r < 3 { return .administrator }
        if r < 5 { return .anonymous }
        if r < 7 { return .user(neverMinted()) }
        if r < 16, let user = pick(catalog.users) { return .user(user) }
        if let account {
            if r < 28, let user = pick(catalog.outsidersOf[account] ?? []) { return .user(user) }
            let s = roll(100)
            if s < 55, let user = pick(catalog.activeOwnersOf[account] ?? []) { return .user(user) }
            if s < 70, let user = pick(catalog.activeSettingsEditorsOf[account] ?? []) { return .user(user) }
            if s < 90, let user = pick(catalog.activeUsersOf[account] ?? []) { return .user(user) }
            if let user = pick(catalog.usersOf[account] ?? []) { return .user(user) }
        }
        if let user = pick(catalog.users) { return .user(user) }
        return .administrator
    }

    /// An administrator's call (R1, R3, R20), now and then tried by someone else.
    private mutating func administrator(or account: AccountID?) -> Principal {
        chance(85) ? .administrator : actor(in: account)
    }

    // MARK: - Commands

    private func weight(_ kind: CommandKind) -> Int {
        switch kind {
        case .createAccount: catalog.accounts.count < 4 ? 60 : 1
        case .setLicenseCount: 4
        case .renameAccount, .updateBilling: 2
        case .addUser: 16
        case .editUser: 9
        case .deactivateUser: 5
        case .reactivateUser: 4
        case .resendActivation: 3
        case .activateUser: catalog.users.contains { state.users[$0]!.status == .pending } ? 9 : 2
        case .createRole, .editRole: 4
        case .deleteRole: 2
        case .createOffice: 4
        case .renameOffice, .deleteOffice: 2
        case .createProject: 6
        case .updateProject: 5
        case .deleteProject: 2
        case .createProduct: 5
        case .renameProduct, .deleteProduct: 2
        case .shareAccess: 8
        case .removeShare, .retireShare: catalog.shares.isEmpty ? 1 : 3
        case .addClient: 5
        case .requestClientAccess: linkCount([.none, .denied]) > 0 ? 6 : 1
        case .approveClientAccess: linkCount([.pending]) > 0 ? 7 : 1
        case .denyClientAccess: linkCount([.pending]) > 0 ? 3 : 1
        case .revokeClientAccess: linkCount([.approved]) > 0 ? 3 : 1
        case .removeClient: 1
        case .acknowledgeOutbox: 3
        }
    }

    private func linkCount(_ statuses: Set<AccessRequestStatus>) -> Int {
        catalog.links.count { statuses.contains(state.clientLinks[$0]!.status) }
    }

    private mutating func pickKind() -> CommandKind {
        let weights = CommandKind.allCases.map { weight($0) }
        var r = roll(weights.reduce(0, +))
        for (kind, weight) in zip(CommandKind.allCases, weights) {
            if r < weight { return kind }
            r -= weight
        }
        return .createAccount
    }

    private mutating func make(_ kind: CommandKind) -> GeneratedCommand {
        switch kind {
        case .createAccount:
            let request = CreateAccount(
                name: name(Self.accountNames), kind: pick([.standard, .standard, .agency, .partner])!,
                region: chance(60) ? .global : .eu, fullAccessLicenses: chance(4) ? 0 : 1 + roll(3), billing: billing(),
                ownerEmail: email(), ownerFirstName: name(Self.firstNames), ownerLastName: name(Self.lastNames))
            return GeneratedCommand(command: .createAccount(request), principal: administrator(or: nil))

        case .setLicenseCount:
            let account = account()
            let inUse = state.licensesInUse(account)
            let count = chance(8) ? 0 : max(0, inUse - 1 + roll(5))
            return GeneratedCommand(command: .setLicenseCount(account: account, count: count), principal: administrator(or: account))

        case .renameAccount:
            let account = account()
            return GeneratedCommand(
                command: .renameAccount(account: account, name: name(Self.accountNames)), principal: actor(in: account))

        case .updateBilling:
            let account = account()
            return GeneratedCommand(command: .updateBilling(account: account, billing: billing()), principal: actor(in: account))

        case .addUser:
            let account = account()
            let request = AddUser(
                account: account, email: email(), firstName: name(Self.firstNames), lastName: name(Self.lastNames),
                role: id(catalog.rolesOf[account] ?? [], catalog.roles, preferredPercent: 88), extraPermissions: extraPermissions(),
                offices: offices(of: account))
            return GeneratedCommand(command: .addUser(request), principal: actor(in: account))

        case .editUser:
            let aimsAtOwner = chance(25)
            let target = aimsAtOwner ? activeOwner() : id(catalog.users, catalog.users, preferredPercent: 92)
            let account = state.users[target]?.account
            var request = EditUser(user: target)
            if chance(35) { request.firstName = name(Self.firstNames) }
            if chance(25) { request.lastName = name(Self.lastNames) }
            if chance(25) { request.email = email() }
            if chance(30), let account { request.offices = offices(of: account) }
            if chance(aimsAtOwner ? 80 : 45) { request.role = id(account.flatMap { catalog.rolesOf[$0] } ?? [], catalog.roles) }
            if chance(30) { request.extraPermissions = extraPermissions() }
            let principal = aimsAtOwner ? ownerMover(in: account) : chance(15) ? .user(target) : actor(in: account)
            return GeneratedCommand(command: .editUser(request), principal: principal)

        case .deactivateUser:
            let aimsAtOwner = chance(25)
            let target = aimsAtOwner ? activeOwner() : user(preferring: { $0 != .deactivated })
            let account = state.users[target]?.account
            let principal = aimsAtOwner ? ownerMover(in: account) : chance(5) ? .user(target) : actor(in: account)
            return GeneratedCommand(command: .deactivateUser(target), principal: principal)

        case .reactivateUser:
            let target = user(preferring: { $0 == .deactivated })
            return GeneratedCommand(command: .reactivateUser(target), principal: actor(in: state.users[target]?.account))

        case .resendActivation:
            let target = user(preferring: { $0 == .pending })
            return GeneratedCommand(command: .resendActivation(target), principal: actor(in: state.users[target]?.account))

        case .activateUser:
            return GeneratedCommand(command: .activateUser(token: token()), principal: chance(80) ? .anonymous : actor(in: nil))

        case .createRole:
            let account = account()
            let access: RoleAccess = chance(60) ? .full : .viewer
            let permissions = access == .full ? permissions(percent: 25) : viewerPermissions()
            return GeneratedCommand(
                command: .createRole(account: account, name: name(Self.roleNames), access: access, permissions: permissions),
                principal: actor(in: account))

        case .editRole:
            let editable = catalog.roles.filter { state.roles[$0]!.builtIn != .accountOwner }
            let role: RoleID = id(editable, catalog.roles, preferredPercent: 80)
            var request = EditRole(role: role)
            if chance(30) { request.name = name(Self.roleNames) }
            if chance(35) { request.access = chance(50) ? .full : .viewer }
            if chance(55) { request.permissions = request.access == .viewer ? viewerPermissions() : permissions(percent: 25) }
            return GeneratedCommand(command: .editRole(request), principal: actor(in: state.roles[role]?.account))

        case .deleteRole:
            let custom = catalog.roles.filter { state.roles[$0]!.builtIn == nil }
            let role: RoleID = id(custom, catalog.roles, preferredPercent: 75)
            return GeneratedCommand(command: .deleteRole(role), principal: actor(in: state.roles[role]?.account))

        case .createOffice:
            let account = account()
            return GeneratedCommand(
                command: .createOffice(account: account, name: name(Self.officeNames)), principal: actor(in: account))

        case .renameOffice:
            let office: OfficeID = id(catalog.offices, catalog.offices, preferredPercent: 90)
            return GeneratedCommand(
                command: .renameOffice(office, name: name(Self.officeNames)), principal: actor(in: state.offices[office]?.account))

        case .deleteOffice:
            let office: OfficeID = id(catalog.offices, catalog.offices, preferredPercent: 90)
            return GeneratedCommand(command: .deleteOffice(office), principal: actor(in: state.offices[office]?.account))

        case .createProject:
            let account = account()
            var members = subset(of: catalog.usersOf[account] ?? [], percent: 20)
            if chance(5) { members.insert(id([], catalog.users)) }
            let request = CreateProject(
                account: account, name: name(Self.projectNames), visibility: chance(60) ? .public : .private,
                offices: offices(of: account), members: members)
            return GeneratedCommand(command: .createProject(request), principal: actor(in: account))

        case .updateProject:
            let project: ProjectID = id(catalog.projects, catalog.projects, preferredPercent: 90)
            let account = state.projects[project]?.account
            var request = UpdateProject(project: project)
            if chance(30) { request.name = name(Self.projectNames) }
            if chance(40) { request.visibility = chance(50) ? .public : .private }
            if chance(40), let account { request.offices = offices(of: account) }
            if chance(40), let account {
                var members = subset(of: catalog.usersOf[account] ?? [], percent: 25)
                if chance(5) { members.insert(id([], catalog.users)) }
                request.members = members
            }
            return GeneratedCommand(command: .updateProject(request), principal: actor(in: account))

        case .deleteProject:
            let project: ProjectID = id(catalog.projects, catalog.projects, preferredPercent: 90)
            return GeneratedCommand(command: .deleteProject(project), principal: actor(in: state.projects[project]?.account))

        case .createProduct:
            let account = account()
            return GeneratedCommand(
                command: .createProduct(account: account, kind: chance(50) ? .container : .gateway, name: name(Self.productNames)),
                principal: actor(in: account))

        case .renameProduct:
            let product: ProductID = id(catalog.products, catalog.products, preferredPercent: 90)
            return GeneratedCommand(
                command: .renameProduct(product, name: name(Self.productNames)),
                principal: actor(in: state.products[product]?.account))

        case .deleteProduct:
            let product: ProductID = id(catalog.products, catalog.products, preferredPercent: 90)
            return GeneratedCommand(command: .deleteProduct(product), principal: actor(in: state.products[product]?.account))

        case .shareAccess:
            let owner = account()
            let r = roll(100)
            let others = catalog.users.filter { state.users[$0]!.account != owner }
            let fitting = others.filter { id in
                let user = state.users[id]!
                let home = state.accounts[user.account]!
                return user.status == .active && home.kind == .standard && home.region == state.accounts[owner]?.region
            }
            let granteeEmail: String
            if r < 55, let user = pick(fitting) {
                granteeEmail = email(of: user)
            } else if r < 75, let user = pick(others) {
                granteeEmail = email(of: user)
            } else if r < 85, let user = pick(catalog.usersOf[owner] ?? []) {
                granteeEmail = email(of: user)
            } else {
                granteeEmail = email()
            }
            let scope: ShareScope
            if chance(50) {
                scope = .allCurrentAndNew
            } else {
                var list = subset(of: catalog.productsOf[owner] ?? [], percent: 40)
                if chance(6) { list.insert(id([], catalog.products)) }
                scope = .products(list)
            }
            let request = ShareAccess(owner: owner, granteeEmail: granteeEmail, scope: scope, billing: chance(50))
            return GeneratedCommand(command: .shareAccess(request), principal: actor(in: owner))

        case .removeShare:
            let share: ShareID = id(catalog.shares, catalog.shares, preferredPercent: 90)
            return GeneratedCommand(command: .removeShare(share), principal: actor(in: state.shares[share]?.owner))

        case .retireShare:
            let share: ShareID = id(catalog.shares, catalog.shares, preferredPercent: 90)
            let principal: Principal =
                if let grantee = state.shares[share]?.grantee, chance(60) { .user(grantee) } else { actor(in: nil) }
            return GeneratedCommand(command: .retireShare(share), principal: principal)

        case .addClient:
            let agencies = catalog.accounts.filter { state.accounts[$0]!.kind != .standard }
            let standards = catalog.accounts.filter { state.accounts[$0]!.kind == .standard }
            let agency = id(agencies, catalog.accounts, preferredPercent: 80)
            let region = state.accounts[agency]?.region
            let fitting = standards.filter { state.accounts[$0]!.region == region }
            let client = chance(75) ? id(fitting, catalog.accounts) : id(standards, catalog.accounts, preferredPercent: 85)
            return GeneratedCommand(command: .addClient(agency: agency, client: client), principal: actor(in: agency))

        case .requestClientAccess:
            let key = link(preferring: [.none, .denied])
            return GeneratedCommand(
                command: .requestClientAccess(agency: key.agency, client: key.client), principal: actor(in: key.agency))

        case .approveClientAccess:
            let key = link(preferring: [.pending])
            let r = roll(100)
            let role: RoleID? = r < 35 ? nil : id(catalog.rolesOf[key.client] ?? [], catalog.roles)
            return GeneratedCommand(
                command: .approveClientAccess(client: key.client, agency: key.agency, role: role), principal: actor(in: key.client))

        case .denyClientAccess:
            let key = link(preferring: [.pending])
            return GeneratedCommand(
                command: .denyClientAccess(client: key.client, agency: key.agency), principal: actor(in: key.client))

        case .revokeClientAccess:
            let key = link(preferring: [.approved])
            return GeneratedCommand(
                command: .revokeClientAccess(client: key.client, agency: key.agency), principal: actor(in: key.client))

        case .removeClient:
            let key = link(preferring: AccessRequestStatus.allCases)
            return GeneratedCommand(command: .removeClient(agency: key.agency, client: key.client), principal: actor(in: key.agency))

        case .acknowledgeOutbox:
            let r = roll(100)
            var ids: [OutboxMessageID] = []
            if r >= 8 {
                for _ in 0...roll(3) { if let id = pick(catalog.outbox) { ids.append(id) } }
                if r >= 90 || ids.isEmpty { ids.append(neverMinted()) }
            }
            return GeneratedCommand(command: .acknowledgeOutbox(ids), principal: administrator(or: nil))
        }
    }

    /// An ACTIVE Account Owner of some account, often the last one (R5), mostly
    /// of an account where someone else may deactivate or demote them.
    private mutating func activeOwner() -> UserID {
        let contested = catalog.accounts.filter { catalog.activeSettingsEditorsOf[$0] != nil }
        if chance(75), let account = pick(contested), let owner = pick(catalog.activeOwnersOf[account] ?? []) { return owner }
        return id(catalog.accounts.flatMap { catalog.activeOwnersOf[$0] ?? [] }, catalog.users, preferredPercent: 95)
    }

    /// Who deactivates or demotes an Account Owner: mostly a non-owner who may
    /// (so that the last owner is at stake, R5), else anyone.
    private mutating func ownerMover(in account: AccountID?) -> Principal {
        if let account, chance(85), let user = pick(catalog.activeSettingsEditorsOf[account] ?? []) { return .user(user) }
        return actor(in: account)
    }

    /// A user, mostly one whose status fits, else any, else one never minted.
    private mutating func user(preferring fits: (UserStatus) -> Bool) -> UserID {
        let fitting = catalog.users.filter { fits(state.users[$0]!.status) }
        return id(fitting, catalog.users, preferredPercent: 70)
    }

    /// A client link, mostly one whose status fits; sometimes any pair of accounts.
    private mutating func link(preferring statuses: [AccessRequestStatus]) -> ClientLinkKey {
        let r = roll(100)
        let fitting = catalog.links.filter { statuses.contains(state.clientLinks[$0]!.status) }
        if r < 70, let key = pick(fitting) { return key }
        if r < 88, let key = pick(catalog.links) { return key }
        return ClientLinkKey(agency: account(), client: account())
    }

    /// The token of `message` if it is the newest one queued for a PENDING user.
    private func newestToken(_ message: OutboxMessageID) -> String? {
        let message = state.outbox[message]!
        guard state.users[message.user]?.status == .pending,
            !state.outbox.values.contains(where: { $0.user == message.user && $0.id > message.id })
        else { return nil }
        return message.token
    }

    /// An activation token: from an unacknowledged message (valid, replaced or
    /// expired), any ever queued (often used), padded, random, or empty.
    private mutating func token() -> String {
        let r = roll(100)
        if r < 45, let token = pick(catalog.outbox.compactMap(newestToken)) { return token }
        if r < 60, let id = pick(catalog.outbox) { return state.outbox[id]!.token }
        if r < 72, let token = pick(tokens) { return token }
        if r < 78, let token = pick(tokens) { return " \(token)\n" }
        if r < 95 { return (0..<4).map { _ in String(rng.next(), radix: 16) }.joined() }
        return pick(["", "   "])!
    }
}
