import Dispatch
import NIOConcurrencyHelpers

/// The log every accepted write goes to before its reply: a sequence of
/// records (`LogRecord`) numbered by lsn from 1 without a gap, each naming
/// the hash of the one before it (a hash chain), and the snapshots that let
/// a reader start late. The state's owner is its one writer per host; what
/// it does not know is which log runs: the local journal (`LocalJournal`,
/// the default) or a log several hosts share (issue 15: PostgreSQL).
///
/// The contract (checked once for every implementation by
/// `EventLogContract` in Tests/AccessTestSupport):
/// - `append` of a record at lsn `head + 1` naming the head's hash commits
///   it; at a stale lsn it commits nothing and answers `.conflict` with
///   exactly the records from that lsn on (what the writer missed), so the
///   writer can catch up and build its batch again. One append in flight per
///   log: commit order is lsn order, so readers never skip a record.
/// - `records(after:)` and `follow(after:)` give records in lsn order
///   without a gap; `follow` goes on with each new record as it commits.
/// - `hash(at:)` is the chain: `SHA-256(hash(at: lsn - 1) || bytes)`.
/// - `record(batch:)` finds a committed record by the id its writer gave
///   it, and never one that did not commit.
/// - Snapshots stored are loaded back as they were.
/// - Closing and opening again keeps every committed record and snapshot.
///
/// An append's errors are `StorageError`s: the write is not applied, and the
/// owner answers UNAVAILABLE. A failed sync of the local journal is fatal (the
/// process ends: see `JournalWriter`).
package protocol EventLog: AnyObject, Sendable {
    /// Appends `record` at `record.lsn`, the writer's head + 1, with
    /// `record.previousHash` the head's hash, and calls `completion` (on a
    /// thread of the log's) once the record is durable as the log promises
    /// (the local journal: per its fsync policy), or with why nothing was
    /// committed. The caller hops back to its own loop: the local journal
    /// completes from its writer's thread, so the state's owner never waits
    /// for the disk and no other executor is involved. (`append(_:) async`
    /// wraps it.)
    ///
    /// One append at a time: a second one while one is in flight fails.
    func append(_ record: LogRecord, completion: @escaping @Sendable (Result<AppendOutcome, StorageError>) -> Void)

    /// The committed records after `lsn`, oldest first, without a gap.
    /// Throws `LogTrimmed` when the log no longer holds record `lsn + 1`
    /// (start from a snapshot then).
    func records(after lsn: UInt64) async throws -> [LogRecord]

    /// The records after `lsn`, then each new one as it commits, until the
    /// log closes (the sequence ends) or the consumer stops.
    func follow(after lsn: UInt64) -> AsyncThrowingStream<LogRecord, any Error>

    /// The hash of record `lsn` (`LogHash.zero` for 0), or nil when the log
    /// does not hold it (past its head, or trimmed).
    func hash(at lsn: UInt64) async throws -> LogHash?

    /// The committed record its writer gave `batch`, or nil: the batch did
    /// not commit (or is older than what the log keeps).
    func record(batch: BatchID) async throws -> LogRecord?

    /// Stores a snapshot (`SnapshotFile` bytes) and tells `completion` (on a
    /// thread of the log's) what the log keeps. (`storeSnapshot(_:) async`
    /// and `storeSnapshotWaiting` wrap it.)
    func storeSnapshot(_ snapshot: LogSnapshot, completion: @escaping @Sendable (Result<StoredSnapshot, any Error>) -> Void)

    /// The newest snapshot stored that holds (its checksum), or nil.
    func newestSnapshot() async throws -> LogSnapshot?

    /// Snapshots hold every record up to `lsn`: the log may drop them (the
    /// local journal removes its segments; a shared log leaves trimming to
    /// its maintenance command).
    func release(through lsn: UInt64)

    /// Where the log is: its head, whether it is reachable, how far behind.
    var status: LogStatus { get }

    /// Why the log cannot take writes now (for the health check), or nil.
    var failure: String? { get }

    /// Finishes what was appended (synced, for the local journal) and stops;
    /// every `follow` ends. Once; appends after it fail.
    func close()

    /// Whether other hosts append to the log too. Then the state's owner
    /// follows it (`follow`, applying what others commit) and reads mind its
    /// `freshness`; the local journal has no other writer.
    var hasOtherWriters: Bool { get }

    /// When this host last held every committed record (a log with other
    /// writers); nil: always (the local journal).
    var freshness: LogFreshness? { get }

    /// Look for new records now, without waiting for the next poll (a read
    /// waits for a revision this host has not reached). The local journal:
    /// nothing to do.
    func lookNow()
}

extension EventLog {
    package var hasOtherWriters: Bool { false }
    package var freshness: LogFreshness? { nil }
    package func lookNow() {}
}

extension EventLog {
    /// `append(_:completion:)`, awaited.
    package func append(_ record: LogRecord) async throws(StorageError) -> AppendOutcome {
        try await withCheckedContinuation { continuation in
            append(record) { continuation.resume(returning: $0) }
        }.get()
    }

    /// `storeSnapshot(_:completion:)`, awaited.
    package func storeSnapshot(_ snapshot: LogSnapshot) async throws -> StoredSnapshot {
        try await withCheckedContinuation { continuation in
            storeSnapshot(snapshot) { continuation.resume(returning: $0) }
        }.get()
    }

    /// `storeSnapshot` for a thread that may wait (the snapshot thread),
    /// never an event loop or a task: blocks until the log has stored it.
    package func storeSnapshotWaiting(_ snapshot: LogSnapshot) throws -> StoredSnapshot {
        let done = DispatchSemaphore(value: 0)
        let result = NIOLockedValueBox<Result<StoredSnapshot, any Error>?>(nil)
        storeSnapshot(snapshot) { stored in
            result.withLockedValue { $0 = stored }
            done.signal()
        }
        done.wait()
        return try result.withLockedValue { $0! }.get()
    }
}

/// What an append did.
package enum AppendOutcome: Sendable, Equatable {
    /// The record is the log's record `lsn`, with this hash.
    case committed(lsn: UInt64, hash: LogHash)
    /// Records were written after the writer's head: these, from the lsn it
    /// appended at on, in order. Nothing of the append was written.
    case conflict([LogRecord])
}

/// The log no longer holds the record asked for: snapshots cover it and it was removed.
package struct LogTrimmed: Error, Sendable, CustomStringConvertible {
    /// The oldest record it holds (head + 1 when it holds none).
    package var oldest: UInt64
    package var wanted: UInt64

    package init(oldest: UInt64, wanted: UInt64) {
        self.oldest = oldest
        self.wanted = wanted
    }
    package var description: String {
        "the log no longer holds record \(wanted) (it holds records from \(oldest) on); start from a snapshot"
    }
}

/// A snapshot as the log stores it: the bytes of a `SnapshotFile` (header,
/// checksum, the state at `lsn` and the hash of record `lsn`).
package struct LogSnapshot: Sendable, Equatable {
    package var lsn: UInt64
    package var bytes: [UInt8]

    package init(lsn: UInt64, bytes: [UInt8]) {
        self.lsn = lsn
        self.bytes = bytes
    }
}

/// A snapshot stored: under what name, how big, and from which record the
/// log must keep its records (the older snapshot it keeps).
package struct StoredSnapshot: Sendable, Equatable {
    package var name: String
    package var bytes: Int
    package var keepFrom: UInt64
}

/// The log's state, for GetStats, metrics and the health check.
package struct LogStatus: Sendable, Equatable {
    /// The newest committed record.
    package var head: UInt64
    /// Whether the log is reachable (the local journal always is).
    package var connected: Bool
    /// Records the log holds that this host has not applied, and for how long
    /// (the local journal: 0; its only writer is this host).
    package var lagRecords: UInt64
    package var lagMilliseconds: Int64
    /// Records appended and syncs done since start (GetStats).
    package var appended: UInt64
    package var syncs: UInt64
    /// When a record counts as durable: the local journal's fsync policy.
    package var durability: String

    package init(
        head: UInt64, connected: Bool = true, lagRecords: UInt64 = 0, lagMilliseconds: Int64 = 0, appended: UInt64 = 0,
        syncs: UInt64 = 0, durability: String
    ) {
        self.head = head
        self.connected = connected
        self.lagRecords = lagRecords
        self.lagMilliseconds = lagMilliseconds
        self.appended = appended
        self.syncs = syncs
        self.durability = durability
    }
}
