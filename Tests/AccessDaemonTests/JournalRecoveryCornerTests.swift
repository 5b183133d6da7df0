import AccessStore
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import Testing

@testable import AccessDaemon

/// Recovery's corners found by a crash and corruption run (issue 12, item
/// 14): damage at the end of an older journal segment, the snapshots kept
/// after a fallback, a snapshot of an unknown format version, the journal
/// header's reserved bytes, and what GetStats says after a restart.
@Suite(.serialized) struct JournalRecoveryCornerTests {
    static let directory = JournalRig.directory

    static func recover(_ disk: SimulatedDisk, acceptLoss: Bool = false) throws -> StateDirectory.Recovered {
        try StateDirectory(storage: disk, path: directory).recover(acceptLoss: acceptLoss, logger: JournalRig.quietLogger)
    }

    static func names(_ disk: SimulatedDisk) throws -> [String] { try disk.list(directory).sorted() }

    static func snapshotPath(_ lsn: UInt64) -> String { directory + "/" + SnapshotFile.name(lsn: lsn) }

    static func segmentPath(_ lsn: UInt64) -> String { directory + "/" + JournalFormat.segmentName(firstLSN: lsn) }

    static func twoSnapshots() throws -> SimulatedDisk { try JournalRig.twoSnapshots() }

    static func flip(_ disk: SimulatedDisk, _ path: String, at offset: (Int) -> Int, mask: UInt8 = 0x01) throws {
        var bytes = try #require(disk.contents(path))
        bytes[offset(bytes.count)] ^= mask
        disk.setContents(path, bytes)
    }

    static func accounts(_ range: Range<Int>) -> Set<String> { Set(range.map { "Account \($0)" }) }

    // MARK: Damage at the end of a segment that is not the newest

    /// Accounts 0..<3 in segment 1, accounts 3..<5 in segment 4; the last record of segment 1 damaged.
    static func damagedEndOfAnOlderSegment() throws -> (disk: SimulatedDisk, offset: Int, bytes: [UInt8]) {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        for n in 0..<3 { _ = try rig.write([JournalRig.createAccount(n)]) }
        rig.journal.rotate()
        for n in 3..<5 { _ = try rig.write([JournalRig.createAccount(n)]) }
        rig.shutdown()
        let older = segmentPath(1)
        var bytes = try #require(disk.contents(older))
        let last = try #require(try JournalFormat.scan(bytes).records.last)
        bytes[last.offset + JournalFormat.frameLength + 2] ^= 0x40
        disk.setContents(older, bytes)
        return (disk, last.offset, bytes)
    }

    @Test func damageInTheLastRecordOfAnOlderSegmentIsRefusedAndAcceptDataLossKeepsWhatComesBeforeIt() throws {
        let (disk, offset, bytes) = try Self.damagedEndOfAnOlderSegment()
        let older = Self.segmentPath(1)
        let newer = Self.segmentPath(4)
        #expect {
            _ = try Self.recover(disk)
        } throws: { error in
            "\(error)".contains(older) && "\(error)".contains("offset \(offset)") && "\(error)".contains("--accept-data-loss")
        }
        #expect(disk.contents(older) == bytes && disk.contents(newer) != nil, "a refused start changes nothing")

        // The advice works: the flag keeps records 1 and 2, and drops the damaged one and the later segment, loudly.
        let accepted = try Self.recover(disk, acceptLoss: true)
        #expect(accepted.durable.lsn == 2)
        #expect(JournalRig.names(accepted.durable.state) == Self.accounts(0..<2))
        #expect(
            accepted.warnings.contains {
                $0.contains(older) && $0.contains("damaged at offset \(offset)") && $0.contains("--accept-data-loss")
                    && $0.contains("later segment")
            }, "\(accepted.warnings)")
        #expect(disk.contents(older)?.count == offset)
        #expect(disk.contents(newer) == nil, "the later segment is dropped")
        // What was kept is a clean journal: the next start needs no flag.
        #expect(try Self.recover(disk).durable.lsn == 2)
    }

    @Test func checkStateCallsTheDamagedEndOfAnOlderSegmentDamageNotATornTail() throws {
        let (disk, offset, _) = try Self.damagedEndOfAnOlderSegment()
        let report = StateDirectory(storage: disk, path: Self.directory).inspect()
        #expect(!report.ok)
        let line = try #require(report.lines.first { $0.hasPrefix("journal " + JournalFormat.segmentName(firstLSN: 1)) })
        #expect(line.contains("DAMAGED at offset \(offset)"), "\(line)")
        #expect(!line.contains("torn"), "\(line)")
        // The newest segment's torn tail is still a torn tail.
        let newer = Self.segmentPath(4)
        disk.setContents(newer, Array(try #require(disk.contents(newer)).dropLast(3)))
        let again = StateDirectory(storage: disk, path: Self.directory).inspect()
        #expect(again.lines.contains { $0.hasPrefix("journal " + JournalFormat.segmentName(firstLSN: 4)) && $0.contains("torn at") })
    }

    // MARK: The snapshots kept after a fallback

    @Test func afterAFallbackTheNextSnapshotKeepsTheOlderValidSnapshotNotTheDamagedOne() throws {
        let disk = try Self.twoSnapshots()
        try Self.flip(disk, Self.snapshotPath(6), at: { $0 / 2 })
        let rig = try JournalRig(disk: disk)
        #expect(rig.recovered.snapshot == Self.snapshotPath(3))
        _ = try rig.write([JournalRig.createAccount(8)])
        try rig.snapshot()
        rig.shutdown()
        let names = try Self.names(disk)
        // The newest two valid snapshots; the damaged one set aside for inspection, never loaded.
        #expect(names.filter { $0.hasSuffix(".snap") } == [SnapshotFile.name(lsn: 3), SnapshotFile.name(lsn: 9)], "\(names)")
        #expect(names.contains(SnapshotFile.name(lsn: 6) + ".damaged"), "\(names)")
        // The journal the older valid snapshot needs (records 4 on) is still there.
        #expect(names.compactMap(JournalFormat.firstLSN(ofSegmentNamed:)).min() ?? 99 <= 4, "\(names)")

        // One more corruption (the newest snapshot) still loses nothing.
        try Self.flip(disk, Self.snapshotPath(9), at: { $0 / 2 })
        let recovered = try Self.recover(disk)
        #expect(recovered.snapshot == Self.snapshotPath(3))
        #expect(recovered.durable.lsn == 9)
        #expect(JournalRig.names(recovered.durable.state) == Self.accounts(0..<9))
    }

    @Test func aDamagedSnapshotIsSetAsideOnlyWhenTheStartSucceeds() throws {
        let disk = try Self.twoSnapshots()
        try Self.flip(disk, Self.snapshotPath(6), at: { $0 / 2 })
        // A damaged journal after the older snapshot stops the start: nothing moves.
        let segment = try #require(try Self.names(disk).filter { $0.hasPrefix("journal-") }.first)
        var bytes = try #require(disk.contents(Self.directory + "/" + segment))
        let scan = try JournalFormat.scan(bytes)
        bytes[try #require(scan.records.first).offset + JournalFormat.frameLength + 1] ^= 0x08
        disk.setContents(Self.directory + "/" + segment, bytes)
        let before = try Self.names(disk)
        #expect(throws: StateDirectory.RecoveryError.self) { try Self.recover(disk) }
        #expect(try Self.names(disk) == before)
    }

    @Test func aDamagedOnlySnapshotDoesNotClaimAFallback() throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        for n in 0..<2 { _ = try rig.write([JournalRig.createAccount(n)]) }
        try rig.snapshot()
        rig.shutdown()
        try Self.flip(disk, Self.snapshotPath(2), at: { $0 - 5 })
        #expect {
            _ = try Self.recover(disk)
        } throws: { error in
            "\(error)".contains(Self.snapshotPath(2)) && !"\(error)".contains("falling back")
        }
        let accepted = try Self.recover(disk, acceptLoss: true)
        #expect(!accepted.warnings.contains { $0.contains("falling back") }, "\(accepted.warnings)")
        #expect(accepted.warnings.contains { $0.contains(Self.snapshotPath(2)) && $0.contains("no older snapshot") }, "\(accepted.warnings)")
        // With two, the warning names the one it falls back to.
        let two = try Self.twoSnapshots()
        try Self.flip(two, Self.snapshotPath(6), at: { $0 / 2 })
        let recovered = try Self.recover(two)
        #expect(
            recovered.warnings.contains { $0.contains("falling back to " + Self.snapshotPath(3)) }, "\(recovered.warnings)")
    }

    @Test func aFallbackThatWouldLoseWhatTheDamagedSnapshotHeldIsRefusedUnlessTheLossIsAccepted() throws {
        let disk = try Self.twoSnapshots()
        try Self.flip(disk, Self.snapshotPath(6), at: { $0 / 2 })
        // The journal after record 3 is gone: the older snapshot alone reaches record 3, not 6.
        for name in try Self.names(disk) where (JournalFormat.firstLSN(ofSegmentNamed: name) ?? 0) > 3 {
            try disk.remove(Self.directory + "/" + name)
        }
        #expect {
            _ = try Self.recover(disk)
        } throws: { error in
            "\(error)".contains(Self.snapshotPath(6)) && "\(error)".contains("4...6") && "\(error)".contains("--accept-data-loss")
        }
        let accepted = try Self.recover(disk, acceptLoss: true)
        #expect(accepted.durable.lsn == 3)
        #expect(accepted.warnings.contains { $0.contains("4...6") && $0.contains("--accept-data-loss") }, "\(accepted.warnings)")
    }

    // MARK: A snapshot of an unknown format version

    /// A version this accessd does not read: one past the one it writes.
    static let unknown = SnapshotFile.formatVersion + 1

    /// The format version (bytes 8-11 of the header) of a snapshot changed to `unknown`.
    static func unknownVersion(_ disk: SimulatedDisk, _ lsn: UInt64) throws {
        var bytes = try #require(disk.contents(snapshotPath(lsn)))
        bytes[11] = UInt8(unknown)
        disk.setContents(snapshotPath(lsn), bytes)
        #expect(SnapshotFile.header(try #require(disk.contents(snapshotPath(lsn))))?.version == unknown)
    }

    @Test func anUnknownVersionInTheNewestSnapshotFallsBackWhenTheOlderSnapshotAndTheJournalLoseNothing() throws {
        let disk = try Self.twoSnapshots()
        try Self.unknownVersion(disk, 6)
        let recovered = try Self.recover(disk)
        #expect(recovered.snapshot == Self.snapshotPath(3))
        #expect(recovered.durable.lsn == 8)
        #expect(JournalRig.names(recovered.durable.state) == Self.accounts(0..<8))
        #expect(recovered.warnings.contains { $0.contains(Self.snapshotPath(6)) && $0.contains("format version \(Self.unknown)") }, "\(recovered.warnings)")
        // Set aside, kept: a newer accessd may want it back.
        let names = try Self.names(disk)
        #expect(!names.contains(SnapshotFile.name(lsn: 6)) && names.contains { $0.hasPrefix(SnapshotFile.name(lsn: 6) + ".") }, "\(names)")
    }

    @Test func anUnknownVersionInTheNewestSnapshotThatAFallbackWouldLoseIsRefusedNamingTheSnapshot() throws {
        let disk = try Self.twoSnapshots()
        try Self.unknownVersion(disk, 6)
        for name in try Self.names(disk) where (JournalFormat.firstLSN(ofSegmentNamed: name) ?? 0) > 3 {
            try disk.remove(Self.directory + "/" + name)
        }
        let before = try Self.names(disk)
        for acceptLoss in [false, true] {
            #expect {
                _ = try Self.recover(disk, acceptLoss: acceptLoss)
            } throws: { error in
                let message = "\(error)"
                return message.contains(Self.snapshotPath(6)) && message.contains("format version \(Self.unknown)")
                    && message.contains("move \(Self.snapshotPath(6)) aside") && !message.contains("state directory aside")
            }
            #expect(try Self.names(disk) == before, "a refused start changes nothing")
        }
        // The advice holds: with that snapshot moved aside, the older one loads.
        try disk.remove(Self.snapshotPath(6))
        #expect(try Self.recover(disk).durable.lsn == 3)
    }

    // MARK: The journal header

    @Test func aJournalHeaderWhoseReservedBytesAreNotZeroIsDamaged() throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        for n in 0..<2 { _ = try rig.write([JournalRig.createAccount(n)]) }
        rig.shutdown()
        let path = Self.segmentPath(1)
        for offset in 28..<32 {
            var bytes = try #require(disk.contents(path))
            bytes[offset] = 0x01
            #expect(throws: JournalFormat.BadHeader.self, "byte \(offset)") { _ = try JournalFormat.scan(bytes) }
            let copy = SimulatedDisk()
            copy.setContents(path, bytes)
            #expect("byte \(offset)") {
                _ = try Self.recover(copy)
            } throws: { error in
                "\(error)".contains(path) && "\(error)".contains("reserved")
            }
        }
    }

    // MARK: GetStats after a restart

    @Test func getStatsAfterARestartReportsTheLoadedSnapshotNotTheReplayedHead() async throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        for n in 0..<2 { _ = try rig.write([JournalRig.createAccount(n)]) }
        let snapshotted = try rig.durable().state.revision
        try rig.snapshot()
        for n in 2..<4 { _ = try rig.write([JournalRig.createAccount(n)]) }
        let head = try rig.durable().state.revision
        rig.shutdown()
        #expect(head > snapshotted)

        let run = SystemdTestSupport.temporaryDirectory("stats")
        defer { try? FileManager.default.removeItem(atPath: run) }
        var configuration = DaemonConfiguration(socketPath: run + "/accessd.sock", stateDirectory: Self.directory)
        configuration.storage = disk
        configuration.snapshotIntervalSeconds = 3600
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let server = try AccessDaemonServer(configuration: configuration, logger: logger)
        try await server.start()
        let stats = try RawConnection(path: configuration.socketPath).call(
            Methods.getStats, Accessd_V1_GetStatsRequest(), id: 1)
        try await server.stop()
        #expect(stats.code == 0, "\(stats.message)")
        let response = try Accessd_V1_GetStatsResponse(serializedBytes: stats.payload)
        #expect(response.revision == head)
        #expect(response.lastSnapshotLsn == 2)
        #expect(response.lastSnapshotRevision == snapshotted)
        #expect(response.lastSnapshotAtMs == 1_800_000_000_000, "the time the snapshot was written (JournalRig.snapshot)")
    }
}
