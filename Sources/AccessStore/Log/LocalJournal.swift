import AccessWire
import Foundation
package import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// The log on this host's disk: the journal segments and snapshot files of
/// the state directory (`JournalWriter`, `StateDirectory`), the first
/// `EventLog` and the default. One writer (this daemon: the state directory
/// is locked), so an append at `head + 1` always commits and a conflict only
/// answers a caller that is behind; always connected, never lagging.
///
/// An append is handed to the writer's thread, which writes the record (and
/// with `fsync = always` syncs it) and completes the append from there: the
/// state's owner awaits it without blocking its loop. The record's hash is
/// computed on that thread too. Reads of older records (`records(after:)`,
/// `hash(at:)`, `record(batch:)`) and snapshots run on a thread of the
/// journal's own, never on an event loop; the newest records are kept in
/// memory for followers.
package final class LocalJournal: EventLog {
    package let writer: JournalWriter
    package let directory: StateDirectory
    private let logger: Logger
    /// Blocking reads and snapshot writes run here.
    private let pool = NIOThreadPool(numberOfThreads: 1)

    private struct State {
        var head: UInt64
        var headHash: LogHash
        var inFlight = false
        var closed = false
        /// The newest committed records, oldest first, ending at `head`.
        var recent: [LogRecord] = []
        /// Followers waiting for a record past theirs (see `follow`).
        var waiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }
    private let state: NIOLockedValueBox<State>
    /// Records kept in memory for `records(after:)` and `follow`.
    package static let recentCount = 256

    /// The journal of `directory`, whose newest record is `head` with `headHash` (what recovery found).
    package init(
        directory: StateDirectory, head: UInt64, headHash: LogHash, policy: FsyncPolicy, logger: Logger,
        onFatalSync: @escaping @Sendable (StorageError) -> Void, metrics: JournalMetrics? = nil
    ) {
        self.directory = directory
        self.logger = logger
        self.state = NIOLockedValueBox(State(head: head, headHash: headHash))
        self.writer = JournalWriter(
            storage: directory.storage, directory: directory.path, policy: policy, logger: logger, onFatalSync: onFatalSync,
            metrics: metrics)
        pool.start()
    }

    /// The journal after `recovered`, what `StateDirectory.recover` found.
    package convenience init(
        directory: StateDirectory, recovered: StateDirectory.Recovered, policy: FsyncPolicy, logger: Logger,
        onFatalSync: @escaping @Sendable (StorageError) -> Void, metrics: JournalMetrics? = nil
    ) {
        self.init(
            directory: directory, head: recovered.durable.lsn, headHash: recovered.durable.logHash, policy: policy,
            logger: logger, onFatalSync: onFatalSync, metrics: metrics)
    }

    /// Recovers `directory` (`StateDirectory.recover`) and opens its journal.
    package static func open(
        _ directory: StateDirectory, policy: FsyncPolicy = .always, logger: Logger,
        onFatalSync: @escaping @Sendable (StorageError) -> Void
    ) throws -> (journal: LocalJournal, recovered: StateDirectory.Recovered) {
        let recovered = try directory.recover(logger: logger)
        let journal = LocalJournal(
            directory: directory, recovered: recovered, policy: policy, logger: logger, onFatalSync: onFatalSync)
        return (journal, recovered)
    }

    // MARK: - Appending

    package func append(
        _ record: LogRecord, completion: @escaping @Sendable (Result<AppendOutcome, StorageError>) -> Void
    ) {
        enum Admission {
            case write
            case behind
            case refused(StorageError)
        }
        let admission = state.withLockedValue { state -> Admission in
            if state.closed { return .refused(StorageError(.io, "the journal is closed; the write was not applied")) }
            if state.inFlight {
                return .refused(StorageError(.io, "an append is in flight; the log takes one at a time"))
            }
            if record.lsn <= state.head { return .behind }
            guard record.lsn == state.head + 1 else {
                return .refused(
                    StorageError(.io, "record \(record.lsn) would leave a gap after record \(state.head), the journal's newest"))
            }
            guard record.previousHash == state.headHash else {
                return .refused(
                    StorageError(
                        .io,
                        "record \(record.lsn) names the previous hash \(record.previousHash), but record \(state.head) has the hash \(state.headHash): it was built on another history"
                    ))
            }
            state.inFlight = true
            return .write
        }
        switch admission {
        case .refused(let error):
            completion(.failure(error))
        case .behind:
            // The writer is behind: what it missed, read off its thread.
            let head = state.withLockedValue { $0.head }
            pool.submit { poolState in
                guard case .active = poolState else {
                    return completion(.failure(StorageError(.io, "the journal is closed; the write was not applied")))
                }
                do {
                    completion(.success(.conflict(try self.readRecords(after: record.lsn - 1, through: head))))
                } catch {
                    completion(.failure(StorageError(.io, "cannot read the records after \(record.lsn - 1): \(error)")))
                }
            }
        case .write:
            writer.enqueue(lsn: record.lsn, payload: record.bytes) { result in
                // On the writer's thread: the hash costs the owner nothing.
                switch result {
                case .success:
                    let hash = record.hash
                    let waiters = self.state.withLockedValue { state in
                        state.head = record.lsn
                        state.headHash = hash
                        state.inFlight = false
                        state.recent.append(record)
                        if state.recent.count > Self.recentCount { state.recent.removeFirst(state.recent.count - Self.recentCount) }
                        defer { state.waiters = [:] }
                        return state.waiters
                    }
                    for waiter in waiters.values { waiter.resume(returning: true) }
                    completion(.success(.committed(lsn: record.lsn, hash: hash)))
                case .failure(let error):
                    self.state.withLockedValue { $0.inFlight = false }
                    completion(.failure(error))
                }
            }
        }
    }

    // MARK: - Reading

    package func records(after lsn: UInt64) async throws -> [LogRecord] {
        let (head, recent) = state.withLockedValue { ($0.head, $0.recent) }
        if lsn >= head { return [] }
        if let first = recent.first, first.lsn <= lsn + 1 {
            return Array(recent.drop { $0.lsn <= lsn })
        }
        return try await pool.runIfActive { try self.readRecords(after: lsn, through: head) }
    }

    package func follow(after lsn: UInt64) -> AsyncThrowingStream<LogRecord, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                var last = lsn
                do {
                    while !Task.isCancelled {
                        for record in try await self.records(after: last) {
                            continuation.yield(record)
                            last = record.lsn
                        }
                        guard await self.waitForRecord(after: last) else { break }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Waits until the head passes `lsn`: true then, false once the journal closed or the task was cancelled.
    private func waitForRecord(after lsn: UInt64) async -> Bool {
        let id = state.withLockedValue { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now = state.withLockedValue { state -> Bool? in
                    if state.closed || Task.isCancelled { return false }
                    if state.head > lsn { return true }
                    state.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume(returning: false)
        }
    }

    package func hash(at lsn: UInt64) async throws -> LogHash? {
        if lsn == 0 { return .zero }
        let (head, headHash, recent) = state.withLockedValue { ($0.head, $0.headHash, $0.recent) }
        if lsn > head { return nil }
        if lsn == head { return headHash }
        if let record = recent.first(where: { $0.lsn == lsn }) { return record.hash }
        do {
            return try await pool.runIfActive { try self.readRecords(after: lsn - 1, through: lsn).first?.hash }
        } catch is LogTrimmed {
            return nil
        }
    }

    package func record(batch: BatchID) async throws -> LogRecord? {
        let (head, recent) = state.withLockedValue { ($0.head, $0.recent) }
        if let record = recent.last(where: { $0.batchID == batch }) { return record }
        guard batch != .none else { return nil }
        return try await pool.runIfActive { try self.findRecord(batch: batch, through: head) }
    }

    /// The segments, oldest first.
    private func segments() throws(StorageError) -> [(lsn: UInt64, name: String)] {
        try directory.files().segments
    }

    /// The whole records of one segment (recovery already judged a torn tail or damage).
    private func segmentRecords(_ name: String) throws(StorageError) -> [LogRecord] {
        guard let bytes = try directory.storage.read(directory.path + "/" + name),
            let scan = try? JournalFormat.scan(bytes)
        else { return [] }
        return scan.records.compactMap { try? LogRecord.decode(Array($0.payload), formatVersion: scan.version).record }
    }

    /// Records `lsn + 1 ... through` from the segments: read from the newest back as far as needed.
    private func readRecords(after lsn: UInt64, through: UInt64) throws -> [LogRecord] {
        var wanted: [[LogRecord]] = []
        for segment in try segments().reversed() where segment.lsn <= through {
            wanted.append(try segmentRecords(segment.name))
            if segment.lsn <= lsn + 1 { break }
        }
        var out: [LogRecord] = []
        for record in wanted.reversed().joined() where record.lsn > lsn && record.lsn <= through {
            if let last = out.last {
                guard record.lsn == last.lsn + 1 else { continue }
            } else if record.lsn != lsn + 1 {
                throw LogTrimmed(oldest: record.lsn, wanted: lsn + 1)
            }
            out.append(record)
        }
        if out.isEmpty, through > lsn { throw LogTrimmed(oldest: through + 1, wanted: lsn + 1) }
        return out
    }

    private func findRecord(batch: BatchID, through: UInt64) throws -> LogRecord? {
        for segment in try segments().reversed() {
            if let record = try segmentRecords(segment.name).last(where: { $0.batchID == batch && $0.lsn <= through }) {
                return record
            }
        }
        return nil
    }

    // MARK: - Snapshots

    package func storeSnapshot(
        _ snapshot: LogSnapshot, completion: @escaping @Sendable (Result<StoredSnapshot, any Error>) -> Void
    ) {
        pool.submit { poolState in
            guard case .active = poolState else {
                return completion(.failure(StorageError(.io, "the journal is closed; no snapshot was written")))
            }
            completion(
                Result { () throws -> StoredSnapshot in
                    let written = try self.directory.writeSnapshot(bytes: snapshot.bytes, lsn: snapshot.lsn)
                    // A new segment only now: creating one syncs the directory, which on
                    // ext4 would wait for the snapshot's data to reach the disk.
                    self.writer.rotate()
                    return StoredSnapshot(name: written.name, bytes: written.bytes, keepFrom: written.keepFrom)
                })
        }
    }

    package func newestSnapshot() async throws -> LogSnapshot? {
        try await pool.runIfActive {
            for snapshot in try self.directory.files().snapshots {
                guard let bytes = try? self.directory.storage.read(self.directory.path + "/" + snapshot.name),
                    SnapshotFile.holds(bytes), SnapshotFile.header(bytes)?.lsn == snapshot.lsn
                else { continue }
                return LogSnapshot(lsn: snapshot.lsn, bytes: bytes)
            }
            return nil
        }
    }

    package func release(through lsn: UInt64) {
        writer.removeSegments(coveredBy: lsn)
    }

    // MARK: - State

    package var status: LogStatus {
        let stats = writer.stats
        return LogStatus(
            head: state.withLockedValue { $0.head }, appended: stats.records, syncs: stats.syncs,
            durability: writer.policy.rawValue)
    }

    package var failure: String? { writer.failure }

    package func close() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Bool, Never>] in
            guard !state.closed else { return [] }
            state.closed = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: false) }
        writer.close()
        pool.shutdownGracefully { _ in }
    }
}
