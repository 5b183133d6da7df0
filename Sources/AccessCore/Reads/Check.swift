/// The thing a check is about, when it is about one thing (R19).
public enum CheckResource: Hashable, Sendable {
    case project(ProjectID)
    case product(ProductID)
}

/// `Check(user, account, permission[, project or product])` (R19).
public struct CheckRequest: Hashable, Sendable {
    public var user: UserID
    public var account: AccountID
    public var permission: Permission
    public var resource: CheckResource?

    public init(user: UserID, account: AccountID, permission: Permission, resource: CheckResource? = nil) {
        self.user = user
        self.account = account
        self.permission = permission
        self.resource = resource
    }
}

/// Allowed or not, and why (R19).
public struct CheckResult: Hashable, Sendable {
    public var allowed: Bool
    /// Through what it is allowed (or through what the user reached the account, when a rule denied).
    public var path: AccessPath?
    /// The rule that denied it.
    public var deniedBy: Rule? { denial?.rule }
    /// Why it was denied; nil when allowed.
    public var denial: Denial?

    /// A sentence for people, built only when asked for (checks are the hot path).
    public var reason: String {
        var text = ""
        forEachReasonPart { text += $0 }
        return text
    }

    /// `reason` in its parts (fixed words, ids and names, in order), so that
    /// a codec writes the sentence without formatting one per call.
    public func forEachReasonPart(_ body: (String) -> Void) {
        guard let denial else {
            body("allowed by ")
            if let path { path.forEachPart(body) } else { body("administrator") }
            return
        }
        denial.forEachPart(body)
    }

    static func allow(_ path: AccessPath) -> CheckResult {
        CheckResult(allowed: true, path: path, denial: nil)
    }

    static func deny(_ denial: Denial, path: AccessPath? = nil) -> CheckResult {
        CheckResult(allowed: false, path: path, denial: denial)
    }
}

/// Why a check failed, with the rule that decided (R19).
public enum Denial: Hashable, Sendable, CustomStringConvertible {
    /// R7: the user is PENDING or DEACTIVATED.
    case inactiveUser(UserID, UserStatus)
    /// R19: no home role, share or client link in the account.
    case noAccessPath(UserID, AccountID)
    /// R18: an approved client link, but the agency user lacks MANAGE_CLIENTS.
    case lacksManageClients(UserID, agency: AccountID, client: AccountID)
    /// The path does not give the permission (the rule of the permission, R16 for shares, R18 for client links).
    case permissionNotGiven(AccessPath, Permission, AccountID)
    /// R14.
    case projectNotVisible(UserID, ProjectID)
    /// R16: a share that does not list the product.
    case productNotShared(AccessPath, ProductID)
    /// R16: account-wide MANAGE_PRODUCTS through a share of chosen products.
    case shareNotAccountWide(AccessPath)

    public var rule: Rule {
        switch self {
        case .inactiveUser: .r7
        case .noAccessPath: .r19
        case .lacksManageClients: .r18
        case .permissionNotGiven(let path, let permission, _):
            switch path {
            case .homeRole: permission.governingRule
            case .share: .r16
            case .clientLink: .r18
            }
        case .projectNotVisible: .r14
        case .productNotShared, .shareNotAccountWide: .r16
        }
    }

    public var description: String {
        var text = ""
        forEachPart { text += $0 }
        return text
    }

    /// `description` in its parts (see `CheckResult.forEachReasonPart`).
    public func forEachPart(_ body: (String) -> Void) {
        switch self {
        case .inactiveUser(let user, let status):
            body("user "); body(user.rawValue); body(" is "); body(status.rawValue); body(", and only ACTIVE users act")
        case .noAccessPath(let user, let account):
            body("user "); body(user.rawValue); body(" has no role, share or client link in account "); body(account.rawValue)
        case .lacksManageClients(let user, let agency, let client):
            body("user "); body(user.rawValue); body(" lacks MANAGE_CLIENTS in agency "); body(agency.rawValue)
            body(", so cannot act in client "); body(client.rawValue)
        case .permissionNotGiven(let path, let permission, let account):
            path.forEachPart(body); body(" does not give "); body(permission.name); body(" in account "); body(account.rawValue)
        case .projectNotVisible(let user, let project):
            body("user "); body(user.rawValue); body(" does not see project "); body(project.rawValue)
        case .productNotShared(let path, let product):
            path.forEachPart(body); body(" does not cover product "); body(product.rawValue)
        case .shareNotAccountWide(let path):
            path.forEachPart(body); body(" covers chosen products only, not the whole account")
        }
    }
}

extension AccessState {
    /// R19, from the access `apply` keeps (`UserAccess`): one lookup of the
    /// user, a bit test, and the project or product where there is one.
    /// Unknown ids are NOT_FOUND; a resource that does not fit the permission
    /// or the account is INVALID_ARGUMENT. O(log n) in all users.
    public func check(_ request: CheckRequest) throws(AccessError) -> CheckResult {
        guard let access = indexes.access[request.user] else { throw .notFound("no user \(PeerText.quote(request.user))") }
        return try check(request, access: access)
    }

    /// `check` for a user's access already looked up (`access(of: request.user)`).
    public func check(_ request: CheckRequest, access: UserAccess) throws(AccessError) -> CheckResult {
        let grant = access.grant(in: request.account)
        // A grant names an account that exists (accounts are never deleted).
        if grant == nil, !accounts.contains(request.account) {
            throw .notFound("no account \(PeerText.quote(request.account))")
        }
        try validate(request.resource, for: request.permission, in: request.account)
        return judge(
            user: request.user, status: access.status, home: access.account, grant: access.status == .active ? grant : nil,
            account: request.account, permission: request.permission, resource: request.resource,
            lacksManageClients: access.lackingManageClients.contains(request.account), record: users[request.user]!)
    }

    /// R19 looked up from the primary collections, as it was before grants
    /// were kept: the reference the property tests hold `check` equal to.
    public func computedCheck(_ request: CheckRequest) throws(AccessError) -> CheckResult {
        guard let user = users[request.user] else { throw .notFound("no user \(PeerText.quote(request.user))") }
        guard accounts.contains(request.account) else { throw .notFound("no account \(PeerText.quote(request.account))") }
        try validate(request.resource, for: request.permission, in: request.account)
        return evaluate(user: user, account: request.account, permission: request.permission, resource: request.resource)
    }

    /// A resource must exist, belong to the account and fit the permission.
    func validate(_ resource: CheckResource?, for permission: Permission, in account: AccountID) throws(AccessError) {
        switch resource {
        case nil:
            return
        case .project(let id):
            guard let project = projects[id] else { throw .notFound("no project \(PeerText.quote(id))") }
            guard project.account == account else {
                throw .invalidArgument("project \(id) belongs to account \(project.account), not \(account)")
            }
            guard [.viewProjects, .viewAllProjects, .manageProjects].contains(permission) else {
                throw .invalidArgument("\(permission) is not checked on a project; use VIEW_PROJECTS or MANAGE_PROJECTS")
            }
        case .product(let id):
            guard let product = products[id] else { throw .notFound("no product \(PeerText.quote(id))") }
            guard product.account == account else {
                throw .invalidArgument("product \(id) belongs to account \(product.account), not \(account)")
            }
            guard permission == .manageProducts else {
                throw .invalidArgument("\(permission) is not checked on a product; use MANAGE_PRODUCTS")
            }
        }
    }

    /// The decision itself, for existing things, looked up from the primary
    /// collections; `decide` uses it too, so that a write is allowed exactly
    /// when Check says so.
    func evaluate(user: User, account: AccountID, permission: Permission, resource: CheckResource?) -> CheckResult {
        decision(user: user, account: account, permission: permission, resource: resource).result
    }

    /// `evaluate`, with the grant it found (nil when the user reaches the account by no path).
    func decision(
        user: User, account: AccountID, permission: Permission, resource: CheckResource?
    ) -> (result: CheckResult, grant: AccessGrant?) {
        let grant = user.status == .active ? grant(of: user, in: account) : nil
        let result = judge(
            user: user.id, status: user.status, home: user.account, grant: grant, account: account, permission: permission,
            resource: resource,
            lacksManageClients: clientLinks[ClientLinkKey(agency: user.account, client: account)]?.status == .approved,
            record: user)
        return (result, grant)
    }

    /// The grant (nil when the user is not ACTIVE or reaches the account by
    /// no path) against the permission and the resource. Whether the user's
    /// agency is approved in the account is asked only without a grant; the
    /// user's record only for offices and memberships (R14).
    private func judge(
        user: UserID, status: UserStatus, home: AccountID, grant: AccessGrant?, account: AccountID, permission: Permission,
        resource: CheckResource?, lacksManageClients: @autoclosure () -> Bool, record: @autoclosure () -> User
    ) -> CheckResult {
        // R7: only an ACTIVE user acts, through any path.
        guard status == .active else { return .deny(.inactiveUser(user, status)) }
        guard let grant else {
            // R18: the agency is approved in the client, but this user lacks MANAGE_CLIENTS.
            if lacksManageClients() { return .deny(.lacksManageClients(user, agency: home, client: account)) }
            return .deny(.noAccessPath(user, account))
        }
        guard grant.holds(permission) else {
            return .deny(.permissionNotGiven(grant.path, permission, account), path: grant.path)
        }
        switch resource {
        case .project(let id):
            guard sees(projects[id]!, user: record(), grant: grant) else {
                return .deny(.projectNotVisible(user, id), path: grant.path)
            }
        case .product(let id):
            guard grant.productScope.covers(id) else { return .deny(.productNotShared(grant.path, id), path: grant.path) }
        case nil:
            // Account-wide MANAGE_PRODUCTS (creating one) needs a scope of every current and new product.
            if permission == .manageProducts, grant.productScope != .allCurrentAndNew {
                return .deny(.shareNotAccountWide(grant.path), path: grant.path)
            }
        }
        return .allow(grant.path)
    }
}
