import AccessMapping
package import AccessCore
import AccessWire
import Foundation
import SwiftProtobuf

/// A snapshot file (`snapshot-<lsn, 20 digits>.snap`): a 32-byte header
/// (magic "ACCSNAP\0", format version, the lsn of the last journal record it
/// holds, payload length, CRC-32C of the payload) and the protobuf-encoded
/// `StateSnapshot`. A file whose header or checksum does not hold is refused
/// with a message naming it, never loaded.
package enum SnapshotFile {
    package static let magic: [UInt8] = Array("ACCSNAP".utf8) + [0]
    /// The version written (see `FormatVersions` for what each holds).
    package static let formatVersion: UInt32 = 3
    /// The versions read: every one written since snapshots carried a journal lsn.
    package static let readableVersions: ClosedRange<UInt32> = 2...3
    package static let headerLength = 32

    package struct Damaged: Error, CustomStringConvertible {
        package var path: String
        package var reason: String
        package var description: String {
            "the snapshot \(path) is damaged (\(reason)); move it aside to start from an older state, or restore it from a backup"
        }
    }

    package static func name(lsn: UInt64) -> String {
        let digits = String(lsn)
        return "snapshot-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    /// The lsn a snapshot's name announces, or nil for other names.
    package static func lsn(ofSnapshotNamed name: String) -> UInt64? {
        guard name.hasPrefix("snapshot-"), name.hasSuffix(".snap") else { return nil }
        let digits = name.dropFirst("snapshot-".count).dropLast(".snap".count)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    package static func encode(_ value: DurableState, writtenAt: Timestamp) throws -> [UInt8] {
        var snapshot = records(of: value.state)
        snapshot.writtenAtMs = writtenAt.millisecondsSinceEpoch
        snapshot.journalLsn = value.lsn
        if value.lsn > 0 { snapshot.journalHash = Data(value.logHash.bytes) }
        var idempotency = value.idempotency
        idempotency.prune(now: writtenAt)
        snapshot.idempotentReplies = idempotency.all.map(\.wire)
        let payload: [UInt8] = try snapshot.serializedBytes()
        var header = magic
        append(formatVersion, to: &header)
        append(value.lsn, to: &header)
        append(UInt64(payload.count), to: &header)
        append(CRC32C.checksum(payload), to: &header)
        assert(header.count == headerLength)
        return header + payload
    }

    /// SHA-256 of the state's records as a snapshot encodes them (not its
    /// time, lsn or stored replies), each table's records sorted by their
    /// bytes (a table's order is its hashing's, which differs between
    /// processes): equal on every host that applied the same history (GetStats
    /// `state_digest`).
    /// - Complexity: O(n log n) in the records.
    package static func stateDigest(_ state: AccessState) throws -> [UInt8] {
        let snapshot = records(of: state)
        var hasher = SHA256()
        func count(_ value: Int) { hasher.update(withUnsafeBytes(of: UInt64(value).littleEndian) { Array($0) }) }
        func table(_ records: [some SwiftProtobuf.Message]) throws {
            let encoded = try records.map { try $0.serializedBytes() as [UInt8] }.sorted { $0.lexicographicallyPrecedes($1) }
            count(encoded.count)
            for bytes in encoded {
                count(bytes.count)
                hasher.update(bytes)
            }
        }
        count(Int(snapshot.nextSeq))
        try table(snapshot.accounts)
        try table(snapshot.users)
        try table(snapshot.roles)
        try table(snapshot.offices)
        try table(snapshot.projects)
        try table(snapshot.products)
        try table(snapshot.shares)
        try table(snapshot.clientLinks)
        try table(snapshot.activations)
        try table(snapshot.outbox)
        return hasher.finalize()
    }

    /// The snapshot message with the state's records and nothing else.
    private static func records(of state: AccessState) -> Accessd_V1_StateSnapshot {
        let records = state.records
        var snapshot = Accessd_V1_StateSnapshot()
        snapshot.formatVersion = formatVersion
        snapshot.nextSeq = records.nextSeq
        snapshot.accounts = records.accounts.map { Accessd_V1_Account($0) }
        snapshot.users = records.users.map(Accessd_V1_User.init)
        snapshot.roles = records.roles.map(Accessd_V1_Role.init)
        snapshot.offices = records.offices.map(Accessd_V1_Office.init)
        snapshot.projects = records.projects.map(Accessd_V1_Project.init)
        snapshot.products = records.products.map(Accessd_V1_Product.init)
        snapshot.shares = records.shares.map(Accessd_V1_Share.init)
        snapshot.clientLinks = records.clientLinks.map(Accessd_V1_ClientLink.init)
        snapshot.activations = records.activations.map(Accessd_V1_PendingActivation.init)
        snapshot.outbox = records.outbox.map { Accessd_V1_OutboxMessage($0) }
        return snapshot
    }

    /// Whether `bytes` are a whole snapshot: its header, length and checksum
    /// (not its records: `decode` reads those).
    package static func holds(_ bytes: [UInt8]) -> Bool {
        guard let header = header(bytes), readableVersions.contains(header.version) else { return false }
        let length = read(bytes, at: 20, count: 8)
        guard UInt64(bytes.count - headerLength) == length else { return false }
        return CRC32C.checksum(bytes[headerLength...]) == UInt32(read(bytes, at: 28, count: 4))
    }

    /// The lsn and format version in a file's header, when it has one.
    package static func header(_ bytes: [UInt8]) -> (version: UInt32, lsn: UInt64)? {
        guard bytes.count >= headerLength, Array(bytes[0..<8]) == magic else { return nil }
        return (UInt32(read(bytes, at: 8, count: 4)), read(bytes, at: 12, count: 8))
    }

    /// The state a snapshot holds, and when it was written (ms since the epoch).
    package static func decode(_ bytes: [UInt8], path: String, eventRetention: Int = 100_000) throws(Damaged)
        -> (durable: DurableState, writtenAtMilliseconds: Int64)
    {
        func damaged(_ reason: String) -> Damaged { Damaged(path: path, reason: reason) }
        guard bytes.count >= headerLength, Array(bytes[0..<8]) == magic else { throw damaged("no snapshot header") }
        let version = UInt32(read(bytes, at: 8, count: 4))
        guard readableVersions.contains(version) else {
            throw damaged("format version \(version); this accessd reads versions \(readableVersions.lowerBound) to \(readableVersions.upperBound)")
        }
        let lsn = read(bytes, at: 12, count: 8)
        let length = read(bytes, at: 20, count: 8)
        let crc = UInt32(read(bytes, at: 28, count: 4))
        guard UInt64(bytes.count - headerLength) == length else {
            throw damaged("the header announces \(length) bytes, the file holds \(bytes.count - headerLength)")
        }
        let payload = bytes[headerLength...]
        guard CRC32C.checksum(payload) == crc else { throw damaged("checksum mismatch") }
        let snapshot: Accessd_V1_StateSnapshot
        do {
            snapshot = try Accessd_V1_StateSnapshot(serializedBytes: Array(payload))
        } catch {
            throw damaged("the payload does not decode")
        }
        var records = StateRecords()
        records.nextSeq = snapshot.nextSeq
        do {
            records.accounts = try snapshot.accounts.map { wire throws(AccessError) in try Account(wire: wire) }
            records.users = try snapshot.users.map { wire throws(AccessError) in try User(wire: wire) }
            records.roles = try snapshot.roles.map { wire throws(AccessError) in try Role(wire: wire) }
            records.offices = try snapshot.offices.map { wire throws(AccessError) in try Office(wire: wire) }
            records.projects = try snapshot.projects.map { wire throws(AccessError) in try Project(wire: wire) }
            records.products = try snapshot.products.map { wire throws(AccessError) in try Product(wire: wire) }
            records.shares = try snapshot.shares.map { wire throws(AccessError) in try Share(wire: wire) }
            records.clientLinks = try snapshot.clientLinks.map { wire throws(AccessError) in try ClientLink(wire: wire) }
            records.activations = try snapshot.activations.map { wire throws(AccessError) in try PendingActivation(wire: wire) }
            records.outbox = try snapshot.outbox.map { wire throws(AccessError) in try OutboxMessage(wire: wire) }
        } catch {
            throw damaged("a record does not decode: \(error.message)")
        }
        let state: AccessState
        do {
            state = try AccessState(restoring: records, pieces: .onEveryCore)
        } catch {
            throw damaged(error.description)
        }
        guard snapshot.journalLsn == lsn else {
            throw damaged("the header says journal record \(lsn), the payload \(snapshot.journalLsn)")
        }
        var idempotency = IdempotencyStore()
        for reply in snapshot.idempotentReplies {
            if version >= 3 {
                idempotency.insert(IdempotencyStore.Entry(wire: reply))
            } else if let entry = FormatVersions.legacyReply(reply) {
                idempotency.insert(entry)
            }
        }
        var history = EventHistory(retention: eventRetention)
        history.skip(to: state.revision)
        var durable = DurableState(state: state, history: history, idempotency: idempotency, lsn: lsn)
        if !snapshot.journalHash.isEmpty {
            guard let hash = LogHash(snapshot.journalHash) else {
                throw damaged("the hash of journal record \(lsn) has \(snapshot.journalHash.count) bytes, not \(LogHash.length)")
            }
            durable.logHash = hash
        }
        return (durable, snapshot.writtenAtMs)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { bytes += $0 }
    }

    private static func read(_ bytes: [UInt8], at offset: Int, count: Int) -> UInt64 {
        bytes[offset..<offset + count].reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension PieceRunner {
    /// The pieces at once on the machine's cores (`DispatchQueue.concurrentPerform`):
    /// a restore of a million users builds its tables and indexes side by side.
    package static let onEveryCore = PieceRunner { pieces in
        // Each piece writes only what it alone owns (PieceRunner's contract),
        // which is what makes handing them to other threads sound.
        struct Pieces: @unchecked Sendable { let pieces: [() -> Void] }
        let work = Pieces(pieces: pieces)
        DispatchQueue.concurrentPerform(iterations: work.pieces.count) { work.pieces[$0]() }
    }
}
