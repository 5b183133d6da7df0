/// One page of every account, by id (AdminService.ListAccounts).
public struct AccountPage: Hashable, Sendable {
    /// In id order (the order they were created in), with their license use.
    public var accounts: [AccountSummary]
    /// Empty on the last page.
    public var nextPageToken: String
}

extension AccessState {
    public static let defaultAccountPageSize = 100
    public static let maximumAccountPageSize = 1000

    /// Every account, by id, a page at a time: an administrator's read (the
    /// accounts of one product's customers are not any one user's business).
    ///
    /// A page token is a keyset cursor (the last id of the page before), so it
    /// stays valid, and no account is repeated or skipped, while accounts are
    /// created.
    /// - Parameters:
    ///   - pageSize: 0 means 100; more than 1000 is cut to 1000.
    ///   - pageToken: Empty for the first page, then the previous page's `nextPageToken`.
    /// - Complexity: O(n + k log k · log n) expected for n accounts and a page
    ///   of k: one pass over the accounts keeps the k smallest ids after the
    ///   cursor (accounts have no ordered index; a sort would cost O(n log n)).
    public func listAccounts(
        pageSize: Int = 0,
        pageToken: String = "",
        as principal: Principal
    ) throws(AccessError)
        -> AccountPage
    {
        guard principal == .administrator else {
            throw .permissionDenied("listing every account is an administrator's call", rule: .r1)
        }
        guard pageSize >= 0 else { throw .invalidArgument("page size must not be negative, not \(pageSize)") }
        let size = pageSize == 0 ? Self.defaultAccountPageSize : min(pageSize, Self.maximumAccountPageSize)
        let after = try pageToken.isEmpty ? nil : AccountPageCursor(token: pageToken).after

        // The `size + 1` smallest ids after the cursor, ascending: one more than
        // the page tells whether another page follows.
        let wanted = size + 1
        var smallest: [AccountID] = []
        smallest.reserveCapacity(wanted)
        for id in accounts.keys {
            if let after, !(after < id) { continue }
            if smallest.count == wanted {
                guard id < smallest[wanted - 1] else { continue }
                smallest.removeLast()
            }
            // Binary search for the insertion point.
            var (low, high) = (0, smallest.count)
            while low < high {
                let mid = (low + high) / 2
                if smallest[mid] < id { low = mid + 1 } else { high = mid }
            }
            smallest.insert(id, at: low)
        }
        let page = smallest.prefix(size)
        let next = smallest.count > size ? AccountPageCursor(after: page.last!).token : ""
        return AccountPage(
            accounts: page.map { AccountSummary(account: accounts[$0]!, licensesInUse: licensesInUse($0)) },
            nextPageToken: next
        )
    }
}

/// Where a page of accounts ended: opaque to callers (hex of "accounts.v1", the last id).
struct AccountPageCursor {
    var after: AccountID

    init(after: AccountID) { self.after = after }

    init(token: String) throws(AccessError) {
        let invalid = AccessError.invalidArgument(
            "the page token \(PeerText.quote(token)) is not one ListAccounts gave; "
                + "start again without a page token"
        )
        guard token.utf8.count <= 256, let bytes = Hex.decode(token) else { throw invalid }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\u{0}", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "accounts.v1", let id = AccountID(String(parts[1])) else { throw invalid }
        self.after = id
    }

    var token: String { Hex.encode(Array("accounts.v1\u{0}\(after.rawValue)".utf8)) }
}
