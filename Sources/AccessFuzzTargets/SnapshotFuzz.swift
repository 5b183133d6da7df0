import AccessStore
import AccessCore
import AccessDaemon
import AccessWire
import SwiftProtobuf

/// The `snapshot` target: `[flags] [file]`. With flag bit 0 clear, the bytes
/// are a snapshot file as they are; with it set, they are the payload (a
/// `StateSnapshot`) and the target writes the header around it, with the
/// magic and version of a file the real writer wrote, the lsn the payload
/// names, its length and its right checksum, so that the mutations reach the
/// decoding of the records and the restore. Recovery
/// (`StateDirectory.recover`, read-only) loads the file; when it loads, the
/// state written again as a snapshot (`writeSnapshot`) must load back equal:
/// the same state, lsn and idempotent replies (those the writer keeps).
enum SnapshotFuzz {
    static let directory = "/state"
    static let writtenAt = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    /// The first 12 bytes of a real snapshot file: magic and format version.
    static let magicAndVersion: [UInt8] = {
        let storage = MemoryStorage()
        let empty = DurableState(state: AccessState(), history: EventHistory())
        do {
            _ = try StateDirectory(storage: storage, path: directory).writeSnapshot(empty, writtenAt: writtenAt)
        } catch {
            preconditionFailure("a snapshot of the empty state cannot be written: \(error)")
        }
        return Array(storage.contents.values.first?.prefix(12) ?? [])
    }()

    static func run(_ bytes: [UInt8]) throws(Violation) {
        var input = InputReader(bytes)
        let flags = input.byte()
        let file = flags & 1 == 0 ? input.rest() : framed(input.rest())
        let lsn = file.count >= 20 ? file[12..<20].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } : 0
        let first = StateDirectory(storage: MemoryStorage(files: [path(lsn): file]), path: directory)
        let loaded: DurableState
        do {
            loaded = try first.recover(eventRetention: 1000, readOnly: true, logger: JournalFuzz.logger).durable
        } catch {
            try check(!error.description.isEmpty, "a snapshot refused without a reason")
            return
        }
        try check(
            loaded.history.lastSeq == loaded.state.revision && loaded.history.count == 0,
            "a loaded snapshot's history is not empty at its revision")

        let storage = MemoryStorage()
        let second = StateDirectory(storage: storage, path: directory)
        let reloaded: DurableState
        do {
            _ = try second.writeSnapshot(loaded, writtenAt: writtenAt)
            reloaded = try second.recover(eventRetention: 1000, readOnly: true, logger: JournalFuzz.logger).durable
        } catch {
            throw Violation("a snapshot that loads does not load again once written: \(error)")
        }
        try check(reloaded.state == loaded.state, "a snapshot written again loads to another state")
        try check(reloaded.lsn == loaded.lsn, "a snapshot written again loads at lsn \(reloaded.lsn), not \(loaded.lsn)")
        var kept = loaded.idempotency
        kept.prune(now: writtenAt)
        try check(reloaded.idempotency == kept, "a snapshot written again loads other idempotent replies")
    }

    static func path(_ lsn: UInt64) -> String {
        let digits = String(lsn)
        return directory + "/snapshot-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    /// A payload in a header that holds: the real writer's magic and version,
    /// the lsn the payload names, its length and CRC-32C.
    static func framed(_ payload: [UInt8]) -> [UInt8] {
        let lsn = (try? Accessd_V1_StateSnapshot(serializedBytes: payload))?.journalLsn ?? 0
        var bytes = magicAndVersion
        for value in [lsn, UInt64(payload.count)] { withUnsafeBytes(of: value.bigEndian) { bytes += $0 } }
        withUnsafeBytes(of: crc32c(payload).bigEndian) { bytes += $0 }
        return bytes + payload
    }

    /// CRC-32C (Castagnoli), written apart from the daemon's.
    static func crc32c(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }
}
