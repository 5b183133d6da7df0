import AccessStore
import AccessCore
import AccessTestSupport
import Foundation
import NIOCore
import Testing

@testable import AccessDaemon

/// Group commit at the state's owner (`StateOwner.submit`): batches that
/// arrive while a record is being synced wait, then run together as one
/// record; a failed record fails only its own writes, and the state rolls
/// back (docs/protocol.md, "Durability": a reply leaves once its write is durable).
@Suite struct OwnerGroupCommitTests {
    @Test func batchesQueuedBehindASyncShareOneRecord() throws {
        let disk = SimulatedDisk()
        disk.ioDelayMicroseconds = 3000
        let rig = try JournalRig(disk: disk)
        let futures = (0..<60).map { rig.queue([JournalRig.createAccount($0)]) }
        for (n, future) in futures.enumerated() {
            guard case .applied = try future.wait()[0] else {
                Issue.record("write \(n) is applied")
                continue
            }
        }
        let records = rig.journal.stats.records
        #expect(records < 20, "60 batches queued behind slow syncs went out in \(records) records")
        #expect(try rig.durable().state.accounts.count == 60)
        rig.shutdown()
        let recovered = try StateDirectory(storage: disk, path: JournalRig.directory).recover(logger: JournalRig.quietLogger)
        #expect(recovered.durable.state.accounts.count == 60, "every acknowledged write is in the journal")
    }

    @Test func aFailedRecordFailsItsOwnWritesAndTheWritesAfterItRunOnTheRolledBackState() throws {
        let disk = SimulatedDisk()
        // Write 1 is the segment header, write 2 the first record.
        disk.failWriteNumber = 2
        let rig = try JournalRig(disk: disk)
        let first = rig.queue([JournalRig.createAccount(0), JournalRig.createAccount(1)])
        #expect(throws: (any Error).self, "the writes whose record failed are refused") { try first.wait() }
        let later = (2..<10).map { rig.queue([JournalRig.createAccount($0)]) }
        var names: Set<String> = []
        for (n, future) in later.enumerated() {
            guard case .applied = try future.wait()[0] else {
                Issue.record("write \(n + 2), after the failure, runs on the rolled-back state")
                continue
            }
            names.insert("Account \(n + 2)")
        }
        #expect(names.count == 8)
        #expect(JournalRig.names(try rig.durable().state) == names, "nothing of the failed record remains")
        rig.shutdown()
        let recovered = try StateDirectory(storage: disk, path: JournalRig.directory).recover(logger: JournalRig.quietLogger)
        #expect(JournalRig.names(recovered.durable.state) == names)
        #expect(recovered.warnings.isEmpty, "\(recovered.warnings)")
    }

    @Test func aRefusedWriteAnswersWithoutWaitingForAnything() throws {
        let rig = try JournalRig(disk: SimulatedDisk())
        var bad = JournalRig.createAccount(0)
        bad.command = { _ in .setLicenseCount(account: AccountID(uncheckedRawValue: "acc_missing"), count: 3) }
        guard case .refused(let error) = try rig.queue([bad]).wait()[0] else {
            Issue.record("a write on a missing account is refused")
            return
        }
        #expect(error.code == .notFound)
        #expect(rig.journal.stats.records == 0, "nothing was journaled")
        rig.shutdown()
    }
}
