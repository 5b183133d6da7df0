import AccessStore
import AccessClient
import AccessDaemon
import AccessTestSupport
import AccessWire
import Foundation
import Testing

/// AccessClient against the real `accessd` binary: many calls on one
/// connection, replies out of order, deadlines, cancelled streams.
@Suite(.serialized) struct ClientAgainstDaemonTests {
    let binary = AccessdBinaryTests()

    func withDaemon(_ body: (AccessClient, String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-client-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try binary.start(directory: directory)
        defer { _ = binary.stop(daemon) }
        let client = try await AccessClient.connect(socketPath: daemon.socket)
        do {
            try await body(client, daemon.socket)
        } catch {
            await client.close()
            throw error
        }
        await client.close()
    }

    func createAccount(_ client: AccessClient, licenses: UInt32 = 300) async throws -> Accessd_V1_CreateAccountResponse {
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = licenses
        create.ownerEmail = "owner@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        return try await client.call(
            Methods.createAccount, create)
    }

    @Test func twoHundredConcurrentCallsOnOneConnectionEachGetTheirOwnReply() async throws {
        try await withDaemon { client, _ in
            let account = try await createAccount(client)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<100 {
                    group.addTask {
                        var add = Accessd_V1_AddUserRequest()
                        add.accountID = account.account.id
                        add.email = "user\(n)@acme.example"
                        add.firstName = "User"
                        add.lastName = "Number\(n)"
                        add.role = "Member"
                        let reply = try await client.call(
                            Methods.addUser, add, options: CallOptions(actor: "owner@acme.example"))
                        #expect(reply.user.email == "user\(n)@acme.example")
                    }
                    group.addTask {
                        var check = Accessd_V1_CheckRequest()
                        check.user = account.owner.id
                        check.accountID = account.account.id
                        check.permission = n.isMultiple(of: 2) ? .shareAccess : .manageClients
                        let reply = try await client.call(Methods.check, check)
                        #expect(reply.allowed)
                    }
                }
                try await group.waitForAll()
            }
            var list = Accessd_V1_ListUsersRequest()
            list.accountID = account.account.id
            list.pageSize = 1000
            let users = try await client.call(
                Methods.listUsers, list, options: CallOptions(actor: account.owner.id))
            #expect(users.totalUsers == 101)
        }
    }

    @Test func readsOvertakeWritesOnTheWireAndStillMatchById() async throws {
        try await withDaemon { client, socket in
            let account = try await createAccount(client)
            let raw = try RawConnection(path: socket)
            var bytes: [UInt8] = []
            for n in 1...40 {
                var request = Accessd_V1_Request()
                request.id = UInt64(n)
                if n.isMultiple(of: 2) {
                    var check = Accessd_V1_CheckRequest()
                    check.user = account.owner.id
                    check.accountID = account.account.id
                    check.permission = .viewBilling
                    request.method = Methods.check.path
                    request.payload = try check.serializedBytes()
                } else {
                    var office = Accessd_V1_CreateOfficeRequest()
                    office.accountID = account.account.id
                    office.name = "Office \(n)"
                    request.method = Methods.createOffice.path
                    request.payload = try office.serializedBytes()
                    request.actor = account.owner.id
                }
                var frame = Accessd_V1_ClientFrame()
                frame.request = request
                let body: [UInt8] = try frame.serializedBytes()
                bytes += [0, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
            }
            try raw.writeBytes(bytes)
            var order: [UInt64] = []
            for _ in 1...40 {
                let response = try raw.readResponse()
                #expect(response.code == 0, "\(response.message)")
                order.append(response.id)
                if response.id.isMultiple(of: 2) {
                    #expect(try Accessd_V1_CheckResponse(serializedBytes: response.payload).allowed)
                } else {
                    #expect(try Accessd_V1_OfficeResponse(serializedBytes: response.payload).office.name == "Office \(response.id)")
                }
            }
            #expect(Set(order) == Set(1...40))
            #expect(order != order.sorted(), "reads are answered before the batch of writes they arrived with")
            // Writes keep their arrival order among themselves.
            let writes = order.filter { !$0.isMultiple(of: 2) }
            #expect(writes == writes.sorted())
        }
    }

    @Test func aReadPastItsDeadlineGetsDeadlineExceeded() async throws {
        try await withDaemon { client, _ in
            do {
                _ = try await client.call(
                    Methods.listEvents.path, payload: try Accessd_V1_ListEventsRequest().serializedBytes(), options: CallOptions(timeoutMilliseconds: 30, minRevision: 10_000))
                Issue.record("the call should have missed its deadline")
            } catch let error as CallError {
                #expect(error.codeName == "DEADLINE_EXCEEDED")
            }
        }
    }

    @Test func followingEventsWhileAnotherConnectionWritesThenCancelling() async throws {
        try await withDaemon { client, socket in
            let writer = try await AccessClient.connect(socketPath: socket)
            defer { Task { await writer.close() } }
            var follow = Accessd_V1_FollowEventsRequest()
            follow.afterSeq = 0
            let stream = try client.stream(Methods.followEvents, follow)
            let reader = Task {
                var seqs: [UInt64] = []
                for try await event in stream {
                    seqs.append(event.seq)
                    if seqs.count == 5 { break }  // leaving the loop drops the stream: a Cancel goes out
                }
                return seqs
            }
            _ = try await createAccount(writer)
            #expect(try await reader.value == [1, 2, 3, 4, 5])
            // The connection still serves calls after the cancelled stream.
            let stats = try await client.call(
                Methods.getStats, Accessd_V1_GetStatsRequest())
            #expect(stats.accounts == 1)
        }
    }
}
