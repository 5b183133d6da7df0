import AccessStore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import Testing

@testable import AccessDaemon

/// docs/protocol.md: limits, dry runs, idempotency keys, min_revision.
@Suite(.serialized) struct DaemonLimitsTests {
    let wire = DaemonWireTests()

    func createRequest(_ email: String, id: UInt64, dryRun: Bool = false, idempotencyKey: String = "") throws
        -> Accessd_V1_Request
    {
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 1
        create.ownerEmail = email
        create.ownerFirstName = "O"
        create.ownerLastName = "Owner"
        var request = Accessd_V1_Request()
        request.id = id
        request.method = Methods.createAccount.path
        request.payload = try create.serializedBytes()
        request.dryRun = dryRun
        request.idempotencyKey = idempotencyKey
        return request
    }

    @Test func aDryRunAnswersAsIfAppliedAndChangesNothing() async throws {
        try await wire.withServer { path, server in
            let connection = try RawConnection(path: path)
            try connection.send(try createRequest("dry@acme.example", id: 1, dryRun: true))
            let response = try connection.readResponse()
            #expect(response.code == 0)
            let reply = try Accessd_V1_CreateAccountResponse(serializedBytes: response.payload)
            #expect(reply.events.count == 5)
            #expect(server.owner.published.revision == 0)
            #expect(server.owner.published.state.accounts.isEmpty)
        }
    }

    @Test func theSameIdempotencyKeyGetsTheFirstReplyAndAppliesOnce() async throws {
        try await wire.withServer { path, server in
            let connection = try RawConnection(path: path)
            try connection.send(try createRequest("once@acme.example", id: 1, idempotencyKey: "k-1"))
            let first = try connection.readResponse()
            try connection.send(try createRequest("once@acme.example", id: 2, idempotencyKey: "k-1"))
            let second = try connection.readResponse()
            #expect(first.code == 0 && second.code == 0)
            #expect(first.payload == second.payload)
            #expect(server.owner.published.state.accounts.count == 1)
            // Without the key, the same write is a second write (and a duplicate email).
            try connection.send(try createRequest("once@acme.example", id: 3))
            #expect(try connection.readResponse().code == 6)  // ALREADY_EXISTS
        }
    }

    @Test func aReadWaitingForARevisionNeverReachedGetsDeadlineExceeded() async throws {
        try await wire.withServer { path, _ in
            let connection = try RawConnection(path: path)
            var request = Accessd_V1_Request()
            request.id = 1
            request.method = Methods.listEvents.path
            request.payload = try Accessd_V1_ListEventsRequest().serializedBytes()
            request.minRevision = 1000
            request.timeoutMs = 50
            try connection.send(request)
            #expect(try connection.readResponse().code == 4)  // DEADLINE_EXCEEDED
        }
    }

    @Test func callsBeyondTheInFlightLimitGetResourceExhausted() async throws {
        try await wire.withServer(configure: { $0.maximumCallsPerConnection = 2 }) { path, server in
            let connection = try RawConnection(path: path)
            let requests = try (1...3).map { try createRequest("limit\($0)@acme.example", id: UInt64($0)) }
            try connection.writeBytes(try RawConnection.frames(requests))
            var codes: [UInt64: UInt32] = [:]
            for _ in 0..<3 {
                let response = try connection.readResponse()
                codes[response.id] = response.code
            }
            #expect(codes == [1: 0, 2: 0, 3: 8])
            #expect(server.owner.published.state.accounts.count == 2)
        }
    }

    @Test func aSnapshotOnDemandIsWrittenAndTheStatsSayWhichRevision() async throws {
        try await wire.withServer { path, server in
            let connection = try RawConnection(path: path)
            _ = try wire.createAccount(connection)
            let response = try connection.call(Methods.snapshot, Accessd_V1_SnapshotRequest(), id: 2)
            #expect(response.code == 0, "\(response.message)")
            let snapshot = try Accessd_V1_SnapshotResponse(serializedBytes: response.payload)
            #expect(snapshot.revision == 5)
            #expect(FileManager.default.fileExists(atPath: snapshot.path))
            let stats = try Accessd_V1_GetStatsResponse(
                serializedBytes: try connection.call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 3).payload)
            #expect(stats.lastSnapshotRevision == 5 && stats.lastSnapshotAtMs > 0)
            #expect(stats.connections == 1 && stats.accounts == 1 && stats.users == 1)
            #expect(server.owner.published.revision == 5)
        }
    }

    @Test func everyBadInputLeavesTheDaemonAnsweringAndItsStateUnchanged() async throws {
        try await wire.withServer(configure: {
            $0.maximumFrameLength = 4096
            $0.frameStallTimeoutMilliseconds = 200
        }) { path, server in
            _ = try wire.createAccount(try RawConnection(path: path))
            let before = server.owner.published.state
            // Oversize frame, undecodable frame, a frame with neither request nor cancel.
            for bytes: [UInt8] in [[0x00, 0x10, 0x00, 0x00], [0, 0, 0, 3, 0xFF, 0xFF, 0xFF], [0, 0, 0, 0]] {
                let connection = try RawConnection(path: path)
                try connection.writeBytes(bytes)
                let response = try connection.readResponse()
                #expect(response.id == 0 && response.code != 0)
                #expect(try connection.readFrame() == nil)
            }
            // A stalled frame, an unknown method, a bad payload, a malformed id, a duplicate id.
            let stalled = try RawConnection(path: path)
            try stalled.writeBytes([0, 0, 0, 50, 1])
            #expect(try stalled.readFrame() == nil)
            let connection = try RawConnection(path: path)
            var request = Accessd_V1_Request()
            request.id = 1
            request.method = "/accessd.v1.Nope/Nope"
            try connection.send(request)
            #expect(try connection.readResponse().code == 12)
            request.method = Methods.addUser.path
            request.payload = Data([0xFF])
            try connection.send(request)
            #expect(try connection.readResponse().code == 3)
            var get = Accessd_V1_GetUserRequest()
            get.userID = "not-an-id"
            #expect(try connection.call(Methods.getUser, get, id: 2).code == 3)
            #expect(server.owner.published.state == before)
            // And it still answers.
            _ = try wire.createAccount(connection, email: "after@acme.example", id: 3)
            #expect(server.owner.published.state.accounts.count == 2)
        }
    }

    @Test func connectionsBeyondTheLimitGetOneResourceExhaustedFrame() async throws {
        try await wire.withServer(configure: { $0.maximumConnections = 2 }) { path, _ in
            let first = try RawConnection(path: path)
            let second = try RawConnection(path: path)
            _ = try wire.createAccount(first, email: "a@acme.example")
            _ = try wire.createAccount(second, email: "b@acme.example")
            let third = try RawConnection(path: path)
            let refused = try third.readResponse()
            #expect(refused.id == 0 && refused.code == 8)
            #expect(try third.readFrame() == nil)
            // The first two keep working.
            _ = try wire.createAccount(first, email: "c@acme.example", id: 9)
        }
    }

    // MARK: Issue 12, item 7: idempotency keys

    func addUser(_ account: String, _ email: String, id: UInt64, key: String) throws -> Accessd_V1_Request {
        var add = Accessd_V1_AddUserRequest()
        add.accountID = account
        add.email = email
        add.firstName = "A"
        add.lastName = "User"
        add.role = "Viewer"
        var request = Accessd_V1_Request()
        request.id = id
        request.method = Methods.addUser.path
        request.payload = try add.serializedBytes()
        request.actor = "owner@acme.example"
        request.idempotencyKey = key
        return request
    }

    func stats(_ connection: RawConnection, id: UInt64) throws -> Accessd_V1_GetStatsResponse {
        try Accessd_V1_GetStatsResponse(
            serializedBytes: try connection.call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: id).payload)
    }

    /// R21: a rejected call changes nothing. A refused keyed write was
    /// journaled and its reply kept for 24 hours (40 refused AddUser calls
    /// with 256 KiB keys: +40 journal records, +10.5 MB, revision unchanged).
    @Test func item7_aRefusedWriteWithAKeyIsNeitherJournaledNorKept() async throws {
        try await wire.withServer { path, server in
            let connection = try RawConnection(path: path)
            let account = try wire.createAccount(connection).account.id
            let before = try stats(connection, id: 2)
            for n in 0..<40 {
                // The owner's own email again: ALREADY_EXISTS, decided at the owner.
                try connection.send(try addUser(account, "owner@acme.example", id: UInt64(10 + n), key: "refused-\(n)-" + String(repeating: "k", count: 100)))
                #expect(try connection.readResponse().code == 6)
            }
            let after = try stats(connection, id: 3)
            #expect(after.journalRecords == before.journalRecords, "no record for a refused write")
            #expect(after.revision == before.revision)
            let owner = server.owner
            let held = try await owner.loop.submit { owner.assumeIsolated { $0.durable.idempotency.count } }.get()
            #expect(held == 0)
        }
    }

    @Test func item7_anIdempotencyKeyLongerThanTheLimitIsInvalidArgument() async throws {
        try await wire.withServer { path, server in
            let connection = try RawConnection(path: path)
            let account = try wire.createAccount(connection).account.id
            try connection.send(try addUser(account, "long@acme.example", id: 2, key: String(repeating: "x", count: 129)))
            let refused = try connection.readResponse()
            #expect(refused.code == 3 && refused.message.contains("max_idempotency_key_bytes"), "\(refused.message)")
            #expect(server.owner.published.state.users.count == 1)
            try connection.send(try addUser(account, "long@acme.example", id: 3, key: String(repeating: "x", count: 128)))
            #expect(try connection.readResponse().code == 0)
        }
    }

    /// The peer chooses the actor, so keys are bounded per peer uid and in
    /// total; past a bound a keyed write is refused, and no key is evicted.
    @Test func item7_keysPastTheBoundPerUIDAreRefusedAndTheHeldOnesStillAnswer() async throws {
        try await wire.withServer(configure: { $0.maximumIdempotencyKeysPerUID = 3 }) { path, server in
            let connection = try RawConnection(path: path)
            let account = try wire.createAccount(connection, licenses: 10).account.id
            var first: [UInt8] = []
            for n in 0..<3 {
                try connection.send(try addUser(account, "u\(n)@acme.example", id: UInt64(2 + n), key: "key-\(n)"))
                let reply = try connection.readResponse()
                #expect(reply.code == 0, "\(reply.message)")
                if n == 0 { first = [UInt8](reply.payload) }
            }
            try connection.send(try addUser(account, "u3@acme.example", id: 9, key: "key-3"))
            let refused = try connection.readResponse()
            #expect(refused.code == 8 && refused.message.contains("max_idempotency_keys_per_uid"), "\(refused.message)")
            #expect(server.owner.published.state.users.count == 4, "the refused write was not applied")
            // The keys held still give their first reply; a write without a key still goes through.
            try connection.send(try addUser(account, "u0@acme.example", id: 10, key: "key-0"))
            let again = try connection.readResponse()
            #expect(again.code == 0 && [UInt8](again.payload) == first)
            try connection.send(try addUser(account, "u3@acme.example", id: 11, key: ""))
            #expect(try connection.readResponse().code == 0)
        }
    }

    // MARK: Issue 12, item 8: activation tokens reach only the mailer

    @Test func item8_repliesAndEventsNameTheOutboxMessageButOnlyListOutboxCarriesTheToken() async throws {
        try await wire.withServer { path, _ in
            let connection = try RawConnection(path: path)
            let account = try wire.createAccount(connection).account.id
            let added = try connection.call(
                Methods.addUser.path, bytes: try addUser(account, "ada@acme.example", id: 0, key: "").payload.map { $0 },
                id: 2, actor: "owner@acme.example")
            #expect(added.code == 0)
            let user = try Accessd_V1_UserResponse(serializedBytes: added.payload)
            var resend = Accessd_V1_UserRequest()
            resend.userID = user.user.id
            let resent = try connection.call(Methods.resendActivation, resend, id: 3, actor: "owner@acme.example")
            #expect(resent.code == 0, "\(resent.message)")
            let outbox = try Accessd_V1_ListOutboxResponse(
                serializedBytes: try connection.call(Methods.listOutbox, Accessd_V1_ListOutboxRequest(), id: 4).payload)
            let tokens = outbox.messages.map(\.token)
            #expect(tokens.count == 2 && tokens.allSatisfy { $0.count == 64 }, "the mailer gets the tokens")
            let events = try connection.call(Methods.listEvents, Accessd_V1_ListEventsRequest(), id: 5).payload
            for (name, bytes) in [("AddUser", added.payload), ("ResendActivation", resent.payload), ("ListEvents", events)] {
                let text = String(decoding: bytes, as: UTF8.self)
                for token in tokens { #expect(!text.contains(token), "\(name) carries an activation token") }
            }
            let queued = try Accessd_V1_UserResponse(serializedBytes: resent.payload).events.compactMap { event -> String? in
                if case .outboxMessageQueued(let message) = event.change { return message.id } else { return nil }
            }
            #expect(queued.count == 1 && outbox.messages.contains { $0.id == queued[0] }, "the reply names the outbox message")
            // And the newest token works.
            var activate = Accessd_V1_ActivateUserRequest()
            activate.token = try #require(outbox.messages.last?.token)
            #expect(try connection.call(Methods.activateUser, activate, id: 6).code == 0)
        }
    }
}
