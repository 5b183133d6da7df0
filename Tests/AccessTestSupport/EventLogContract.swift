package import AccessStore
import AccessCore
import AccessWire
import Foundation
import Testing

/// A log under test: `open` opens it (empty the first time; after `close()`,
/// opening again gives back what it holds), `remove` throws it all away.
package struct EventLogFixture: Sendable {
    package var open: @Sendable () async throws -> any EventLog
    package var remove: @Sendable () -> Void

    package init(open: @escaping @Sendable () async throws -> any EventLog, remove: @escaping @Sendable () -> Void = {}) {
        self.open = open
        self.remove = remove
    }
}

/// The contract of `EventLog` (Sources/AccessStore/Log/EventLog.swift),
/// written once for every implementation: the local journal's suite
/// (`EventLogContractTests`) runs each clause, and so will the shared log's.
/// Each clause takes a maker of fresh, empty logs.
package enum EventLogContract {
    package typealias Clause = @Sendable (_ make: @Sendable () throws -> EventLogFixture) async throws -> Void

    /// Every clause by name.
    package static let clauses: [(name: String, run: Clause)] = [
        ("append at head + 1 commits", appendAtHeadPlusOneCommits),
        ("append at a stale lsn answers conflict with exactly the records after it", appendAtAStaleLSNAnswersConflict),
        ("records(after:) and follow deliver in lsn order without gaps", recordsAndFollowDeliverInOrderWithoutGaps),
        ("hash(at:) is the chain", hashAtIsTheChain),
        ("lookup by batch id finds a committed record and not an uncommitted one", lookupByBatchID),
        ("snapshots stored load back as they were", snapshotRoundTrip),
        ("reopening after close keeps everything", reopenAfterCloseKeepsEverything),
    ]

    // MARK: - Records to append

    /// A record at `lsn` after `previous`, with a batch id of its own and an
    /// idempotent reply that makes its bytes its own.
    package static func record(_ lsn: UInt64, after previous: LogHash, tag: String = "") throws -> LogRecord {
        var record = Accessd_V1_JournalRecord()
        record.lsn = lsn
        var reply = Accessd_V1_IdempotentReply()
        reply.actor = "administrator"
        reply.key = "contract-\(lsn)\(tag)"
        reply.atMs = 1_800_000_000_000
        record.idempotentReplies = [reply]
        var generator = SystemRandomNumberGenerator()
        return try LogRecord(record, batchID: .random(using: &generator), previousHash: previous)
    }

    /// Appends `count` records after the log's head (expected to commit), returning them.
    @discardableResult
    package static func appendChain(_ log: any EventLog, count: Int, tag: String = "") async throws -> [LogRecord] {
        var head = log.status.head
        var previous = try #require(try await log.hash(at: head), "the log has the hash of its head \(head)")
        var appended: [LogRecord] = []
        for _ in 0..<count {
            let next = try record(head + 1, after: previous, tag: tag)
            let outcome = try await log.append(next)
            try #require(outcome == .committed(lsn: next.lsn, hash: next.hash), "record \(next.lsn) commits")
            appended.append(next)
            head = next.lsn
            previous = next.hash
        }
        return appended
    }

    /// A snapshot's bytes as the daemon writes them, of an empty state at `lsn` after `hash`.
    package static func snapshot(lsn: UInt64, hash: LogHash) throws -> LogSnapshot {
        var durable = DurableState(state: AccessState(), history: EventHistory(), lsn: lsn)
        durable.logHash = hash
        let bytes = try SnapshotFile.encode(durable, writtenAt: Timestamp(millisecondsSinceEpoch: 1_800_000_000_000 + Int64(lsn)))
        return LogSnapshot(lsn: lsn, bytes: bytes)
    }

    static func lsns(_ records: [LogRecord]) -> [UInt64] { records.map(\.lsn) }

    // MARK: - Clauses

    /// An empty log is at lsn 0 with the zero hash; a record at head + 1
    /// naming the head's hash commits, with its hash.
    package static func appendAtHeadPlusOneCommits(_ make: @Sendable () throws -> EventLogFixture) async throws {
        let fixture = try make()
        defer { fixture.remove() }
        let log = try await fixture.open()
        defer { log.close() }
        #expect(log.status.head == 0)
        #expect(try await log.hash(at: 0) == .zero)
        let first = try record(1, after: .zero)
        #expect(try await log.append(first) == .committed(lsn: 1, hash: first.hash))
        let second = try record(2, after: first.hash)
        #expect(try await log.append(second) == .committed(lsn: 2, hash: second.hash))
        #expect(log.status.head == 2)
        #expect(log.failure == nil)
    }

    /// A writer behind the log (it appends at a stale lsn) commits nothing and
    /// gets exactly the records from its lsn on, so it can catch up.
    package static func appendAtAStaleLSNAnswersConflict(_ make: @Sendable () throws -> EventLogFixture) async throws {
        let fixture = try make()
        defer { fixture.remove() }
        let log = try await fixture.open()
        defer { log.close() }
        let chain = try await appendChain(log, count: 3)
        let stale = try record(2, after: chain[0].hash, tag: "-stale")
        guard case .conflict(let missed) = try await log.append(stale) else {
            Issue.record("an append at lsn 2 behind head 3 is a conflict")
            return
        }
        #expect(missed == Array(chain[1...]), "the records from lsn 2 on, as they were appended")
        #expect(log.status.head == 3, "nothing of the stale append was written")
        #expect(try await log.records(after: 0) == chain)
        // Caught up, the writer appends at head + 1.
        let next = try record(4, after: chain[2].hash)
        #expect(try await log.append(next) == .committed(lsn: 4, hash: next.hash))
    }

    /// `records(after:)` from any lsn and `follow(after:)` (old records, then
    /// new ones as they commit) are in lsn order without a gap.
    package static func recordsAndFollowDeliverInOrderWithoutGaps(_ make: @Sendable () throws -> EventLogFixture)
        async throws
    {
        let fixture = try make()
        defer { fixture.remove() }
        let log = try await fixture.open()
        defer { log.close() }
        #expect(try await log.records(after: 0).isEmpty)
        let chain = try await appendChain(log, count: 5)
        for after in 0...5 {
            #expect(lsns(try await log.records(after: UInt64(after))) == Array(UInt64(after + 1)..<6), "after \(after)")
        }
        let followed = Task {
            var seen: [LogRecord] = []
            for try await record in log.follow(after: 2) {
                seen.append(record)
                if record.lsn == 9 { break }
            }
            return seen
        }
        let later = try await appendChain(log, count: 4, tag: "-later")
        let seen = try await followed.value
        #expect(lsns(seen) == Array(3...9))
        #expect(seen == Array(chain[2...]) + later)
    }

    /// `hash(at:)` is the chain: the zero hash at 0, then SHA-256 of the
    /// previous hash and the record's bytes; nil past the head.
    package static func hashAtIsTheChain(_ make: @Sendable () throws -> EventLogFixture) async throws {
        let fixture = try make()
        defer { fixture.remove() }
        let log = try await fixture.open()
        defer { log.close() }
        let chain = try await appendChain(log, count: 4)
        var expected = LogHash.zero
        #expect(try await log.hash(at: 0) == expected)
        for record in chain {
            #expect(record.previousHash == expected, "record \(record.lsn) names the hash before it")
            expected = LogHash.chained(after: expected, bytes: record.bytes)
            #expect(try await log.hash(at: record.lsn) == expected, "the hash at \(record.lsn)")
        }
        let read = try await log.records(after: 0)
        #expect(read.map(\.hash) == chain.map(\.hash), "records read back carry the same chain")
        #expect(try await log.hash(at: 5) == nil, "no hash past the head")
    }

    /// A writer whose answer was lost finds its record by the batch id it
    /// chose; a batch that did not commit (a stale append) is not found.
    package static func lookupByBatchID(_ make: @Sendable () throws -> EventLogFixture) async throws {
        let fixture = try make()
        defer { fixture.remove() }
        let log = try await fixture.open()
        defer { log.close() }
        let chain = try await appendChain(log, count: 3)
        for record in chain {
            #expect(try await log.record(batch: record.batchID) == record, "record \(record.lsn) by its batch")
        }
        let stale = try record(3, after: chain[1].hash, tag: "-uncommitted")
        guard case .conflict = try await log.append(stale) else {
            Issue.record("the stale append conflicts")
            return
        }
        #expect(try await log.record(batch: stale.batchID) == nil, "a batch that did not commit is not found")
        var generator = SystemRandomNumberGenerator()
        #expect(try await log.record(batch: .random(using: &generator)) == nil, "nor one never appended")
    }

    /// A snapshot stored is the newest loaded back, byte for byte.
    package static func snapshotRoundTrip(_ make: @Sendable () throws -> EventLogFixture) async throws {
        let fixture = try make()
        defer { fixture.remove() }
        let log = try await fixture.open()
        defer { log.close() }
        #expect(try await log.newestSnapshot() == nil)
        let chain = try await appendChain(log, count: 3)
        let older = try snapshot(lsn: 1, hash: chain[0].hash)
        _ = try await log.storeSnapshot(older)
        #expect(try await log.newestSnapshot() == older)
        let newer = try snapshot(lsn: 3, hash: chain[2].hash)
        let stored = try await log.storeSnapshot(newer)
        #expect(stored.bytes == newer.bytes.count)
        #expect(stored.keepFrom <= 3)
        #expect(try await log.newestSnapshot() == newer)
    }

    /// Closed and opened again, the log holds every committed record (same
    /// bytes, same chain, found by batch) and snapshot, and goes on at its head.
    package static func reopenAfterCloseKeepsEverything(_ make: @Sendable () throws -> EventLogFixture) async throws {
        let fixture = try make()
        defer { fixture.remove() }
        let first = try await fixture.open()
        let chain = try await appendChain(first, count: 4)
        let stored = try snapshot(lsn: 2, hash: chain[1].hash)
        _ = try await first.storeSnapshot(stored)
        first.close()

        let log = try await fixture.open()
        defer { log.close() }
        #expect(log.status.head == 4)
        #expect(try await log.records(after: 0) == chain)
        #expect(try await log.hash(at: 4) == chain[3].hash)
        #expect(try await log.record(batch: chain[2].batchID) == chain[2])
        #expect(try await log.newestSnapshot() == stored)
        let next = try record(5, after: chain[3].hash)
        #expect(try await log.append(next) == .committed(lsn: 5, hash: next.hash))
    }
}
