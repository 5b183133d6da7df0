import AccessStore
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import Testing

@testable import AccessDaemon

/// The journal and recovery (protocol.md "Durability promise"): torn tails,
/// damage in the middle, snapshots that fall back, format versions, empty
/// and missing directories.
@Suite struct JournalRecoveryTests {
    static let directory = JournalRig.directory

    /// A disk holding `count` accounts, one journal record each (no snapshot).
    static func journal(of count: Int) throws -> SimulatedDisk {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        for n in 0..<count { _ = try rig.write([JournalRig.createAccount(n)]) }
        rig.shutdown()
        return disk
    }

    static func segment(_ disk: SimulatedDisk) throws -> String {
        let names = try disk.list(directory).filter { $0.hasPrefix("journal-") }.sorted()
        return directory + "/" + (try #require(names.last))
    }

    static func recover(_ disk: SimulatedDisk, acceptLoss: Bool = false) throws -> StateDirectory.Recovered {
        try StateDirectory(storage: disk, path: directory).recover(acceptLoss: acceptLoss, logger: JournalRig.quietLogger)
    }

    @Test func everyAcknowledgedWriteIsReplayedAfterARestart() throws {
        let disk = try Self.journal(of: 5)
        let recovered = try Self.recover(disk)
        #expect(recovered.replayed == 5)
        #expect(recovered.durable.lsn == 5)
        #expect(JournalRig.names(recovered.durable.state) == Set((0..<5).map { "Account \($0)" }))
        #expect(recovered.warnings.isEmpty)
    }

    @Test func aJournalCutAtEveryByteOfItsLastRecordRecoversEveryWholeRecord() throws {
        let disk = try Self.journal(of: 3)
        let path = try Self.segment(disk)
        let whole = try #require(disk.contents(path))
        let scan = try JournalFormat.scan(whole)
        let lastStart = try #require(scan.records.last).offset
        for cut in lastStart..<whole.count {
            let copy = SimulatedDisk()
            copy.setContents(path, Array(whole.prefix(cut)))
            let recovered = try Self.recover(copy)
            #expect(recovered.durable.lsn == 2, "cut at \(cut)")
            #expect(JournalRig.names(recovered.durable.state) == ["Account 0", "Account 1"], "cut at \(cut)")
            if cut > lastStart {
                #expect(recovered.warnings.contains { $0.contains("torn") }, "cut at \(cut): \(recovered.warnings)")
                #expect(copy.contents(path)?.count == lastStart, "the torn tail is cut off")
            }
        }
        // The whole file: all three.
        let copy = SimulatedDisk()
        copy.setContents(path, whole)
        #expect(try Self.recover(copy).durable.lsn == 3)
    }

    @Test func zerosAfterTheLastRecordAreATornTailNotDamage() throws {
        let disk = try Self.journal(of: 2)
        let path = try Self.segment(disk)
        disk.setContents(path, try #require(disk.contents(path)) + [UInt8](repeating: 0, count: 100))
        let recovered = try Self.recover(disk)
        #expect(recovered.durable.lsn == 2)
        #expect(recovered.warnings.contains { $0.contains("torn") })
    }

    @Test func aFlippedBitInTheMiddleStopsTheStartNamingTheOffsetUnlessTheLossIsAccepted() throws {
        let disk = try Self.journal(of: 4)
        let path = try Self.segment(disk)
        var bytes = try #require(disk.contents(path))
        let scan = try JournalFormat.scan(bytes)
        let second = scan.records[1]
        bytes[second.offset + JournalFormat.frameLength + 5] ^= 0x10
        disk.setContents(path, bytes)
        do {
            _ = try Self.recover(disk)
            Issue.record("a damaged journal was loaded")
        } catch {
            let message = "\(error)"
            #expect(message.contains(path))
            #expect(message.contains("offset \(second.offset)"))
            #expect(message.contains("--accept-data-loss"))
        }
        #expect(disk.contents(path) == bytes, "a refused start changes nothing")
        let accepted = try Self.recover(disk, acceptLoss: true)
        #expect(accepted.durable.lsn == 1)
        #expect(JournalRig.names(accepted.durable.state) == ["Account 0"])
        #expect(accepted.warnings.contains { $0.contains("damaged at offset \(second.offset)") })
    }

    @Test func aDamagedNewestSnapshotFallsBackToThePreviousOneAndReplaysTheJournal() throws {
        let disk = try JournalRig.twoSnapshots()
        let snapshots = try disk.list(Self.directory).filter { $0.hasPrefix("snapshot-") }.sorted()
        #expect(snapshots == [SnapshotFile.name(lsn: 3), SnapshotFile.name(lsn: 6)])
        let newest = Self.directory + "/" + SnapshotFile.name(lsn: 6)
        var bytes = try #require(disk.contents(newest))
        bytes[bytes.count / 2] ^= 0x01
        disk.setContents(newest, bytes)
        let recovered = try Self.recover(disk)
        #expect(recovered.snapshot?.hasSuffix(SnapshotFile.name(lsn: 3)) == true)
        #expect(recovered.replayed == 5)
        #expect(JournalRig.names(recovered.durable.state) == Set((0..<8).map { "Account \($0)" }))
        #expect(recovered.warnings.contains { $0.contains(newest) && $0.contains("falling back") })
    }

    @Test func snapshotsKeepTheLastTwoAndTheSegmentsTheyDoNotCover() throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        for round in 0..<4 {
            for n in 0..<3 { _ = try rig.write([JournalRig.createAccount(round * 3 + n)]) }
            try rig.snapshot()
        }
        _ = try rig.write([JournalRig.createAccount(100)])
        rig.shutdown()
        let names = try disk.list(Self.directory).sorted()
        #expect(names.filter { $0.hasPrefix("snapshot-") } == [SnapshotFile.name(lsn: 9), SnapshotFile.name(lsn: 12)])
        // Segments from record 7 on survive: the older kept snapshot (9) needs 10 on.
        let segments = names.compactMap(JournalFormat.firstLSN(ofSegmentNamed:))
        #expect(segments.allSatisfy { $0 >= 7 }, "\(names)")
        #expect(try Self.recover(disk).durable.lsn == 13)
    }

    @Test func anEmptyAndAMissingStateDirectoryStartEmpty() throws {
        let missing = SimulatedDisk()
        let fromMissing = try Self.recover(missing)
        #expect(fromMissing.durable.lsn == 0 && fromMissing.durable.state.accounts.count == 0)
        let posixDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("accessd-empty-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: posixDirectory) }
        let fromNothing = try StateDirectory(path: posixDirectory + "/state").recover(logger: JournalRig.quietLogger)
        #expect(fromNothing.durable.state.revision == 0)
        var status = stat()
        #expect(stat(posixDirectory + "/state", &status) == 0, "a missing state directory is created")
        let fromEmpty = try StateDirectory(path: posixDirectory + "/state").recover(logger: JournalRig.quietLogger)
        #expect(fromEmpty.durable.state.revision == 0 && fromEmpty.warnings.isEmpty)
    }

    @Test func aStateDirectoryOfAnotherFormatVersionIsRefusedWithWhatToDo() throws {
        // A journal segment of version 99.
        let disk = try Self.journal(of: 1)
        let path = try Self.segment(disk)
        var bytes = try #require(disk.contents(path))
        var header = Array(bytes[0..<8])
        header.appendBigEndian(UInt32(99))
        header += bytes[12..<24]
        header.appendBigEndian(CRC32C.checksum(header))
        bytes.replaceSubrange(0..<28, with: header)
        disk.setContents(path, bytes)
        #expect {
            _ = try Self.recover(disk, acceptLoss: true)
        } throws: { error in
            "\(error)".contains("format version 99") && "\(error)".contains(path)
        }
        // A snapshot of version 1 (the layout before the journal).
        let snapshotDisk = SimulatedDisk()
        let snapshot = Self.directory + "/" + SnapshotFile.name(lsn: 0)
        snapshotDisk.setContents(snapshot, SnapshotFile.magic + [0, 0, 0, 1] + [UInt8](repeating: 0, count: 20))
        #expect {
            _ = try Self.recover(snapshotDisk)
        } throws: { error in
            "\(error)".contains("format version 1") && "\(error)".contains(snapshot)
        }
    }

    @Test func aGapInTheRecordsStopsTheStart() throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        _ = try rig.write([JournalRig.createAccount(0)])
        rig.journal.rotate()
        _ = try rig.write([JournalRig.createAccount(1)])
        rig.journal.rotate()
        _ = try rig.write([JournalRig.createAccount(2)])
        rig.shutdown()
        try disk.remove(Self.directory + "/" + JournalFormat.segmentName(firstLSN: 2))
        #expect {
            _ = try Self.recover(disk)
        } throws: { error in
            "\(error)".contains("records are missing") && "\(error)".contains(JournalFormat.segmentName(firstLSN: 3))
        }
        let accepted = try Self.recover(disk, acceptLoss: true)
        #expect(accepted.durable.lsn == 1)
    }

    @Test func checkStateReportsWhatADirectoryHoldsAndTheFirstProblem() throws {
        let disk = try Self.journal(of: 3)
        let good = StateDirectory(storage: disk, path: Self.directory).inspect()
        #expect(good.ok)
        #expect(good.lines.contains { $0.contains("records 1...3 (3)") && $0.contains("ends cleanly") })
        #expect(good.lines.last?.contains("journal record 3") == true)
        let path = try Self.segment(disk)
        var bytes = try #require(disk.contents(path))
        bytes[JournalFormat.headerLength + JournalFormat.frameLength + 3] ^= 0xFF
        disk.setContents(path, bytes)
        let bad = StateDirectory(storage: disk, path: Self.directory).inspect()
        #expect(!bad.ok)
        #expect(bad.lines.contains { $0.contains("DAMAGED at offset \(JournalFormat.headerLength)") })
        #expect(bad.lines.last?.hasPrefix("problem: ") == true)
        #expect(disk.contents(path) == bytes, "check-state changes nothing")
    }

    @Test func theIdempotentReplySurvivesARestart() throws {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        let first = try rig.write([JournalRig.createAccount(1, key: "create-1")])
        rig.shutdown()
        let again = try JournalRig(disk: disk)
        defer { again.shutdown() }
        let retry = try again.write([JournalRig.createAccount(1, key: "create-1")])
        guard case .applied(let firstReply, let firstRevision) = first[0], case .applied(let reply, let revision) = retry[0] else {
            Issue.record("both should be applied: \(first) \(retry)")
            return
        }
        #expect(reply == firstReply && revision == firstRevision, "the first reply, not a second account")
        #expect(try again.durable().state.accounts.count == 1)
    }
}
