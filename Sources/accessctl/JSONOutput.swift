import AccessWire
import Foundation
import SwiftProtobuf

/// `--json`: a reply message as one JSON document a `jq` user can rely on.
///
/// SwiftProtobuf's JSON follows the proto3 mapping, which leaves out every
/// field at its default (so `.allowed` of a denied check is missing, an empty
/// list is missing, not `[]`), writes 64-bit integers as strings and enums
/// with their prefix. This writes the same field names (lowerCamelCase) with
///
/// - every field present: numbers 0, `false`, `""`, `[]`, `{}` for an empty
///   map, `null` for a message field that is not set; of a `oneof` only the
///   member that is set;
/// - every integer as a JSON number (64-bit ones too, digit for digit);
/// - enums by name without the enum's prefix: `"ACTIVE"`, not
///   `"USER_STATUS_ACTIVE"` (a number the protos do not name stays a number);
/// - bytes as base64, as the proto3 mapping has them.
///
/// It reads the message's encoded bytes with the protos' descriptors
/// (`WireDescriptors`, generated with the code), so it needs nothing written
/// per message and follows the protos as they change.
enum JSONOutput {
    /// One line of JSON for `message`.
    static func document(_ message: some SwiftProtobuf.Message) throws -> String {
        let bytes: [UInt8] = try message.serializedBytes()
        var out = ""
        try schema.value(of: type(of: message).protoMessageName, bytes[...]).write(to: &out)
        return out
    }

    static let schema = Schema(WireDescriptors.fileDescriptorSetBase64)

    /// A JSON value, written in order.
    indirect enum Value: Equatable {
        case null
        case bool(Bool)
        /// The number's text, exactly.
        case number(String)
        case string(String)
        case array([Value])
        case object([(String, Value)])

        static func == (lhs: Value, rhs: Value) -> Bool {
            var (left, right) = ("", "")
            lhs.write(to: &left)
            rhs.write(to: &right)
            return left == right
        }

        func write(to out: inout String) {
            switch self {
            case .null: out += "null"
            case .bool(let value): out += value ? "true" : "false"
            case .number(let text): out += text
            case .string(let text): Self.quote(text, into: &out)
            case .array(let values):
                out += "["
                for (index, value) in values.enumerated() {
                    if index > 0 { out += "," }
                    value.write(to: &out)
                }
                out += "]"
            case .object(let members):
                out += "{"
                for (index, (key, value)) in members.enumerated() {
                    if index > 0 { out += "," }
                    Self.quote(key, into: &out)
                    out += ":"
                    value.write(to: &out)
                }
                out += "}"
            }
        }

        static func quote(_ text: String, into out: inout String) {
            out += "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x2028...0x2029).contains(scalar.value):
                    out +=
                        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
            out += "\""
        }
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// The messages and enums of the protos, by full name (`accessd.v1.User`).
    struct Schema: Sendable {
        var messages: [String: Google_Protobuf_DescriptorProto] = [:]
        /// Each enum's names by number, without the enum's prefix.
        var enums: [String: [Int32: String]] = [:]

        init(_ base64: String) {
            guard let data = Data(base64Encoded: base64),
                let set = try? Google_Protobuf_FileDescriptorSet(serializedBytes: data)
            else {
                preconditionFailure("WireDescriptors does not decode: run scripts/generate-protos.sh")
            }
            for file in set.file {
                let package = file.package.isEmpty ? "" : file.package + "."
                for message in file.messageType { add(message, prefix: package) }
                for value in file.enumType { add(value, prefix: package) }
            }
        }

        private mutating func add(_ message: Google_Protobuf_DescriptorProto, prefix: String) {
            let name = prefix + message.name
            messages[name] = message
            for nested in message.nestedType { add(nested, prefix: name + ".") }
            for value in message.enumType { add(value, prefix: name + ".") }
        }

        private mutating func add(_ descriptor: Google_Protobuf_EnumDescriptorProto, prefix: String) {
            let strip = Schema.upperSnake(descriptor.name) + "_"
            var names: [Int32: String] = [:]
            for value in descriptor.value where names[value.number] == nil {
                names[value.number] =
                    value.name.hasPrefix(strip) && value.name.count > strip.count
                    ? String(value.name.dropFirst(strip.count)) : value.name
            }
            enums[prefix + descriptor.name] = names
        }

        /// `UserStatus` -> `USER_STATUS`, `HTTPStatus` -> `HTTP_STATUS` (the protos' enum value prefix).
        static func upperSnake(_ name: String) -> String {
            let characters = Array(name)
            var out = ""
            for (index, character) in characters.enumerated() {
                if index > 0, character.isUppercase {
                    let previous = characters[index - 1]
                    let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                    if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { out += "_" }
                }
                out += character.uppercased()
            }
            return out
        }

        /// The message `name` (without a leading dot) decoded from `bytes`.
        func value(of name: String, _ bytes: ArraySlice<UInt8>) throws -> Value {
            let typeName = name.hasPrefix(".") ? String(name.dropFirst()) : name
            guard let descriptor = messages[typeName] else {
                throw Malformed(description: "no message \(typeName) in the protos")
            }
            var found: [Int32: [Wire]] = [:]
            var reader = Reader(bytes: bytes)
            while !reader.atEnd {
                let (number, wire) = try reader.field()
                found[number, default: []].append(wire)
            }
            var members: [(String, Value)] = []
            for field in descriptor.field {
                let name = field.hasJsonName ? field.jsonName : field.name
                let values = found[field.number] ?? []
                if field.label == .repeated {
                    if let entry = mapEntry(field) {
                        members.append((name, try map(values, entry)))
                    } else {
                        members.append((name, .array(try values.flatMap { try scalars(field, $0) })))
                    }
                    continue
                }
                let inOneof = field.hasOneofIndex && !field.proto3Optional
                if values.isEmpty {
                    if inOneof { continue }
                    members.append(
                        (name, field.proto3Optional || field.type == .message ? .null : try defaultValue(field))
                    )
                } else if field.type == .message {
                    // Occurrences of a message field merge: decoding their bytes together does that.
                    let joined = try values.flatMap { wire -> [UInt8] in
                        guard case .bytes(let chunk) = wire else {
                            throw Malformed(description: "\(field.name): not a message")
                        }
                        return Array(chunk)
                    }
                    members.append((name, try value(of: field.typeName, joined[...])))
                } else {
                    members.append((name, try scalars(field, values.last!).last!))
                }
            }
            return .object(members)
        }

        /// The entry message of a map field (`map<K, V>` is `repeated KEntry`), by full name.
        private func mapEntry(_ field: Google_Protobuf_FieldDescriptorProto) -> String? {
            let name = String(field.typeName.dropFirst())
            guard field.type == .message, let entry = messages[name], entry.options.mapEntry else { return nil }
            return name
        }

        /// A map as an object: each entry's key (as text) to its value; a later entry of a key wins.
        private func map(_ values: [Wire], _ entry: String) throws -> Value {
            var members: [(String, Value)] = []
            for wire in values {
                guard case .bytes(let chunk) = wire, case .object(let pair) = try value(of: entry, chunk) else {
                    throw Malformed(description: "a map entry that is not a message")
                }
                let keyText: String
                switch pair.first(where: { $0.0 == "key" })?.1 {
                case .string(let text)?, .number(let text)?: keyText = text
                case .bool(let flag)?: keyText = flag ? "true" : "false"
                default: keyText = ""
                }
                members.removeAll { $0.0 == keyText }
                members.append((keyText, pair.first(where: { $0.0 == "value" })?.1 ?? .null))
            }
            return .object(members)
        }

        private func defaultValue(_ field: Google_Protobuf_FieldDescriptorProto) throws -> Value {
            switch field.type {
            case .bool: return .bool(false)
            case .string: return .string("")
            case .bytes: return .string("")
            case .enum: return enumValue(field, 0)
            case .double, .float: return .number("0")
            default: return .number("0")
            }
        }

        private func enumValue(_ field: Google_Protobuf_FieldDescriptorProto, _ number: Int32) -> Value {
            if let name = enums[String(field.typeName.dropFirst())]?[number] { return .string(name) }
            return .number(String(number))
        }

        /// The values one occurrence holds: one, or several for a packed repeated field.
        private func scalars(_ field: Google_Protobuf_FieldDescriptorProto, _ wire: Wire) throws -> [Value] {
            switch (field.type, wire) {
            case (.message, .bytes(let chunk)):
                return [try value(of: field.typeName, chunk)]
            case (.string, .bytes(let chunk)):
                return [.string(String(decoding: chunk, as: UTF8.self))]
            case (.bytes, .bytes(let chunk)):
                return [.string(Data(chunk).base64EncodedString())]
            case (_, .bytes(let chunk)):
                // Packed: the scalars one after another.
                var reader = Reader(bytes: chunk)
                var values: [Value] = []
                while !reader.atEnd {
                    let wire: Wire
                    switch field.type {
                    case .double, .fixed64, .sfixed64: wire = .fixed64(try reader.fixed(8))
                    case .float, .fixed32, .sfixed32: wire = .fixed32(UInt32(try reader.fixed(4)))
                    default: wire = .varint(try reader.varint())
                    }
                    values += try scalars(field, wire)
                }
                return values
            case (.bool, .varint(let raw)): return [.bool(raw != 0)]
            case (.enum, .varint(let raw)): return [enumValue(field, Int32(truncatingIfNeeded: raw))]
            case (.int32, .varint(let raw)): return [.number(String(Int32(truncatingIfNeeded: raw)))]
            case (.int64, .varint(let raw)): return [.number(String(Int64(bitPattern: raw)))]
            case (.uint32, .varint(let raw)): return [.number(String(UInt32(truncatingIfNeeded: raw)))]
            case (.uint64, .varint(let raw)): return [.number(String(raw))]
            case (.sint32, .varint(let raw)):
                let value = UInt32(truncatingIfNeeded: raw)
                return [.number(String(Int32(bitPattern: (value >> 1) ^ (0 &- (value & 1)))))]
            case (.sint64, .varint(let raw)):
                return [.number(String(Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))))]
            case (.fixed64, .fixed64(let raw)): return [.number(String(raw))]
            case (.sfixed64, .fixed64(let raw)): return [.number(String(Int64(bitPattern: raw)))]
            case (.double, .fixed64(let raw)): return [Self.number(Double(bitPattern: raw))]
            case (.fixed32, .fixed32(let raw)): return [.number(String(raw))]
            case (.sfixed32, .fixed32(let raw)): return [.number(String(Int32(bitPattern: raw)))]
            case (.float, .fixed32(let raw)): return [Self.number(Double(Float(bitPattern: raw)))]
            default:
                throw Malformed(description: "field \(field.name) (\(field.type)) came as \(wire)")
            }
        }

        /// A finite number as JSON; NaN and the infinities as the proto3 mapping spells them.
        static func number(_ value: Double) -> Value {
            if value.isNaN { return .string("NaN") }
            if value.isInfinite { return .string(value < 0 ? "-Infinity" : "Infinity") }
            if value == value.rounded(), abs(value) < 1e15 { return .number(String(Int64(value))) }
            return .number("\(value)")
        }
    }

    /// One field occurrence as the binary format carries it.
    enum Wire {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(ArraySlice<UInt8>)
    }

    /// Reads the protobuf binary format.
    struct Reader {
        var bytes: ArraySlice<UInt8>

        var atEnd: Bool { bytes.isEmpty }

        mutating func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while let byte = bytes.popFirst() {
                guard shift < 64 else { break }
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            throw Malformed(description: "a varint runs past its end")
        }

        mutating func fixed(_ count: Int) throws -> UInt64 {
            guard bytes.count >= count else { throw Malformed(description: "a fixed-size value runs past its end") }
            var value: UInt64 = 0
            for (index, byte) in bytes.prefix(count).enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
            bytes = bytes.dropFirst(count)
            return value
        }

        /// The next field: its number and what it carries.
        mutating func field() throws -> (Int32, Wire) {
            let key = try varint()
            let number = Int32(truncatingIfNeeded: key >> 3)
            switch key & 7 {
            case 0: return (number, .varint(try varint()))
            case 1: return (number, .fixed64(try fixed(8)))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.count) else { throw Malformed(description: "a field runs past its end") }
                let chunk = bytes.prefix(Int(length))
                bytes = bytes.dropFirst(Int(length))
                return (number, .bytes(chunk))
            case 5: return (number, .fixed32(UInt32(try fixed(4))))
            default: throw Malformed(description: "wire type \(key & 7) of field \(number)")
            }
        }
    }
}
