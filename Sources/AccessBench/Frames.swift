// Frames on the wire, written and read as cheaply as the generator can:
// requests from pre-serialized bytes with only the id written per call,
// replies read only as far as their id and code.

import AccessWire
import Foundation
import NIOCore
import SwiftProtobuf

/// A request serialized once without its id (method, payload, actor); each call
/// writes `0x0A len 0x08 id` in front of these bytes, so the id comes first, as
/// the reply parser (and an echo server returning the frame as is) expects.
struct RequestTemplate: Sendable {
    let rest: [UInt8]

    init(method: String, payload: [UInt8], actor: String = "") throws {
        var request = Accessd_V1_Request()
        request.method = method
        request.payload = Data(payload)
        request.actor = actor
        rest = try request.serializedBytes()
    }

    /// Writes the whole frame (4-byte big-endian length, then `ClientFrame{request}`) for `id`.
    func write(id: UInt64, into buffer: inout ByteBuffer) {
        let requestLength = 1 + varintSize(id) + rest.count
        let frameLength = 1 + varintSize(UInt64(requestLength)) + requestLength
        buffer.reserveCapacity(minimumWritableBytes: 4 + frameLength)
        buffer.writeInteger(UInt32(frameLength))
        buffer.writeInteger(UInt8(0x0A))
        writeVarint(UInt64(requestLength), into: &buffer)
        buffer.writeInteger(UInt8(0x08))
        writeVarint(id, into: &buffer)
        buffer.writeBytes(rest)
    }
}

@inline(__always)
func varintSize(_ value: UInt64) -> Int {
    var value = value
    var size = 1
    while value >= 0x80 {
        value >>= 7
        size += 1
    }
    return size
}

@inline(__always)
func writeVarint(_ value: UInt64, into buffer: inout ByteBuffer) {
    var value = value
    while value >= 0x80 {
        buffer.writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
        value >>= 7
    }
    buffer.writeInteger(UInt8(value))
}

/// What the generator reads of a reply.
struct ReplyHead {
    var id: UInt64 = 0
    var code: UInt64 = 0
}

/// Reads `ServerFrame` field 1 (`Response`) as far as its fields 1 (id) and 2
/// (code); nil for anything else (a GoAway, a damaged frame). A `ClientFrame`
/// with a request parses the same way (its field 2 is a string, not a code).
func parseReplyHead(_ bytes: UnsafeRawBufferPointer) -> ReplyHead? {
    var index = 0
    func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
        return nil
    }
    guard bytes.count >= 2, bytes[0] == 0x0A, index == 0 else { return nil }
    index = 1
    guard let length = varint() else { return nil }
    let end = min(bytes.count, index + Int(length))
    var head = ReplyHead()
    while index < end {
        guard let key = varint() else { return nil }
        switch (key >> 3, key & 7) {
        case (1, 0): head.id = varint() ?? 0
        case (2, 0):
            head.code = varint() ?? 0
            return head
        case (_, 0): _ = varint()
        case (_, 2):
            guard let skip = varint() else { return nil }
            index += Int(skip)
        case (_, 1): index += 8
        case (_, 5): index += 4
        default: return nil
        }
    }
    return head
}
