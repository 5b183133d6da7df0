import AccessClient
import AccessStatus
import AccessWire
import Foundation
import Testing

/// BatchCheck through the real daemon (docs/protocol.md, "BatchCheck"): the
/// checks answered in order at one revision, each as Check alone answers it,
/// an item's failure its own; `max_batch_checks` bounds a call, and the
/// config file's value holds.
@Suite(.serialized) struct BatchCheckTests {
    let binary = AccessdBinaryTests()

    @Test func aBatchIsAnsweredInOrderAsSeparateChecksWouldBeAndTheLimitComesFromTheConfig() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-batch-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/accessd.conf"
        try "max_batch_checks = 5\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try binary.start(directory: directory, arguments: ["--config", config])
        defer { _ = binary.stop(daemon) }
        let client = try await AccessClient.connect(socketPath: daemon.socket)

        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 10
        create.ownerEmail = "owner@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        let account = try await client.call(Methods.createAccount, create)
        var add = Accessd_V1_AddUserRequest()
        add.accountID = account.account.id
        add.email = "vera@acme.example"
        add.firstName = "Vera"
        add.lastName = "Viewer"
        add.role = "Viewer"
        let viewer = try await client.call(Methods.addUser, add, options: CallOptions(actor: account.owner.id)).user

        func check(_ user: String, _ permission: Accessd_V1_Permission, account id: String = account.account.id) -> Accessd_V1_CheckRequest {
            var request = Accessd_V1_CheckRequest()
            request.user = user
            request.accountID = id
            request.permission = permission
            return request
        }
        let checks = [
            check(account.owner.id, .shareAccess),
            check("nobody@acme.example", .viewProjects),
            check(viewer.id, .viewProjects),  // PENDING: denied by R7
            check(account.owner.id, .viewBilling, account: "acc_zzzz"),
            check("owner@acme.example", .manageProducts),
        ]
        var batch = Accessd_V1_BatchCheckRequest()
        batch.checks = checks
        let reply = try await client.reply(Methods.batchCheck, batch)
        let answered = try reply.decode(as: Accessd_V1_BatchCheckResponse.self)
        #expect(answered.results.map(\.code) == [0, 5, 0, 5, 0])
        #expect(answered.results[1].message.contains("nobody@acme.example"))
        #expect(answered.results[3].message.contains("acc_zzzz"))
        #expect(answered.results[2].response.deniedBy == "R7")
        // Each item is what Check alone answers, at the batch's revision.
        for (item, request) in zip(answered.results, checks) where item.code == 0 {
            let alone = try await client.call(Methods.check, request, options: CallOptions(minRevision: reply.revision))
            #expect(item.response == alone)
        }

        // One past the limit: the call fails, naming the limit; nothing is answered.
        batch.checks.append(check(account.owner.id, .viewProjects))
        do {
            _ = try await client.call(Methods.batchCheck, batch)
            Issue.record("a batch of 6 with max_batch_checks = 5 was answered")
        } catch let error as CallError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("at most 5 checks (max_batch_checks)"))
            #expect(error.message.contains("has 6"))
        }
        // An empty batch is an empty reply.
        #expect(try await client.call(Methods.batchCheck, Accessd_V1_BatchCheckRequest()).results.isEmpty)
        await client.close()
    }
}
