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
    /// A sentence for people.
    public var reason: String
    /// The rule that denied it.
    public var deniedBy: Rule?

    static func allow(_ path: AccessPath, _ reason: String) -> CheckResult {
        CheckResult(allowed: true, path: path, reason: reason, deniedBy: nil)
    }

    static func deny(_ rule: Rule, _ reason: String, path: AccessPath? = nil) -> CheckResult {
        CheckResult(allowed: false, path: path, reason: reason, deniedBy: rule)
    }
}

extension AccessState {
    /// R19. Unknown ids are NOT_FOUND; a resource that does not fit the
    /// permission or the account is INVALID_ARGUMENT. O(log n) in all users.
    public func check(_ request: CheckRequest) throws(AccessError) -> CheckResult {
        guard let user = users[request.user] else { throw .notFound("no user \(request.user)") }
        guard accounts[request.account] != nil else { throw .notFound("no account \(request.account)") }
        try validate(request.resource, for: request.permission, in: request.account)
        return evaluate(user: user, account: request.account, permission: request.permission, resource: request.resource)
    }

    /// A resource must exist, belong to the account and fit the permission.
    func validate(_ resource: CheckResource?, for permission: Permission, in account: AccountID) throws(AccessError) {
        switch resource {
        case nil:
            return
        case .project(let id):
            guard let project = projects[id] else { throw .notFound("no project \(id)") }
            guard project.account == account else {
                throw .invalidArgument("project \(id) belongs to account \(project.account), not \(account)")
            }
            guard [.viewProjects, .viewAllProjects, .manageProjects].contains(permission) else {
                throw .invalidArgument("\(permission) is not checked on a project; use VIEW_PROJECTS or MANAGE_PROJECTS")
            }
        case .product(let id):
            guard let product = products[id] else { throw .notFound("no product \(id)") }
            guard product.account == account else {
                throw .invalidArgument("product \(id) belongs to account \(product.account), not \(account)")
            }
            guard permission == .manageProducts else {
                throw .invalidArgument("\(permission) is not checked on a product; use MANAGE_PRODUCTS")
            }
        }
    }

    /// The decision itself, for existing things; `decide` uses it too, so that
    /// a write is allowed exactly when Check says so.
    func evaluate(user: User, account: AccountID, permission: Permission, resource: CheckResource?) -> CheckResult {
        // R7: only an ACTIVE user acts, through any path.
        guard user.status == .active else {
            return .deny(.r7, "user \(user.id) is \(user.status.rawValue), and only ACTIVE users act")
        }
        guard let grant = grant(of: user, in: account) else {
            if let link = clientLinks[ClientLinkKey(agency: user.account, client: account)], link.status == .approved {
                return .deny(
                    .r18, "user \(user.id) lacks MANAGE_CLIENTS in agency \(user.account), so cannot act in client \(account)")
            }
            return .deny(.r19, "user \(user.id) has no role, share or client link in account \(account)")
        }
        guard grant.holds(permission) else {
            let rule: Rule = switch grant.path {
                case .homeRole: permission.governingRule
                case .share: .r16
                case .clientLink: .r18
            }
            return .deny(rule, "\(grant.path) does not give \(permission) in account \(account)", path: grant.path)
        }
        switch resource {
        case .project(let id):
            guard sees(projects[id]!, user: user, grant: grant) else {
                return .deny(.r14, "user \(user.id) does not see project \(id)", path: grant.path)
            }
        case .product(let id):
            guard grant.productScope.covers(id) else {
                return .deny(.r16, "\(grant.path) does not cover product \(id)", path: grant.path)
            }
        case nil:
            // Account-wide MANAGE_PRODUCTS (creating one) needs a scope of every current and new product.
            if permission == .manageProducts, grant.productScope != .allCurrentAndNew {
                return .deny(.r16, "\(grant.path) covers chosen products only, not the whole account", path: grant.path)
            }
        }
        return .allow(grant.path, "allowed by \(grant.path)")
    }
}
