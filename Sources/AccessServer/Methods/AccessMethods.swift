import AccessMapping
public import AccessCore
public import AccessWire

extension MethodTable {
    /// AccessService (R19): any caller may check; the answer does not depend on the actor.
    static var accessService: [Entry] {
        [
            Handlers.read(Methods.check, shortcut: .checkFastPath) { request, context throws(AccessError) in
                try check(request, in: context.state)
            },
            Handlers.read(Methods.batchCheck, shortcut: .batchCheckFastPath) { request, context throws(AccessError) in
                try batchCheck(request, in: context.state, limit: context.batchCheckLimit)
            },
            Handlers.read(Methods.listAccessibleAccounts) { request, context throws(AccessError) in
                let user = try WireInput.user(request.user, field: "user", in: context.state)
                var response = Accessd_V1_ListAccessibleAccountsResponse()
                response.accounts = try context.state.accessibleAccounts(of: user).map(Accessd_V1_AccessibleAccount.init)
                return response
            },
        ]
    }

    /// Check (R19): shared by the table and the daemon's fast path (`CheckFastPath`).
    public static func check(_ request: Accessd_V1_CheckRequest, in state: AccessState) throws(AccessError) -> Accessd_V1_CheckResponse {
        Accessd_V1_CheckResponse(try checkResult(request, in: state))
    }

    /// BatchCheck: every check answered as Check alone would answer it, its
    /// error its own; more than `limit` checks fails the call.
    public static func batchCheck(
        _ request: Accessd_V1_BatchCheckRequest, in state: AccessState, limit: Int
    ) throws(AccessError) -> Accessd_V1_BatchCheckResponse {
        try checkBatchSize(request.checks.count, limit: limit)
        var response = Accessd_V1_BatchCheckResponse()
        response.results = request.checks.map { check in
            var result = Accessd_V1_BatchCheckResult()
            do throws(AccessError) {
                result.response = Accessd_V1_CheckResponse(try checkResult(check, in: state))
            } catch {
                result.code = UInt32(error.code.rawValue)
                result.message = error.message
            }
            return result
        }
        return response
    }

    /// INVALID_ARGUMENT for a batch longer than `max_batch_checks`.
    public static func checkBatchSize(_ count: Int, limit: Int) throws(AccessError) {
        guard count <= limit else {
            throw AccessError(
                .invalidArgument,
                "a BatchCheck carries at most \(limit) checks (max_batch_checks) and this one has \(count); split it into several calls")
        }
    }

    /// The decision for a wire request: the user named by id (one lookup of
    /// the access kept for them) or by email.
    public static func checkResult(_ request: Accessd_V1_CheckRequest, in state: AccessState) throws(AccessError) -> CheckResult {
        let user: UserID
        let access: UserAccess
        // An id as sent (no spaces to trim, the common case), else trimmed.
        if let id = UserID(request.user) ?? UserID(WireInput.trimmed(request.user)), let found = state.access(of: id) {
            (user, access) = (id, found)
        } else {
            user = try WireInput.user(request.user, field: "user", in: state)
            guard let found = state.access(of: user) else {
                throw AccessError(.internal, "user \(user) exists but no access is kept for it")
            }
            access = found
        }
        // The common case parsed by concrete code; the general parsers say what is wrong.
        let account: AccountID
        if let parsed = AccountID(request.accountID) {
            account = parsed
        } else {
            account = try WireInput.id(request.accountID, field: "account_id")
        }
        let permission: Permission
        if let known = Permission.fromWire(request.permission) {
            permission = known
        } else {
            permission = try Permission.parse(request.permission, field: "permission")
        }
        var resource: CheckResource?
        switch request.resource {
        case nil: resource = nil
        case .projectID(let id):
            if let parsed = ProjectID(id) { resource = .project(parsed) } else { resource = .project(try WireInput.id(id, field: "project_id")) }
        case .productID(let id):
            if let parsed = ProductID(id) { resource = .product(parsed) } else { resource = .product(try WireInput.id(id, field: "product_id")) }
        }
        return try state.check(CheckRequest(user: user, account: account, permission: permission, resource: resource), access: access)
    }
}
