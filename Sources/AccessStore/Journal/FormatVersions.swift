import AccessCore
package import AccessWire
package import Foundation
import SwiftProtobuf

/// The on-disk formats accessd has written, and what reading an older one
/// takes. A daemon writes the newest version and reads every earlier one.
///
/// Journal segments (`JournalFormat.version`):
/// - 1: an outbox message's activation token inside its event; the first
///   reply of a refused keyed write was journaled too.
/// - 2: events carry no token (`JournalRecord.outbox_tokens` holds them
///   beside the events) and name the calling peer (`Event.caller`); only
///   applied writes keep their reply, with the peer that made it.
///
/// Snapshots (`SnapshotFile.formatVersion`):
/// - 2: idempotent replies may be refusals, and their payloads (write
///   replies) carry activation tokens in their events.
/// - 3: replies are of applied writes only, token-free, with their peer.
///   Written by accessd with journal format 3 on, a snapshot also holds the
///   hash of its journal record (`journal_hash`), where the chain goes on
///   when no segment holds that record (after a restore); a snapshot without
///   it lets the chain start over at the next record.
///
/// Event archive segments (`EventArchiveFormat.version`):
/// - 1: the first. A state directory of an accessd before it has none: the
///   log starts with the events its journal still holds (`JournalEvents`,
///   which drops the tokens format-1 journals kept inside events).
package enum FormatVersions {
    /// An idempotent reply as an older file holds it, as this daemon keeps
    /// it: nil for a refusal (R21: a refused write keeps nothing, a retry
    /// runs again), else its payload without activation tokens.
    package static func legacyReply(_ wire: Accessd_V1_IdempotentReply) -> IdempotencyStore.Entry? {
        guard wire.code == 0 else { return nil }
        var entry = IdempotencyStore.Entry(wire: wire)
        entry.payload = withoutTokens(entry.payload)
        return entry
    }

    /// A write reply (`UserResponse`, `CreateAccountResponse`, `WriteResponse`,
    /// ...) with the token emptied in every `outbox_message_queued` event it
    /// carries. Write replies hold their events as a repeated top-level
    /// field; each top-level field that decodes as an `Event` queuing an
    /// outbox message with a token is re-encoded without it, the rest is
    /// copied as it is.
    package static func withoutTokens(_ payload: Data) -> Data {
        let bytes = [UInt8](payload)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        var changed = false
        while index < bytes.count {
            let start = index
            guard let key = varint(bytes, &index) else { return payload }
            switch key & 7 {
            case 0:
                guard varint(bytes, &index) != nil else { return payload }
                out += bytes[start..<index]
            case 1:
                guard index + 8 <= bytes.count else { return payload }
                index += 8
                out += bytes[start..<index]
            case 5:
                guard index + 4 <= bytes.count else { return payload }
                index += 4
                out += bytes[start..<index]
            case 2:
                guard let length = varint(bytes, &index), length <= UInt64(bytes.count - index) else { return payload }
                let body = Array(bytes[index..<index + Int(length)])
                index += Int(length)
                if var event = try? Accessd_V1_Event(serializedBytes: body),
                    case .outboxMessageQueued(var message) = event.change, !message.token.isEmpty
                {
                    message.token = ""
                    event.change = .outboxMessageQueued(message)
                    guard let encoded: [UInt8] = try? event.serializedBytes() else { return payload }
                    appendVarint(key, to: &out)
                    appendVarint(UInt64(encoded.count), to: &out)
                    out += encoded
                    changed = true
                } else {
                    out += bytes[start..<index]
                }
            default:
                return payload
            }
        }
        return changed ? Data(out) : payload
    }

    private static func varint(_ bytes: [UInt8], _ index: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 64 {
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        return nil
    }

    private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }
}
