public import SwiftProtobuf

/// One OK reply of a call, or one message of a stream (docs/protocol.md, "Frames").
public struct Reply: Hashable, Sendable {
    /// The method's reply message, encoded.
    public var payload: [UInt8]
    /// The sequence number of the last event the daemon had applied when it
    /// answered; pass it as `minRevision` of a later read (on any connection)
    /// to read your writes.
    public var revision: UInt64

    public init(payload: [UInt8], revision: UInt64) {
        self.payload = payload
        self.revision = revision
    }

    /// Decodes the payload as `type`.
    ///
    /// - Throws: `CallError` INTERNAL when the payload does not decode.
    public func decode<Message: SwiftProtobuf.Message>(as type: Message.Type = Message.self) throws -> Message {
        do {
            return try Message(serializedBytes: payload)
        } catch {
            throw CallError(
                code: CallError.Code.internal,
                message: "the reply does not decode as \(Message.protoMessageName): \(error)")
        }
    }
}

extension CallError {
    /// The gRPC status code numbers (docs/protocol.md, "Status codes").
    public enum Code {
        public static let ok: UInt32 = 0
        public static let cancelled: UInt32 = 1
        public static let unknown: UInt32 = 2
        public static let invalidArgument: UInt32 = 3
        public static let deadlineExceeded: UInt32 = 4
        public static let notFound: UInt32 = 5
        public static let alreadyExists: UInt32 = 6
        public static let permissionDenied: UInt32 = 7
        public static let resourceExhausted: UInt32 = 8
        public static let failedPrecondition: UInt32 = 9
        public static let aborted: UInt32 = 10
        public static let outOfRange: UInt32 = 11
        public static let unimplemented: UInt32 = 12
        public static let `internal`: UInt32 = 13
        public static let unavailable: UInt32 = 14
        public static let dataLoss: UInt32 = 15
        public static let unauthenticated: UInt32 = 16
    }
}
