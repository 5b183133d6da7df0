import AccessStatus
import AccessClient
import AccessWire

/// The reads accessctl makes besides the command's own: role names for what
/// a person reads, and users named by email where a method takes an id.
extension Session {
    /// The names of these roles, by id, as `actor` (default: `--as`) may read
    /// them (GetRole), else as `otherwise` (a user whose access is shown,
    /// who may read the roles they hold); a role neither may read is left
    /// out (then its id is shown).
    func roleNames(
        _ ids: some Sequence<String>,
        actor: String? = nil,
        otherwise: String? = nil
    ) async -> [String: String] {
        var names: [String: String] = [:]
        guard readsNames else { return names }
        for id in Set(ids) where !id.isEmpty {
            var request = Accessd_V1_GetRoleRequest()
            request.roleID = id
            for reader in [actor ?? self.actor, otherwise].compactMap({ $0 }) {
                if let role = try? await call(
                    Methods.getRole,
                    request,
                    actor: reader
                ) {
                    names[id] = role.name
                    break
                }
            }
        }
        return names
    }

    /// The role ids `values` names: ids as they are, names (`Member`) looked
    /// up among the account's roles (ListRoles), case-insensitively.
    func roleIDs(_ values: [String], account: String) async throws -> [String] {
        guard values.contains(where: { !$0.hasPrefix("rol_") }) else { return values }
        var request = Accessd_V1_ListRolesRequest()
        request.accountID = account
        let roles = try await call(Methods.listRoles, request)
            .roles
        return try values.map { value in
            if value.hasPrefix("rol_") { return value }
            guard let role = roles.first(where: { $0.name.lowercased() == value.lowercased() }) else {
                throw CallError(
                    code: StatusCode.notFound,
                    message: "account \(account) has no role named '\(value)'; its roles: "
                        + roles.map(\.name).joined(separator: ", ")
                )
            }
            return role.id
        }
    }

    /// The id of the user `text` names: an id as it is; an email looked up
    /// with ListUsers (search, then the exact email) in `account`, else in the
    /// user's own account (found through ListAccessibleAccounts when they
    /// are ACTIVE), else in the account of `--as`.
    func userID(_ text: String, account: String? = nil) async throws -> String {
        guard text.contains("@") else { return text }
        var tried: [String] = []
        var candidates: [String] = []
        if let account, !account.isEmpty {
            candidates = [account]
        } else {
            if let home = try? await homeAccount(of: text) { candidates.append(home) }
            if !actor.isEmpty, let home = try? await homeAccount(of: actor), !candidates.contains(home) {
                candidates.append(home)
            }
        }
        for account in candidates {
            if let id = try await userID(email: text, in: account) { return id }
            tried.append(account)
        }
        let searched = tried.isEmpty ? "" : " in account \(tried.joined(separator: " or "))"
        let hint =
            account?.isEmpty == false
            ? ""
            : "; a user who is not ACTIVE is found by email only in the account given with --account, or in that of --as"
        throw CallError(code: StatusCode.notFound, message: "no user with the email '\(text)'\(searched)\(hint)")
    }

    /// The users named by id or email (see `userID`).
    func userIDs(_ values: [String], account: String? = nil) async throws -> [String] {
        var ids: [String] = []
        for value in values { ids.append(try await userID(value, account: account)) }
        return ids
    }

    /// The account a user acts in through their own role (nil: not ACTIVE, or unknown).
    private func homeAccount(of user: String) async throws -> String? {
        var request = Accessd_V1_ListAccessibleAccountsRequest()
        request.user = user
        let reply = try await call(
            Methods.listAccessibleAccounts,
            request
        )
        return reply.accounts.first { if case .homeRoleID = $0.path.path { true } else { false } }?.accountID
    }

    private func userID(email: String, in account: String) async throws -> String? {
        var request = Accessd_V1_ListUsersRequest()
        request.accountID = account
        request.search = email
        request.pageSize = 1000
        repeat {
            let page = try await call(
                Methods.listUsers,
                request
            )
            if let user = page.users.first(where: { $0.email.lowercased() == email.lowercased() }) { return user.id }
            request.pageToken = page.nextPageToken
        } while !request.pageToken.isEmpty
        return nil
    }
}
