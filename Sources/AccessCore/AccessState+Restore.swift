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
    /// - Complexity: O(n log n).
    public init(restoring records: StateRecords) throws(RestoreError) {
        self.init()
        func fail(_ message: String) -> RestoreError { RestoreError(message: message) }
        guard records.nextSeq >= 1 else { throw fail("the next sequence number is 0") }
        nextSeq = records.nextSeq
        for account in records.accounts {
            guard accounts[account.id] == nil else { throw fail("account \(account.id) appears twice") }
            accounts[account.id] = account
        }
        for role in records.roles {
            guard roles[role.id] == nil, accounts.contains(role.account) else { throw fail("role \(role.id)") }
            roles[role.id] = role
        }
        for office in records.offices {
            guard offices[office.id] == nil, accounts.contains(office.account) else { throw fail("office \(office.id)") }
            offices[office.id] = office
        }
        // Users are most of a state: check them against plain hash tables.
        var accountIDs = Set<AccountID>(minimumCapacity: records.accounts.count)
        for account in records.accounts { accountIDs.insert(account.id) }
        var roleAccount: [RoleID: AccountID] = [:]
        roleAccount.reserveCapacity(records.roles.count)
        for role in records.roles { roleAccount[role.id] = role.account }
        var officeAccount: [OfficeID: AccountID] = [:]
        for office in records.offices { officeAccount[office.id] = office.account }
        var userIDs = Set<UserID>(minimumCapacity: records.users.count)
        for user in records.users {
            guard userIDs.insert(user.id).inserted, accountIDs.contains(user.account), roleAccount[user.role] == user.account,
                user.offices.allSatisfy({ officeAccount[$0] == user.account })
            else { throw fail("user \(user.id)") }
        }
        users = Table(uniqueKeysWithValues: records.users.lazy.map { ($0.id, $0) })
        for project in records.projects {
            guard projects[project.id] == nil, accounts.contains(project.account),
                project.members.allSatisfy({ userIDs.contains($0) }), project.offices.allSatisfy({ offices.contains($0) })
            else { throw fail("project \(project.id)") }
            projects[project.id] = project
        }
        for product in records.products {
            guard products[product.id] == nil, accounts.contains(product.account) else { throw fail("product \(product.id)") }
            products[product.id] = product
        }
        for share in records.shares {
            guard shares[share.id] == nil, accounts.contains(share.owner), userIDs.contains(share.grantee) else {
                throw fail("share \(share.id)")
            }
            shares[share.id] = share
        }
        for link in records.clientLinks {
            guard clientLinks[link.key] == nil, accounts.contains(link.agency), accounts.contains(link.client),
                link.role.map({ roles[$0]?.account == link.client }) ?? true
            else { throw fail("client link \(link.key)") }
            clientLinks[link.key] = link
        }
        for activation in records.activations {
            guard activations[activation.tokenHash] == nil, users[activation.user]?.status == .pending else {
                throw fail("activation of \(activation.user)")
            }
            activations[activation.tokenHash] = activation
        }
        for message in records.outbox {
            guard outbox[message.id] == nil else { throw fail("outbox message \(message.id) appears twice") }
            outbox[message.id] = message
        }
        let maximumID = records.accounts.count + records.users.count + records.roles.count + records.offices.count
            + records.projects.count + records.products.count + records.shares.count + records.outbox.count
        guard UInt64(maximumID) < nextSeq || maximumID == 0 else {
            throw fail("it holds \(maximumID) things but its next sequence number is \(nextSeq)")
        }
        indexes = Indexes(rebuiltFrom: self)
        // Two users with one email in a region, or two shares for one pair, collapse in the rebuilt indexes.
        guard indexes.userByEmail.count == users.count else { throw fail("two users share an email in one region") }
        guard indexes.shareByPair.count == shares.count else { throw fail("two shares for one owner and grantee") }
    }
}
