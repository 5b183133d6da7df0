import AccessDaemon
import AccessWire
import Foundation
import Logging
import Testing

/// spec/protocol.md: limits, dry runs, idempotency keys, min_revision.
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
        request.method = "/accessd.v1.AdminService/CreateAccount"
        request.payload = try create.serializedBytes()
        request.dryRun = dryRun
        request.idempotencyKey = idempotencyKey
        return request
    }

    func framed(_ requests: [Accessd_V1_Request]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for request in requests {
            var frame = Accessd_V1_ClientFrame()
            frame.request = request
            let body: [UInt8] = try frame.serializedBytes()
            let length = UInt32(body.count)
            bytes += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            bytes += body
        }
        return bytes
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
            request.method = "/accessd.v1.EventService/ListEvents"
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
            try connection.writeBytes(try framed(requests))
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
            let response = try connection.call("/accessd.v1.AdminService/Snapshot", Accessd_V1_SnapshotRequest(), id: 2)
            #expect(response.code == 0, "\(response.message)")
            let snapshot = try Accessd_V1_SnapshotResponse(serializedBytes: response.payload)
            #expect(snapshot.revision == 5)
            #expect(FileManager.default.fileExists(atPath: snapshot.path))
            let stats = try Accessd_V1_GetStatsResponse(
                serializedBytes: try connection.call("/accessd.v1.AdminService/GetStats", Accessd_V1_GetStatsRequest(), id: 3).payload)
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
            request.method = "/accessd.v1.UserService/AddUser"
            request.payload = Data([0xFF])
            try connection.send(request)
            #expect(try connection.readResponse().code == 3)
            var get = Accessd_V1_GetUserRequest()
            get.userID = "not-an-id"
            #expect(try connection.call("/accessd.v1.UserService/GetUser", get, id: 2).code == 3)
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
}
