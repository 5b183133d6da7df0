import AccessMapping
import AccessServer
import AccessWire
import Foundation
import NIOCore
import SwiftProtobuf

/// The `frame` target: `[n] [n chunk lengths] [maximum] [stream]`. The stream
/// goes through `FrameDecoder` whole and again in chunks of the given lengths
/// (the last chunk is the rest), as reads from a socket would deliver it; the
/// frames (and the error, when a length is over the maximum, 64 << the
/// maximum byte) must be the same either way, and an incomplete frame must
/// leave the buffer as it was. Every frame then goes through the fast readers
/// and swift-protobuf: when `ClientFrameHead.parse` reads a frame,
/// swift-protobuf decodes it to the same fields; when `CheckFastPath.request`
/// reads a request's payload, swift-protobuf decodes the same `CheckRequest`;
/// when the Check lane's `PlainCheckFrame` reads a frame, swift-protobuf
/// decodes a plain Check with the same fields; and a `ResponseFrame` written
/// from a request's fields decodes back to them.
enum FrameFuzz {
    static func run(_ bytes: [UInt8]) throws(Violation) {
        var input = InputReader(bytes)
        let splits = (0..<Int(input.byte() % 8)).map { _ in Int(input.byte()) }
        let maximum = 64 << Int(input.byte() % 12)
        let stream = input.rest()

        let whole = try decode([stream[...]], maximum: maximum)
        var chunks: [ArraySlice<UInt8>] = []
        var offset = 0
        for length in splits {
            let end = min(stream.count, offset + length)
            chunks.append(stream[offset..<end])
            offset = end
        }
        chunks.append(stream[offset...])
        let split = try decode(chunks, maximum: maximum)
        try check(
            whole.frames == split.frames && whole.tooLong == split.tooLong,
            "the stream decodes differently split at \(splits): \(whole) against \(split)")
        for frame in whole.frames { try checkFastReaders(frame) }
    }

    struct Decoded: Equatable {
        var frames: [ByteBuffer] = []
        var tooLong: FrameTooLong?
    }

    /// Feeds the chunks to a decoder, decoding all it can after each.
    static func decode(_ chunks: [ArraySlice<UInt8>], maximum: Int) throws(Violation) -> Decoded {
        var decoder = FrameDecoder(maximumFrameLength: maximum)
        var buffer = ByteBuffer()
        var decoded = Decoded()
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while true {
                let (readerIndex, readable) = (buffer.readerIndex, buffer.readableBytes)
                let frame: ByteBuffer?
                do {
                    frame = try decoder.decode(buffer: &buffer)
                } catch let error as FrameTooLong {
                    try check(error.length > maximum && error.maximum == maximum, "refused a frame within the maximum: \(error)")
                    decoded.tooLong = error
                    return decoded
                } catch {
                    throw Violation("the frame decoder threw \(error)")
                }
                guard let frame else {
                    try check(
                        buffer.readerIndex == readerIndex && buffer.readableBytes == readable,
                        "an incomplete frame moved the buffer")
                    break
                }
                try check(frame.readableBytes <= maximum, "a frame of \(frame.readableBytes) bytes passed a maximum of \(maximum)")
                try check(buffer.readerIndex == readerIndex + 4 + frame.readableBytes, "a frame did not take its bytes")
                decoded.frames.append(frame)
            }
        }
        return decoded
    }

    /// The fast readers read nothing that swift-protobuf reads differently.
    static func checkFastReaders(_ frame: ByteBuffer) throws(Violation) {
        let bytes = Array(frame.readableBytesView)
        let reference = try? Accessd_V1_ClientFrame(serializedBytes: bytes)
        switch ClientFrameHead.parse(frame) {
        case nil:
            break  // the daemon takes swift-protobuf's path
        case .cancel(let id):
            guard case .cancel(let cancel)? = reference?.kind else {
                throw Violation("read in place as cancel \(id), swift-protobuf: \(String(describing: reference)); bytes \(bytes)")
            }
            try check(cancel.id == id, "read in place as cancel \(id), swift-protobuf: cancel \(cancel.id); bytes \(bytes)")
        case .request(let head):
            guard case .request(let request)? = reference?.kind else {
                throw Violation("read in place as a request, swift-protobuf: \(String(describing: reference)); bytes \(bytes)")
            }
            let same =
                head.id == request.id && head.method == request.method && head.actor == request.actor
                && Data(head.payload.readableBytesView) == request.payload && head.timeoutMs == request.timeoutMs
                && head.minRevision == request.minRevision && head.dryRun == request.dryRun
                && head.idempotencyKey == request.idempotencyKey && request.metadata.isEmpty && head.metadata.isEmpty
            try check(same, "read in place as \(head), swift-protobuf: \(request); bytes \(bytes)")
            try checkCheckRequest(head.payload)
            try checkResponseFrame(head)
        }
        // Swift-protobuf's own view of the frame's request, read by the fast path from its payload too.
        if case .request(let request)? = reference?.kind {
            try checkCheckRequest(ByteBuffer(bytes: request.payload))
        }
        try checkPlainCheck(bytes, reference: reference)
    }

    /// The Check lane's reader (`PlainCheckFrame`) against swift-protobuf:
    /// a frame it reads is a plain Check request with the same fields.
    static func checkPlainCheck(_ bytes: [UInt8], reference: Accessd_V1_ClientFrame?) throws(Violation) {
        guard let plain = bytes.withUnsafeBytes({ PlainCheckFrame.parse($0) }) else { return }
        guard case .request(let request)? = reference?.kind,
            let payload = try? Accessd_V1_CheckRequest(serializedBytes: request.payload)
        else {
            throw Violation("the Check lane read \(plain), swift-protobuf: \(String(describing: reference)); bytes \(bytes)")
        }
        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        let resource: Accessd_V1_CheckRequest.OneOf_Resource? =
            switch plain.resource {
            case .none: nil
            case .project(let range): .projectID(text(range))
            case .product(let range): .productID(text(range))
            }
        let same =
            request.method == Methods.check.path && request.actor.isEmpty && request.metadata.isEmpty && !request.dryRun
            && request.idempotencyKey.isEmpty && plain.id == request.id && plain.minRevision == request.minRevision
            && text(plain.user) == payload.user && text(plain.account) == payload.accountID
            && Int32(truncatingIfNeeded: plain.permission) == Int32(payload.permission.rawValue) && resource == payload.resource
        try check(same, "the Check lane read \(plain), swift-protobuf \(request) with \(payload); bytes \(bytes)")
    }

    /// `CheckFastPath.request` against swift-protobuf's `CheckRequest`.
    static func checkCheckRequest(_ payload: ByteBuffer) throws(Violation) {
        guard let fast = CheckFastPath.request(payload) else { return }
        let bytes = Array(payload.readableBytesView)
        guard let reference = try? Accessd_V1_CheckRequest(serializedBytes: bytes) else {
            throw Violation("Check's fast path read \(fast), swift-protobuf refuses the payload \(bytes)")
        }
        try check(fast == reference, "Check's fast path read \(fast), swift-protobuf \(reference); payload \(bytes)")
    }

    /// A response written by the fast writer decodes, with swift-protobuf, to what it was given.
    static func checkResponseFrame(_ head: RequestHead) throws(Violation) {
        let response = ResponseFrame(
            id: head.id, code: head.timeoutMs % 17, message: head.actor, more: head.dryRun, revision: head.minRevision)
        var buffer = ByteBuffer()
        response.write(to: &buffer, payload: Array(head.payload.readableBytesView))
        guard let length = buffer.readInteger(as: UInt32.self), Int(length) == buffer.readableBytes else {
            throw Violation("a response frame's length prefix does not match its bytes")
        }
        let bytes = Array(buffer.readableBytesView)
        guard let decoded = try? Accessd_V1_ServerFrame(serializedBytes: bytes), case .response(let reply)? = decoded.kind else {
            throw Violation("a response frame does not decode with swift-protobuf: \(bytes)")
        }
        let same =
            reply.id == response.id && reply.code == response.code && reply.message == response.message
            && reply.payload == Data(head.payload.readableBytesView) && reply.more == response.more
            && reply.revision == response.revision
        try check(same, "a response frame decodes as \(reply), written from \(response)")
        var reference = Accessd_V1_ServerFrame()
        reference.response = reply
        let expected: [UInt8]? = try? reference.serializedBytes()
        try check(expected == bytes, "a response frame is not written as swift-protobuf writes it: \(bytes), expected \(expected ?? [])")
    }
}
