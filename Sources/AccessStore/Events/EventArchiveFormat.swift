/// The event archive on disk: segments named `events-<first seq, 20 digits>.log`
/// in the state directory. A segment starts with a 32-byte header (magic
/// "ACCEVTS\0", format version, the seq of its first event, that event's
/// time in ms since the epoch, CRC-32C of those 28 bytes) followed by one
/// record per event, in seq order without a gap: a 20-byte frame (payload
/// length, the event's seq, CRC-32C of the payload, CRC-32C of those 16
/// bytes) and the payload, the protobuf `Event` exactly as ListEvents and
/// FollowEvents send it (no activation token: `Event.withoutSecrets`).
/// Numbers are big-endian.
///
/// The seq in the frame lets a reader find its place, and build the index,
/// without decoding a payload.
package enum EventArchiveFormat {
    package static let magic: [UInt8] = Array("ACCEVTS".utf8) + [0]
    /// The version written (see `FormatVersions`).
    package static let version: UInt32 = 1
    /// The versions read: every one accessd ever wrote.
    package static let readableVersions: ClosedRange<UInt32> = 1...1
    package static let headerLength = 32
    package static let frameLength = 20
    /// No event is longer; a length above it is damage.
    package static let maximumEventLength = 64 * 1024 * 1024

    package static let prefix = "events-"
    package static let suffix = ".log"

    package static func segmentName(firstSeq: UInt64) -> String {
        let digits = String(firstSeq)
        return prefix + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    /// The first seq a segment's name announces, or nil for other names.
    package static func firstSeq(ofSegmentNamed name: String) -> UInt64? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    package struct Header: Equatable {
        package var version: UInt32
        package var firstSeq: UInt64
        package var firstTimeMilliseconds: Int64
    }

    package static func header(firstSeq: UInt64, firstTimeMilliseconds: Int64) -> [UInt8] {
        var bytes = magic
        bytes.appendBigEndian(version)
        bytes.appendBigEndian(firstSeq)
        bytes.appendBigEndian(UInt64(bitPattern: firstTimeMilliseconds))
        bytes.appendBigEndian(CRC32C.checksum(bytes))
        return bytes
    }

    package struct BadHeader: Error, CustomStringConvertible {
        package var reason: String
        package var description: String { reason }
    }

    package static func parseHeader(_ bytes: [UInt8]) throws(BadHeader) -> Header {
        guard bytes.count >= headerLength else {
            throw BadHeader(reason: "the file is shorter than an event archive header (\(bytes.count) bytes)")
        }
        guard Array(bytes[0..<8]) == magic else { throw BadHeader(reason: "no event archive header (wrong magic)") }
        guard CRC32C.checksum(bytes[0..<28]) == UInt32(bytes.bigEndian(at: 28, count: 4)) else {
            throw BadHeader(reason: "the header's checksum does not match")
        }
        let version = UInt32(bytes.bigEndian(at: 8, count: 4))
        guard readableVersions.contains(version) else {
            throw BadHeader(
                reason: "format version \(version); this accessd reads event archive versions \(readableVersions.lowerBound) to \(readableVersions.upperBound)")
        }
        return Header(
            version: version, firstSeq: bytes.bigEndian(at: 12, count: 8),
            firstTimeMilliseconds: Int64(bitPattern: bytes.bigEndian(at: 20, count: 8)))
    }

    /// Appends one event's record (frame and payload) to `bytes`.
    package static func appendRecord(seq: UInt64, payload: [UInt8], to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.appendBigEndian(UInt32(payload.count))
        bytes.appendBigEndian(seq)
        bytes.appendBigEndian(CRC32C.checksum(payload))
        bytes.appendBigEndian(CRC32C.checksum(bytes[start..<start + 16]))
        bytes += payload
    }

    /// One record's frame, read from its 20 bytes.
    package struct Frame: Equatable {
        package var length: Int
        package var seq: UInt64
        package var payloadCRC: UInt32
    }

    /// The frame at `offset` of `bytes` (which must hold `frameLength` bytes from
    /// there), or why it does not hold.
    package static func frame(in bytes: [UInt8], at offset: Int) -> Result<Frame, BadRecord> {
        let frameCRC = UInt32(bytes.bigEndian(at: offset + 16, count: 4))
        guard CRC32C.checksum(bytes[offset..<offset + 16]) == frameCRC else {
            return .failure(BadRecord(reason: "the record's frame checksum does not match"))
        }
        let length = Int(bytes.bigEndian(at: offset, count: 4))
        guard length <= maximumEventLength else {
            return .failure(BadRecord(reason: "the record announces \(length) bytes"))
        }
        return .success(
            Frame(length: length, seq: bytes.bigEndian(at: offset + 4, count: 8), payloadCRC: UInt32(bytes.bigEndian(at: offset + 12, count: 4))))
    }

    package struct BadRecord: Error, Equatable, CustomStringConvertible {
        package var reason: String
        package var description: String { reason }
    }
}
