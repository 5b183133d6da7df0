// The Check lane's codec: a whole `ClientFrame` that is a plain Check
// request, read from the frame's bytes in one pass with no slices, no
// strings and no allocation. "Plain" is the shape services send: a Request
// with an id, the Check method, a CheckRequest payload and at most a timeout
// and a `min_revision`; everything else (an actor, metadata, a write's
// fields, an unknown or repeated field, a wire type that does not match)
// is not this shape, and the frame goes the general way (`ClientFrameHead`,
// then swift-protobuf), errors and all. FastFramesTests holds it to
// swift-protobuf's reading of the same bytes.

/// A plain Check request frame: where its fields lie in the frame's bytes.
public struct PlainCheckFrame: Equatable, Sendable {
    /// What a Check names beside the account: nothing, a project or a product.
    public enum Resource: Equatable, Sendable {
        case none
        case project(Range<Int>)
        case product(Range<Int>)
    }

    public var id: UInt64 = 0
    public var minRevision: UInt64 = 0
    /// CheckRequest.user: the bytes of the user's id (or email) as sent.
    public var user: Range<Int> = 0..<0
    public var account: Range<Int> = 0..<0
    /// CheckRequest.permission's number, as sent (it need not be a known one).
    public var permission: UInt64 = 0
    public var resource: Resource = .none

    public init() {}

    /// The frame's fields (offsets into `frame`), or nil when it is not a plain Check.
    public static func parse(_ frame: UnsafeRawBufferPointer) -> PlainCheckFrame? {
        var outer = RawProtoReader(frame, 0..<frame.count)
        // ClientFrame.request, and nothing after it.
        guard outer.readTag() == 1 << 3 | 2, let request = outer.readLength(), outer.isAtEnd else { return nil }
        var reader = RawProtoReader(frame, request)
        var parsed = PlainCheckFrame()
        var seen: UInt8 = 0
        var method = false
        var payload: Range<Int>? = nil
        while !reader.isAtEnd {
            guard let key = reader.readTag() else { return nil }
            let bit: UInt8
            switch key {
            case 1 << 3 | 0:
                guard let value = reader.readVarint() else { return nil }
                parsed.id = value
                bit = 1
            case 2 << 3 | 2:
                guard let range = reader.readLength(), Methods.isCheckPath(UnsafeRawBufferPointer(rebasing: frame[range])) else {
                    return nil
                }
                method = true
                bit = 2
            case 3 << 3 | 2:
                guard let range = reader.readLength() else { return nil }
                payload = range
                bit = 4
            case 5 << 3 | 0:
                // The timeout: a call answered at once is within any deadline.
                guard reader.readVarint() != nil else { return nil }
                bit = 8
            case 7 << 3 | 0:
                guard let value = reader.readVarint() else { return nil }
                parsed.minRevision = value
                bit = 16
            default:
                return nil
            }
            guard seen & bit == 0 else { return nil }
            seen |= bit
        }
        guard method else { return nil }
        // No payload: every field empty (the decision says what is wrong).
        guard let payload else { return parsed }
        guard var check = parseCheckRequest(frame, payload) else { return nil }
        check.id = parsed.id
        check.minRevision = parsed.minRevision
        return check
    }

    /// A `CheckRequest` at `range` of `frame` (BatchCheck's checks are read
    /// this way too): its fields, with `id` and `minRevision` 0; nil when it
    /// is not of the plain shape.
    public static func parseCheckRequest(_ frame: UnsafeRawBufferPointer, _ range: Range<Int>) -> PlainCheckFrame? {
        var parsed = PlainCheckFrame()
        var check = RawProtoReader(frame, range)
        var seen: UInt8 = 0
        while !check.isAtEnd {
            guard let key = check.readTag() else { return nil }
            let bit: UInt8
            switch key {
            case 1 << 3 | 2:
                guard let range = check.readLength(), isASCII(frame, range) else { return nil }
                parsed.user = range
                bit = 1
            case 2 << 3 | 2:
                guard let range = check.readLength(), isASCII(frame, range) else { return nil }
                parsed.account = range
                bit = 2
            case 3 << 3 | 0:
                guard let value = check.readVarint() else { return nil }
                parsed.permission = value
                bit = 4
            case 4 << 3 | 2:
                guard let range = check.readLength(), isASCII(frame, range) else { return nil }
                parsed.resource = .project(range)
                bit = 8
            case 5 << 3 | 2:
                guard let range = check.readLength(), isASCII(frame, range) else { return nil }
                parsed.resource = .product(range)
                bit = 16
            default:
                return nil
            }
            // A repeated field, or both members of the oneof: swift-protobuf's rules apply.
            guard seen & bit == 0, !(bit >= 8 && seen & 0b11000 != 0) else { return nil }
            seen |= bit
        }
        return parsed
    }

    static func isASCII(_ frame: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        // Ids and emails are ASCII; other text (which must be valid UTF-8) goes the general way.
        // The range is one `RawProtoReader.readLength` gave: within the frame.
        UnsafeRawBufferPointer(rebasing: frame[range]).withMemoryRebound(to: UInt8.self) { bytes in
            var high: UInt8 = 0
            for byte in bytes { high |= byte }
            return high < 0x80
        }
    }
}

/// Reads protobuf's wire format from memory, by offsets: every load is at
/// an offset below `end`, which is within the bytes given.
struct RawProtoReader {
    let base: UnsafePointer<UInt8>?
    var offset: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        offset = range.lowerBound
        end = range.upperBound
    }

    var isAtEnd: Bool { offset >= end }

    mutating func readVarint() -> UInt64? {
        guard let base else { return nil }
        return Varint.decode {
            guard offset < end else { return nil }
            defer { offset += 1 }
            return base[offset]
        }
    }

    /// A field's key (number << 3 | wire type); nil for field 0 or a key past 32 bits.
    mutating func readTag() -> UInt64? {
        guard let key = readVarint(), key <= UInt64(UInt32.max), key >> 3 != 0 else { return nil }
        return key
    }

    /// A length-delimited field's bytes, as offsets.
    mutating func readLength() -> Range<Int>? {
        guard let length = readVarint(), length <= UInt64(end - offset) else { return nil }
        let start = offset
        offset += Int(length)
        return start..<offset
    }
}
