import AccessStore
import AccessCore
import AccessTestSupport
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import AccessDaemon

/// The durability promise under power cuts and I/O errors, through the
/// fault-injecting disk: an acknowledged write is never lost, a failed sync
/// stops the daemon before it acknowledges, a full disk refuses writes and
/// recovers when there is room again.
@Suite struct PowerLossTests {
    /// One trial: batches of writes from several "connections" at once, a
    /// snapshot now and then, a power cut at a random moment; then recovery
    /// must hold every write that was acknowledged before the cut.
    static func trial(seed: UInt64, policy: FsyncPolicy = .always) throws -> (acknowledged: Int, recovered: Int) {
        var random = SeededGenerator(seed: seed)
        let disk = SimulatedDisk()
        var acknowledged = Set<String>()
        var next = 0
        // Restart a few times within one trial, so recovery itself is crossed by later cuts.
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            disk.powerOn()
            let rig = try JournalRig(disk: disk, policy: policy)
            let recoveredNames = JournalRig.names(rig.recovered.durable.state)
            let lostEarlier = acknowledged.subtracting(recoveredNames)
            #expect(lostEarlier.isEmpty, "seed \(seed): acknowledged, then lost: \(lostEarlier.sorted())")
            let acked = NIOLockedValueBox<[String]>([])
            var futures: [EventLoopFuture<Void>] = []
            let batches = Int.random(in: 1...40, using: &random)
            let cutAfter = Int.random(in: 0...batches, using: &random)
            for batch in 0..<batches {
                if batch == cutAfter { break }
                let size = Int.random(in: 1...4, using: &random)
                let numbers = (next..<next + size).map { $0 }
                next += size
                // Half the batches go through the owner's queue, as connections' do.
                let calls = numbers.map { JournalRig.createAccount($0) }
                let future = Bool.random(using: &random) ? rig.queue(calls) : rig.submit(calls)
                futures.append(future.map { outcomes in
                    for (number, outcome) in zip(numbers, outcomes) {
                        if case .applied = outcome { acked.withLockedValue { $0.append("Account \(number)") } }
                    }
                })
                if Int.random(in: 0..<10, using: &random) == 0 { try? rig.snapshot() }
                if Bool.random(using: &random) { _ = try? future.wait() }
            }
            disk.powerCut()
            for future in futures { _ = try? future.wait() }
            rig.shutdown()
            acknowledged.formUnion(acked.withLockedValue { $0 })
        }
        disk.powerOn()
        let final = try StateDirectory(storage: disk, path: JournalRig.directory).recover(logger: JournalRig.quietLogger)
        let names = JournalRig.names(final.durable.state)
        let lost = acknowledged.subtracting(names)
        #expect(lost.isEmpty, "seed \(seed): acknowledged, then lost: \(lost.sorted())")
        return (acknowledged.count, names.count)
    }

    @Test func noAcknowledgedWriteIsLostToAPowerCutIn200Trials() throws {
        var acknowledged = 0
        for seed in 1...200 as ClosedRange<UInt64> {
            acknowledged += try Self.trial(seed: seed).acknowledged
        }
        #expect(acknowledged > 1000, "the trials acknowledge enough writes to mean something (\(acknowledged))")
    }

    @Test func aFailedFsyncStopsTheDaemonBeforeItAcknowledges() throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        defer { rig.shutdown() }
        _ = try rig.write([JournalRig.createAccount(0)])
        // Syncs so far: the segment header (atomic write) and one record.
        disk.failSyncNumber = disk.syncCount + 1
        #expect(throws: StorageError.self) { try rig.write([JournalRig.createAccount(1)]) }
        #expect(rig.fatal.withLockedValue { $0.count } == 1, "the daemon is told to stop")
        // Nothing more is acknowledged, not even after the disk is well again.
        disk.failSyncNumber = nil
        #expect(throws: StorageError.self) { try rig.write([JournalRig.createAccount(2)]) }
        #expect(try rig.durable().state.accounts.count == 1)
        #expect(rig.owner.published.state.accounts.count == 1, "readers never saw the write that was not synced")
    }

    @Test func aFullDiskRefusesWritesKeepsReadsAndRecoversWhenThereIsRoom() throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        _ = try rig.write([JournalRig.createAccount(0)])
        let used = try disk.list(JournalRig.directory).reduce(0) { $0 + (disk.contents(JournalRig.directory + "/" + $1)?.count ?? 0) }
        disk.capacity = used + 10
        do {
            _ = try rig.write([JournalRig.createAccount(1)])
            Issue.record("a write past the disk's capacity was acknowledged")
        } catch let error as StorageError {
            #expect(error.kind == .noSpace)
            #expect(error.description.contains("No space left on device"))
        }
        #expect(rig.owner.published.state.accounts.count == 1, "reads keep working on what was acknowledged")
        let segment = try JournalRecoveryTests.segment(disk)
        #expect(try JournalFormat.scan(try #require(disk.contents(segment))).end == .clean, "the journal ends on a whole record")
        disk.capacity = .max
        let outcomes = try rig.write([JournalRig.createAccount(2)])
        guard case .applied = outcomes[0] else {
            Issue.record("writes succeed again once there is room: \(outcomes)")
            return
        }
        rig.shutdown()
        let recovered = try StateDirectory(storage: disk, path: JournalRig.directory).recover(logger: JournalRig.quietLogger)
        #expect(JournalRig.names(recovered.durable.state) == ["Account 0", "Account 2"])
    }

    @Test(arguments: [2, 3, 5, 8])
    func aFailedAppendFailsItsWritesAndLeavesNoGap(failingWrite: Int) throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        // The segment header is write 1; records follow. Slow I/O and spaced
        // submissions make writes queue at the owner behind the failing record,
        // and still give more records than the failing write's number.
        disk.failWriteNumber = failingWrite
        disk.ioDelayMicroseconds = 1000
        let futures = (0..<60).map { n in
            usleep(1500)
            return rig.queue([JournalRig.createAccount(n)])
        }
        var acknowledged: Set<String> = []
        var refused = 0
        for (n, future) in futures.enumerated() {
            switch Result(catching: { try future.wait() }) {
            case .success: acknowledged.insert("Account \(n)")
            case .failure: refused += 1
            }
        }
        #expect(refused > 0, "the failing write refused something")
        // Writes go on after the failure.
        _ = try rig.write([JournalRig.createAccount(100)])
        acknowledged.insert("Account 100")
        let durable = try rig.durable()
        #expect(JournalRig.names(durable.state) == acknowledged, "the owner rolled back exactly what was refused")
        rig.shutdown()
        let recovered = try StateDirectory(storage: disk, path: JournalRig.directory).recover(logger: JournalRig.quietLogger)
        #expect(JournalRig.names(recovered.durable.state) == acknowledged)
        #expect(recovered.warnings.isEmpty, "\(recovered.warnings)")
    }

    @Test func withIntervalSyncAKillLosesNothingThatWasWritten() throws {
        // `interval` may lose up to a second to a power cut, never to a crash
        // of the process: what reached the file survives.
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk, policy: .interval)
        for n in 0..<10 { _ = try rig.write([JournalRig.createAccount(n)]) }
        rig.shutdown()
        let recovered = try StateDirectory(storage: disk, path: JournalRig.directory).recover(logger: JournalRig.quietLogger)
        #expect(recovered.durable.state.accounts.count == 10)
    }
}
