public import AccessStatus
/// A call that did not return OK: the gRPC status code and the daemon's
/// message (docs/protocol.md, "Status codes").
public struct CallError: Error, Hashable, Sendable, CustomStringConvertible {
    /// gRPC's numbering (0-16; a number this build does not name is kept).
    public var code: StatusCode
    public var message: String

    public init(code: StatusCode, message: String) {
        self.code = code
        self.message = message
    }

    /// The canonical name, for example `NOT_FOUND`.
    public var codeName: String { code.name }

    public var description: String { "\(codeName): \(message)" }
}
