import AccessStore
import AccessCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

@testable import AccessDaemon

/// The state's owner and the local journal (`LocalJournal`) on a simulated
/// disk, without sockets: writes go in as the connection handler sends them,
/// and come back once their record is durable.
final class JournalRig: @unchecked Sendable {
    static let directory = "/state"
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let disk: SimulatedDisk
    let log: LocalJournal
    /// The journal's writer (its statistics, rotation, failure).
    var journal: JournalWriter { log.writer }
    let owner: StateOwner
    let recovered: StateDirectory.Recovered
    /// Fatal sync failures the journal reported.
    let fatal = NIOLockedValueBox<[StorageError]>([])

    static var quietLogger: Logger {
        var logger = Logger(label: "journal-test")
        logger.logLevel = .critical
        return logger
    }

    init(disk: SimulatedDisk, policy: FsyncPolicy = .always, acceptLoss: Bool = false) throws {
        self.disk = disk
        recovered = try StateDirectory(storage: disk, path: Self.directory).recover(acceptLoss: acceptLoss, logger: Self.quietLogger)
        let fatal = self.fatal
        log = LocalJournal(
            directory: StateDirectory(storage: disk, path: Self.directory), recovered: recovered, policy: policy,
            logger: Self.quietLogger, onFatalSync: { error in fatal.withLockedValue { $0.append(error) } })
        owner = StateOwner(loop: group.next(), durable: recovered.durable, policy: DomainPolicy(), log: log)
    }

    /// Closes the journal and the loop (after a power cut, the journal's thread just fails what is left).
    func shutdown() {
        log.close()
        try? group.syncShutdownGracefully()
    }

    static func createAccount(_ n: Int, key: String = "") -> WriteCall {
        WriteCall(
            command: .createAccount(
                CreateAccount(
                    name: "Account \(n)", fullAccessLicenses: 3, ownerEmail: "owner\(n)@example.com", ownerFirstName: "Owner",
                    ownerLastName: "Number\(n)")),
            principal: .administrator, dryRun: false, idempotencyKey: key,
            reply: { events, _ in Data("\(events.first?.seq ?? 0)".utf8) }, deadline: nil)
    }

    /// Runs one batch at once (not queued); the outcomes once durable, or the journal's error.
    func submit(_ calls: [WriteCall]) -> EventLoopFuture<[WriteOutcome]> {
        let owner = self.owner
        let promise = owner.loop.makePromise(of: [WriteOutcome].self)
        owner.loop.execute {
            owner.assumeIsolated { $0.run(calls) { result in promise.completeWith(result.mapError { $0 as any Error }) } }
        }
        return promise.futureResult
    }

    /// Queues one batch the way connections do (`StateOwner.submit`): behind the record in flight.
    func queue(_ calls: [WriteCall]) -> EventLoopFuture<[WriteOutcome]> {
        let owner = self.owner
        let promise = owner.loop.makePromise(of: [WriteOutcome].self)
        owner.loop.execute { owner.assumeIsolated { $0.submit(calls) { promise.completeWith($0) } } }
        return promise.futureResult
    }

    func write(_ calls: [WriteCall]) throws -> [WriteOutcome] { try submit(calls).wait() }

    /// The owner's durable state.
    func durable() throws -> DurableState {
        let owner = self.owner
        return try owner.loop.submit { owner.assumeIsolated { $0.durable } }.wait()
    }

    /// Writes a snapshot as the daemon does.
    func snapshot() throws {
        let value = try durable()
        let written = try StateDirectory(storage: disk, path: Self.directory)
            .writeSnapshot(value, writtenAt: Timestamp(millisecondsSinceEpoch: 1_800_000_000_000))
        journal.rotate()
        journal.removeSegments(coveredBy: written.keepFrom)
    }

    static func names(_ state: AccessState) -> Set<String> { Set(state.accounts.values.map(\.name)) }

    /// Accounts 0..<3, a snapshot (record 3), accounts 3..<6, a snapshot
    /// (record 6), accounts 6..<8: two snapshots and the journal after the older.
    static func twoSnapshots() throws -> SimulatedDisk {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        for n in 0..<3 { _ = try rig.write([createAccount(n)]) }
        try rig.snapshot()
        for n in 3..<6 { _ = try rig.write([createAccount(n)]) }
        try rig.snapshot()
        for n in 6..<8 { _ = try rig.write([createAccount(n)]) }
        rig.shutdown()
        return disk
    }
}
