public import AccessStatus

/// Why the core refused a command or a read: a gRPC status code, a message a
/// person can act on, and the rule of `docs/domain.md` that decided, if one did.
///
/// A refused command changes nothing (R21): `decide` throws before any event exists.
public struct AccessError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: StatusCode
    /// A sentence for people; it names the rule at its end, for example "(R5)".
    public var message: String
    public var rule: Rule?

    public init(_ code: StatusCode, _ message: String, rule: Rule? = nil) {
        self.code = code
        self.rule = rule
        self.message = rule.map { "\(message) (\($0))" } ?? message
    }

    public var description: String { "\(code): \(message)" }

    static func invalidArgument(_ message: String, rule: Rule? = nil) -> AccessError {
        AccessError(.invalidArgument, message, rule: rule)
    }
    static func notFound(_ message: String, rule: Rule? = nil) -> AccessError {
        AccessError(.notFound, message, rule: rule)
    }
    static func alreadyExists(_ message: String, rule: Rule? = nil) -> AccessError {
        AccessError(.alreadyExists, message, rule: rule)
    }
    static func permissionDenied(_ message: String, rule: Rule? = nil) -> AccessError {
        AccessError(.permissionDenied, message, rule: rule)
    }
    static func resourceExhausted(_ message: String, rule: Rule? = nil) -> AccessError {
        AccessError(.resourceExhausted, message, rule: rule)
    }
    static func failedPrecondition(_ message: String, rule: Rule? = nil) -> AccessError {
        AccessError(.failedPrecondition, message, rule: rule)
    }
    static func unauthenticated(_ message: String) -> AccessError {
        AccessError(.unauthenticated, message)
    }
    static func outOfRange(_ message: String) -> AccessError {
        AccessError(.outOfRange, message)
    }
}
