/// The journal on disk: segments named `journal-<first lsn, 20 digits>.log`
/// in the state directory. A segment starts with a 32-byte header (magic
/// "ACCJRNL\0", format version, reserved, first lsn, CRC-32C of those 24
/// bytes, four bytes that must be zero) followed by records: a 12-byte frame
/// (payload length, CRC-32C of the payload, CRC-32C of those 8 bytes) and the
/// protobuf `JournalRecord`. Numbers are big-endian. From format 3 on, each
/// record holds its batch id and the hash of the record before it: the
/// records are a hash chain (`LogRecord`).
public enum JournalFormat {
    public static let magic: [UInt8] = Array("ACCJRNL".utf8) + [0]
    /// The version written (see `FormatVersions` for what each holds).
    public static let version: UInt32 = 3
    /// The versions read: every one accessd ever wrote.
    public static let readableVersions: ClosedRange<UInt32> = 1...3
    public static let headerLength = 32
    public static let frameLength = 12
    /// No record is longer; a length above it is damage, not a record.
    public static let maximumRecordLength = 256 * 1024 * 1024

    public static func segmentName(firstLSN: UInt64) -> String {
        let digits = String(firstLSN)
        return "journal-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    /// The first lsn a segment's name announces, or nil for other names.
    public static func firstLSN(ofSegmentNamed name: String) -> UInt64? {
        guard name.hasPrefix("journal-"), name.hasSuffix(".log") else { return nil }
        let digits = name.dropFirst("journal-".count).dropLast(".log".count)
        guard digits.count == 20, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return UInt64(digits)
    }

    public static func header(firstLSN: UInt64) -> [UInt8] {
        var bytes = magic
        bytes.appendBigEndian(version)
        bytes.appendBigEndian(UInt32(0))
        bytes.appendBigEndian(firstLSN)
        bytes.appendBigEndian(CRC32C.checksum(bytes))
        bytes.appendBigEndian(UInt32(0))
        return bytes
    }

    /// A record's bytes on disk: its frame and payload.
    public static func frame(_ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frameLength + payload.count)
        bytes.appendBigEndian(UInt32(payload.count))
        bytes.appendBigEndian(CRC32C.checksum(payload))
        bytes.appendBigEndian(CRC32C.checksum(bytes))
        bytes += payload
        return bytes
    }

    /// What a segment holds, read from its bytes.
    public struct Scan: Sendable {
        public struct Record: Sendable {
            /// Where the record's frame starts.
            public var offset: Int
            public var payload: ArraySlice<UInt8>
        }

        /// How the records end.
        public enum End: Sendable, Equatable {
            /// The last record ends the file.
            case clean
            /// The file ends inside a record, or in zeros after the last one:
            /// an append that a crash cut short. Nothing after it.
            case torn(offset: Int, reason: String)
            /// A record that does not hold, with bytes after it.
            case damaged(offset: Int, reason: String)
        }

        public var version: UInt32
        public var firstLSN: UInt64
        public var records: [Record]
        public var end: End
        /// The offset just after the last whole record.
        public var validLength: Int
    }

    public struct BadHeader: Error, Sendable, CustomStringConvertible {
        public var reason: String
        /// The version the header names, when it is well formed but not ours.
        public var unknownVersion: UInt32?
        public var description: String { reason }
    }

    /// Reads a segment. A bad header throws; a record that does not hold ends
    /// the scan as `torn` when only an interrupted append can explain it (the
    /// file ends inside it, or only zeros follow), else as `damaged`.
    public static func scan(_ bytes: [UInt8]) throws(BadHeader) -> Scan {
        guard bytes.count >= headerLength else {
            throw BadHeader(reason: "the file is shorter than a journal header (\(bytes.count) bytes)")
        }
        guard Array(bytes[0..<8]) == magic else { throw BadHeader(reason: "no journal header (wrong magic)") }
        guard CRC32C.checksum(bytes[0..<24]) == UInt32(bytes.bigEndian(at: 24, count: 4)) else {
            throw BadHeader(reason: "the header's checksum does not match")
        }
        // Bytes 28-31 lie outside the checksum and are always written as zeros.
        guard bytes[28..<32].allSatisfy({ $0 == 0 }) else {
            throw BadHeader(reason: "the header's reserved bytes 28-31 are not zero")
        }
        let version = UInt32(bytes.bigEndian(at: 8, count: 4))
        guard readableVersions.contains(version) else {
            throw BadHeader(
                reason: "format version \(version); this accessd reads journal versions \(readableVersions.lowerBound) to \(readableVersions.upperBound)",
                unknownVersion: version)
        }
        let firstLSN = bytes.bigEndian(at: 16, count: 8)
        var scan = Scan(version: version, firstLSN: firstLSN, records: [], end: .clean, validLength: headerLength)
        var offset = headerLength
        func stop(_ reason: String) {
            if bytes[offset...].allSatisfy({ $0 == 0 }) {
                scan.end = .torn(offset: offset, reason: "zeros after the last record (\(reason))")
            } else {
                scan.end = .damaged(offset: offset, reason: reason)
            }
        }
        while offset < bytes.count {
            guard bytes.count - offset >= frameLength else {
                scan.end = .torn(offset: offset, reason: "the file ends inside a record's frame")
                break
            }
            let length = Int(bytes.bigEndian(at: offset, count: 4))
            let payloadCRC = UInt32(bytes.bigEndian(at: offset + 4, count: 4))
            guard CRC32C.checksum(bytes[offset..<offset + 8]) == UInt32(bytes.bigEndian(at: offset + 8, count: 4)) else {
                stop("the record's frame checksum does not match")
                break
            }
            guard length <= maximumRecordLength else {
                stop("the record announces \(length) bytes")
                break
            }
            let start = offset + frameLength
            guard bytes.count - start >= length else {
                scan.end = .torn(offset: offset, reason: "the file ends inside a record")
                break
            }
            let payload = bytes[start..<start + length]
            guard CRC32C.checksum(payload) == payloadCRC else {
                if start + length == bytes.count {
                    scan.end = .torn(offset: offset, reason: "the last record's checksum does not match")
                } else {
                    stop("the record's checksum does not match")
                }
                break
            }
            scan.records.append(Scan.Record(offset: offset, payload: payload))
            offset = start + length
            scan.validLength = offset
        }
        return scan
    }
}

extension Array where Element == UInt8 {
    package mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { self += $0 }
    }

    package func bigEndian(at offset: Int, count: Int) -> UInt64 {
        self[offset..<offset + count].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
