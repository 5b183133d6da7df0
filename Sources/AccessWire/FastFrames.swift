public import NIOCore

// The hot path's codec: a `ClientFrame` read in place from the frame's bytes
// and a `ServerFrame` written straight into the outbound buffer, with the
// same bytes swift-protobuf reads and writes (checked against it in
// FastFramesTests). Anything off the common shape (an unknown or repeated
// field, metadata, a wire type that does not match, text that is not UTF-8)
// is left to swift-protobuf: `parse` returns nil and the caller decodes the
// frame the general way, errors and all.

/// A `Request` as the daemon needs it, its payload a slice of the frame.
public struct RequestHead: Sendable {
    public var id: UInt64 = 0
    public var method: String = ""
    /// The method's index in `Methods.all`, or nil when no method has the path.
    public var methodIndex: Int?
    public var payload = ByteBuffer()
    public var actor: String = ""
    public var timeoutMs: UInt32 = 0
    public var metadata: [String: String] = [:]
    public var minRevision: UInt64 = 0
    public var dryRun = false
    public var idempotencyKey: String = ""

    public init() {}

    /// From a request swift-protobuf decoded.
    public init(_ request: Accessd_V1_Request) {
        id = request.id
        method = request.method
        methodIndex = Methods.indexByPath[request.method]
        payload = ByteBuffer(bytes: request.payload)
        actor = request.actor
        timeoutMs = request.timeoutMs
        metadata = request.metadata
        minRevision = request.minRevision
        dryRun = request.dryRun
        idempotencyKey = request.idempotencyKey
    }
}

/// A `ClientFrame` read in place.
public enum ClientFrameHead: Sendable {
    case request(RequestHead)
    case cancel(id: UInt64)

    /// The frame, when it has the common shape; nil: decode it with swift-protobuf.
    public static func parse(_ frame: ByteBuffer) -> ClientFrameHead? {
        var reader = ProtoReader(frame)
        guard let (field, wireType) = reader.readTag(), wireType == 2, let body = reader.readBytes(), reader.isAtEnd else {
            return nil
        }
        switch field {
        case 1: return RequestHead.parse(body).map(ClientFrameHead.request)
        case 2:
            var cancel = ProtoReader(body)
            var id: UInt64 = 0
            var seen = false
            while !cancel.isAtEnd {
                guard let (field, wireType) = cancel.readTag(), field == 1, wireType == 0, !seen, let value = cancel.readVarint()
                else { return nil }
                id = value
                seen = true
            }
            return .cancel(id: id)
        default: return nil
        }
    }
}

extension RequestHead {
    static func parse(_ bytes: ByteBuffer) -> RequestHead? {
        var reader = ProtoReader(bytes)
        var head = RequestHead()
        var seen: UInt16 = 0
        while !reader.isAtEnd {
            guard let (field, wireType) = reader.readTag(), field >= 1, field <= 9, field != 6 else { return nil }
            let bit = UInt16(1) << field
            guard seen & bit == 0 else { return nil }
            seen |= bit
            switch (field, wireType) {
            case (1, 0): guard let value = reader.readVarint() else { return nil }; head.id = value
            case (2, 2):
                guard let (index, value) = reader.readMethodPath() else { return nil }
                head.methodIndex = index
                head.method = value
            case (3, 2): guard let value = reader.readBytes() else { return nil }; head.payload = value
            case (4, 2): guard let value = reader.readString() else { return nil }; head.actor = value
            case (5, 0): guard let value = reader.readVarint() else { return nil }; head.timeoutMs = UInt32(truncatingIfNeeded: value)
            case (7, 0): guard let value = reader.readVarint() else { return nil }; head.minRevision = value
            case (8, 0): guard let value = reader.readVarint() else { return nil }; head.dryRun = value != 0
            case (9, 2): guard let value = reader.readString() else { return nil }; head.idempotencyKey = value
            default: return nil
            }
        }
        return head
    }
}

/// Protobuf's base-128 varint, read as swift-protobuf reads it (at most ten
/// bytes, the tenth at most 1), for both in-place readers.
enum Varint {
    /// The varint whose bytes `next` gives in turn; nil when they run out or it overflows 64 bits.
    @inline(__always)
    static func decode(_ next: () -> UInt8?) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = next() {
            if shift == 63 && byte > 1 { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }
}

/// Reads protobuf's wire format from a buffer without copying it.
public struct ProtoReader {
    private var buffer: ByteBuffer

    public init(_ buffer: ByteBuffer) { self.buffer = buffer }

    public var isAtEnd: Bool { buffer.readableBytes == 0 }

    public mutating func readVarint() -> UInt64? {
        Varint.decode { buffer.readInteger(as: UInt8.self) }
    }

    /// The next field's number and wire type.
    public mutating func readTag() -> (field: UInt32, wireType: UInt8)? {
        guard let key = readVarint(), key <= UInt64(UInt32.max), key >> 3 != 0 else { return nil }
        return (UInt32(key >> 3), UInt8(key & 7))
    }

    /// A length-delimited field's bytes, as a slice.
    public mutating func readBytes() -> ByteBuffer? {
        guard let length = readVarint(), length <= UInt64(buffer.readableBytes) else { return nil }
        return buffer.readSlice(length: Int(length))
    }

    /// A method path: the catalogue's string when it is one of its methods
    /// (no allocation), else as `readString` reads it.
    public mutating func readMethodPath() -> (index: Int?, path: String)? {
        guard let bytes = readBytes() else { return nil }
        if let index = bytes.withUnsafeReadableBytes({ Methods.knownIndex($0) }) { return (index, Methods.all[index].path) }
        let path: String? = bytes.withUnsafeReadableBytes { raw in
            if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
            return String(validating: raw, as: UTF8.self)
        }
        guard let path else { return nil }
        return (nil, path)
    }

    /// A length-delimited field as text; nil when it is not UTF-8 (proto3 strings must be).
    public mutating func readString() -> String? {
        guard let bytes = readBytes() else { return nil }
        return bytes.withUnsafeReadableBytes { raw in
            // Ids and emails are ASCII: no validation to do beyond seeing that.
            if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
            return String(validating: raw, as: UTF8.self)
        }
    }
}

/// Writes protobuf's wire format into memory sized beforehand (fields in
/// number order, proto3 defaults left out, as swift-protobuf does).
public struct ProtoWriter {
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var offset = 0

    @inlinable
    init(_ base: UnsafeMutableRawPointer) { self.base = base }

    @inlinable
    public static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    /// Size of a varint field (tag below 16), 0 when the value is the default.
    @inlinable
    public static func varintFieldSize(_ value: UInt64) -> Int { value == 0 ? 0 : 1 + varintSize(value) }

    /// Size of a length-delimited field (tag below 16), 0 when empty.
    @inlinable
    public static func bytesFieldSize(_ length: Int) -> Int { length == 0 ? 0 : 1 + varintSize(UInt64(length)) + length }

    @inlinable
    public mutating func byte(_ value: UInt8) {
        base.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
        offset += 1
    }

    @inlinable
    public mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            byte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        byte(UInt8(value))
    }

    @inlinable
    public mutating func bytes(_ source: UnsafeRawBufferPointer) {
        guard let address = source.baseAddress, source.count > 0 else { return }
        (base + offset).copyMemory(from: address, byteCount: source.count)
        offset += source.count
    }

    @inlinable
    public mutating func bytes(_ source: some Collection<UInt8>) {
        if source.withContiguousStorageIfAvailable({ bytes(UnsafeRawBufferPointer($0)) }) == nil {
            for value in source { byte(value) }
        }
    }

    @inlinable
    public mutating func text(_ text: String) {
        var text = text
        text.withUTF8 { bytes(UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public mutating func varintField(_ field: UInt8, _ value: UInt64) {
        guard value != 0 else { return }
        byte(field << 3)
        varint(value)
    }

    /// A string field, left out when empty.
    @inlinable
    public mutating func stringField(_ field: UInt8, _ value: String) {
        guard !value.isEmpty else { return }
        byte(field << 3 | 2)
        varint(UInt64(value.utf8.count))
        text(value)
    }

    /// A string field written even when empty (a member of a oneof).
    @inlinable
    public mutating func oneofStringField(_ field: UInt8, _ value: String) {
        byte(field << 3 | 2)
        varint(UInt64(value.utf8.count))
        text(value)
    }

    /// Writes exactly `length` bytes into `buffer` through a writer.
    @inlinable
    public static func write(_ length: Int, to buffer: inout ByteBuffer, _ body: (inout ProtoWriter) -> Void) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
            var writer = ProtoWriter(raw.baseAddress!)
            body(&writer)
            precondition(writer.offset == length, "wrote \(writer.offset) bytes where \(length) were sized")
            return length
        }
    }
}

/// A `ServerFrame` carrying a `Response`, written with its 4-byte length prefix.
public struct ResponseFrame {
    public var id: UInt64
    public var code: UInt32
    public var message: String
    public var more: Bool
    public var revision: UInt64

    public init(id: UInt64, code: UInt32, message: String = "", more: Bool = false, revision: UInt64) {
        self.id = id
        self.code = code
        self.message = message
        self.more = more
        self.revision = revision
    }

    /// Writes the frame around a payload of exactly `payloadLength` bytes that `writePayload` writes.
    @inlinable
    public func write(to buffer: inout ByteBuffer, payloadLength: Int, _ writePayload: (inout ProtoWriter) -> Void) {
        let messageLength = message.utf8.count
        let responseLength =
            ProtoWriter.varintFieldSize(id) + ProtoWriter.varintFieldSize(UInt64(code))
            + ProtoWriter.bytesFieldSize(messageLength) + ProtoWriter.bytesFieldSize(payloadLength)
            + (more ? 2 : 0) + ProtoWriter.varintFieldSize(revision)
        let frameLength = 1 + ProtoWriter.varintSize(UInt64(responseLength)) + responseLength
        ProtoWriter.write(4 + frameLength, to: &buffer) { writer in
            let length = UInt32(frameLength).bigEndian
            withUnsafeBytes(of: length) { writer.bytes($0) }
            writer.byte(0x0A)  // ServerFrame.response
            writer.varint(UInt64(responseLength))
            writer.varintField(1, id)
            writer.varintField(2, UInt64(code))
            writer.stringField(3, message)
            if payloadLength > 0 {
                writer.byte(0x22)
                writer.varint(UInt64(payloadLength))
                let start = writer.offset
                writePayload(&writer)
                precondition(writer.offset - start == payloadLength, "the payload is not the length announced")
            }
            if more {
                writer.byte(0x28)
                writer.byte(0x01)
            }
            writer.varintField(6, revision)
        }
    }

    /// Writes the frame with a payload already encoded.
    public func write(to buffer: inout ByteBuffer, payload: some Collection<UInt8>) {
        write(to: &buffer, payloadLength: payload.count) { $0.bytes(payload) }
    }
}
