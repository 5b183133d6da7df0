import AccessStore
import Logging
import NIOCore

/// Applies what other hosts commit to a shared log: follows the log from the
/// owner's newest durable record and hands each record to the owner, which
/// checks that it follows its own chain, applies it and publishes it (reads
/// see it, FollowEvents sends it, `min_revision` waits end).
///
/// Each time it (re)starts, before following, it checks that the log holds
/// this host's newest record with the same hash: a log that lost records
/// this host applied (a failover to a standby that was not synchronous, a
/// restore from an old backup) or holds another history stops the writes
/// with DATA_LOSS; a host behind what the log keeps stops them too (it must
/// restart, which reloads the newest snapshot, or be rebuilt by `accessd
/// resync`). Reads stop on their own: without following, the host does not
/// catch up, and past `max_staleness_ms` they fail closed.
final class LogFollower: Sendable {
    private let task: Task<Void, Never>

    init(log: any EventLog, owner: StateOwner, logger: Logger, retry: TimeAmount = .seconds(1)) {
        task = Task {
            var lastProblem: String?
            while !Task.isCancelled {
                do {
                    let (lsn, hash) = try await owner.loop.submit { owner.assumeIsolated { $0.logPosition } }.get()
                    if let stop = try await Self.check(log: log, lsn: lsn, hash: hash) {
                        logger.error("stopping writes", metadata: .accessd([.lsn: "\(lsn)", .error: "\(stop)"]))
                        owner.loop.execute { owner.assumeIsolated { $0.stopWrites(stop) } }
                        return
                    }
                    if lastProblem != nil {
                        logger.notice("following the shared log again", metadata: .accessd([.lsn: "\(lsn)"]))
                        lastProblem = nil
                    }
                    for try await record in log.follow(after: lsn) {
                        owner.loop.execute { owner.assumeIsolated { $0.applyCommitted([record]) } }
                    }
                } catch is CancellationError {
                    return
                } catch let trimmed as LogTrimmed {
                    let stop = Self.trimmed(trimmed)
                    logger.error("stopping writes", metadata: .accessd([.error: "\(stop)"]))
                    owner.loop.execute { owner.assumeIsolated { $0.stopWrites(stop) } }
                    return
                } catch {
                    let problem = "\(error)"
                    if problem != lastProblem {
                        logger.warning("cannot follow the shared log; retrying", metadata: .accessd([.error: "\(problem)"]))
                        lastProblem = problem
                    }
                    if let storage = error as? StorageError, storage.kind == .diverged || storage.kind == .newerFormat {
                        owner.loop.execute { owner.assumeIsolated { $0.stopWrites(storage) } }
                        return
                    }
                }
                try? await Task.sleep(nanoseconds: UInt64(retry.nanoseconds))
            }
        }
    }

    /// Why this host may not go on with the log, or nil: the log must hold
    /// record `lsn` with `hash` (or have trimmed it), and no less.
    static func check(log: any EventLog, lsn: UInt64, hash: LogHash) async throws -> StorageError? {
        if let theirs = try await log.hash(at: lsn) {
            guard theirs == hash else {
                return StorageError(
                    .diverged,
                    "the shared log's record \(lsn) has the hash \(theirs), this host's has \(hash): this host's state and the log diverged; rebuild it with accessd resync")
            }
            return nil
        }
        let head = log.status.head
        if head < lsn {
            return StorageError(
                .diverged,
                "the shared log ends at record \(head), but this host applied records up to \(lsn): the log lost records (a failover to a standby that was not synchronous, or a restore of an older backup); rebuild this host with accessd resync once the log is right")
        }
        // Trimmed through `lsn`: following shows whether record lsn + 1 is still there.
        return nil
    }

    static func trimmed(_ error: LogTrimmed) -> StorageError {
        StorageError(
            .diverged,
            "the shared log no longer holds the records after this host's newest (\(error)): restart accessd to start from the log's newest snapshot, or run accessd resync")
    }

    func stop() { task.cancel() }
}
