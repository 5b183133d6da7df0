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

/// Appends journal records on a thread of its own: records submitted while a
/// write and sync are under way are written together and share the next
/// sync (group commit). Each submission learns, through its completion,
/// whether it is durable (per the policy) or failed.
///
/// A failed append (for example a full disk) cuts the segment back to its last
/// whole record and fails that group and everything submitted after it until
/// the submitter acknowledges the failure (`generation`), because those
/// records were built on the failed ones. A failed sync is fatal: the kernel
/// may have dropped the dirty pages, so retrying could acknowledge data that
/// is gone; `onFatalSync` is called and nothing more is acknowledged.
public final class JournalWriter: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<Void, StorageError>) -> Void

    private struct Submission {
        var lsn: UInt64
        var bytes: [UInt8]
        var generation: UInt64
        var completion: Completion
    }

    private let storage: any Storage
    private let directory: String
    public let policy: FsyncPolicy
    private let logger: Logger
    private let onFatalSync: @Sendable (StorageError) -> Void

    private let condition = NSCondition()
    // Guarded by `condition`:
    private var pending: [Submission] = []
    private var stopping = false
    private var rotateRequested = true
    private var failedGeneration: UInt64 = 0
    private var removalRequests: [UInt64] = []
    private var dead = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    // Owned by the writer thread:
    private var file: (any AppendableFile)?
    private var unsyncedBytes = 0
    private var lastSync = DispatchTime.now()

    /// Statistics, any thread.
    public struct Stats: Sendable {
        public var records: UInt64 = 0
        public var syncs: UInt64 = 0
        public var bytes: UInt64 = 0
    }
    private let statsBox = NIOLockedValueBox(Stats())
    public var stats: Stats { statsBox.withLockedValue { $0 } }

    /// Starts the writer; the first record opens a new segment named after its lsn.
    public init(
        storage: any Storage, directory: String, policy: FsyncPolicy, logger: Logger,
        onFatalSync: @escaping @Sendable (StorageError) -> Void
    ) {
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

    /// Submits a record. `generation` is the number of failures the submitter
    /// has acknowledged; a submission older than the latest failure fails at once.
    public func submit(lsn: UInt64, payload: [UInt8], generation: UInt64, completion: @escaping Completion) {
        let bytes = JournalFormat.frame(payload)
        condition.lock()
        if dead || stopping {
            condition.unlock()
            completion(.failure(StorageError(.io, "the journal is closed; the write was not applied")))
            return
        }
        if generation < failedGeneration {
            condition.unlock()
            completion(.failure(StorageError(.io, "an earlier write failed to reach the journal; this one was built on it and was not applied")))
            return
        }
        pending.append(Submission(lsn: lsn, bytes: bytes, generation: generation, completion: completion))
        condition.signal()
        condition.unlock()
    }

    /// The number of failures so far (see `submit`).
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

    /// Writes and syncs what is pending, then stops the thread. Once.
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
            while pending.isEmpty && removalRequests.isEmpty && !stopping {
                if policy == .interval && unsyncedBytes > 0 {
                    // Wake up to sync what waits longer than a second.
                    if !condition.wait(until: Date().addingTimeInterval(1)) { break }
                } else {
                    condition.wait()
                }
            }
            // Records built on a record that failed were never written: fail them too.
            let stale = pending.filter { $0.generation < failedGeneration }
            let group = pending.filter { $0.generation >= failedGeneration }
            pending = []
            let rotate = rotateRequested && !group.isEmpty
            if rotate { rotateRequested = false }
            let removals = removalRequests
            removalRequests = []
            let stop = stopping && group.isEmpty
            let isDead = dead
            condition.unlock()

            for submission in stale {
                submission.completion(.failure(StorageError(.io, "an earlier write failed to reach the journal; this one was built on it and was not applied")))
            }
            if isDead {
                for submission in group {
                    submission.completion(.failure(StorageError(.io, "the journal stopped after a failed sync")))
                }
            } else if !group.isEmpty {
                write(group, rotate: rotate)
            }
            for lsn in removals { removeSegments(upTo: lsn) }
            if !isDead, policy == .interval, unsyncedBytes > 0,
                DispatchTime.now().uptimeNanoseconds - lastSync.uptimeNanoseconds >= 1_000_000_000 || stop
            {
                _ = syncFile()
            }
            if stop {
                if !isDead && (policy != .none || unsyncedBytes > 0) { _ = syncFile() }
                file?.close()
                file = nil
                finished.signal()
                return
            }
        }
    }

    private func write(_ group: [Submission], rotate: Bool) {
        do {
            if rotate || file == nil {
                if let file, unsyncedBytes > 0 || policy != .none {
                    guard syncFile() else { return fail(group, StorageError(.io, "the journal stopped after a failed sync")) }
                    file.close()
                }
                file = nil
                let path = directory + "/" + JournalFormat.segmentName(firstLSN: group[0].lsn)
                try storage.writeAtomically(JournalFormat.header(firstLSN: group[0].lsn), to: path)
                file = try storage.openForAppend(path)
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(group.reduce(0) { $0 + $1.bytes.count })
            for submission in group { bytes += submission.bytes }
            try file!.append(bytes)
            unsyncedBytes += bytes.count
            statsBox.withLockedValue {
                $0.records += UInt64(group.count)
                $0.bytes += UInt64(bytes.count)
            }
        } catch {
            logger.error(
                "a journal append failed; the writes were not applied",
                metadata: ["error": "\(error)", "records": "\(group.count)"])
            condition.withLock { failedGeneration += 1 }
            return fail(group, error)
        }
        if policy == .always {
            guard syncFile() else {
                return fail(group, StorageError(.io, "the journal could not be synced; the daemon stops"))
            }
        }
        for submission in group { submission.completion(.success(())) }
    }

    private func fail(_ group: [Submission], _ error: StorageError) {
        for submission in group { submission.completion(.failure(error)) }
    }

    /// Syncs the open segment; a failure is fatal (see the type's comment).
    private func syncFile() -> Bool {
        guard let file else { return true }
        do {
            try file.sync()
            unsyncedBytes = 0
            lastSync = DispatchTime.now()
            statsBox.withLockedValue { $0.syncs += 1 }
            return true
        } catch {
            condition.withLock {
                dead = true
                let waiting = pending
                pending = []
                for submission in waiting {
                    submission.completion(.failure(StorageError(.io, "the journal stopped after a failed sync")))
                }
            }
            logger.critical(
                "fsync of the journal failed; stopping without acknowledging anything more (the kernel may have dropped unsynced data; restart to recover from what is on disk)",
                metadata: ["error": "\(error)"])
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
            logger.warning("cannot list the journal segments to remove old ones", metadata: ["error": "\(error)"])
            return
        }
        // A segment is covered when the next one starts at or before lsn + 1.
        for (index, segment) in segments.enumerated().dropLast() where segments[index + 1].lsn <= lsn + 1 {
            do {
                try storage.remove(directory + "/" + segment.name)
                logger.info("removed a journal segment a snapshot covers", metadata: ["segment": "\(segment.name)"])
            } catch {
                logger.warning("cannot remove a journal segment", metadata: ["segment": "\(segment.name)", "error": "\(error)"])
            }
        }
    }
}
