/// Everything a snapshot holds: the primary records and the next sequence
/// number. Indexes are not stored; they are rebuilt on restore.
public struct StateRecords: Hashable, Sendable {
    public var nextSeq: UInt64 = 1
    public var accounts: [Account] = []
    public var users: [User] = []
    public var roles: [Role] = []
    public var offices: [Office] = []
    public var projects: [Project] = []
    public var products: [Product] = []
    public var shares: [Share] = []
    public var clientLinks: [ClientLink] = []
    public var activations: [PendingActivation] = []
    public var outbox: [OutboxMessage] = []

    public init() {}
}

/// A snapshot whose records do not hold together (a reference to nothing, a
/// duplicate): restoring stops and says what.
public struct RestoreError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { "the snapshot does not hold together: \(message)" }
}

extension AccessState {
    /// The records of this state, for a snapshot.
    /// - Complexity: O(n).
    public var records: StateRecords {
        var records = StateRecords()
        records.nextSeq = nextSeq
        records.accounts = Array(accounts.values)
        records.users = Array(users.values)
        records.roles = Array(roles.values)
        records.offices = Array(offices.values)
        records.projects = Array(projects.values)
        records.products = Array(products.values)
        records.shares = Array(shares.values)
        records.clientLinks = Array(clientLinks.values)
        records.activations = Array(activations.values)
        records.outbox = Array(outbox.values)
        return records
    }

    /// A state from a snapshot's records, with its indexes rebuilt; every
    /// reference is checked first, so a damaged snapshot is refused, never loaded.
    ///
    /// The checks run in plain hash tables; then the persistent tables and the
    /// indexes, independent of one another, are built in one pass each and in
    /// parallel on the machine's cores (`Parallel`): a restart at a million
    /// users is mostly this.
    /// - Complexity: O(n log n).
    ///
    /// The tables and indexes are built in independent pieces, which
    /// `pieces` runs: one after another by default (the core starts no
    /// thread); the store passes one that runs them on the machine's cores.
    /// How many users a restore compares the access it built with the one computed from the records.
    static let restoreAccessSample = 1000

    public init(restoring records: StateRecords, pieces: PieceRunner = .oneAfterAnother) throws(RestoreError) {
        self.init()
        func fail(_ message: String) -> RestoreError { RestoreError(message: message) }
        guard records.nextSeq >= 1 else { throw fail("the next sequence number is 0") }
        var accountIDs = Set<AccountID>(minimumCapacity: records.accounts.count)
        for account in records.accounts {
            guard accountIDs.insert(account.id).inserted else { throw fail("account \(account.id) appears twice") }
        }
        var roleAccount: [RoleID: AccountID] = [:]
        roleAccount.reserveCapacity(records.roles.count)
        for role in records.roles {
            guard roleAccount[role.id] == nil, accountIDs.contains(role.account) else { throw fail("role \(role.id)") }
            roleAccount[role.id] = role.account
        }
        var officeAccount: [OfficeID: AccountID] = [:]
        officeAccount.reserveCapacity(records.offices.count)
        for office in records.offices {
            guard officeAccount[office.id] == nil, accountIDs.contains(office.account) else { throw fail("office \(office.id)") }
            officeAccount[office.id] = office.account
        }
        var userStatus: [UserID: UserStatus] = [:]
        userStatus.reserveCapacity(records.users.count)
        for user in records.users {
            guard userStatus.updateValue(user.status, forKey: user.id) == nil, accountIDs.contains(user.account),
                roleAccount[user.role] == user.account, user.offices.allSatisfy({ officeAccount[$0] == user.account })
            else { throw fail("user \(user.id)") }
        }
        var projectIDs = Set<ProjectID>(minimumCapacity: records.projects.count)
        for project in records.projects {
            guard projectIDs.insert(project.id).inserted, accountIDs.contains(project.account),
                project.members.allSatisfy({ userStatus[$0] != nil }), project.offices.allSatisfy({ officeAccount[$0] != nil })
            else { throw fail("project \(project.id)") }
        }
        var productIDs = Set<ProductID>(minimumCapacity: records.products.count)
        for product in records.products {
            guard productIDs.insert(product.id).inserted, accountIDs.contains(product.account) else {
                throw fail("product \(product.id)")
            }
        }
        var shareIDs = Set<ShareID>(minimumCapacity: records.shares.count)
        for share in records.shares {
            guard shareIDs.insert(share.id).inserted, accountIDs.contains(share.owner), userStatus[share.grantee] != nil else {
                throw fail("share \(share.id)")
            }
        }
        var linkKeys = Set<ClientLinkKey>(minimumCapacity: records.clientLinks.count)
        for link in records.clientLinks {
            guard linkKeys.insert(link.key).inserted, accountIDs.contains(link.agency), accountIDs.contains(link.client),
                link.role.map({ roleAccount[$0] == link.client }) ?? true
            else { throw fail("client link \(link.key)") }
        }
        var tokenHashes = Set<TokenHash>(minimumCapacity: records.activations.count)
        for activation in records.activations {
            guard tokenHashes.insert(activation.tokenHash).inserted, userStatus[activation.user] == .pending else {
                throw fail("activation of \(activation.user)")
            }
        }
        var messageIDs = Set<OutboxMessageID>(minimumCapacity: records.outbox.count)
        for message in records.outbox {
            guard messageIDs.insert(message.id).inserted else { throw fail("outbox message \(message.id) appears twice") }
        }
        let maximumID = records.accounts.count + records.users.count + records.roles.count + records.offices.count
            + records.projects.count + records.products.count + records.shares.count + records.outbox.count
        guard UInt64(maximumID) < records.nextSeq || maximumID == 0 else {
            throw fail("it holds \(maximumID) things but its next sequence number is \(records.nextSeq)")
        }

        // Everything holds together: build, each piece on its own.
        nextSeq = records.nextSeq
        var users = Table<UserID, User>()
        var others = AccessState()
        var emailIndex = Indexes()
        var userGroups = Indexes()
        var otherIndexes = Indexes()
        var access = Indexes()
        pieces.run(
            { users = Table(uniqueKeysWithValues: records.users.lazy.map { ($0.id, $0) }) },
            { emailIndex.rebuildEmailIndex(from: records) },
            { userGroups.rebuildUserGroups(from: records) },
            { access.rebuildAccess(from: records) },
            {
                otherIndexes.rebuildOtherIndexes(from: records)
                others.accounts = Table(uniqueKeysWithValues: records.accounts.lazy.map { ($0.id, $0) })
                others.roles = Table(uniqueKeysWithValues: records.roles.lazy.map { ($0.id, $0) })
                others.offices = Table(uniqueKeysWithValues: records.offices.lazy.map { ($0.id, $0) })
                others.projects = Table(uniqueKeysWithValues: records.projects.lazy.map { ($0.id, $0) })
                others.products = Table(uniqueKeysWithValues: records.products.lazy.map { ($0.id, $0) })
                others.shares = Table(uniqueKeysWithValues: records.shares.lazy.map { ($0.id, $0) })
                others.clientLinks = Table(uniqueKeysWithValues: records.clientLinks.lazy.map { ($0.key, $0) })
                others.activations = Table(uniqueKeysWithValues: records.activations.lazy.map { ($0.tokenHash, $0) })
                others.outbox = Table(uniqueKeysWithValues: records.outbox.lazy.map { ($0.id, $0) })
            })
        self.users = users
        accounts = others.accounts
        roles = others.roles
        offices = others.offices
        projects = others.projects
        products = others.products
        shares = others.shares
        clientLinks = others.clientLinks
        activations = others.activations
        outbox = others.outbox
        otherIndexes.takeEmailIndex(from: emailIndex)
        otherIndexes.takeUserGroups(from: userGroups)
        otherIndexes.takeAccess(from: access)
        indexes = otherIndexes
        // Two users with one email in a region, or two shares for one pair, collapse in the rebuilt indexes.
        guard indexes.userByEmail.count == records.users.count else { throw fail("two users share an email in one region") }
        guard indexes.shareByPair.count == records.shares.count else { throw fail("two shares for one owner and grantee") }
        // The access built in bulk, against the lookups of the primary collections, for about 1,000 users.
        let step = Swift.max(1, records.users.count / Self.restoreAccessSample)
        let sample = stride(from: 0, to: records.users.count, by: step).lazy.map { records.users[$0] }
        if let disagreement = accessDisagreement(among: sample) {
            throw fail(disagreement)
        }
    }
}

/// Runs independent pieces of pure work and returns when all are done (a
/// restore builds its tables and indexes this way). Each piece writes only
/// what it alone owns, so a runner may hand them to other threads; the core
/// itself runs them one after another and starts no thread.
public struct PieceRunner: Sendable {
    /// Runs every piece once, in any order or at once, and returns when all are done.
    public let run: @Sendable (_ pieces: [() -> Void]) -> Void

    public init(_ run: @escaping @Sendable (_ pieces: [() -> Void]) -> Void) {
        self.run = run
    }

    /// Runs `pieces` (see `run`).
    public func run(_ pieces: () -> Void...) { run(pieces) }

    /// One piece after another on the caller's thread.
    public static let oneAfterAnother = PieceRunner { pieces in
        for piece in pieces { piece() }
    }
}
