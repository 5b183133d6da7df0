import AccessMapping
public import AccessCore
public import AccessWire
public import NIOCore

/// Check, the call services make most, without swift-protobuf's general
/// machinery: the `CheckRequest` is read in place from the frame and the
/// `CheckResponse` written straight into the outbound buffer. The decision is
/// `MethodTable.check`, the same function the method table runs; only the
/// codec differs, and FastFramesTests holds its bytes equal to swift-protobuf's.
public enum CheckFastPath {
    /// The request, when its payload has the common shape; nil: take the general path.
    public static func request(_ payload: ByteBuffer) -> Accessd_V1_CheckRequest? {
        var reader = ProtoReader(payload)
        var request = Accessd_V1_CheckRequest()
        var seen: UInt8 = 0
        while !reader.isAtEnd {
            guard let (field, wireType) = reader.readTag(), field >= 1, field <= 5 else { return nil }
            let bit = UInt8(1) << field
            // Repeated fields, and both members of the oneof, are rare enough to leave to swift-protobuf.
            guard seen & bit == 0, !(field >= 4 && seen & 0b110000 != 0) else { return nil }
            seen |= bit
            switch (field, wireType) {
            case (1, 2): guard let text = reader.readString() else { return nil }; request.user = text
            case (2, 2): guard let text = reader.readString() else { return nil }; request.accountID = text
            case (3, 0):
                guard let value = reader.readVarint() else { return nil }
                guard let permission = Accessd_V1_Permission(rawValue: Int(Int32(truncatingIfNeeded: value))) else { return nil }
                request.permission = permission
            case (4, 2): guard let text = reader.readString() else { return nil }; request.resource = .projectID(text)
            case (5, 2): guard let text = reader.readString() else { return nil }; request.resource = .productID(text)
            default: return nil
            }
        }
        return request
    }

    /// The encoded length of a response.
    public static func length(of response: Accessd_V1_CheckResponse) -> Int {
        let path = response.hasPath ? 1 + ProtoWriter.varintSize(UInt64(length(of: response.path))) + length(of: response.path) : 0
        return (response.allowed ? 2 : 0) + path + ProtoWriter.bytesFieldSize(response.reason.utf8.count)
            + ProtoWriter.bytesFieldSize(response.deniedBy.utf8.count)
    }

    /// Writes a response as swift-protobuf would encode it.
    public static func write(_ response: Accessd_V1_CheckResponse, to buffer: inout ByteBuffer) {
        ProtoWriter.write(length(of: response), to: &buffer) { write(response, to: &$0) }
    }

    /// Writes a response (`length(of:)` bytes) as swift-protobuf would encode it.
    public static func write(_ response: Accessd_V1_CheckResponse, to writer: inout ProtoWriter) {
        if response.allowed {
            writer.byte(0x08)
            writer.byte(0x01)
        }
        if response.hasPath {
            writer.byte(0x12)
            writer.varint(UInt64(length(of: response.path)))
            switch response.path.path {
            case nil: break
            case .homeRoleID(let id): writer.oneofStringField(1, id)
            case .shareID(let id): writer.oneofStringField(2, id)
            case .clientLink(let link):
                writer.byte(3 << 3 | 2)
                writer.varint(UInt64(length(of: link)))
                writer.stringField(1, link.agencyAccountID)
                writer.stringField(2, link.roleID)
            }
        }
        writer.stringField(3, response.reason)
        writer.stringField(4, response.deniedBy)
    }

    // MARK: - A decision written as its CheckResponse

    /// The encoded length of the `CheckResponse` of a decision.
    public static func length(of result: CheckResult) -> Int {
        length(of: result, reasonLength: reasonLength(of: result))
    }

    /// The bytes of a decision's reason, counted from its parts.
    public static func reasonLength(of result: CheckResult) -> Int {
        var reason = 0
        result.forEachReasonPart { reason += $0.utf8.count }
        return reason
    }

    /// `length(of:)` for a reason of `reason` bytes (`reasonLength(of:)`): the parts counted once.
    public static func length(of result: CheckResult, reasonLength reason: Int) -> Int {
        let path = result.path.map { 1 + ProtoWriter.varintSize(UInt64(length(of: $0))) + length(of: $0) } ?? 0
        let rule = result.deniedBy.map { ProtoWriter.bytesFieldSize(1 + decimalDigits($0.rawValue)) } ?? 0
        return (result.allowed ? 2 : 0) + path + ProtoWriter.bytesFieldSize(reason) + rule
    }

    /// Writes the `CheckResponse` of a decision (`length(of:)` bytes), as
    /// swift-protobuf encodes `Accessd_V1_CheckResponse(result)`: the reason
    /// from its parts, nothing formatted.
    public static func write(_ result: CheckResult, to writer: inout ProtoWriter) {
        write(result, reasonLength: reasonLength(of: result), to: &writer)
    }

    /// `write(_:to:)` for a reason of `reason` bytes (`reasonLength(of:)`).
    public static func write(_ result: CheckResult, reasonLength reason: Int, to writer: inout ProtoWriter) {
        if result.allowed {
            writer.byte(0x08)
            writer.byte(0x01)
        }
        if let path = result.path {
            writer.byte(0x12)
            writer.varint(UInt64(length(of: path)))
            switch path {
            case .homeRole(let id): writer.oneofStringField(1, id.rawValue)
            case .share(let id): writer.oneofStringField(2, id.rawValue)
            case .clientLink(let agency, let role):
                writer.byte(3 << 3 | 2)
                writer.varint(
                    UInt64(ProtoWriter.bytesFieldSize(agency.rawValue.utf8.count) + ProtoWriter.bytesFieldSize(role.rawValue.utf8.count)))
                writer.stringField(1, agency.rawValue)
                writer.stringField(2, role.rawValue)
            }
        }
        if reason > 0 {
            writer.byte(3 << 3 | 2)
            writer.varint(UInt64(reason))
            result.forEachReasonPart { writer.text($0) }
        }
        if let rule = result.deniedBy {
            writer.byte(4 << 3 | 2)
            writer.varint(UInt64(1 + decimalDigits(rule.rawValue)))
            writer.byte(UInt8(ascii: "R"))
            writeDecimal(rule.rawValue, to: &writer)
        }
    }

    private static func length(of path: AccessPath) -> Int {
        let inner: Int
        switch path {
        case .homeRole(let id): inner = id.rawValue.utf8.count
        case .share(let id): inner = id.rawValue.utf8.count
        case .clientLink(let agency, let role):
            inner = ProtoWriter.bytesFieldSize(agency.rawValue.utf8.count) + ProtoWriter.bytesFieldSize(role.rawValue.utf8.count)
        }
        return 1 + ProtoWriter.varintSize(UInt64(inner)) + inner
    }

    private static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }

    private static func writeDecimal(_ value: Int, to writer: inout ProtoWriter) {
        if value >= 10 { writeDecimal(value / 10, to: &writer) }
        writer.byte(UInt8(ascii: "0") + UInt8(value % 10))
    }

    private static func length(of path: Accessd_V1_AccessPath) -> Int {
        switch path.path {
        case nil: 0
        case .homeRoleID(let id), .shareID(let id): oneofStringLength(id)
        case .clientLink(let link): 1 + ProtoWriter.varintSize(UInt64(length(of: link))) + length(of: link)
        }
    }

    private static func length(of link: Accessd_V1_ClientLinkPath) -> Int {
        ProtoWriter.bytesFieldSize(link.agencyAccountID.utf8.count) + ProtoWriter.bytesFieldSize(link.roleID.utf8.count)
    }

    /// A member of a oneof is written even when empty.
    private static func oneofStringLength(_ text: String) -> Int {
        1 + ProtoWriter.varintSize(UInt64(text.utf8.count)) + text.utf8.count
    }
}
