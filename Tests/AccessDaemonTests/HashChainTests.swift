import AccessCore
import AccessMapping
import AccessStore
import AccessWire
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import AccessDaemon

/// Journal format 3 (FormatVersions): every record names its batch and the
/// hash of the record before it, a record's hash is SHA-256 of that hash and
/// its bytes, and recovery refuses a record that does not follow the one
/// before it; the owner appends through the `EventLog` without waiting for
/// the disk on its loop, and catches up when the log has records it lacks.
@Suite struct HashChainTests {
    static let directory = JournalRig.directory

    /// The records of every segment, oldest first.
    static func records(_ disk: SimulatedDisk) throws -> [LogRecord] {
        try disk.list(directory).filter { $0.hasPrefix("journal-") }.sorted().flatMap { name in
            let scan = try JournalFormat.scan(try #require(disk.contents(directory + "/" + name)))
            return try scan.records.map { try LogRecord.decode(Array($0.payload), formatVersion: scan.version).record }
        }
    }

    @Test func theOwnersRecordsFormAHashChainThatRecoveryEndsWith() throws {
        let disk = try JournalRecoveryTests.journal(of: 4)
        let records = try Self.records(disk)
        #expect(records.map(\.lsn) == [1, 2, 3, 4])
        var previous = LogHash.zero
        for record in records {
            #expect(record.formatVersion == JournalFormat.version)
            #expect(record.previousHash == previous, "record \(record.lsn) names the hash of the one before it")
            #expect(record.batchID != .none)
            previous = record.hash
        }
        #expect(Set(records.map(\.batchID)).count == 4, "every batch has an id of its own")
        let recovered = try JournalRecoveryTests.recover(disk)
        #expect(recovered.durable.logHash == previous, "recovery ends at the hash of the last record")
    }

    @Test func aRecordThatDoesNotFollowTheOneBeforeItStopsTheStartUnlessTheLossIsAccepted() throws {
        let disk = try JournalRecoveryTests.journal(of: 3)
        let path = try JournalRecoveryTests.segment(disk)
        // Record 3 as another history would have it: the same bytes, built on another record 2.
        var records = try Self.records(disk)
        var decoded = try Accessd_V1_JournalRecord(serializedBytes: records[2].bytes)
        decoded.previousHash = Data(repeating: 7, count: LogHash.length)
        records[2].bytes = try decoded.serializedBytes()
        var bytes = JournalFormat.header(firstLSN: 1)
        for record in records { bytes += JournalFormat.frame(record.bytes) }
        disk.setContents(path, bytes)
        #expect {
            try JournalRecoveryTests.recover(disk)
        } throws: { error in
            let text = "\(error)"
            return text.contains("record 3") && text.contains("not written after it") && text.contains("--accept-data-loss")
        }
        let kept = try JournalRecoveryTests.recover(disk, acceptLoss: true)
        #expect(kept.durable.lsn == 2)
        #expect(JournalRig.names(kept.durable.state) == ["Account 0", "Account 1"])
    }

    @Test func afterTheSegmentsASnapshotCoversAreGoneTheChainGoesOnFromTheSnapshotsHash() throws {
        let disk = try JournalRig.twoSnapshots()
        // Recovery starts from the newer snapshot; the journal after the older one is kept.
        let rig = try JournalRig(disk: disk)
        let before = rig.recovered.durable.logHash
        #expect(before == (try Self.records(disk).last?.hash))
        // Only a snapshot, no segment: as after a restore.
        for name in try disk.list(Self.directory) where name.hasPrefix("journal-") { try disk.remove(Self.directory + "/" + name) }
        rig.shutdown()
        _ = try StateDirectory(storage: disk, path: Self.directory).writeSnapshot(rig.recovered.durable, writtenAt: Timestamp(millisecondsSinceEpoch: 1_900_000_000_000))
        let restarted = try JournalRig(disk: disk)
        #expect(restarted.recovered.durable.logHash == before, "the snapshot holds the hash of its record")
        _ = try restarted.write([JournalRig.createAccount(99)])
        restarted.shutdown()
        let next = try #require(try Self.records(disk).last)
        #expect(next.lsn == rig.recovered.durable.lsn + 1 && next.previousHash == before)
        #expect(try JournalRecoveryTests.recover(disk).durable.state.accounts.count == 9)
    }

    /// The owner's loop goes on while its record is being synced: fdatasync
    /// is the journal thread's, not the owner's.
    @Test func theOwnersLoopServesWhileItsRecordIsBeingSynced() throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        defer { rig.shutdown() }
        _ = try rig.write([JournalRig.createAccount(0)])
        disk.ioDelayMicroseconds = 400_000
        let started = NIODeadline.now()
        let write = rig.queue([JournalRig.createAccount(1)])
        // A job behind the write on the owner's loop runs long before the record is durable.
        try rig.owner.loop.submit {}.wait()
        let loopFree = NIODeadline.now() - started
        guard case .applied = try write.wait()[0] else {
            Issue.record("the write is applied")
            return
        }
        let durable = NIODeadline.now() - started
        #expect(loopFree < .milliseconds(200), "the loop answered after \(loopFree.nanoseconds / 1_000_000) ms")
        #expect(durable >= .milliseconds(400), "the reply waited for the sync")
    }

    /// A log with a record the owner has not seen (another writer, in a shared
    /// log): the append answers a conflict, the owner applies that record,
    /// runs the same write again on the new state and appends it after it.
    @Test func onAConflictTheOwnerCatchesUpAndRunsTheSameWritesAgain() throws {
        let disk = SimulatedDisk()
        let recovered = try StateDirectory(storage: disk, path: Self.directory).recover(logger: JournalRig.quietLogger)
        let log = LocalJournal(
            directory: StateDirectory(storage: disk, path: Self.directory), recovered: recovered, policy: .always,
            logger: JournalRig.quietLogger, onFatalSync: { _ in })
        // Another writer's record 1: an account named "Foreign".
        var state = recovered.durable.state
        var random = SystemRandomNumberGenerator()
        let events = try state.execute(
            .createAccount(
                CreateAccount(
                    name: "Foreign", fullAccessLicenses: 1, ownerEmail: "foreign@example.com", ownerFirstName: "F",
                    ownerLastName: "Oreign")),
            context: CommandContext(principal: .administrator, now: Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)),
            using: &random)
        var foreign = Accessd_V1_JournalRecord()
        foreign.lsn = 1
        foreign.events = events.map(Accessd_V1_Event.init)
        let record = try LogRecord(foreign, batchID: .random(using: &random), previousHash: .zero)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let committed = loop.makePromise(of: AppendOutcome.self)
        log.append(record) { committed.completeWith($0.mapError { $0 as any Error }) }
        #expect(try committed.futureResult.wait() == .committed(lsn: 1, hash: record.hash))

        // The owner still thinks the log is empty.
        let owner = StateOwner(loop: loop, durable: recovered.durable, policy: DomainPolicy(), log: log)
        let promise = loop.makePromise(of: [WriteOutcome].self)
        loop.execute {
            owner.assumeIsolated { $0.submit([JournalRig.createAccount(1)]) { promise.completeWith($0) } }
        }
        guard case .applied = try promise.futureResult.wait()[0] else {
            Issue.record("the write is applied after the catch-up")
            return
        }
        let durable = try loop.submit { owner.assumeIsolated { $0.durable } }.wait()
        #expect(durable.lsn == 2)
        #expect(JournalRig.names(durable.state) == ["Foreign", "Account 1"])
        #expect(JournalRig.names(owner.published.state) == ["Foreign", "Account 1"], "the caught-up record is published")
        log.close()
        let again = try JournalRecoveryTests.recover(disk)
        #expect(JournalRig.names(again.durable.state) == ["Foreign", "Account 1"])
        #expect(again.durable.logHash == durable.logHash)
    }
}
