import AccessCore
import AccessWire
import Foundation
import Logging
import Testing

@testable import AccessDaemon

/// Recovery's corners found by a crash and corruption run (issue 12, item
/// 14).
@Suite(.serialized) struct JournalRecoveryCornerTests {
    static let directory = JournalRig.directory

    static func recover(_ disk: SimulatedDisk, acceptLoss: Bool = false) throws -> StateDirectory.Recovered {
        try StateDirectory(storage: disk, path: directory).recover(acceptLoss: acceptLoss, logger: JournalRig.quietLogger)
    }

    static func names(_ disk: SimulatedDisk) throws -> [String] { try disk.list(directory).sorted() }

    static func snapshotPath(_ lsn: UInt64) -> String { directory + "/" + SnapshotFile.name(lsn: lsn) }

    static func segmentPath(_ lsn: UInt64) -> String { directory + "/" + JournalFormat.segmentName(firstLSN: lsn) }

    /// Accounts 0..<3, a snapshot (record 3), accounts 3..<6, a snapshot
    /// (record 6), accounts 6..<8: two snapshots and the journal after the older.
    static func twoSnapshots() throws -> SimulatedDisk {
        let disk = SimulatedDisk()
        let rig = try JournalRig(disk: disk)
        for n in 0..<3 { _ = try rig.write([JournalRig.createAccount(n)]) }
        try rig.snapshot()
        for n in 3..<6 { _ = try rig.write([JournalRig.createAccount(n)]) }
        try rig.snapshot()
        for n in 6..<8 { _ = try rig.write([JournalRig.createAccount(n)]) }
        rig.shutdown()
        return disk
    }

    static func flip(_ disk: SimulatedDisk, _ path: String, at offset: (Int) -> Int, mask: UInt8 = 0x01) throws {
        var bytes = try #require(disk.contents(path))
        bytes[offset(bytes.count)] ^= mask
        disk.setContents(path, bytes)
    }

    static func accounts(_ range: Range<Int>) -> Set<String> { Set(range.map { "Account \($0)" }) }

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
}
