/// What `decide` needs besides the state and the command.
public struct CommandContext: Hashable, Sendable {
    /// Who the call acts for.
    public var principal: Principal
    /// The time of the command; the core has no clock.
    public var now: Timestamp
    public var policy: DomainPolicy
    /// The local process that made the call, recorded in every event it produces.
    public var caller: Caller?

    public init(principal: Principal, now: Timestamp, policy: DomainPolicy = DomainPolicy(), caller: Caller? = nil) {
        self.principal = principal
        self.now = now
        self.policy = policy
        self.caller = caller
    }
}

extension AccessState {
    /// Validates `command` for `context.principal` against this state and
    /// returns the events it produces, numbered from `nextSeq`; or throws the
    /// reason it is refused, changing nothing (R21). Pure: randomness (for
    /// activation tokens) comes from `rng`, time from the context.
    ///
    /// - Complexity: O(log n) in all users for most commands; commands that
    ///   touch every user of a role or an account cost in proportion to those.
    public func decide<R: RandomNumberGenerator>(
        _ command: Command, context: CommandContext, using rng: inout R
    ) throws(AccessError) -> [Event] {
        var decider = Decider(state: self, context: context, rng: rng)
        try decider.decide(command)
        rng = decider.rng
        return decider.recorder.events
    }

    /// `decide`, then `apply`: the write path of the daemon. Returns the events applied.
    @discardableResult
    public mutating func execute<R: RandomNumberGenerator>(
        _ command: Command, context: CommandContext, using rng: inout R
    ) throws(AccessError) -> [Event] {
        let events = try decide(command, context: context, using: &rng)
        do {
            try apply(events)
        } catch {
            preconditionFailure("decide produced events that apply refuses: \(error)")
        }
        return events
    }
}

/// Numbers events as `decide` produces them and mints ids from their numbers.
struct EventRecorder {
    private(set) var nextSeq: UInt64
    let time: Timestamp
    let actor: Principal
    let caller: Caller?
    private(set) var events: [Event] = []

    init(nextSeq: UInt64, time: Timestamp, actor: Principal, caller: Caller?) {
        self.nextSeq = nextSeq
        self.time = time
        self.actor = actor
        self.caller = caller
    }

    /// The id of the thing the next recorded event creates.
    func nextID<ID: EntityID>() -> ID { ID(sequence: nextSeq) }

    mutating func record(_ change: Change) {
        events.append(Event(seq: nextSeq, time: time, actor: actor, caller: caller, change: change))
        nextSeq += 1
    }
}

/// One run of `decide`: the state it reads, the context, and the events so far.
/// The per-area rules live in `Decide+*.swift`.
struct Decider<R: RandomNumberGenerator> {
    let state: AccessState
    let context: CommandContext
    var rng: R
    var recorder: EventRecorder

    init(state: AccessState, context: CommandContext, rng: R) {
        self.state = state
        self.context = context
        self.rng = rng
        self.recorder = EventRecorder(nextSeq: state.nextSeq, time: context.now, actor: context.principal, caller: context.caller)
    }

    var now: Timestamp { context.now }

    mutating func decide(_ command: Command) throws(AccessError) {
        switch command {
        case .createAccount(let request): try createAccount(request)
        case .setLicenseCount(let account, let count): try setLicenseCount(account, count)
        case .renameAccount(let account, let name): try renameAccount(account, name)
        case .updateBilling(let account, let billing): try updateBilling(account, billing)
        case .addUser(let request): try addUser(request)
        case .editUser(let request): try editUser(request)
        case .deactivateUser(let user): try deactivateUser(user)
        case .reactivateUser(let user): try reactivateUser(user)
        case .resendActivation(let user): try resendActivation(user)
        case .activateUser(let token): try activateUser(token)
        case .createRole(let account, let name, let access, let permissions):
            try createRole(account, name, access, permissions)
        case .editRole(let request): try editRole(request)
        case .deleteRole(let role): try deleteRole(role)
        case .createOffice(let account, let name): try createOffice(account, name)
        case .renameOffice(let office, let name): try renameOffice(office, name)
        case .deleteOffice(let office): try deleteOffice(office)
        case .createProject(let request): try createProject(request)
        case .updateProject(let request): try updateProject(request)
        case .deleteProject(let project): try deleteProject(project)
        case .createProduct(let account, let kind, let name): try createProduct(account, kind, name)
        case .renameProduct(let product, let name): try renameProduct(product, name)
        case .deleteProduct(let product): try deleteProduct(product)
        case .shareAccess(let request): try shareAccess(request)
        case .removeShare(let share): try removeShare(share)
        case .retireShare(let share): try retireShare(share)
        case .addClient(let agency, let client): try addClient(agency: agency, client: client)
        case .requestClientAccess(let agency, let client): try requestClientAccess(agency: agency, client: client)
        case .approveClientAccess(let client, let agency, let role):
            try approveClientAccess(client: client, agency: agency, role: role)
        case .denyClientAccess(let client, let agency): try denyClientAccess(client: client, agency: agency)
        case .revokeClientAccess(let client, let agency): try revokeClientAccess(client: client, agency: agency)
        case .removeClient(let agency, let client): try removeClient(agency: agency, client: client)
        case .acknowledgeOutbox(let ids): try acknowledgeOutbox(ids)
        }
    }

    // MARK: - Who is acting

    /// The calls of R1 and R3 (and the mailer's, R20) belong to administrators.
    func requireAdministrator(_ what: String, rule: Rule) throws(AccessError) {
        guard context.principal == .administrator else {
            throw .permissionDenied("\(what) is an administrator's call (a privileged local peer), not a user's", rule: rule)
        }
    }

    /// The user the call acts for; it must exist and be ACTIVE (R7).
    func actingUser() throws(AccessError) -> User {
        try state.actingUser(context.principal)
    }

    /// The acting user, if they may use `permission` in `account` (on `resource`).
    /// The account must exist. A denial names the rule that decided.
    @discardableResult
    func authorize(
        _ permission: Permission, in account: AccountID, on resource: CheckResource? = nil
    ) throws(AccessError) -> (user: User, grant: AccessGrant) {
        let user = try actingUser()
        _ = try self.account(account)
        let (result, grant) = state.decision(user: user, account: account, permission: permission, resource: resource)
        guard result.allowed, let grant else {
            throw .permissionDenied(result.reason, rule: result.deniedBy)
        }
        return (user, grant)
    }

    // MARK: - Lookups that fail with NOT_FOUND

    func account(_ id: AccountID) throws(AccessError) -> Account {
        guard let account = state.accounts[id] else { throw .notFound("no account \(PeerText.quote(id))") }
        return account
    }

    func user(_ id: UserID) throws(AccessError) -> User {
        guard let user = state.users[id] else { throw .notFound("no user \(PeerText.quote(id))") }
        return user
    }

    func role(_ id: RoleID, in account: AccountID) throws(AccessError) -> Role {
        guard let role = state.roles[id], role.account == account else {
            throw .notFound("no role \(PeerText.quote(id)) in account \(account)")
        }
        return role
    }

    /// R8, R10, R14: every office must exist in the account.
    func requireOffices(_ ids: Set<OfficeID>, in account: AccountID) throws(AccessError) {
        for id in ids.sorted() where state.offices[id]?.account != account {
            throw .notFound("no office \(PeerText.quote(id)) in account \(account)")
        }
    }

    /// R2: a license must be free for `count` more FULL-access users.
    func requireLicenses(_ count: Int, in account: Account, for what: String) throws(AccessError) {
        let inUse = state.licensesInUse(account.id)
        guard inUse + count <= account.fullAccessLicenses else {
            throw .resourceExhausted(
                "cannot \(what): \(inUse) of \(account.fullAccessLicenses) Full-Access licenses of account \(account.id) are in use; deactivate a user, move one to a VIEWER role, or buy more licenses",
                rule: .r2)
        }
    }

    /// R10: a VIEWER role, and a user with one, carries no permission but VIEW_PROJECTS and VIEW_BILLING.
    func requireViewerPermissions(_ permissions: Permissions, access: RoleAccess, what: String) throws(AccessError) {
        let excess = permissions.subtracting(.viewerAllowed)
        guard access == .full || excess.isEmpty else {
            throw .invalidArgument(
                "\(what) has a VIEWER role, which can carry only VIEW_PROJECTS and VIEW_BILLING, not \(excess)",
                rule: .r10)
        }
    }

    /// R8: an email names at most one user per region.
    func requireFreeEmail(_ email: String, region: Region, except user: UserID? = nil) throws(AccessError) {
        if let owner = state.indexes.userByEmail[EmailKey(region: region, email: email)], owner != user {
            throw .alreadyExists("the email \(PeerText.quote(email)) is already used by a user in region \(region.rawValue)", rule: .r8)
        }
    }

    // MARK: - Activation (R8, R9)

    /// Issues a new activation for a PENDING user and queues its email.
    mutating func issueActivation(for user: User) {
        let token = ActivationToken.make(using: &rng)
        let expiresAt = now.adding(milliseconds: context.policy.activationLifetimeMilliseconds)
        recorder.record(
            .activationIssued(
                PendingActivation(tokenHash: TokenHash(token: token), user: user.id, issuedAt: now, expiresAt: expiresAt)))
        let messageID: OutboxMessageID = recorder.nextID()
        recorder.record(
            .outboxMessageQueued(
                OutboxMessage(
                    id: messageID, kind: .activationEmail, to: user.email, user: user.id, token: token, queuedAt: now,
                    expiresAt: expiresAt)))
    }
}

extension AccessState {
    /// The user a principal acts as: it must be a known user (UNAUTHENTICATED
    /// otherwise) and ACTIVE (R7, PERMISSION_DENIED otherwise).
    public func actingUser(_ principal: Principal) throws(AccessError) -> User {
        switch principal {
        case .administrator:
            throw .permissionDenied("this call acts for a user: name the actor (a user id or email)")
        case .anonymous:
            throw .unauthenticated("this call acts for a user: name the actor (a user id or email)")
        case .user(let id):
            guard let user = users[id] else { throw .unauthenticated("the actor \(PeerText.quote(id)) is not a user") }
            guard user.status == .active else {
                throw .permissionDenied("user \(id) is \(user.status.rawValue); only ACTIVE users act", rule: .r7)
            }
            return user
        }
    }

    /// Licenses in use in an account (R2). O(log n).
    public func licensesInUse(_ account: AccountID) -> Int { indexes.licensesInUse[account] ?? 0 }
}
