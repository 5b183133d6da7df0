import AccessWire
import NIOCore
import NIOTestUtils
import Testing

/// docs/protocol.md, "Frames" and "Bad input and limits".
@Suite struct FrameCodecTests {
    private func frame(_ bytes: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeFrame(ByteBuffer(bytes: bytes))
        return buffer
    }

    @Test func framesSplitAnywhereDecodeToTheirPayloads() throws {
        let payloads: [[UInt8]] = [[], [1], Array(repeating: 7, count: 300), [0, 0, 0, 0]]
        let pairs = payloads.map { (frame($0), [ByteBuffer(bytes: $0)]) }
        // The verifier feeds every split of the input, byte by byte and whole.
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: pairs, decoderFactory: { FrameDecoder() })
    }

    @Test func anEmptyFrameIsAValidEmptyMessage() throws {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(bytes: [0, 0, 0, 0])
        let message = try decoder.decode(buffer: &buffer)
        #expect(message?.readableBytes == 0)
        #expect(buffer.readableBytes == 0)
    }

    @Test func anOversizeLengthIsRefusedFromTheHeaderAlone() throws {
        var decoder = FrameDecoder(maximumFrameLength: 1024)
        // Only the header of a 4 GiB frame has arrived: refused at once, nothing waited for.
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: FrameTooLong(length: 0xFFFF_FFFF, maximum: 1024)) { try decoder.decode(buffer: &buffer) }
        var atLimit = frame(Array(repeating: 1, count: 1024))
        #expect(try decoder.decode(buffer: &atLimit)?.readableBytes == 1024)
        var overLimit = ByteBuffer(bytes: [0, 0, 4, 1])
        #expect(throws: FrameTooLong.self) { try decoder.decode(buffer: &overLimit) }
    }

    @Test func anIncompleteFrameLeavesTheBufferUntouched() throws {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(bytes: [0, 0, 0, 5, 1, 2])
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readerIndex == 0)
        #expect(buffer.readableBytes == 6)
        buffer.writeBytes([3, 4, 5])
        #expect(try decoder.decode(buffer: &buffer) == ByteBuffer(bytes: [1, 2, 3, 4, 5]))
    }

    @Test func theEncoderWritesABigEndianLengthPrefix() throws {
        var out = ByteBuffer()
        try FrameEncoder().encode(data: ByteBuffer(bytes: [9, 8, 7]), out: &out)
        #expect(Array(out.readableBytesView) == [0, 0, 0, 3, 9, 8, 7])
    }
}
