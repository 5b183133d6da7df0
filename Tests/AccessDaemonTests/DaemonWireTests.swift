import AccessStore
import AccessStatus
import AccessDaemon
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// docs/protocol.md through raw frames, against the daemon's server in this
/// process (the tests that start the `accessd` binary live beside these).
@Suite(.serialized) struct DaemonWireTests {
    static let users = "/accessd.v1.UserService/"
    static let admin = "/accessd.v1.AdminService/"
    static let access = "/accessd.v1.AccessService/"

    /// A server on a fresh temporary socket; stopped by `body`'s end.
    func withServer(
        configure: (inout DaemonConfiguration) -> Void = { _ in }, _ body: (String, AccessDaemonServer) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-test-\(UUID().uuidString.prefix(8))").path
        var configuration = DaemonConfiguration(socketPath: directory + "/run/accessd.sock", stateDirectory: directory + "/state")
        configure(&configuration)
        let server = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
        try await server.start()
        do {
            try await body(configuration.socketPath, server)
        } catch {
            try await server.stop()
            throw error
        }
        try await server.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func createAccount(_ connection: RawConnection, email: String = "owner@acme.example", licenses: UInt32 = 3, id: UInt64 = 1)
        throws -> Accessd_V1_CreateAccountResponse
    {
        var request = Accessd_V1_CreateAccountRequest()
        request.name = "Acme"
        request.fullAccessLicenses = licenses
        request.ownerEmail = email
        request.ownerFirstName = "Olga"
        request.ownerLastName = "Owner"
        let response = try connection.call(Self.admin + "CreateAccount", request, id: id)
        #expect(response.code == 0, "\(response.message)")
        return try Accessd_V1_CreateAccountResponse(serializedBytes: response.payload)
    }

    @Test func anAdministratorCreatesAnAccountAndAUserActsThroughTheSocket() async throws {
        try await withServer { path, _ in
            let connection = try RawConnection(path: path)
            let created = try createAccount(connection)
            #expect(created.owner.status == .active)
            var add = Accessd_V1_AddUserRequest()
            add.accountID = created.account.id
            add.email = "ada@acme.example"
            add.firstName = "Ada"
            add.lastName = "Lovelace"
            add.role = "Viewer"
            let added = try connection.call(Self.users + "AddUser", add, id: 2, actor: "owner@acme.example")
            #expect(added.code == 0, "\(added.message)")
            #expect(added.revision > created.events.last!.seq)
            var check = Accessd_V1_CheckRequest()
            check.user = "owner@acme.example"
            check.accountID = created.account.id
            check.permission = .editAccountSettings
            let checked = try connection.call(Self.access + "Check", check, id: 3)
            #expect(checked.code == 0)
            #expect(try Accessd_V1_CheckResponse(serializedBytes: checked.payload).allowed)
        }
    }

    @Test func theStateSnapshottedAtShutdownIsThereAfterARestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-restart-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = DaemonConfiguration(socketPath: directory + "/run/accessd.sock", stateDirectory: directory + "/state")
        let first = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
        try await first.start()
        let created = try createAccount(try RawConnection(path: configuration.socketPath))
        let before = first.owner.published.state
        try await first.stop()

        // One account is one journal record: the snapshot holds record 1.
        var mode = stat()
        #expect(stat(directory + "/state/snapshot-00000000000000000001.snap", &mode) == 0)
        #expect(mode.st_mode & 0o777 == 0o600)

        let second = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
        try await second.start()
        #expect(second.owner.published.state == before)
        var get = Accessd_V1_GetAccountRequest()
        get.accountID = created.account.id
        let response = try RawConnection(path: configuration.socketPath).call(Methods.getAccount, get, id: 1)
        #expect(response.code == 0)
        #expect(try Accessd_V1_Account(serializedBytes: response.payload).name == "Acme")
        try await second.stop()
    }

    @Test func aDamagedSnapshotStopsTheStartWithAMessageNamingTheFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-damaged-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = DaemonConfiguration(socketPath: directory + "/run/accessd.sock", stateDirectory: directory + "/state")
        let first = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
        try await first.start()
        _ = try createAccount(try RawConnection(path: configuration.socketPath))
        try await first.stop()
        let path = directory + "/state/snapshot-00000000000000000001.snap"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
            Issue.record("a damaged snapshot was loaded")
        } catch {
            #expect("\(error)".contains(path))
            #expect("\(error)".contains("checksum"))
            #expect("\(error)".contains("--accept-data-loss"), "it says what the operator can do")
        }
    }

    @Test func followingEventsSeesTheBacklogThenWritesOfAnotherConnectionThenCancel() async throws {
        try await withServer { path, _ in
            let writer = try RawConnection(path: path)
            _ = try createAccount(writer, email: "first@acme.example", id: 1)  // events 1-5
            let follower = try RawConnection(path: path)
            var follow = Accessd_V1_FollowEventsRequest()
            follow.afterSeq = 2
            var request = Accessd_V1_Request()
            request.id = 9
            request.method = Methods.followEvents.path
            request.payload = try follow.serializedBytes()
            try follower.send(request)
            var seqs: [UInt64] = []
            for _ in 0..<3 {
                let response = try follower.readResponse()
                #expect(response.id == 9 && response.more)
                seqs.append(try Accessd_V1_Event(serializedBytes: response.payload).seq)
            }
            #expect(seqs == [3, 4, 5])
            _ = try createAccount(writer, email: "second@acme.example", id: 2)  // events 6-10
            for expected in UInt64(6)...10 {
                let response = try follower.readResponse()
                #expect(try Accessd_V1_Event(serializedBytes: response.payload).seq == expected)
            }
            var cancel = Accessd_V1_ClientFrame()
            cancel.cancel.id = 9
            try follower.writeFrame(try cancel.serializedBytes())
            let last = try follower.readResponse()
            #expect(last.id == 9 && !last.more && last.code == 1)  // CANCELLED
        }
    }

    @Test func shutdownEndsStreamsAndSaysGoAway() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-goaway-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configuration = DaemonConfiguration(socketPath: directory + "/run/accessd.sock", stateDirectory: directory + "/state")
        let server = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
        try await server.start()
        let follower = try RawConnection(path: configuration.socketPath)
        var request = Accessd_V1_Request()
        request.id = 4
        request.method = Methods.followEvents.path
        request.payload = try Accessd_V1_FollowEventsRequest().serializedBytes()
        try follower.send(request)
        _ = try createAccount(try RawConnection(path: configuration.socketPath))
        for _ in 0..<5 { #expect(try follower.readResponse().more) }
        try await server.stop()
        let end = try follower.readResponse()
        #expect(end.id == 4 && end.code == 14)  // UNAVAILABLE
        guard case .goAway(let goAway) = try follower.readFrame()?.kind else {
            Issue.record("expected GoAway")
            return
        }
        #expect(goAway.lastAcceptedID == 4)
        #expect(try follower.readFrame() == nil)
    }

    @Test func domainErrorsArriveWithTheirStatusCode() async throws {
        try await withServer { path, _ in
            let connection = try RawConnection(path: path)
            let created = try createAccount(connection, licenses: 1)
            var add = Accessd_V1_AddUserRequest()
            add.accountID = created.account.id
            add.email = "ada@acme.example"
            add.firstName = "Ada"
            add.lastName = "Lovelace"
            add.role = "Member"
            let exhausted = try connection.call(Self.users + "AddUser", add, id: 2, actor: created.owner.id)
            #expect(exhausted.code == 8)  // RESOURCE_EXHAUSTED (R2)
            #expect(exhausted.message.contains("1 of 1"))
            let unknownActor = try connection.call(Self.users + "AddUser", add, id: 3, actor: "nobody@acme.example")
            #expect(unknownActor.code == 16)  // UNAUTHENTICATED
            let unknownMethod = try connection.call("/accessd.v1.UserService/Nope", add, id: 4)
            #expect(unknownMethod.code == 12)  // UNIMPLEMENTED
            var bad = Accessd_V1_Request()
            bad.id = 5
            bad.method = Self.users + "AddUser"
            bad.payload = Data([0xFF, 0xFF, 0xFF])
            try connection.send(bad)
            #expect(try connection.readResponse().code == 3)  // INVALID_ARGUMENT
        }
    }

    @Test func anOversizeFrameGetsResourceExhaustedAndTheDaemonGoesOn() async throws {
        try await withServer(configure: { $0.maximumFrameLength = 1024 }) { path, server in
            let connection = try RawConnection(path: path)
            try connection.writeBytes([0x7F, 0xFF, 0xFF, 0xFF])
            let response = try connection.readResponse()
            #expect(response.id == 0)
            #expect(response.code == 8)
            #expect(try connection.readFrame() == nil)  // closed
            let revision = server.owner.published.revision
            let again = try RawConnection(path: path)
            _ = try createAccount(again)
            #expect(server.owner.published.revision > revision)
        }
    }

    @Test func undecodableBytesGetInvalidArgumentAndTheConnectionCloses() async throws {
        try await withServer { path, server in
            let connection = try RawConnection(path: path)
            try connection.writeFrame([0xFF, 0xFF, 0xFF, 0xFF, 0x01])
            let response = try connection.readResponse()
            #expect(response.id == 0)
            #expect(response.code == 3)
            #expect(try connection.readFrame() == nil)
            #expect(server.owner.published.revision == 0)
        }
    }

    @Test func aFrameThatStallsHalfWayClosesTheConnection() async throws {
        try await withServer(configure: { $0.frameStallTimeoutMilliseconds = 200 }) { path, _ in
            let connection = try RawConnection(path: path)
            try connection.writeBytes([0, 0, 0, 10, 1, 2])
            #expect(try connection.readFrame(timeout: 5) == nil)
        }
    }

    @Test func aSecondCallWithAnIdInFlightIsInvalidArgument() async throws {
        try await withServer { path, _ in
            let connection = try RawConnection(path: path)
            var create = Accessd_V1_CreateAccountRequest()
            create.name = "Acme"
            create.fullAccessLicenses = 1
            create.ownerEmail = "o@acme.example"
            create.ownerFirstName = "O"
            create.ownerLastName = "Owner"
            var request = Accessd_V1_Request()
            request.id = 7
            request.method = Self.admin + "CreateAccount"
            request.payload = try create.serializedBytes()
            var frame = Accessd_V1_ClientFrame()
            frame.request = request
            let bytes: [UInt8] = try frame.serializedBytes()
            let framed = [0, 0, 0, UInt8(bytes.count)] + bytes
            // Both in one write: the first is still in flight when the second arrives.
            try connection.writeBytes(framed + framed)
            let codes = [try connection.readResponse(), try connection.readResponse()].map(\.code).sorted()
            #expect(codes == [0, 3])
        }
    }

    @Test func twoHundredPipelinedCallsAreAllAnsweredAndMatchedById() async throws {
        try await withServer { path, _ in
            let connection = try RawConnection(path: path)
            let created = try createAccount(connection)
            var check = Accessd_V1_CheckRequest()
            check.user = created.owner.id
            check.accountID = created.account.id
            check.permission = .manageProducts
            var bytes: [UInt8] = []
            for id in 1000..<1100 {
                var request = Accessd_V1_Request()
                request.id = UInt64(id)
                request.method = Self.access + "Check"
                request.payload = try check.serializedBytes()
                var frame = Accessd_V1_ClientFrame()
                frame.request = request
                let body: [UInt8] = try frame.serializedBytes()
                bytes += [0, 0, 0, UInt8(body.count)] + body
            }
            try connection.writeBytes(bytes)
            var seen = Set<UInt64>()
            for _ in 0..<100 {
                let response = try connection.readResponse()
                #expect(response.code == 0)
                seen.insert(response.id)
            }
            #expect(seen == Set((1000..<1100).map(UInt64.init)))
        }
    }
}
