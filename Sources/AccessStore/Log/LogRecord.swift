import AccessCore
package import AccessWire
import SwiftProtobuf
import Foundation

/// A hash of the log's chain: SHA-256, 32 bytes. The hash at lsn 0 (before
/// the first record) is `zero`; a record's hash is
/// `SHA-256(previous hash || the record's bytes)`.
package struct LogHash: Sendable, Hashable, CustomStringConvertible {
    package static let length = 32
    package let bytes: [UInt8]

    /// The hash before the first record.
    package static let zero = LogHash(unchecked: [UInt8](repeating: 0, count: length))

    /// 32 bytes, or nil for any other length.
    package init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = Array(bytes)
    }

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// The hash of a record of `bytes` that follows `previous`.
    package static func chained(after previous: LogHash, bytes: some Collection<UInt8>) -> LogHash {
        var hasher = SHA256()
        hasher.update(previous.bytes)
        hasher.update(bytes)
        return LogHash(unchecked: hasher.finalize())
    }

    /// Lowercase hex, as check-state and the log lines print it.
    package var description: String { Self.hex(bytes) }

    package static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(2 * bytes.count)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// The id a writer gives a batch (16 random bytes): it is stored with the
/// record, so a writer whose append's answer was lost (a crash, a cut
/// connection) can ask the log whether the batch committed, and where.
package struct BatchID: Sendable, Hashable, CustomStringConvertible {
    package static let length = 16
    package let bytes: [UInt8]

    /// No id: the records of journal formats 1 and 2 have none.
    package static let none = BatchID(unchecked: [])

    package init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == Self.length else { return nil }
        self.bytes = Array(bytes)
    }

    private init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    package static func random(using generator: inout some RandomNumberGenerator) -> BatchID {
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        var bytes: [UInt8] = []
        bytes.appendBigEndian(high)
        bytes.appendBigEndian(low)
        return BatchID(unchecked: bytes)
    }

    package var description: String { LogHash.hex(bytes) }
}

/// One record of the log: a batch of writes (its events and idempotent
/// replies), appended at its lsn by one writer. Its bytes are the protobuf
/// `JournalRecord`, which from journal format 3 on also holds the lsn, the
/// batch id and the previous hash; the same bytes go to a journal segment
/// or to a shared log's row.
package struct LogRecord: Sendable, Equatable {
    package var lsn: UInt64
    /// The journal format its bytes are in (`JournalFormat.version` for a record written now).
    package var formatVersion: UInt32
    package var batchID: BatchID
    /// The hash of the record before it (`LogHash.zero` for the first, and
    /// for records of formats 1 and 2, which name none).
    package var previousHash: LogHash
    /// The protobuf `JournalRecord`.
    package var bytes: [UInt8]
    /// The seqs of its events, first to last; nil for a record of idempotent
    /// replies alone. (A shared log stores them beside the bytes.)
    package var eventSeqs: ClosedRange<UInt64>?

    package init(
        lsn: UInt64, formatVersion: UInt32, batchID: BatchID, previousHash: LogHash, bytes: [UInt8],
        eventSeqs: ClosedRange<UInt64>? = nil
    ) {
        self.lsn = lsn
        self.formatVersion = formatVersion
        self.batchID = batchID
        self.previousHash = previousHash
        self.bytes = bytes
        self.eventSeqs = eventSeqs
    }

    /// The seqs of a journal record's events.
    static func seqs(of record: Accessd_V1_JournalRecord) -> ClosedRange<UInt64>? {
        guard let first = record.events.first?.seq, let last = record.events.last?.seq, first <= last else { return nil }
        return first...last
    }

    /// Its hash in the chain: SHA-256 of the previous hash and its bytes.
    /// - Complexity: O(n) in its bytes.
    package var hash: LogHash { LogHash.chained(after: previousHash, bytes: bytes) }

    /// The record as the writer builds it: the journal record with its
    /// lsn, batch id and previous hash set, encoded in the current format.
    package init(_ record: Accessd_V1_JournalRecord, batchID: BatchID, previousHash: LogHash) throws {
        var record = record
        record.batchID = Data(batchID.bytes)
        record.previousHash = Data(previousHash.bytes)
        self.init(
            lsn: record.lsn, formatVersion: JournalFormat.version, batchID: batchID, previousHash: previousHash,
            bytes: try record.serializedBytes(), eventSeqs: Self.seqs(of: record))
    }

    /// Why a record's bytes do not make a record of its format.
    package struct Malformed: Error, Sendable, CustomStringConvertible {
        package var reason: String
        package var description: String { reason }
    }

    /// A record read back (a journal segment's payload, a shared log's row),
    /// decoded once; `decoded` is its journal record.
    package static func decode(_ bytes: [UInt8], formatVersion: UInt32) throws(Malformed)
        -> (record: LogRecord, decoded: Accessd_V1_JournalRecord)
    {
        let decoded: Accessd_V1_JournalRecord
        do {
            decoded = try Accessd_V1_JournalRecord(serializedBytes: bytes)
        } catch {
            throw Malformed(reason: "the record does not decode")
        }
        return (try LogRecord(decoded: decoded, bytes: bytes, formatVersion: formatVersion), decoded)
    }

    /// The record of `bytes`, already decoded as `decoded`: from format 3 on
    /// it must hold a batch id and a previous hash.
    package init(decoded: Accessd_V1_JournalRecord, bytes: [UInt8], formatVersion: UInt32) throws(Malformed) {
        var batch = BatchID.none
        var previous = LogHash.zero
        if formatVersion >= 3 {
            guard let id = BatchID(decoded.batchID) else {
                throw Malformed(reason: "a record of format \(formatVersion) without its batch id (\(decoded.batchID.count) bytes)")
            }
            guard let hash = LogHash(decoded.previousHash) else {
                throw Malformed(
                    reason: "a record of format \(formatVersion) without its previous hash (\(decoded.previousHash.count) bytes)")
            }
            batch = id
            previous = hash
        }
        self.init(
            lsn: decoded.lsn, formatVersion: formatVersion, batchID: batch, previousHash: previous, bytes: bytes,
            eventSeqs: Self.seqs(of: decoded))
    }
}
