import AccessMapping
import AccessStatus
import AccessClient
import AccessServer
import AccessTestSupport
import AccessWire
import Foundation
import SwiftProtobuf
import Testing

/// Every method of `proto/accessd/v1` called at least once against the real
/// `accessd` binary: the method tour (the same one the method-table tests
/// run in-process) through `AccessClient`, then through raw frames, and the
/// daemon's own methods (Snapshot, GetStats, FollowEvents, Backup) through both.
@Suite(.serialized) struct EveryMethodThroughTheSocketTests {
    let binary = AccessdBinaryTests()

    /// Every path the daemon serves (a test in AccessServerTests proves it
    /// is every rpc declared in the protos).
    static let allPaths = Set(MethodTable.handlers.keys)

    struct ClientCaller: MethodCaller {
        let client: AccessClient

        func callBytes(_ path: String, _ payload: [UInt8], actor: String) async throws -> [UInt8] {
            try await client.call(path, payload: payload, options: CallOptions(actor: actor)).payload
        }
    }

    struct RawCaller: MethodCaller {
        let connection: RawConnection
        var nextID: UInt64 = 1

        mutating func callBytes(_ path: String, _ payload: [UInt8], actor: String) async throws -> [UInt8] {
            nextID += 1
            let response = try connection.call(path, bytes: payload, id: nextID, actor: actor)
            guard response.code == 0 else { throw CallError(code: StatusCode(wire: response.code), message: response.message) }
            #expect(!response.more, "a unary reply is final")
            return Array(response.payload)
        }
    }

    func withDaemon(_ name: String, _ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("accessd-tour-\(name)-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try binary.start(directory: directory)
        defer { #expect(binary.stop(daemon) == 0) }
        try await body(daemon.socket)
    }

    @Test func everyMethodAnswersThroughAccessClient() async throws {
        try await withDaemon("client") { socket in
            let client = try await AccessClient.connect(socketPath: socket)
            var caller = ClientCaller(client: client)
            let tour = try await MethodTour.run(&caller)
            var called = tour.called

            let snapshot = try await client.call(
                Methods.snapshot, Accessd_V1_SnapshotRequest())
            #expect(snapshot.revision == tour.events.last?.seq)
            let stats = try await client.call(
                Methods.getStats, Accessd_V1_GetStatsRequest())
            #expect(stats.lastSnapshotRevision == snapshot.revision)
            #expect(stats.accounts == 3)
            let metrics = try await client.call(
                Methods.getMetrics, Accessd_V1_GetMetricsRequest())
            #expect(metrics.text.contains("accessd_accounts 3"), "\(metrics.text)")
            let health = try await client.call(
                Methods.healthCheck, Accessd_V1_HealthCheckRequest())
            #expect(health.status == .serving && health.revision == stats.revision)
            var follow = Accessd_V1_FollowEventsRequest()
            follow.afterSeq = 0
            var seen: [UInt64] = []
            for try await event in try client.stream(
                Methods.followEvents, follow)
            {
                seen.append(event.seq)
                if seen.count == 3 { break }  // dropping the sequence cancels the call
            }
            #expect(seen == [1, 2, 3])
            // Backup: a header, the snapshot's bytes, a trailer with their SHA-256.
            var parts: [Accessd_V1_BackupChunk] = []
            for try await chunk in try client.stream(
                Methods.backup, Accessd_V1_BackupRequest())
            {
                parts.append(chunk)
            }
            guard case .header(let header) = parts.first?.part, case .trailer = parts.last?.part else {
                Issue.record("a backup is a header, data and a trailer: \(parts.count) parts")
                return
            }
            #expect(header.revision == stats.revision && header.size > 0)
            called.formUnion([
                Methods.snapshot.path, Methods.getStats.path,
                Methods.followEvents.path, Methods.backup.path,
                Methods.getMetrics.path, Methods.healthCheck.path,
            ])
            #expect(Self.allPaths.subtracting(called).isEmpty, "never called: \(Self.allPaths.subtracting(called).sorted())")
            // The daemon still answers on the same connection after the cancelled stream.
            let after = try await client.call(
                Methods.getStats, Accessd_V1_GetStatsRequest())
            #expect(after.revision == stats.revision)
            await client.close()
        }
    }

    @Test func everyMethodAnswersThroughRawFrames() async throws {
        try await withDaemon("raw") { socket in
            let connection = try RawConnection(path: socket)
            var caller = RawCaller(connection: connection)
            let tour = try await MethodTour.run(&caller)
            var called = tour.called

            let snapshot = try Accessd_V1_SnapshotResponse(
                serializedBytes: try await caller.callBytes(Methods.snapshot.path, [], actor: ""))
            #expect(snapshot.revision == tour.events.last?.seq)
            let stats = try Accessd_V1_GetStatsResponse(
                serializedBytes: try await caller.callBytes(Methods.getStats.path, [], actor: ""))
            #expect(stats.lastSnapshotRevision == snapshot.revision)
            let metrics = try Accessd_V1_GetMetricsResponse(
                serializedBytes: try await caller.callBytes(Methods.getMetrics.path, [], actor: ""))
            #expect(metrics.text.contains("accessd_revision \(stats.revision)"), "\(metrics.text)")
            let health = try Accessd_V1_HealthCheckResponse(
                serializedBytes: try await caller.callBytes(Methods.healthCheck.path, [], actor: ""))
            #expect(health.status == .serving)

            // FollowEvents: the backlog arrives with `more` set; a Cancel ends it with CANCELLED.
            var follow = Accessd_V1_FollowEventsRequest()
            follow.afterSeq = UInt64(tour.events.count - 2)
            var request = Accessd_V1_Request()
            request.id = 9_999
            request.method = Methods.followEvents.path
            request.payload = try follow.serializedBytes()
            try connection.send(request)
            var streamed: [UInt64] = []
            while streamed.count < 2 {
                let response = try connection.readResponse()
                #expect(response.id == 9_999 && response.code == 0 && response.more)
                streamed.append(try Accessd_V1_Event(serializedBytes: response.payload).seq)
            }
            #expect(streamed == tour.events.suffix(2).map(\.seq))
            var cancel = Accessd_V1_ClientFrame()
            cancel.cancel.id = 9_999
            try connection.writeFrame(try cancel.serializedBytes())
            var end = try connection.readResponse()
            while end.more { end = try connection.readResponse() }  // events that crossed the Cancel
            #expect(end.id == 9_999 && end.code == 1, "a cancelled stream ends with CANCELLED: \(end)")
            // Backup: messages with `more` set, then OK.
            var backup = Accessd_V1_Request()
            backup.id = 10_000
            backup.method = Methods.backup.path
            try connection.send(backup)
            var messages = 0
            var last = try connection.readResponse()
            while last.more {
                #expect(last.id == 10_000 && last.code == 0)
                messages += 1
                last = try connection.readResponse()
            }
            #expect(last.code == 0 && messages >= 3, "a header, data and a trailer, then OK: \(messages) messages, \(last.message)")
            called.formUnion([
                Methods.snapshot.path, Methods.getStats.path,
                Methods.followEvents.path, Methods.backup.path,
                Methods.getMetrics.path, Methods.healthCheck.path,
            ])
            #expect(Self.allPaths.subtracting(called).isEmpty, "never called: \(Self.allPaths.subtracting(called).sorted())")
        }
    }
}
