/// A gRPC status code (0-16), the numbering every reply of accessd uses.
///
/// A struct over the raw number rather than an enum, so that a code read off
/// the wire that this build does not know still round-trips (as grpc-swift does).
public struct StatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int

    /// Only 0...16 are gRPC codes.
    public init?(rawValue: Int) {
        guard (0...16).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    private init(_ value: Int) { self.rawValue = value }

    /// A code as a reply carries it: any number is kept (a newer daemon may
    /// send one this build does not name), so that it round-trips.
    public init(wire: UInt32) { self.rawValue = Int(wire) }

    /// The number a reply carries.
    public var wire: UInt32 { UInt32(truncatingIfNeeded: rawValue) }

    /// One of gRPC's 17 codes.
    public var isKnown: Bool { (0...16).contains(rawValue) }

    public static let ok = StatusCode(0)
    public static let cancelled = StatusCode(1)
    public static let unknown = StatusCode(2)
    public static let invalidArgument = StatusCode(3)
    public static let deadlineExceeded = StatusCode(4)
    public static let notFound = StatusCode(5)
    public static let alreadyExists = StatusCode(6)
    public static let permissionDenied = StatusCode(7)
    public static let resourceExhausted = StatusCode(8)
    public static let failedPrecondition = StatusCode(9)
    public static let aborted = StatusCode(10)
    public static let outOfRange = StatusCode(11)
    public static let unimplemented = StatusCode(12)
    public static let `internal` = StatusCode(13)
    public static let unavailable = StatusCode(14)
    public static let dataLoss = StatusCode(15)
    public static let unauthenticated = StatusCode(16)

    private static let names = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    /// The canonical upper-case name, for example `NOT_FOUND` (`CODE_17` for
    /// a number gRPC does not name).
    public var description: String { isKnown ? Self.names[rawValue] : "CODE_\(rawValue)" }

    /// The same as `description`.
    public var name: String { description }
}
