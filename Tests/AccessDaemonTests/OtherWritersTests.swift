import AccessCore
import AccessMapping
import AccessStore
import AccessWire
import Foundation
import NIOCore
import Testing

@testable import AccessDaemon

/// The owner and the records another host committed to a shared log
/// (README "Several hosts"): a record that follows this host's newest is
/// applied and published; one that does not stops the writes with DATA_LOSS
/// naming the record; one of a journal format this accessd does not know
/// stops them with FAILED_PRECONDITION naming its lsn and version. Reads go
/// on in both cases.
@Suite struct OtherWritersTests {
    /// The events of account `n` created on another host, from an empty state.
    static func eventsFromAnotherHost(_ n: Int) throws -> [Event] {
        let other = try JournalRig(disk: SimulatedDisk())
        defer { other.shutdown() }
        _ = try other.write([JournalRig.createAccount(n)])
        return try other.durable().history.events(after: 0)
    }

    static func record(lsn: UInt64, after previous: LogHash, _ events: [Event], formatVersion: UInt32? = nil) throws
        -> LogRecord
    {
        var journal = Accessd_V1_JournalRecord()
        journal.lsn = lsn
        journal.events = events.map(Accessd_V1_Event.init)
        var record = try LogRecord(
            journal, batchID: try #require(BatchID([UInt8](repeating: 7, count: BatchID.length))), previousHash: previous)
        if let formatVersion { record.formatVersion = formatVersion }
        return record
    }

    static func apply(_ records: [LogRecord], to rig: JournalRig) throws {
        let owner = rig.owner
        try owner.loop.submit { owner.assumeIsolated { $0.applyCommitted(records) } }.wait()
    }

    static func stopped(_ rig: JournalRig) throws -> StorageError? {
        let owner = rig.owner
        return try owner.loop.submit { owner.assumeIsolated { $0.writesStopped } }.wait()
    }

    @Test func anotherHostsRecordThatFollowsIsAppliedAndPublished() throws {
        let rig = try JournalRig(disk: SimulatedDisk())
        defer { rig.shutdown() }
        let events = try Self.eventsFromAnotherHost(0)
        let record = try Self.record(lsn: 1, after: .zero, events)
        try Self.apply([record], to: rig)
        let durable = try rig.durable()
        #expect(durable.lsn == 1 && durable.logHash == record.hash)
        #expect(JournalRig.names(durable.state) == ["Account 0"])
        #expect(rig.owner.published.revision == events.last?.seq)
        // A record this host holds already is passed over. (Writes after it are the shared
        // log's: it keeps the records it reads in the local journal, which this rig's does not.)
        try Self.apply([record], to: rig)
        #expect(try rig.durable().lsn == 1 && (try Self.stopped(rig)) == nil)
    }

    @Test func aRecordThatDoesNotFollowStopsTheWritesWithDataLossNamingIt() throws {
        let rig = try JournalRig(disk: SimulatedDisk())
        defer { rig.shutdown() }
        _ = try rig.write([JournalRig.createAccount(0)])
        let before = try rig.durable()
        // Record 2 of a history in which record 1 was another one.
        let stranger = try #require(LogHash([UInt8](repeating: 9, count: LogHash.length)))
        try Self.apply([try Self.record(lsn: 2, after: stranger, try Self.eventsFromAnotherHost(1))], to: rig)
        let error = try #require(try Self.stopped(rig))
        #expect(error.kind == .diverged)
        #expect(try rig.durable().lsn == before.lsn, "nothing of it applied")
        #expect(throws: StorageError.self) { try rig.write([JournalRig.createAccount(2)]) }
        let refusal = ConnectionHandler.refusal(ofUndurableWrite: error)
        #expect(refusal.code == .dataLoss)
        #expect(refusal.message.contains("record 2") && refusal.message.contains("accessd resync"))
        // Reads go on from the state as it was.
        #expect(JournalRig.names(rig.owner.published.state) == ["Account 0"])
    }

    @Test func aRecordOfANewerFormatStopsTheWritesNamingItsLsnAndVersion() throws {
        let rig = try JournalRig(disk: SimulatedDisk())
        defer { rig.shutdown() }
        let newer = JournalFormat.version + 1
        try Self.apply([try Self.record(lsn: 1, after: .zero, try Self.eventsFromAnotherHost(0), formatVersion: newer)], to: rig)
        let error = try #require(try Self.stopped(rig))
        #expect(error.kind == .newerFormat)
        let refusal = ConnectionHandler.refusal(ofUndurableWrite: error)
        #expect(refusal.code == .failedPrecondition)
        #expect(refusal.message.contains("record 1") && refusal.message.contains("format \(newer)"))
        #expect(try rig.durable().lsn == 0 && rig.owner.published.state.accounts.isEmpty)
    }
}
