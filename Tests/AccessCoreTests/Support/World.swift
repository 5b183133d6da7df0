import AccessStatus
import Testing

@testable import AccessCore

/// A state with a clock and a seeded random source, and the shortcuts the
/// rule tests share. Every command goes through `decide` + `apply`, as in the daemon.
struct World {
    var state = AccessState()
    var rng = SeededGenerator(seed: 0x5EED)
    var now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    var policy = DomainPolicy()
    /// Every event applied so far, in order.
    var history: [Event] = []

    /// Runs a command that must be accepted; the clock moves one second.
    @discardableResult
    mutating func run(
        _ command: Command, as principal: Principal, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [Event] {
        let context = CommandContext(principal: principal, now: now, policy: policy)
        let events = try state.execute(command, context: context, using: &rng)
        history += events
        now = now.adding(milliseconds: 1000)
        #expect(!events.isEmpty, "an accepted write produces at least one event (R20)", sourceLocation: sourceLocation)
        return events
    }

    /// Runs a command that must be refused with `code` (and `rule`, when given),
    /// and checks that the refusal changed nothing (R21).
    @discardableResult
    mutating func reject(
        _ command: Command, as principal: Principal, _ code: StatusCode, rule: Rule? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> AccessError? {
        let before = state
        let context = CommandContext(principal: principal, now: now, policy: policy)
        do {
            let events = try state.execute(command, context: context, using: &rng)
            history += events
            Issue.record("expected \(code), but the command was accepted: \(events.map(\.change.kind))", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            if let rule { #expect(error.rule == rule, "\(error)", sourceLocation: sourceLocation) }
            #expect(state == before, "a refused command must change nothing (R21)", sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
            return error
        }
    }

    // MARK: - Shortcuts

    /// Creates an account as an administrator; returns it and its owner.
    @discardableResult
    mutating func createAccount(
        _ name: String = "Acme", kind: AccountKind = .standard, region: Region = .global, licenses: Int = 5,
        owner email: String? = nil
    ) throws -> (account: AccountID, owner: UserID) {
        let email = email ?? "owner.\(state.nextSeq)@example.com"
        let events = try run(
            .createAccount(
                CreateAccount(
                    name: name, kind: kind, region: region, fullAccessLicenses: licenses, ownerEmail: email,
                    ownerFirstName: "Olga", ownerLastName: "Owner")),
            as: .administrator)
        guard case .accountCreated(let account) = events.first?.change,
            case .userAdded(let owner) = events.last?.change
        else { throw WorldError.unexpected("createAccount events: \(events.map(\.change.kind))") }
        return (account.id, owner.id)
    }

    /// The id of a built-in role of an account.
    func role(_ builtIn: BuiltInRole, of account: AccountID) -> RoleID {
        state.indexes.roleByName[ScopedName(account: account, name: builtIn.rawValue)]!
    }

    /// Adds a user (PENDING); returns its id.
    @discardableResult
    mutating func addUser(
        to account: AccountID, email: String, role: RoleID? = nil, extraPermissions: Permissions = [],
        offices: Set<OfficeID> = [], as actor: UserID, firstName: String = "Ada", lastName: String = "Lovelace"
    ) throws -> UserID {
        let events = try run(
            .addUser(
                AddUser(
                    account: account, email: email, firstName: firstName, lastName: lastName,
                    role: role ?? self.role(.member, of: account), extraPermissions: extraPermissions, offices: offices)),
            as: .user(actor))
        guard case .userAdded(let user) = events.first?.change else {
            throw WorldError.unexpected("addUser events: \(events.map(\.change.kind))")
        }
        return user.id
    }

    /// The token of the newest activation email queued for a user.
    func activationToken(of user: UserID) -> String? {
        state.outbox.values.filter { $0.user == user }.max { $0.id < $1.id }?.token
    }

    /// Adds a user and activates it with the token from its activation email.
    @discardableResult
    mutating func addActiveUser(
        to account: AccountID, email: String, role: RoleID? = nil, extraPermissions: Permissions = [],
        offices: Set<OfficeID> = [], as actor: UserID, firstName: String = "Ada", lastName: String = "Lovelace"
    ) throws -> UserID {
        let id = try addUser(
            to: account, email: email, role: role, extraPermissions: extraPermissions, offices: offices, as: actor,
            firstName: firstName, lastName: lastName)
        try run(.activateUser(token: activationToken(of: id)!), as: .anonymous)
        return id
    }

    mutating func createOffice(_ name: String, in account: AccountID, as actor: UserID) throws -> OfficeID {
        let events = try run(.createOffice(account: account, name: name), as: .user(actor))
        guard case .officeCreated(let office) = events.first?.change else { throw WorldError.unexpected("office") }
        return office.id
    }

    mutating func createRole(
        _ name: String, access: RoleAccess, permissions: Permissions, in account: AccountID, as actor: UserID
    ) throws -> RoleID {
        let events = try run(
            .createRole(account: account, name: name, access: access, permissions: permissions), as: .user(actor))
        guard case .roleCreated(let role) = events.first?.change else { throw WorldError.unexpected("role") }
        return role.id
    }

    mutating func createProject(
        _ name: String, in account: AccountID, visibility: ProjectVisibility = .public, offices: Set<OfficeID> = [],
        members: Set<UserID> = [], as actor: UserID
    ) throws -> ProjectID {
        let events = try run(
            .createProject(
                CreateProject(account: account, name: name, visibility: visibility, offices: offices, members: members)),
            as: .user(actor))
        guard case .projectCreated(let project) = events.first?.change else { throw WorldError.unexpected("project") }
        return project.id
    }

    mutating func createProduct(
        _ name: String, kind: ProductKind = .container, in account: AccountID, as actor: UserID
    ) throws -> ProductID {
        let events = try run(.createProduct(account: account, kind: kind, name: name), as: .user(actor))
        guard case .productCreated(let product) = events.first?.change else { throw WorldError.unexpected("product") }
        return product.id
    }

    @discardableResult
    mutating func share(
        _ owner: AccountID, with email: String, scope: ShareScope = .allCurrentAndNew, billing: Bool = false,
        as actor: UserID
    ) throws -> ShareID {
        let events = try run(
            .shareAccess(ShareAccess(owner: owner, granteeEmail: email, scope: scope, billing: billing)), as: .user(actor))
        switch events.first?.change {
        case .accessShared(let share), .shareUpdated(let share): return share.id
        default: throw WorldError.unexpected("share")
        }
    }

    func check(
        _ user: UserID, _ account: AccountID, _ permission: Permission, _ resource: CheckResource? = nil
    ) throws -> CheckResult {
        try state.check(CheckRequest(user: user, account: account, permission: permission, resource: resource))
    }

    /// Replays the whole history on an empty state.
    func replayed() throws -> AccessState {
        var fresh = AccessState()
        try fresh.apply(history)
        return fresh
    }
}

enum WorldError: Error {
    case unexpected(String)
}
