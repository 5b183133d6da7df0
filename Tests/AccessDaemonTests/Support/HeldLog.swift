import AccessStore
import Foundation
import NIOConcurrencyHelpers

/// A shared log whose appends wait for the test to answer them: the test
/// decides when an append ends and how (committed, a conflict bringing some
/// records, a failure), so that the orders in which another host's records
/// and an append's answer reach the owner are played one by one. Everything
/// else a log does (reading, following, snapshots) answers as an empty log;
/// the real one is `PostgresLog`, and `scripts/test-cluster.sh` runs the
/// owner on it.
final class HeldLog: EventLog {
    typealias Completion = @Sendable (Result<AppendOutcome, StorageError>) -> Void
    private let held = NIOLockedValueBox<[(record: LogRecord, completion: Completion)]>([])

    func append(_ record: LogRecord, completion: @escaping Completion) {
        held.withLockedValue { $0.append((record, completion)) }
    }

    /// The appends waiting for an answer.
    var waiting: [LogRecord] { held.withLockedValue { $0.map(\.record) } }

    /// Waits (polling, up to 5 s) until `count` appends wait; false if they never did.
    func waitForAppends(_ count: Int) -> Bool {
        for _ in 0..<500 {
            if held.withLockedValue({ $0.count }) >= count { return true }
            usleep(10_000)
        }
        return false
    }

    /// Answers the oldest waiting append.
    func answer(_ result: Result<AppendOutcome, StorageError>) {
        let next = held.withLockedValue { $0.isEmpty ? nil : $0.removeFirst() }
        next?.completion(result)
    }

    func records(after lsn: UInt64) async throws -> [LogRecord] { [] }
    func follow(after lsn: UInt64) -> AsyncThrowingStream<LogRecord, any Error> { AsyncThrowingStream { $0.finish() } }
    func hash(at lsn: UInt64) async throws -> LogHash? { lsn == 0 ? .zero : nil }
    func record(batch: BatchID) async throws -> LogRecord? { nil }
    func storeSnapshot(_ snapshot: LogSnapshot, completion: @escaping @Sendable (Result<StoredSnapshot, any Error>) -> Void) {
        completion(.failure(StorageError(.io, "this log keeps no snapshots")))
    }
    func newestSnapshot() async throws -> LogSnapshot? { nil }
    func release(through lsn: UInt64) {}
    var status: LogStatus { LogStatus(head: 0, durability: "held by the test") }
    var failure: String? { nil }
    func close() {}
    var hasOtherWriters: Bool { true }
}
