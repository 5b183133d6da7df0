import AccessStatus
import AccessWire
import NIOCore

/// The last handler of a client connection: decodes each frame as a
/// `ServerFrame` and hands it to the call table; fails the calls in flight
/// when the connection ends.
final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let calls: CallTable

    init(calls: CallTable) {
        self.calls = calls
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = Self.unwrapInboundIn(data)
        let frame: Accessd_V1_ServerFrame
        do {
            frame = try Accessd_V1_ServerFrame(serializedBytes: Array(buffer.readableBytesView))
        } catch {
            let failure = CallError(
                code: StatusCode.internal,
                message: "the daemon sent a frame that does not decode as a ServerFrame: \(error)")
            calls.fail(
                pending: failure,
                new: CallError(code: StatusCode.unavailable, message: "the connection failed: \(failure)"))
            context.close(promise: nil)
            return
        }
        switch frame.kind {
        case .response(let response):
            calls.receive(response)
            if response.id == 0 {
                // The daemon closes the connection after an error about it; so do we.
                context.close(promise: nil)
            }
        case .goAway(let goAway):
            calls.goAway(reason: goAway.reason)
        case nil:
            // An empty frame, or a kind this client does not know: ignored.
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = CallError(code: StatusCode.unavailable, message: "the connection to the daemon was closed")
        calls.fail(pending: error, new: error)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure = CallError(code: StatusCode.unavailable, message: "the connection to the daemon failed: \(error)")
        calls.fail(pending: failure, new: failure)
        context.close(promise: nil)
    }
}
