// The data set a run loads first, through the socket as an administrator (a root
// peer): accounts with their users (Member and Viewer), and in every tenth account
// (an agency) an office, a project, a share to the next account's owner and a
// client link to the next account. Calls are spread over several connections with
// many in flight; setup speed is not what is measured, only reported.

import AccessClient
import AccessWire
import SwiftProtobuf

struct DataSet: Sendable {
    /// (user, account) pairs to check.
    var checks: [(String, String)] = []
    /// Failed setup calls (the extras may be refused; users must not be).
    var failures = 0
}

struct AccountLoad: Sendable {
    var pairs: [(String, String)] = []
    var failures = 0
}

enum Setup {
    static let concurrency = 256
    static let connections = 8

    static func load(socket: String, users: Int, accounts: Int, tag: String) async throws -> DataSet {
        let perAccount = max(1, users / max(1, accounts))
        let clients = try await connect(socket: socket, count: connections)
        do {
            let set = try await load(users: users, accounts: accounts, perAccount: perAccount, tag: tag, clients: clients)
            for client in clients { await client.close() }
            return set
        } catch {
            for client in clients { await client.close() }
            throw error
        }
    }

    private static func load(users: Int, accounts: Int, perAccount: Int, tag: String, clients: [AccessClient]) async throws
        -> DataSet
    {

        // Accounts and their users.
        var set = DataSet()
        var accountIDs = [String](repeating: "", count: accounts)
        var ownerIDs = [String](repeating: "", count: accounts)
        try await withThrowingTaskGroup(of: [(Int, AccountLoad)].self) { group in
            for worker in 0..<min(concurrency, accounts) {
                group.addTask {
                    var mine: [(Int, AccountLoad)] = []
                    var index = worker
                    while index < accounts {
                        mine.append(
                            (index, try await loadAccount(index, perAccount: perAccount, tag: tag, client: clients[worker % clients.count])))
                        index += concurrency
                    }
                    return mine
                }
            }
            for try await loads in group {
                for (index, load) in loads {
                    accountIDs[index] = load.pairs[0].1
                    ownerIDs[index] = load.pairs[0].0
                    set.checks += load.pairs
                    set.failures += load.failures
                }
            }
        }

        // Extras between neighbouring accounts: every tenth account is an agency.
        let agencies = Array(stride(from: 0, to: accounts - 1, by: 10))
        let (accountList, ownerList) = (accountIDs, ownerIDs)
        let extras = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<min(concurrency, agencies.count) {
                group.addTask {
                    var failures = 0
                    var n = worker
                    while n < agencies.count {
                        let index = agencies[n]
                        failures += await loadExtras(
                            agency: accountList[index], owner: ownerList[index], next: accountList[index + 1],
                            nextOwnerEmail: ownerEmail(index + 1, tag: tag), tag: tag, client: clients[worker % clients.count])
                        n += concurrency
                    }
                    return failures
                }
            }
            var failures = 0
            for try await count in group { failures += count }
            return failures
        }
        set.failures += extras
        return set
    }

    static func ownerEmail(_ index: Int, tag: String) -> String { "owner\(index)-\(tag)@bench.example" }

    static func connect(socket: String, count: Int) async throws -> [AccessClient] {
        var clients: [AccessClient] = []
        for _ in 0..<count { clients.append(try await AccessClient.connect(socketPath: socket)) }
        return clients
    }

    /// The account (its owner first in the pairs) and its users.
    private static func loadAccount(_ index: Int, perAccount: Int, tag: String, client: AccessClient) async throws
        -> AccountLoad
    {
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Bench \(tag) \(index)"
        create.kind = index.isMultiple(of: 10) ? .agency : .standard
        create.fullAccessLicenses = UInt32(perAccount + 1)
        create.ownerEmail = ownerEmail(index, tag: tag)
        create.ownerFirstName = "Owner"
        create.ownerLastName = "\(index)"
        let created = try await client.call(
            Methods.createAccount, create)
        let account = created.account.id
        var load = AccountLoad()
        load.pairs.append((created.owner.id, account))
        for n in 1..<max(1, perAccount) {
            var add = Accessd_V1_AddUserRequest()
            add.accountID = account
            add.email = "u\(n)-\(index)-\(tag)@bench.example"
            add.firstName = "U"
            add.lastName = "\(n)"
            add.role = n.isMultiple(of: 2) ? "Member" : "Viewer"
            do {
                let user = try await client.call(
                    Methods.addUser, add, options: CallOptions(actor: created.owner.id))
                load.pairs.append((user.user.id, account))
            } catch {
                load.failures += 1
            }
        }
        return load
    }

    /// An office, a project, a share and a client link from `agency` to `next`; returns the failures.
    private static func loadExtras(
        agency: String, owner: String, next: String, nextOwnerEmail: String, tag: String, client: AccessClient
    ) async -> Int {
        var failures = 0
        func attempt(_ body: () async throws -> Void) async {
            do { try await body() } catch { failures += 1 }
        }
        var officeIDs: [String] = []
        await attempt {
            var office = Accessd_V1_CreateOfficeRequest()
            office.accountID = agency
            office.name = "Office \(tag)"
            officeIDs.append(
                try await client.call(
                    Methods.createOffice, office, options: CallOptions(actor: owner)
                ).office.id)
        }
        await attempt {
            var project = Accessd_V1_CreateProjectRequest()
            project.accountID = agency
            project.name = "Project \(tag)"
            project.visibility = .private
            project.officeIds = officeIDs
            project.memberIds = [owner]
            _ = try await client.call(
                Methods.createProject, project, options: CallOptions(actor: owner))
        }
        await attempt {
            var share = Accessd_V1_ShareAccessRequest()
            share.ownerAccountID = agency
            share.granteeEmail = nextOwnerEmail
            share.scope.allCurrentAndNew = true
            _ = try await client.call(
                Methods.shareAccess, share, options: CallOptions(actor: owner))
        }
        await attempt {
            var link = Accessd_V1_ClientLinkRequest()
            link.agencyAccountID = agency
            link.clientAccountID = next
            _ = try await client.call(
                Methods.addClient, link, options: CallOptions(actor: owner))
        }
        return failures
    }

    /// One account per connection for writes (SetLicenseCount as administrator).
    static func writerAccounts(socket: String, count: Int, tag: String) async throws -> [String] {
        let client = try await AccessClient.connect(socketPath: socket)
        var accounts: [String] = []
        for writer in 0..<count {
            var create = Accessd_V1_CreateAccountRequest()
            create.name = "Writer \(writer) \(tag)"
            create.fullAccessLicenses = 1
            create.ownerEmail = "writer\(writer)-\(tag)@bench.example"
            create.ownerFirstName = "Writer"
            create.ownerLastName = "\(writer)"
            accounts.append(
                try await client.call(
                    Methods.createAccount, create
                ).account.id)
        }
        await client.close()
        return accounts
    }
}
