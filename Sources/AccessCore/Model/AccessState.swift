import HashTreeCollections

/// Everything accessd knows, as one value.
///
/// Every collection is a persistent hash tree (`TreeDictionary`): copying the
/// state is O(1), and a write to one of two copies copies only the O(log n)
/// nodes on its path, so the daemon can hand a copy to a snapshot writer or to
/// readers on other threads while it keeps writing.
///
/// The state changes only through `apply(_:)` of events, and `decide(_:...)`
/// is the only source of events: replaying any history on `AccessState()`
/// gives exactly the same value.
public struct AccessState: Hashable, Sendable {
    public internal(set) var accounts = Table<AccountID, Account>()
    public internal(set) var users = Table<UserID, User>()
    public internal(set) var roles = Table<RoleID, Role>()
    public internal(set) var offices = Table<OfficeID, Office>()
    public internal(set) var projects = Table<ProjectID, Project>()
    public internal(set) var products = Table<ProductID, Product>()
    public internal(set) var shares = Table<ShareID, Share>()
    public internal(set) var clientLinks = Table<ClientLinkKey, ClientLink>()
    /// Pending activations by token hash; the tokens themselves are never kept (R8).
    public internal(set) var activations = Table<TokenHash, PendingActivation>()
    /// Messages for people not yet acknowledged by the mailer (R20).
    public internal(set) var outbox = Table<OutboxMessageID, OutboxMessage>()
    /// The sequence number the next event will carry (R20: gapless, from 1).
    public internal(set) var nextSeq: UInt64 = 1

    /// Derived lookups, maintained by `apply` and never by anything else.
    /// Behind one reference (copied on write), so that copying a state (every
    /// read takes one) retains one object instead of every index.
    var indexes: Indexes {
        _read { yield indexStorage.value }
        _modify {
            if !isKnownUniquelyReferenced(&indexStorage) { indexStorage = IndexStorage(indexStorage.value) }
            yield &indexStorage.value
        }
    }
    private var indexStorage = IndexStorage(Indexes())

    public init() {}

    /// The sequence number of the last event applied: the state's revision.
    public var revision: UInt64 { nextSeq - 1 }
}

/// The indexes' box: mutated only while uniquely referenced (see `AccessState.indexes`).
final class IndexStorage: Hashable, @unchecked Sendable {
    var value: Indexes

    init(_ value: Indexes) { self.value = value }

    static func == (lhs: IndexStorage, rhs: IndexStorage) -> Bool { lhs === rhs || lhs.value == rhs.value }
    func hash(into hasher: inout Hasher) { hasher.combine(value) }
}

/// Secondary indexes, so that no call scans every user of every account.
/// Each is derived from the primary collections (see `Indexes(rebuiltFrom:)`);
/// empty sets and zero counts are removed so that equal states have equal indexes.
struct Indexes: Hashable, Sendable {
    var userByEmail: TreeDictionary<EmailKey, UserID> = [:]
    var usersByAccount: TreeDictionary<AccountID, TreeSet<UserID>> = [:]
    var usersByRole: TreeDictionary<RoleID, TreeSet<UserID>> = [:]
    /// R2: users of the account with a FULL role who are PENDING or ACTIVE.
    var licensesInUse: TreeDictionary<AccountID, Int> = [:]
    /// R5: ACTIVE users of the account whose role is Account Owner.
    var activeOwners: TreeDictionary<AccountID, Int> = [:]
    var rolesByAccount: TreeDictionary<AccountID, TreeSet<RoleID>> = [:]
    var roleByName: TreeDictionary<ScopedName, RoleID> = [:]
    var officesByAccount: TreeDictionary<AccountID, TreeSet<OfficeID>> = [:]
    var officeByName: TreeDictionary<ScopedName, OfficeID> = [:]
    var projectsByAccount: TreeDictionary<AccountID, TreeSet<ProjectID>> = [:]
    var productsByAccount: TreeDictionary<AccountID, TreeSet<ProductID>> = [:]
    var sharesByOwner: TreeDictionary<AccountID, TreeSet<ShareID>> = [:]
    var sharesByGrantee: TreeDictionary<UserID, TreeSet<ShareID>> = [:]
    var shareByPair: TreeDictionary<SharePair, ShareID> = [:]
    var clientsByAgency: TreeDictionary<AccountID, TreeSet<AccountID>> = [:]
    var agenciesByClient: TreeDictionary<AccountID, TreeSet<AccountID>> = [:]
    var activationByUser: TreeDictionary<UserID, TokenHash> = [:]
    /// What each user holds in every account they can act in (see `UserAccess`),
    /// in the map made for Check's one lookup (see `WideHashMap`).
    var access = WideHashMap<UserID, UserAccess>()
}

extension TreeDictionary {
    mutating func insert<Element>(_ element: Element, into key: Key) where Value == TreeSet<Element> {
        self[key, default: []].insert(element)
    }

    mutating func remove<Element>(_ element: Element, from key: Key) where Value == TreeSet<Element> {
        guard self[key] != nil else { return }
        self[key]!.remove(element)
        if self[key]!.isEmpty { removeValue(forKey: key) }
    }

    mutating func add(_ delta: Int, at key: Key) where Value == Int {
        guard delta != 0 else { return }
        let total = self[key, default: 0] + delta
        self[key] = total == 0 ? nil : total
    }
}
