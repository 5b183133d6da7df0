import AccessMapping
import AccessCore
import AccessTestSupport
import Foundation
import Testing

@testable import AccessServer

/// Text a peer sent comes back in error messages bounded and escaped
/// (docs/protocol.md, "Bad input and limits"), whatever field it came in.
///
/// The method tour (`MethodTour`) calls every read and write of the table
/// with requests that work. Before each of its calls, the same call is made
/// on a copy of the state with the request's string fields set to hostile
/// text: one field at a time (so that the other fields, still valid, let the
/// request get as far as it can), at any depth of nested messages, fields the
/// request left unset too, then all its top-level string fields at once; and
/// with the actor set to it. Two short texts (C0 controls; a bidi override)
/// go everywhere, the 100 KiB one into every field that takes a string. The request bytes are edited at the wire level, so every method of
/// the table is covered without a list of its fields. Every error that comes
/// back must be shorter than 1,000 characters and hold no raw control character.
@Suite("Peer text in replies: bounded and escaped")
struct PeerTextInRepliesTests {
    /// 100 KiB with a terminal escape sequence and a newline.
    static let long = "\u{1B}[31m" + "red\nline " + String(repeating: "x", count: 100 * 1024) + "\u{1B}[0m"
    /// Short enough to pass the length limits (names 200 characters, emails
    /// 254 bytes) and reach the checks after them.
    static let shortControls = "\u{1B}[31mred\u{1B}[0m\nsecond line\u{7}\u{0}"
    /// No control character (Cc), so a name may hold it; still not to be shown raw.
    static let shortBidi = "evil\u{202E}gpj.exe"

    @Test("every error of every method, for hostile text in any string field or the actor, is short and escaped")
    func hostileTextComesBackQuoted() async throws {
        var prober = Prober(harness: TableHarness())
        _ = try await MethodTour.run(&prober)

        var expected: Set<String> = []
        for (path, handler) in MethodTable.handlers {
            if case .daemon = handler { continue }
            expected.insert(path)
        }
        #expect(expected.subtracting(prober.probed).isEmpty, "never probed: \(expected.subtracting(prober.probed).sorted())")
        // The probes get past the first field of a request to the checks that quote.
        for phrase in [
            "the actor '", "is not an account id", "is not an email address", "has no role named '",
            "no user has the id or email '", "is not an outbox message id",
        ] {
            #expect(prober.messages.contains { $0.contains(phrase) }, "no probe got a message with \(phrase.debugDescription)")
        }
        #expect(prober.failures.isEmpty, "\(prober.failures.count) messages:\n\(prober.failures.prefix(40).joined(separator: "\n"))")
    }

    /// A scalar that must not appear raw: C0 and C1 controls, DEL, line and
    /// paragraph separators, bidi embeddings, overrides and isolates.
    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control || (0x2028...0x202E).contains(scalar.value)
            || (0x2066...0x2069).contains(scalar.value)
    }
}

/// Runs the tour through a `TableHarness`, probing each call first.
private struct Prober: MethodCaller {
    var harness: TableHarness
    var probed: Set<String> = []
    /// Every message the probes got.
    var messages: Set<String> = []
    /// Each offending message once, with the first call that got it.
    var failures: [String] = []

    mutating func callBytes(_ path: String, _ payload: [UInt8], actor: String) async throws -> [UInt8] {
        try probe(path, payload, actor: actor)
        return try await harness.callBytes(path, payload, actor: actor)
    }

    mutating func probe(_ path: String, _ payload: [UInt8], actor: String) throws {
        switch MethodTable.handlers[path] {
        case .read?, .write?: break
        case .daemon?, nil: return
        }
        probed.insert(path)
        let principal = try harness.principal(actor)
        let fields = try #require(WireFields.parse(payload), "\(path): the tour's request parses as protobuf")
        let short = [PeerTextInRepliesTests.shortControls, PeerTextInRepliesTests.shortBidi].map { Array($0.utf8) }
        let long = Array(PeerTextInRepliesTests.long.utf8)

        // The short texts in every field, one at a time; the edits that still
        // decode set a string field (the others, a field of another type).
        var strings: [WireFields.Edit] = []
        for (index, text) in short.enumerated() {
            for edit in WireFields.edits(of: fields, depth: 3) {
                let error = call(path, WireFields.apply([edit], with: text, to: fields), as: principal)
                if let error { inspect(error, path, edit.description) }
                if index == 0 && !(error?.message.hasPrefix("the payload does not decode") ?? false) { strings.append(edit) }
            }
        }
        // A field that takes the text as it is is a string: the same text
        // wrapped in a message there is no more than a garbled string.
        let plain = Set(strings.compactMap { $0.inner == nil ? $0.added : nil })
        strings.removeAll { $0.inner != nil && plain.contains($0.added!) }
        // The 100 KiB text in each string field (decoding it costs milliseconds:
        // the other fields are left to the short texts).
        for edit in strings {
            if let error = call(path, WireFields.apply([edit], with: long, to: fields), as: principal) {
                inspect(error, path, edit.description + ", 100 KiB")
            }
        }
        // Every string field at once, and the actor, as the daemon resolves it
        // before running the method.
        let topLevel = strings.filter(\.isTopLevel)
        for text in short + [long] {
            if let error = call(path, WireFields.apply(topLevel, with: text, to: fields), as: principal) {
                inspect(error, path, "every string field, \(text.count) bytes")
            }
            do {
                _ = try harness.principal(String(decoding: text, as: UTF8.self))
                Issue.record("\(path): a hostile actor resolved")
            } catch let error as AccessError {
                inspect(error, path, "the actor, \(text.count) bytes")
            }
        }
    }

    /// The call on a copy of the state: its error, if it failed.
    func call(_ path: String, _ payload: [UInt8], as principal: Principal) -> AccessError? {
        var copy = harness
        do {
            _ = try copy.callRaw(path: path, Data(payload), as: principal)
            return nil
        } catch {
            return error
        }
    }

    mutating func inspect(_ error: AccessError, _ path: String, _ what: String) {
        let message = error.message
        guard messages.insert(message).inserted else { return }
        if message.count >= 1000 || message.unicodeScalars.contains(where: PeerTextInRepliesTests.isUnsafe) {
            failures.append("\(path) with \(what): \(message.count) characters: \(String(message.prefix(160)).debugDescription)")
        }
    }
}

/// The fields of an encoded protobuf message, read without its type.
enum WireFields {
    struct Field {
        var number: UInt64
        var wireType: UInt8
        /// The varint's or fixed value's bytes, or a length-delimited field's content.
        var value: [UInt8]
    }

    /// A change to a message: a length-delimited field's content set to the
    /// text (at `path`, field indexes from the top), or a field added at the
    /// top, holding the text or a message that holds it in field `inner`.
    struct Edit: CustomStringConvertible {
        var path: [Int]
        var added: UInt64? = nil
        var inner: UInt64? = nil

        var isTopLevel: Bool { path.count <= 1 }
        func value(_ text: [UInt8]) -> [UInt8] {
            inner.map { encode([Field(number: $0, wireType: 2, value: text)]) } ?? text
        }
        var description: String {
            guard let added else { return "the field at \(path) set" }
            return inner.map { "field \(added) added, holding it in field \($0)" } ?? "field \(added) added"
        }
    }

    static func parse(_ bytes: [UInt8]) -> [Field]? {
        var fields: [Field] = []
        var index = 0
        func varint() -> (value: UInt64, bytes: [UInt8])? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            let start = index
            while index < bytes.count, shift < 64 {
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return (value, Array(bytes[start..<index])) }
                shift += 7
            }
            return nil
        }
        while index < bytes.count {
            guard let (tag, _) = varint(), tag >> 3 >= 1 else { return nil }
            let number = tag >> 3
            let wireType = UInt8(tag & 7)
            switch wireType {
            case 0:
                guard let (_, raw) = varint() else { return nil }
                fields.append(Field(number: number, wireType: 0, value: raw))
            case 1, 5:
                let size = wireType == 1 ? 8 : 4
                guard index + size <= bytes.count else { return nil }
                fields.append(Field(number: number, wireType: wireType, value: Array(bytes[index..<index + size])))
                index += size
            case 2:
                guard let (length, _) = varint(), length <= UInt64(bytes.count - index) else { return nil }
                fields.append(Field(number: number, wireType: 2, value: Array(bytes[index..<index + Int(length)])))
                index += Int(length)
            default:
                return nil
            }
        }
        return fields
    }

    static func encode(_ fields: [Field]) -> [UInt8] {
        var out: [UInt8] = []
        func varint(_ value: UInt64) {
            var value = value
            while value >= 0x80 {
                out.append(UInt8(value & 0x7F) | 0x80)
                value >>= 7
            }
            out.append(UInt8(value))
        }
        for field in fields {
            varint(field.number << 3 | UInt64(field.wireType))
            if field.wireType == 2 { varint(UInt64(field.value.count)) }
            out += field.value
        }
        return out
    }

    /// Every length-delimited field (and, where its content reads as a
    /// message, each of its fields in turn, to `depth`), and every field
    /// number 1...12 the message lacks, as the text or as a message holding it
    /// in one of its fields 1...4. Requests number their fields up to 10
    /// (ListUsersRequest), the messages inside them up to 3 (Billing); fields
    /// a request sets are edited whatever their number.
    static func edits(of fields: [Field], depth: Int) -> [Edit] {
        var edits: [Edit] = []
        func walk(_ fields: [Field], at prefix: [Int], depth: Int) {
            for (index, field) in fields.enumerated() where field.wireType == 2 {
                let path = prefix + [index]
                edits.append(Edit(path: path))
                if depth > 1, let inner = parse(field.value), !inner.isEmpty { walk(inner, at: path, depth: depth - 1) }
            }
        }
        walk(fields, at: [], depth: depth)
        let present = Set(fields.map(\.number))
        for number in UInt64(1)...12 where !present.contains(number) {
            edits.append(Edit(path: [], added: number))
            for inner in UInt64(1)...4 { edits.append(Edit(path: [], added: number, inner: inner)) }
        }
        return edits
    }

    /// The message with `edits` made with `text`, encoded.
    static func apply(_ edits: [Edit], with text: [UInt8], to fields: [Field]) -> [UInt8] {
        var fields = fields
        for edit in edits { apply(edit, edit.value(text), at: edit.path[...], to: &fields) }
        return encode(fields)
    }

    private static func apply(_ edit: Edit, _ value: [UInt8], at path: ArraySlice<Int>, to fields: inout [Field]) {
        guard let index = path.first else {
            fields.append(Field(number: edit.added!, wireType: 2, value: value))
            return
        }
        if path.count == 1 {
            fields[index].value = value
            return
        }
        var inner = parse(fields[index].value) ?? []
        apply(edit, value, at: path.dropFirst(), to: &inner)
        fields[index].value = encode(inner)
    }
}
