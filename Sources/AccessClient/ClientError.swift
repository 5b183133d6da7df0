/// A call that did not return OK: the gRPC status code and the daemon's
/// message (docs/protocol.md, "Status codes").
public struct CallError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 0-16, gRPC numbering.
    public var code: UInt32
    public var message: String

    public init(code: UInt32, message: String) {
        self.code = code
        self.message = message
    }

    public static let codeNames = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    /// The canonical name, for example `NOT_FOUND`.
    public var codeName: String { code < 17 ? Self.codeNames[Int(code)] : "CODE_\(code)" }

    public var description: String { "\(codeName): \(message)" }
}
