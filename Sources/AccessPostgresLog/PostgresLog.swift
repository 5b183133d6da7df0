package import AccessStore
import Foundation
package import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO

/// The log several hosts share: a table in PostgreSQL (`PostgresSchema`),
/// behind the same `EventLog` the local journal implements, so nothing
/// above the store knows which one runs.
///
/// - An append is one round trip (`accessd.append(...)`) at the writer's
///   head + 1; it answers once PostgreSQL committed it (`synchronous_commit
///   = on`), or within `appendTimeout` with an error (the connection is then
///   closed, and the batch id asked for on a new one: a commit whose answer
///   was lost is found). A lost race answers `.conflict` with the records
///   from that lsn on; for a while after it this writer asks for the
///   advisory lock first, so it cannot be starved by faster hosts.
/// - Readers page through `lsn > last ORDER BY lsn`: records commit in lsn
///   order (each appended only after its predecessor committed), so a
///   reader never skips one. Every row's hash is checked against its bytes
///   and its predecessor's. LISTEN wakes followers early; a poll every
///   `pollInterval` finds what a notification lost while disconnected.
/// - The local journal of the state directory is kept as a cache: every
///   record this host commits or reads goes to it too (not waited for), so
///   that a restart recovers locally and only catches up the rest; the local
///   snapshots are written there, and every `snapshotEveryRecords` one goes to
///   the log's snapshot table for new hosts.
package final class PostgresLog: EventLog {
    package let settings: PostgresLogSettings
    private let logger: Logger
    /// The local journal the records are cached in.
    package let cache: LocalJournal
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let writer: PostgresLink
    private let reader: PostgresLink
    private let freshnessMark = LogFreshness()
    /// Rows read per query.
    package static let pageSize = 512
    /// After a conflict, appends take the advisory lock for this long.
    static let lockAfterConflict: TimeAmount = .seconds(10)

    private struct State {
        /// The newest committed record this host knows of (its own, or read), and its hash when known.
        var head: UInt64
        var inFlight = false
        var closed = false
        /// The newest record handed to a follower or an appender (what this host applied, or is about to).
        var delivered: UInt64
        /// Since when the log has held records past `delivered`.
        var behindSince: NIODeadline?
        /// Appends ask for the advisory lock until then.
        var lockUntil: NIODeadline?
        var appended: UInt64 = 0
        var conflicts: UInt64 = 0
        /// The newest record handed to the cache.
        var cached: UInt64
        var cacheFailure: String?
        /// Followers waiting for a record past theirs, or the next poll.
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        /// Whether the last query of either connection succeeded, and why not.
        var connected = false
        var failure: String?
        /// A snapshot upload is running.
        var uploading = false
    }
    private let state: NIOLockedValueBox<State>
    private let listener = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// The log of `settings`, with `cache` (the state directory's journal,
    /// recovered to `durable`) as its cache. Connects in the background.
    package init(settings: PostgresLogSettings, cache: LocalJournal, cachedThrough lsn: UInt64, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.cache = cache
        self.writer = PostgresLink(settings: settings, group: group, logger: logger, purpose: "writer")
        self.reader = PostgresLink(settings: settings, group: group, logger: logger, purpose: "reader")
        self.state = NIOLockedValueBox(State(head: lsn, delivered: lsn, cached: lsn))
        startListening()
    }

    // MARK: - Appending

    package func append(
        _ record: LogRecord, completion: @escaping @Sendable (Result<AppendOutcome, StorageError>) -> Void
    ) {
        let admitted = state.withLockedValue { state -> StorageError? in
            if state.closed { return StorageError(.io, "the shared log is closed; the write was not applied") }
            if state.inFlight { return StorageError(.io, "an append is in flight; the log takes one at a time") }
            state.inFlight = true
            return nil
        }
        if let admitted { return completion(.failure(admitted)) }
        Task {
            let result = await self.appendNow(record)
            self.state.withLockedValue { $0.inFlight = false }
            completion(result)
        }
    }

    private func appendNow(_ record: LogRecord) async -> Result<AppendOutcome, StorageError> {
        let deadline = NIODeadline.now() + settings.appendTimeout
        let lock = state.withLockedValue { state in state.lockUntil.map { $0 > .now() } ?? false }
        let connection: PostgresConnection
        do {
            connection = try await writer.connection()
        } catch {
            noteFailure(describePostgres(error))
            return .failure(StorageError(.io, "the shared log is unreachable: \(describePostgres(error))"))
        }
        let hash = record.hash
        var binds = PostgresBindings()
        binds.append(Int64(record.lsn))
        binds.append(Int32(record.formatVersion))
        binds.append(record.eventSeqs.map { Int64($0.lowerBound) })
        binds.append(record.eventSeqs.map { Int64($0.upperBound) })
        binds.append(settings.writer)
        binds.append(ByteBuffer(bytes: record.batchID.bytes))
        binds.append(ByteBuffer(bytes: record.previousHash.bytes))
        binds.append(ByteBuffer(bytes: hash.bytes))
        binds.append(ByteBuffer(bytes: record.bytes))
        binds.append(lock)
        let query = PostgresQuery(
            unsafeSQL: "SELECT accessd.append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", binds: binds)
        let logger = self.logger
        let writer = self.writer
        let inserted: Bool
        do {
            inserted = try await within(
                deadline, what: "the commit of record \(record.lsn)",
                expire: { await writer.drop(connection, because: "an append timed out") }
            ) {
                try await inTransaction(connection, logger: logger) {
                    try await single(connection, query, logger: logger, as: Bool.self)
                }
            }
        } catch {
            return await appendFailed(record, error: error, connection: connection)
        }
        noteConnected()
        guard inserted else {
            // Another host appended first: what it wrote, from this lsn on.
            state.withLockedValue { state in
                state.conflicts += 1
                state.lockUntil = .now() + Self.lockAfterConflict
            }
            do {
                let records = try await records(after: record.lsn - 1)
                guard !records.isEmpty else {
                    return .failure(StorageError(.io, "record \(record.lsn) was taken, but the log answered no record from it on"))
                }
                return .success(.conflict(records))
            } catch {
                return .failure(StorageError(.io, "cannot read the records after \(record.lsn - 1): \(describePostgres(error))"))
            }
        }
        committed(record)
        return .success(.committed(lsn: record.lsn, hash: hash))
    }

    /// A record this host committed: the head moves, the cache gets it.
    private func committed(_ record: LogRecord) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.appended += 1
            state.head = max(state.head, record.lsn)
            state.delivered = max(state.delivered, record.lsn)
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
        cacheRecords([record])
    }

    /// The append did not get an answer, or got an error: a broken chain is a
    /// divergence; otherwise the batch id says whether it committed after all.
    private func appendFailed(_ record: LogRecord, error: any Error, connection: PostgresConnection) async
        -> Result<AppendOutcome, StorageError>
    {
        let message = describePostgres(error)
        if sqlState(of: error) == "23503" {
            // The trigger: the record's predecessor is not the record this host holds at lsn - 1.
            return .failure(
                StorageError(
                    .diverged,
                    "the shared log refused record \(record.lsn): \(message). This host's state and the log diverged (the log lost records this host applied, for example after a failover to a standby that was not synchronous); writes stop: rebuild this host with accessd resync"
                ))
        }
        if sqlState(of: error) == nil {
            await writer.drop(connection, because: message)
        }
        noteFailure(message)
        // A commit whose answer was lost: ask by the batch id, on a new connection.
        if let found = try? await within(
            .now() + settings.connectTimeout, what: "the lookup of batch \(record.batchID)", expire: {},
            { try await self.record(batch: record.batchID) }), found.lsn == record.lsn
        {
            logger.notice(
                "an append's answer was lost, and its batch is in the log", metadata: ["accessd.lsn": "\(record.lsn)"])
            committed(record)
            return .success(.committed(lsn: record.lsn, hash: record.hash))
        }
        return .failure(
            StorageError(
                .io,
                "the shared log did not commit record \(record.lsn): \(message) (if it did commit after all, this host applies it as it catches up, and a retry with the same idempotency key gets its reply)"
            ))
    }

    // MARK: - Reading

    /// One page of rows after `lsn`, checked: consecutive, each hash that of its bytes after its predecessor's.
    private func page(after lsn: UInt64, limit: Int = PostgresLog.pageSize) async throws -> [LogRecord] {
        let connection = try await reader.connection()
        var binds = PostgresBindings()
        binds.append(Int64(lsn))
        binds.append(Int64(limit))
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT lsn, format_version, batch_id, prev_hash, hash, record, first_seq, last_seq
                FROM accessd.log WHERE lsn > $1 ORDER BY lsn LIMIT $2
                """, binds: binds)
        let reader = self.reader
        let logger = self.logger
        let rows = try await within(
            .now() + settings.appendTimeout + settings.connectTimeout, what: "reading the log after record \(lsn)",
            expire: { await reader.drop(connection, because: "a read timed out") }
        ) { () async throws -> [Row] in
            var rows: [Row] = []
            let sequence: PostgresRowSequence = try await connection.query(query, logger: logger)
            for try await (lsn, format, batch, previous, hash, record, first, last) in sequence.decode(
                (Int64, Int32, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, Int64?, Int64?).self)
            {
                rows.append(Row(lsn: lsn, format: format, batch: batch, previous: previous, hash: hash, record: record, first: first, last: last))
            }
            // Applied only once a failover cannot lose them.
            if !rows.isEmpty { try await durabilityBarrier(connection, logger: logger) }
            return rows
        }
        var records: [LogRecord] = []
        records.reserveCapacity(rows.count)
        for row in rows {
            records.append(try row.record(after: records.last))
        }
        if let first = records.first, first.lsn != lsn + 1 {
            throw LogTrimmed(oldest: first.lsn, wanted: lsn + 1)
        }
        noteConnected()
        if let last = records.last { state.withLockedValue { $0.head = max($0.head, last.lsn) } }
        return records
    }

    /// A row as read, before it is checked.
    private struct Row: Sendable {
        var lsn: Int64
        var format: Int32
        var batch: ByteBuffer
        var previous: ByteBuffer
        var hash: ByteBuffer
        var record: ByteBuffer
        var first: Int64?
        var last: Int64?

        func record(after previousRecord: LogRecord?) throws -> LogRecord {
            let lsn = UInt64(self.lsn)
            guard let batchID = BatchID(batch.readableBytesView), let previousHash = LogHash(previous.readableBytesView),
                let hash = LogHash(self.hash.readableBytesView)
            else {
                throw StorageError(.diverged, "the shared log's record \(lsn) has a batch id or a hash of the wrong length")
            }
            let bytes = Array(record.readableBytesView)
            let seqs: ClosedRange<UInt64>? = if let first, let last, first <= last { UInt64(first)...UInt64(last) } else { nil }
            let made = LogRecord(
                lsn: lsn, formatVersion: UInt32(format), batchID: batchID, previousHash: previousHash, bytes: bytes,
                eventSeqs: seqs)
            guard made.hash == hash else {
                throw StorageError(
                    .diverged, "the shared log's record \(lsn) has the hash \(hash), but its bytes hash to \(made.hash): the row was altered")
            }
            if let previousRecord {
                guard previousRecord.lsn + 1 == lsn, previousRecord.hash == previousHash else {
                    throw StorageError(
                        .diverged, "the shared log's record \(lsn) does not follow record \(previousRecord.lsn) (a gap or a broken chain)")
                }
            }
            return made
        }
    }

    package func records(after lsn: UInt64) async throws -> [LogRecord] {
        var all: [LogRecord] = []
        var last = lsn
        while true {
            let page = try await page(after: last)
            if let previous = all.last, let first = page.first, first.previousHash != previous.hash {
                throw StorageError(.diverged, "the shared log's record \(first.lsn) does not follow record \(previous.lsn)")
            }
            all += page
            guard page.count == Self.pageSize, let newest = page.last else { break }
            last = newest.lsn
        }
        cacheRecords(all)
        return all
    }

    /// Pages of new records as they commit; ends (throwing) when the log
    /// cannot be read, so that the follower checks where it stands again
    /// once it can.
    package func follow(after lsn: UInt64) -> AsyncThrowingStream<LogRecord, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                var last = lsn
                var previous: LogRecord?
                do {
                    while !Task.isCancelled, !self.isClosed {
                        let looked = NIODeadline.now()
                        let page = try await self.page(after: last)
                        if let previous, let first = page.first, first.previousHash != previous.hash {
                            throw StorageError(.diverged, "the shared log's record \(first.lsn) does not follow record \(previous.lsn)")
                        }
                        self.cacheRecords(page)
                        for record in page { continuation.yield(record) }
                        if let newest = page.last {
                            last = newest.lsn
                            previous = newest
                            self.delivered(through: newest.lsn)
                        }
                        if page.count < Self.pageSize {
                            // Everything committed when the query began is here.
                            self.freshnessMark.caughtUp(at: looked)
                            self.delivered(through: last, caughtUp: true)
                            await self.waitForNews(after: last)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private var isClosed: Bool { state.withLockedValue { $0.closed } }

    private func delivered(through lsn: UInt64, caughtUp: Bool = false) {
        state.withLockedValue { state in
            state.delivered = max(state.delivered, lsn)
            if caughtUp || state.delivered >= state.head {
                state.behindSince = nil
            } else if state.behindSince == nil {
                state.behindSince = .now()
            }
        }
    }

    /// Waits for a notification of a record past `lsn`, `lookNow`, or the poll interval.
    private func waitForNews(after lsn: UInt64) async {
        let id = state.withLockedValue { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let poll = settings.pollInterval
        let timer = Task {
            try? await Task.sleep(nanoseconds: UInt64(max(1, poll.nanoseconds)))
            self.state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLockedValue { state -> Bool in
                    if state.closed || Task.isCancelled || state.head > lsn { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        timer.cancel()
    }

    private func wakeFollowers() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    package func lookNow() { wakeFollowers() }

    /// LISTEN on the reader's connection: each notification names the lsn
    /// committed; followers wake for it. Reconnects while the log is open.
    private func startListening() {
        let task = Task {
            while !self.isClosed {
                do {
                    let connection = try await self.reader.connection()
                    try await connection.listen(on: PostgresSchema.channel) { notifications in
                        // The head may have moved while nobody listened.
                        self.wakeFollowers()
                        for try await notification in notifications {
                            if let lsn = UInt64(notification.payload) {
                                self.state.withLockedValue { $0.head = max($0.head, lsn) }
                            }
                            self.wakeFollowers()
                        }
                    }
                } catch {
                    self.noteFailure(describePostgres(error))
                }
                if self.isClosed { break }
                try? await Task.sleep(nanoseconds: UInt64(self.settings.pollInterval.nanoseconds))
            }
        }
        listener.withLockedValue { $0 = task }
    }

    /// The hash of record `lsn`; the same query reads the log's head (the
    /// follower compares it with this host's newest record).
    package func hash(at lsn: UInt64) async throws -> LogHash? {
        let connection = try await reader.connection()
        var binds = PostgresBindings()
        binds.append(Int64(lsn))
        let rows: PostgresRowSequence = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT (SELECT hash FROM accessd.log WHERE lsn = $1), (SELECT coalesce(max(lsn), 0) FROM accessd.log)",
                binds: binds), logger: logger)
        var found: LogHash?
        for try await (hash, head) in rows.decode((ByteBuffer?, Int64).self) {
            found = hash.flatMap { LogHash($0.readableBytesView) }
            state.withLockedValue { $0.head = UInt64(head) }
        }
        noteConnected()
        return lsn == 0 ? .zero : found
    }

    package func record(batch: BatchID) async throws -> LogRecord? {
        guard batch != .none else { return nil }
        let connection = try await reader.connection()
        var binds = PostgresBindings()
        binds.append(ByteBuffer(bytes: batch.bytes))
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT lsn, format_version, batch_id, prev_hash, hash, record, first_seq, last_seq
                FROM accessd.log WHERE batch_id = $1
                """, binds: binds)
        let rows: PostgresRowSequence = try await connection.query(query, logger: logger)
        var found: LogRecord?
        for try await (lsn, format, batch, previous, hash, record, first, last) in rows.decode(
            (Int64, Int32, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, Int64?, Int64?).self)
        {
            found = try Row(lsn: lsn, format: format, batch: batch, previous: previous, hash: hash, record: record, first: first, last: last)
                .record(after: nil)
        }
        // Found on the primary is not yet on its synchronous standbys: acknowledged only once it is.
        if found != nil { try await durabilityBarrier(connection, logger: logger) }
        return found
    }

    /// The oldest and newest lsn the log holds (0, 0 when empty).
    package func bounds() async throws -> (oldest: UInt64, newest: UInt64) {
        let connection = try await reader.connection()
        let rows: PostgresRowSequence = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT coalesce(min(lsn), 0), coalesce(max(lsn), 0) FROM accessd.log"), logger: logger)
        var bounds: (UInt64, UInt64) = (0, 0)
        for try await (oldest, newest) in rows.decode((Int64, Int64).self) { bounds = (UInt64(oldest), UInt64(newest)) }
        noteConnected()
        state.withLockedValue { $0.head = max($0.head, bounds.1) }
        return bounds
    }

    // MARK: - The cache

    /// Hands records (in lsn order) to the local journal, each once, in order;
    /// not waited for. After a failure the cache stops (a restart catches up from the log).
    private func cacheRecords(_ records: [LogRecord]) {
        guard !records.isEmpty else { return }
        let take = state.withLockedValue { state -> [LogRecord] in
            guard state.cacheFailure == nil else { return [] }
            var taken: [LogRecord] = []
            for record in records where record.lsn == state.cached + 1 {
                taken.append(record)
                state.cached = record.lsn
            }
            return taken
        }
        for record in take {
            cache.writer.enqueue(lsn: record.lsn, payload: record.bytes) { result in
                guard case .failure(let error) = result else { return }
                let first = self.state.withLockedValue { state -> Bool in
                    defer { state.cacheFailure = "\(error)" }
                    return state.cacheFailure == nil
                }
                if first {
                    self.logger.warning(
                        "the local journal (the shared log's cache) failed; a restart catches up from the log",
                        metadata: ["accessd.error": "\(error)"])
                }
            }
        }
    }

    // MARK: - Snapshots

    /// Writes the snapshot to the state directory (restarts start from it),
    /// then, when the newest in the log's table is `snapshotEveryRecords`
    /// older (or there is none), to the log for hosts that start later than
    /// what the log keeps; answers once both are done. Called on the
    /// snapshot thread, so the upload delays no call. An upload that fails
    /// is logged (the local snapshot stands; the next one tries again).
    package func storeSnapshot(
        _ snapshot: LogSnapshot, completion: @escaping @Sendable (Result<StoredSnapshot, any Error>) -> Void
    ) {
        cache.storeSnapshot(snapshot) { result in
            guard case .success = result else { return completion(result) }
            Task {
                await self.uploadIfDue(snapshot)
                completion(result)
            }
        }
    }

    private func uploadIfDue(_ snapshot: LogSnapshot) async {
        guard state.withLockedValue({ state in defer { state.uploading = true }; return !state.uploading && !state.closed })
        else { return }
        defer { state.withLockedValue { $0.uploading = false } }
        do {
            let uploaded = try await within(.now() + settings.appendTimeout * 12, what: "the snapshot's upload", expire: {}) {
                try await PostgresSnapshots.upload(
                    snapshot, settings: self.settings, group: self.group, everyRecords: self.settings.snapshotEveryRecords,
                    logger: self.logger)
            }
            if uploaded {
                logger.info(
                    "stored a snapshot in the shared log",
                    metadata: ["accessd.lsn": "\(snapshot.lsn)", "accessd.bytes": "\(snapshot.bytes.count)"])
            }
        } catch {
            logger.warning(
                "cannot store the snapshot in the shared log (the local one is written)",
                metadata: ["accessd.lsn": "\(snapshot.lsn)", "accessd.error": "\(describePostgres(error))"])
        }
    }

    package func newestSnapshot() async throws -> LogSnapshot? {
        try await PostgresSnapshots.newest(settings: settings, group: group, logger: logger)
    }

    package func release(through lsn: UInt64) {
        cache.release(through: lsn)
    }

    // MARK: - State

    private func noteConnected() {
        state.withLockedValue { state in
            state.connected = true
            state.failure = nil
        }
    }

    private func noteFailure(_ message: String) {
        state.withLockedValue { state in
            state.connected = false
            state.failure = message
        }
    }

    package var status: LogStatus {
        let state = self.state.withLockedValue { $0 }
        let lag = state.head > state.delivered ? state.head - state.delivered : 0
        let milliseconds = lag > 0 ? state.behindSince.map { (NIODeadline.now() - $0).nanoseconds / 1_000_000 } ?? 0 : 0
        return LogStatus(
            head: state.head, connected: state.connected, lagRecords: lag, lagMilliseconds: milliseconds,
            appended: state.appended, syncs: state.appended, durability: "postgresql")
    }

    package var failure: String? {
        state.withLockedValue { state in
            state.connected ? nil : state.failure.map { "the shared log is unreachable: \($0)" }
        }
    }

    package var hasOtherWriters: Bool { true }

    package var freshness: LogFreshness? { freshnessMark }

    package func close() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            guard !state.closed else { return [] }
            state.closed = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
        listener.withLockedValue { $0 }?.cancel()
        // Never waits for a task: close may be called where no other task can run.
        let (writer, reader, group) = (self.writer, self.reader, self.group)
        Task {
            await writer.close()
            await reader.close()
            try? await group.shutdownGracefully()
        }
        cache.close()
    }
}
