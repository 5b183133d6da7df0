import AccessStore
import AccessCore
import AccessTestSupport
import Foundation
import Testing

@testable import AccessDaemon

/// The event archive is derived from the journal and synced only when a segment
/// ends, at snapshots and at shutdown; a power cut takes its unsynced tail.
/// After the cut, recovery and `EventArchive.open` give back every durable event
/// with the bytes it was served with before, because the journal keeps its
/// segments until the log has synced their events. The state's owner and
/// the journal on a simulated disk (`JournalRig`), with snapshots taken as the
/// daemon takes them.
@Suite struct EventArchivePowerLossTests {
    static let retention = EventArchive.Retention(count: 1_000_000, milliseconds: 1 << 40)

    /// A snapshot as `AccessDaemonServer.snapshot` writes one: the journal's
    /// covered segments go only once the log has synced their events.
    static func snapshot(_ rig: JournalRig, _ log: EventArchive) throws {
        let value = try rig.durable()
        let written = try StateDirectory(storage: rig.disk, path: JournalRig.directory)
            .writeSnapshot(value, writtenAt: Timestamp(millisecondsSinceEpoch: 1_800_000_000_000))
        rig.journal.rotate()
        if log.sync(through: value.state.revision, timeout: 10) { rig.journal.removeSegments(coveredBy: written.keepFrom) }
    }

    @Test func afterAPowerCutTheEventArchiveHoldsEveryDurableEventAgainWithTheSameBytes() throws {
        for seed in 1...25 as ClosedRange<UInt64> {
            var random = SeededGenerator(seed: seed &* 31)
            let disk = SimulatedDisk()
            // What was served for each event before the cut.
            var served: [[UInt8]] = []
            var n = 0
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                disk.powerOn()
                let rig = try JournalRig(disk: disk)
                let head = rig.recovered.durable.state.revision
                #expect(head == UInt64(served.count), "seed \(seed): every acknowledged write is durable")
                let log = try EventArchive.open(
                    storage: disk, directory: JournalRig.directory, retention: Self.retention, head: head,
                    clock: { 1_800_000_000_000 }, logger: JournalRig.quietLogger)
                let read = try log.read(after: 0, limit: .max, maxBytes: .max, memory: rig.recovered.durable.history, head: head)
                #expect(read.map(\.seq) == (head == 0 ? [] : Array(1...head)), "seed \(seed)")
                #expect(read.map(\.payload) == served, "seed \(seed): the same bytes as before the cut")
                let owner = rig.owner
                log.start { owner.published.history }
                for _ in 0..<Int.random(in: 5...40, using: &random) {
                    _ = try rig.write([JournalRig.createAccount(n)])
                    n += 1
                    log.wake()
                    let history = rig.owner.published.history
                    served += try history.events(after: UInt64(served.count), limit: 1000).map { EncodedEvent($0).bytes }
                    if Int.random(in: 0..<8, using: &random) == 0 { try Self.snapshot(rig, log) }
                }
                // The writer is somewhere in the tail when the power goes.
                usleep(UInt32.random(in: 0...3000, using: &random))
                disk.powerCut()
                log.close()
                rig.shutdown()
            }
        }
    }
}
