public import NIOCore

/// Splits a byte stream into frames: a 4-byte unsigned big-endian length N,
/// then N bytes of one protobuf message (docs/protocol.md, "Frames").
///
/// A length above `maximumFrameLength` is refused as soon as the 4-byte header
/// is read: the decoder never waits for, let alone allocates, the announced
/// length. An incomplete frame leaves the buffer as it was (the reader index
/// moves only when a whole frame is there).
public struct FrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// The protocol's default maximum: 4 MiB.
    public static let defaultMaximumFrameLength = 4 * 1024 * 1024

    public let maximumFrameLength: Int

    public init(maximumFrameLength: Int = FrameDecoder.defaultMaximumFrameLength) {
        self.maximumFrameLength = maximumFrameLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = try wholeFrameLength(in: buffer, at: buffer.readerIndex) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: length)
    }

    /// The length of the frame whose header starts at `index` of `buffer`
    /// (its bytes after the header), once the whole frame is there; nil while
    /// it is still arriving. For readers that take frames where they lie.
    /// - Throws: `FrameTooLong` when the header announces more than `maximumFrameLength`.
    public func wholeFrameLength(in buffer: ByteBuffer, at index: Int) throws(FrameTooLong) -> Int? {
        guard let length = buffer.getInteger(at: index, endianness: .big, as: UInt32.self) else { return nil }
        guard Int(length) <= maximumFrameLength else {
            throw FrameTooLong(length: Int(length), maximum: maximumFrameLength)
        }
        guard buffer.writerIndex - index >= 4 + Int(length) else { return nil }
        return Int(length)
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }
}

/// A frame announced a length above the maximum.
public struct FrameTooLong: Error, Hashable, Sendable, CustomStringConvertible {
    public var length: Int
    public var maximum: Int

    public init(length: Int, maximum: Int) {
        self.length = length
        self.maximum = maximum
    }

    public var description: String {
        "a frame of \(length) bytes is longer than the maximum of \(maximum) bytes"
    }
}

/// Writes one message as a frame: its length, big-endian, then its bytes.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = ByteBuffer

    public init() {}

    public func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        out.reserveCapacity(out.writerIndex + 4 + data.readableBytes)
        out.writeInteger(UInt32(data.readableBytes), endianness: .big)
        out.writeImmutableBuffer(data)
    }
}

extension ByteBufferAllocator {
    /// One frame holding `bytes` (a serialized message): length prefix, then the bytes.
    public func frame(_ bytes: [UInt8]) -> ByteBuffer {
        var buffer = self.buffer(capacity: 4 + bytes.count)
        buffer.writeInteger(UInt32(bytes.count), endianness: .big)
        buffer.writeBytes(bytes)
        return buffer
    }
}

extension ByteBuffer {
    /// Appends `payload` as one frame.
    public mutating func writeFrame(_ payload: ByteBuffer) {
        writeInteger(UInt32(payload.readableBytes), endianness: .big)
        writeImmutableBuffer(payload)
    }
}
