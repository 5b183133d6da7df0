import Foundation
public import Logging
import NIOConcurrencyHelpers

/// When the journal makes appended records durable.
public enum FsyncPolicy: String, Sendable, CaseIterable {
    /// Every record is synced before its write is acknowledged; concurrent
    /// writes share one fdatasync (group commit). The default.
    case always
    /// Synced every second: a power cut may lose up to a second of
    /// acknowledged writes (a kill -9 loses nothing).
    case interval
    /// The operating system decides when.
    case none
}

/// Appends journal records on a thread of its own: `enqueue` hands it a
/// record and returns; the thread writes it, syncs it with `always`, and
/// calls back. The state's owner (through `LocalJournal`) keeps one record in
/// flight and goes on serving its loop meanwhile; the writes that arrive
/// meanwhile wait at the owner and go out together as the next record (group
/// commit). The same thread does what no caller waits for: the `interval`
/// syncs and removing segments that snapshots cover. `append` writes on the
/// caller's thread instead (tools that write a journal).
///
/// A failed append (for example a full disk) cuts the segment back to its last
/// whole record and fails that record; the submitter rolls back and counts the
/// failure (`generation`), and a record built before it fails too. A failed
/// sync is fatal: the kernel may have dropped the dirty pages, so retrying
/// could acknowledge data that is gone; `onFatalSync` is called and nothing
/// more is acknowledged.
public final class JournalWriter: @unchecked Sendable {
    private let storage: any Storage
    private let directory: String
    public let policy: FsyncPolicy
    private let logger: Logger
    private let onFatalSync: @Sendable (StorageError) -> Void

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var stopping = false
    private var rotateRequested = true
    private var failedGeneration: UInt64 = 0
    private var removalRequests: [UInt64] = []
    /// Records handed to the thread, in order (see `enqueue`).
    private var appends: [PendingAppend] = []
    private var dead = false
    /// Why the last append failed, until one succeeds (for the health check).
    private var lastAppendFailure: String?
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    // Guarded by `fileLock` (taken after `condition`, never before it):
    private let fileLock = NSLock()
    private var file: (any AppendableFile)?
    private var unsyncedBytes = 0
    private var lastSync = DispatchTime.now()
    /// Whether `lastAppendFailure` is set (so that a success clears it without taking `condition`).
    private var appendFailed = false

    /// Statistics, any thread.
    public struct Stats: Sendable {
        public var records: UInt64 = 0
        public var syncs: UInt64 = 0
        public var bytes: UInt64 = 0
    }
    private let statsBox = NIOLockedValueBox(Stats())
    public var stats: Stats { statsBox.withLockedValue { $0 } }
    /// Records, bytes, syncs, failures and sync durations, for the daemon's metrics.
    private let metrics: JournalMetrics?

    /// Why the journal cannot take writes now: for good after a failed sync,
    /// or since an append failed (until one succeeds); nil when it can.
    public var failure: String? {
        condition.withLock {
            dead ? "the journal stopped after a failed fsync; restart accessd to recover from what is on disk" : lastAppendFailure
        }
    }

    /// Starts the writer; the first record opens a new segment named after its lsn.
    public init(
        storage: any Storage, directory: String, policy: FsyncPolicy, logger: Logger,
        onFatalSync: @escaping @Sendable (StorageError) -> Void, metrics: JournalMetrics? = nil
    ) {
        self.metrics = metrics
        self.storage = storage
        self.directory = directory
        self.policy = policy
        self.logger = logger
        self.onFatalSync = onFatalSync
        // The thread keeps the writer until `close()`.
        let thread = Thread { self.loop() }
        thread.name = "accessd-journal"
        self.thread = thread
        thread.start()
    }

    private struct PendingAppend {
        var lsn: UInt64
        var payload: [UInt8]
        /// The failures acknowledged when it was handed over: it fails if one follows.
        var generation: UInt64
        var completion: @Sendable (Result<Void, StorageError>) -> Void
    }

    /// Appends one record on the writer's thread, in the order handed over,
    /// and calls `completion` there once it is written (and synced, with
    /// `always`), or failed. A record handed over after an earlier one that
    /// then fails fails too: it was built on it.
    public func enqueue(
        lsn: UInt64, payload: [UInt8], completion: @escaping @Sendable (Result<Void, StorageError>) -> Void
    ) {
        let refused: StorageError? = condition.withLock {
            if dead { return StorageError(.io, "the journal stopped after a failed sync") }
            if stopping { return StorageError(.io, "the journal is closed; the write was not applied") }
            appends.append(PendingAppend(lsn: lsn, payload: payload, generation: failedGeneration, completion: completion))
            condition.signal()
            return nil
        }
        if let refused { completion(.failure(refused)) }
    }

    /// Appends one record (synced, with `always`) before returning, on the caller's thread.
    /// `generation` is the number of failures the caller has acknowledged; a
    /// record built before the latest failure fails at once.
    public func append(lsn: UInt64, payload: [UInt8], generation: UInt64) -> Result<Void, StorageError> {
        let rotate: Bool
        do {
            condition.lock()
            defer { condition.unlock() }
            if dead { return .failure(StorageError(.io, "the journal stopped after a failed sync")) }
            if stopping { return .failure(StorageError(.io, "the journal is closed; the write was not applied")) }
            if generation < failedGeneration {
                return .failure(
                    StorageError(.io, "an earlier write failed to reach the journal; this one was built on it and was not applied"))
            }
            rotate = rotateRequested
            rotateRequested = false
        }
        let bytes = JournalFormat.frame(payload)
        let result = fileLock.withLock { write(bytes, lsn: lsn, rotate: rotate) }
        if case .failure = result, rotate { condition.withLock { rotateRequested = true } }
        return result
    }

    /// The number of failures so far (see `append`).
    public var generation: UInt64 { condition.withLock { failedGeneration } }

    /// Starts a new segment with the next record (after a snapshot, so that
    /// older segments can be removed once snapshots cover them).
    public func rotate() {
        condition.withLock {
            rotateRequested = true
        }
    }

    /// Removes the segments whose records all have an lsn up to `lsn`.
    public func removeSegments(coveredBy lsn: UInt64) {
        condition.withLock {
            removalRequests.append(lsn)
            condition.signal()
        }
    }

    /// Syncs what was appended, then stops the thread. Once.
    public func close() {
        let first = condition.withLock { () -> Bool in
            defer { stopping = true }
            condition.signal()
            return !stopping
        }
        if first { finished.wait() }
    }

    private func loop() {
        while true {
            condition.lock()
            while removalRequests.isEmpty && appends.isEmpty && !stopping {
                if policy == .interval {
                    // Wake up to sync what waits longer than a second.
                    _ = condition.wait(until: Date().addingTimeInterval(1))
                    break
                } else {
                    condition.wait()
                }
            }
            let removals = removalRequests
            removalRequests = []
            let work = appends
            appends = []
            let stop = stopping
            condition.unlock()

            // Records handed over before `close()` are written before the final sync.
            for pending in work {
                pending.completion(write(pending))
            }
            let isDead = condition.withLock { dead }
            for lsn in removals { removeSegments(upTo: lsn) }
            fileLock.withLock {
                if !isDead, policy == .interval, unsyncedBytes > 0,
                    DispatchTime.now().uptimeNanoseconds - lastSync.uptimeNanoseconds >= 1_000_000_000 || stop
                {
                    _ = syncFile()
                }
                if stop {
                    if !isDead && (policy != .none || unsyncedBytes > 0) { _ = syncFile() }
                    file?.close()
                    file = nil
                }
            }
            if stop {
                finished.signal()
                return
            }
        }
    }

    /// Writes a record handed to the thread (as `append` does, past `close()` too).
    private func write(_ pending: PendingAppend) -> Result<Void, StorageError> {
        let rotate: Bool
        do {
            condition.lock()
            defer { condition.unlock() }
            if dead { return .failure(StorageError(.io, "the journal stopped after a failed sync")) }
            if pending.generation < failedGeneration {
                return .failure(
                    StorageError(.io, "an earlier write failed to reach the journal; this one was built on it and was not applied"))
            }
            rotate = rotateRequested
            rotateRequested = false
        }
        let bytes = JournalFormat.frame(pending.payload)
        let result = fileLock.withLock { write(bytes, lsn: pending.lsn, rotate: rotate) }
        if case .failure = result, rotate { condition.withLock { rotateRequested = true } }
        return result
    }

    /// Writes one framed record (under `fileLock`), opening a new segment first when asked to.
    private func write(_ bytes: [UInt8], lsn: UInt64, rotate: Bool) -> Result<Void, StorageError> {
        do {
            if rotate || file == nil {
                if let file, unsyncedBytes > 0 || policy != .none {
                    guard syncFile() else { return .failure(StorageError(.io, "the journal stopped after a failed sync")) }
                    file.close()
                }
                file = nil
                let path = directory + "/" + JournalFormat.segmentName(firstLSN: lsn)
                try storage.writeAtomically(JournalFormat.header(firstLSN: lsn), to: path)
                file = try storage.openForAppend(path)
            }
            try file!.append(bytes)
            unsyncedBytes += bytes.count
            statsBox.withLockedValue {
                $0.records += 1
                $0.bytes += UInt64(bytes.count)
            }
            metrics?.records.increment()
            metrics?.bytes.increment(by: bytes.count)
        } catch {
            logger.error("a journal append failed; the writes were not applied", metadata: .accessd([.lsn: "\(lsn)", .error: "\(error)"]))
            condition.withLock {
                failedGeneration += 1
                lastAppendFailure = "the last journal append failed (\(error))"
            }
            appendFailed = true
            metrics?.appendFailures.increment()
            return .failure(error)
        }
        if policy == .always {
            guard syncFile() else { return .failure(StorageError(.io, "the journal could not be synced; the daemon stops")) }
        }
        if appendFailed {
            appendFailed = false
            condition.withLock { lastAppendFailure = nil }
        }
        return .success(())
    }

    /// Syncs the open segment; a failure is fatal (see the type's comment).
    private func syncFile() -> Bool {
        guard let file else { return true }
        do {
            let started = DispatchTime.now()
            try file.sync()
            unsyncedBytes = 0
            lastSync = DispatchTime.now()
            statsBox.withLockedValue { $0.syncs += 1 }
            metrics?.syncs.increment()
            metrics?.syncDuration.recordNanoseconds(Int64(lastSync.uptimeNanoseconds &- started.uptimeNanoseconds))
            return true
        } catch {
            condition.withLock { dead = true }
            logger.critical(
                "fsync of the journal failed; stopping without acknowledging anything more (the kernel may have dropped unsynced data; restart to recover from what is on disk)",
                metadata: .accessd([.error: "\(error)"]))
            onFatalSync(error)
            return false
        }
    }

    private func removeSegments(upTo lsn: UInt64) {
        let segments: [(lsn: UInt64, name: String)]
        do {
            segments = try storage.list(directory).compactMap { name in
                JournalFormat.firstLSN(ofSegmentNamed: name).map { ($0, name) }
            }.sorted { $0.lsn < $1.lsn }
        } catch {
            logger.warning("cannot list the journal segments to remove old ones", metadata: .accessd([.error: "\(error)"]))
            return
        }
        // A segment is covered when the next one starts at or before lsn + 1.
        for (index, segment) in segments.enumerated().dropLast() where segments[index + 1].lsn <= lsn + 1 {
            do {
                try storage.remove(directory + "/" + segment.name)
                logger.info("removed a journal segment a snapshot covers", metadata: .accessd([.segment: "\(segment.name)"]))
            } catch {
                logger.warning(
                    "cannot remove a journal segment", metadata: .accessd([.segment: "\(segment.name)", .error: "\(error)"]))
            }
        }
    }
}
