import AccessStore
import AccessTestSupport
import AccessWire
import NIOCore
import SwiftProtobuf
import Testing

@testable import AccessDaemon

/// HealthService.Check inside the daemon (README "Metrics and health"): gRPC
/// health checking's meaning, NOT_SERVING while the journal fails and while
/// shutting down. (HealthTests asks the real binary.)
@Suite struct HealthStateTests {
    /// A fatal fsync (the journal writer's `dead`): NOT_SERVING for good, in
    /// the daemon's own words. (The real daemon exits 74 right after, so this
    /// runs the journal and the probe on a simulated disk.)
    @Test func aFatalSyncLeavesTheJournalNotServing() throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        defer { rig.shutdown() }
        _ = try rig.write([JournalRig.createAccount(0)])
        #expect(rig.journal.failure == nil)
        disk.failSyncNumber = disk.syncCount + 1
        #expect(throws: StorageError.self) { try rig.write([JournalRig.createAccount(1)]) }
        disk.failSyncNumber = nil
        let failure = try #require(rig.journal.failure)
        #expect(failure.contains("failed fsync"))
        let answer = HealthCheck.answer(service: "", journalFailure: failure, draining: false, revision: 3)
        #expect(answer.status == .notServing && answer.reason.contains("restart accessd") && answer.revision == 3)
    }

    @Test func theAnswerFollowsGRPCHealthCheckingsMeaning() {
        #expect(HealthCheck.answer(service: "", journalFailure: nil, draining: false, revision: 9).status == .serving)
        #expect(HealthCheck.answer(service: "accessd.v1.HealthService", journalFailure: nil, draining: false, revision: 9).status == .serving)
        let draining = HealthCheck.answer(service: "accessd.v1.AccessService", journalFailure: nil, draining: true, revision: 9)
        #expect(draining.status == .notServing && draining.reason == "accessd is shutting down")
        let unknown = HealthCheck.answer(service: "grpc.health.v1.Health", journalFailure: "x", draining: true, revision: 9)
        #expect(unknown.status == .serviceUnknown, "an unknown name is unknown whatever the daemon's state")
        // Every service of the protos is known; the ones with writes follow the journal.
        #expect(HealthCheck.services.count == 12)
        #expect(HealthCheck.services["accessd.v1.AccessService"] == false && HealthCheck.services["accessd.v1.HealthService"] == false)
        #expect(HealthCheck.services["accessd.v1.EventService"] == true, "AcknowledgeOutbox is a write")
        #expect(HealthCheck.services["accessd.v1.AdminService"] == true && HealthCheck.services["accessd.v1.UserService"] == true)
    }

    /// Shutting down (GoAway sent, a call still in flight: a scrape whose
    /// figures are not gathered yet): other calls get UNAVAILABLE, the health
    /// probe NOT_SERVING with the reason; the connection closes once the call is answered.
    @Test func whileAConnectionDrainsTheProbeSaysNotServing() async throws {
        let rig = ConnectionHandlerTests.Rig()
        let gathered = rig.loop.makePromise(of: String.self)
        let hooks = MetricsHooks(
            text: { _ in gathered.futureResult }, callsInFlight: { loop in loop.makeSucceededFuture(0) },
            health: HealthProbe(journalFailure: { nil }, draining: { false }), uptimeMilliseconds: { 1 })
        let channel = try await rig.channel(metrics: hooks)
        typealias Rig = ConnectionHandlerTests.Rig
        try await channel.writeInbound(try Rig.frame(Methods.healthCheck.path, Accessd_V1_HealthCheckRequest(), id: 1))
        try await channel.writeInbound(try Rig.frame(Methods.getMetrics.path, Accessd_V1_GetMetricsRequest(), id: 2))
        channel.pipeline.fireUserInboundEventTriggered(GoAwayEvent())
        try await channel.writeInbound(try Rig.frame(Methods.healthCheck.path, Accessd_V1_HealthCheckRequest(), id: 3))
        try await channel.writeInbound(try Rig.frame(Methods.getStats.path, Accessd_V1_GetStatsRequest(), id: 4))
        let replies = try await Rig.responses(channel)
        func health(_ id: UInt64) throws -> Accessd_V1_HealthCheckResponse {
            guard let reply = replies.first(where: { $0.id == id }) else {
                Issue.record("no reply to \(id): \(replies)")
                return Accessd_V1_HealthCheckResponse()
            }
            #expect(reply.code == 0, "\(reply.message)")
            return try Accessd_V1_HealthCheckResponse(serializedBytes: reply.payload)
        }
        #expect(try health(1).status == .serving)
        let draining = try health(3)
        #expect(draining.status == .notServing && draining.reason == "accessd is shutting down")
        #expect(replies.first { $0.id == 4 }?.code == 14, "other calls: UNAVAILABLE")
        #expect(!replies.contains { $0.id == 2 }, "the scrape is still in flight")
        #expect(channel.isActive)
        gathered.succeed("# the text\n")
        await rig.loop.run()
        let last = try #require(try await Rig.responses(channel).first)
        #expect(last.id == 2)
        #expect(try Accessd_V1_GetMetricsResponse(serializedBytes: last.payload).text == "# the text\n")
        #expect(!channel.isActive, "drained: closed")
    }
}
