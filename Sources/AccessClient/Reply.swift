import AccessStatus
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
                code: StatusCode.internal,
                message: "the reply does not decode as \(Message.protoMessageName): \(error)")
        }
    }
}
