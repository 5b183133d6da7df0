import AccessCore
import AccessStore
import Foundation
import NIOCore
import Testing

@testable import AccessDaemon

/// What the daemon says of its log (GetStats, the health check, the
/// metrics) and the staleness rule of a shared log: README "Several hosts".
@Suite struct LogReportTests {
    @Test func theLocalJournalReportsItsRecordAndHashNoLagAndNeverRefusesReads() throws {
        let rig = try JournalRig(disk: SimulatedDisk())
        defer { rig.shutdown() }
        _ = try rig.write([JournalRig.createAccount(0)])
        _ = try rig.write([JournalRig.createAccount(1)])
        let report = LogReport(log: rig.log, published: rig.owner.published, writesStopped: nil)
        #expect(report.kind == "local" && report.connected)
        #expect(report.appliedLSN == 2 && report.headLSN == 2 && report.lagRecords == 0 && report.lagMilliseconds == 0)
        #expect(report.appliedHash == (try rig.durable()).logHash && report.appliedHash != .zero)
        #expect(report.silence == .zero)
        #expect(report.readsRefused(maxStalenessMilliseconds: 100, failure: "anything") == nil)
    }

    @Test func theStalenessRuleFailsClosedOnlyPastTheLimit() throws {
        #expect(LogReport.readsRefused(silence: .milliseconds(900), maxStalenessMilliseconds: 1000, failure: nil) == nil)
        #expect(LogReport.readsRefused(silence: .milliseconds(1000), maxStalenessMilliseconds: 1000, failure: nil) == nil)
        let late = try #require(
            LogReport.readsRefused(
                silence: .milliseconds(1500), maxStalenessMilliseconds: 1000, failure: "the shared log is unreachable: refused"))
        #expect(late.contains("for 1500 ms") && late.contains("(the shared log is unreachable: refused)"))
        #expect(late.contains("longer than max_staleness_ms 1000") && late.contains("try another host"))
        let never = try #require(LogReport.readsRefused(silence: nil, maxStalenessMilliseconds: 1000, failure: nil))
        #expect(never.contains("since it started"), "a host that never caught up since its start is stale")
    }

    @Test func healthIsNotServingForEveryServiceOnceReadsAreRefusedAndReportsTheLag() {
        let behind = LogReport(
            kind: "postgresql", connected: false, headLSN: 9, appliedLSN: 7, appliedHash: .zero, lagRecords: 2,
            lagMilliseconds: 40, silence: .seconds(20), writesStopped: nil)
        let refused = behind.readsRefused(maxStalenessMilliseconds: 10_000, failure: nil)
        #expect(refused != nil)
        for service in ["", "accessd.v1.AccessService", "accessd.v1.UserService"] {
            let answer = HealthCheck.answer(
                service: service, journalFailure: nil, readsRefused: refused, draining: false, revision: 5, log: behind)
            #expect(answer.status == .notServing && answer.reason.contains("max_staleness_ms"), "\(service)")
            #expect(answer.logLagRecords == 2 && answer.logLagMs == 40)
        }
        // Caught up recently but the log unreachable: reads serve, writes do not.
        let fresh = LogReport(
            kind: "postgresql", connected: false, headLSN: 7, appliedLSN: 7, appliedHash: .zero, lagRecords: 0,
            lagMilliseconds: 0, silence: .seconds(1), writesStopped: nil)
        #expect(fresh.readsRefused(maxStalenessMilliseconds: 10_000, failure: "down") == nil)
        let reads = HealthCheck.answer(
            service: "accessd.v1.AccessService", journalFailure: "the shared log is unreachable", draining: false, revision: 5,
            log: fresh)
        #expect(reads.status == .serving)
        let writes = HealthCheck.answer(
            service: "accessd.v1.UserService", journalFailure: "the shared log is unreachable", draining: false, revision: 5,
            log: fresh)
        #expect(writes.status == .notServing && writes.reason.contains("unreachable"))
    }

    /// GetStats' state digest: the records alone (not their order in the
    /// tables, the snapshot's time or its lsn), equal after a snapshot's
    /// round trip, different after one more write.
    @Test func theStateDigestFollowsTheRecordsAndNothingElse() throws {
        let rig = try JournalRig(disk: SimulatedDisk())
        defer { rig.shutdown() }
        for n in 0..<5 { _ = try rig.write([JournalRig.createAccount(n)]) }
        let durable = try rig.durable()
        let digest = try SnapshotFile.stateDigest(durable.state)
        #expect(digest.count == 32)
        let bytes = try SnapshotFile.encode(durable, writtenAt: Timestamp(millisecondsSinceEpoch: 1_900_000_000_000))
        let restored = try SnapshotFile.decode(bytes, path: "round-trip").durable
        #expect(try SnapshotFile.stateDigest(restored.state) == digest)
        _ = try rig.write([JournalRig.createAccount(5)])
        #expect(try SnapshotFile.stateDigest(try rig.durable().state) != digest)
    }
}
