/// The columns of the Company Users screen a list can be sorted by (R12).
public enum UserSortField: String, CaseIterable, Hashable, Sendable {
    case name, email, status, role, permissions, offices
}

/// R12: sort, search, filter and page through an account's users.
public struct ListUsersQuery: Hashable, Sendable {
    public var account: AccountID
    public var sortBy: UserSortField
    public var descending: Bool
    /// A case-insensitive substring of the name or the email.
    public var search: String
    /// Filters; an empty set does not filter.
    public var statuses: Set<UserStatus>
    public var roles: Set<RoleID>
    public var offices: Set<OfficeID>
    /// Users holding every one of these (effective permissions).
    public var permissions: Permissions
    /// 0 means the default, 50; more than 1000 is cut to 1000.
    public var pageSize: Int
    /// From the previous page's `nextPageToken`; empty for the first page.
    public var pageToken: String

    public static let defaultPageSize = 50
    public static let maximumPageSize = 1000

    public init(
        account: AccountID, sortBy: UserSortField = .name, descending: Bool = false, search: String = "",
        statuses: Set<UserStatus> = [], roles: Set<RoleID> = [], offices: Set<OfficeID> = [],
        permissions: Permissions = [], pageSize: Int = 0, pageToken: String = ""
    ) {
        self.account = account
        self.sortBy = sortBy
        self.descending = descending
        self.search = search
        self.statuses = statuses
        self.roles = roles
        self.offices = offices
        self.permissions = permissions
        self.pageSize = pageSize
        self.pageToken = pageToken
    }
}

/// One row of the Company Users screen (R12).
public struct UserRow: Hashable, Sendable {
    public var id: UserID
    public var firstName: String
    public var lastName: String
    public var email: String
    public var status: UserStatus
    public var role: RoleID
    public var roleName: String
    public var roleAccess: RoleAccess
    /// Effective permissions: the role's and the extra ones (all, for an Account Owner).
    public var permissions: Permissions
    /// Office names, sorted.
    public var offices: [Office]
}

public struct UserPage: Hashable, Sendable {
    public var users: [UserRow]
    /// Empty on the last page.
    public var nextPageToken: String
    /// Full-Access licenses in use and bought (R2).
    public var licensesInUse: Int
    public var licenseCount: Int
    /// All users of the account, and those matching the search and filters.
    public var totalUsers: Int
    public var totalMatching: Int
}

extension AccessState {
    /// R12 for R4's users (or an administrator).
    ///
    /// Page tokens are keyset cursors (the last row's sort key and id), so a
    /// token stays valid, and no row is repeated or skipped, while users are added.
    /// - Complexity: O(k log k) for an account of k users; nothing outside it is read.
    public func listUsers(_ query: ListUsersQuery, as principal: Principal) throws(AccessError) -> UserPage {
        _ = try readerGrant(principal, in: query.account, needs: .editAccountSettings)
        guard query.pageSize >= 0 else { throw .invalidArgument("page size must not be negative", rule: .r12) }
        let pageSize = query.pageSize == 0 ? ListUsersQuery.defaultPageSize : min(query.pageSize, ListUsersQuery.maximumPageSize)
        let search = Validation.foldCase(Validation.trim(query.search))
        let fingerprint = Self.fingerprint(of: query, search: search)
        let cursor = try query.pageToken.isEmpty ? nil : PageCursor(token: query.pageToken, fingerprint: fingerprint)

        let members = indexes.usersByAccount[query.account] ?? []
        var matches: [(key: String, id: UserID, user: User, role: Role, permissions: Permissions)] = []
        for id in members {
            let user = users[id]!
            if !query.statuses.isEmpty && !query.statuses.contains(user.status) { continue }
            if !query.roles.isEmpty && !query.roles.contains(user.role) { continue }
            if !query.offices.isEmpty && query.offices.isDisjoint(with: user.offices) { continue }
            let role = roles[user.role]!
            let permissions = role.isAccountOwner ? Permissions.all : role.permissions.union(user.extraPermissions)
            if !permissions.isSuperset(of: query.permissions) { continue }
            if !search.isEmpty && !Validation.contains(Validation.foldCase(user.displayName), search)
                && !Validation.contains(Validation.foldCase(user.email), search)
            {
                continue
            }
            matches.append((sortKey(user, role, permissions, by: query.sortBy), id, user, role, permissions))
        }
        let descending = query.descending
        func before(_ a: (key: String, id: UserID), _ b: (key: String, id: UserID)) -> Bool {
            if a.key != b.key { return descending ? a.key > b.key : a.key < b.key }
            return a.id < b.id
        }
        matches.sort { before(($0.key, $0.id), ($1.key, $1.id)) }

        var start = 0
        if let cursor {
            // The first row strictly after the cursor: a binary search over the sorted rows.
            var (low, high) = (0, matches.count)
            while low < high {
                let mid = (low + high) / 2
                if before((cursor.key, cursor.id), (matches[mid].key, matches[mid].id)) { high = mid } else { low = mid + 1 }
            }
            start = low
        }
        let page = matches[start..<min(start + pageSize, matches.count)]
        let rows = page.map { match in
            UserRow(
                id: match.id, firstName: match.user.firstName, lastName: match.user.lastName, email: match.user.email,
                status: match.user.status, role: match.role.id, roleName: match.role.name, roleAccess: match.role.access,
                permissions: match.permissions,
                offices: match.user.offices.compactMap { offices[$0] }.sorted {
                    (Validation.foldCase($0.name), $0.id) < (Validation.foldCase($1.name), $1.id)
                })
        }
        let next = start + pageSize < matches.count
            ? PageCursor(fingerprint: fingerprint, key: page.last!.key, id: page.last!.id).token : ""
        return UserPage(
            users: rows, nextPageToken: next, licensesInUse: licensesInUse(query.account),
            licenseCount: accounts[query.account]!.fullAccessLicenses, totalUsers: members.count,
            totalMatching: matches.count)
    }

    private func sortKey(_ user: User, _ role: Role, _ permissions: Permissions, by field: UserSortField) -> String {
        switch field {
        case .name: Validation.foldCase(user.displayName)
        case .email: Validation.foldCase(user.email)
        case .status: user.status.rawValue
        case .role: Validation.foldCase(role.name)
        case .permissions: permissions.members.map(\.name).joined(separator: ",")
        case .offices: user.offices.compactMap { offices[$0].map { Validation.foldCase($0.name) } }.sorted().joined(separator: ",")
        }
    }

    /// Ties a page token to the query it came from (everything but the paging).
    private static func fingerprint(of query: ListUsersQuery, search: String) -> String {
        var text = [
            query.account.rawValue, query.sortBy.rawValue, query.descending ? "desc" : "asc", search,
            query.statuses.map(\.rawValue).sorted().joined(separator: ","),
            query.roles.map(\.rawValue).sorted().joined(separator: ","),
            query.offices.map(\.rawValue).sorted().joined(separator: ","), String(query.permissions.rawValue),
        ].joined(separator: "\u{1}")
        // FNV-1a, 64 bits: a tag, not a secret.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        text.withUTF8 { bytes in
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        return String(hash, radix: 16)
    }
}

/// Where a page ended: opaque to callers (hex of "v1, fingerprint, key, id").
struct PageCursor {
    var fingerprint: String
    var key: String
    var id: UserID

    init(fingerprint: String, key: String, id: UserID) {
        self.fingerprint = fingerprint
        self.key = key
        self.id = id
    }

    init(token: String, fingerprint expected: String) throws(AccessError) {
        let invalid = AccessError.invalidArgument(
            "the page token does not belong to this query; repeat the query without a page token", rule: .r12)
        guard token.utf8.count <= 4096, let bytes = Hex.decode(token) else { throw invalid }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\u{0}", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", parts[1] == expected, let id = UserID(String(parts[3])) else {
            throw invalid
        }
        self.init(fingerprint: expected, key: String(parts[2]), id: id)
    }

    var token: String { Hex.encode(Array(["v1", fingerprint, key, id.rawValue].joined(separator: "\u{0}").utf8)) }
}
