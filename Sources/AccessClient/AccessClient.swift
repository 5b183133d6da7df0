import AccessStatus
public import NIOCore
public import NIOPosix
import SwiftProtobuf
import AccessPaths
public import AccessWire

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An async client of accessd over one Unix socket connection that carries
/// many calls at once (docs/protocol.md).
///
/// Each call gets the next id (1, 2, 3, ...); replies are matched by id in
/// whatever order they come. A non-OK reply throws `CallError`. Cancelling the
/// task of a call, or the consumer of a stream, sends a Cancel for its id.
///
/// After a GoAway from the daemon no new call starts (they throw UNAVAILABLE)
/// while the calls in flight still get their replies. When the connection
/// ends, by `close()` or by the daemon, every call in flight and every later
/// one throws UNAVAILABLE; a Response with id 0 (an error about the
/// connection) fails every call in flight with its own code and message.
public final class AccessClient: Sendable {
    /// Where the connection stands.
    public enum ConnectionState: Hashable, Sendable {
        /// Calls can start.
        case ready
        /// The daemon sent a GoAway: calls in flight are answered, new ones throw UNAVAILABLE.
        case goingAway(reason: String)
        /// The connection is over; new calls throw this error.
        case closed(CallError)
    }

    /// The protocol's default maximum frame length: 4 MiB.
    public static let defaultMaximumFrameLength = 4 * 1024 * 1024

    private let channel: any Channel
    private let calls: CallTable
    private let maximumFrameLength: Int

    private init(channel: any Channel, calls: CallTable, maximumFrameLength: Int) {
        self.channel = channel
        self.calls = calls
        self.maximumFrameLength = maximumFrameLength
    }

    deinit {
        channel.close(promise: nil)
    }

    /// Connects to the daemon's socket.
    ///
    /// - Parameters:
    ///   - socketPath: The path of the daemon's Unix domain socket.
    ///   - eventLoopGroup: Where the connection's I/O runs.
    ///   - maximumFrameLength: The longest frame sent or accepted. A request
    ///     whose frame would be longer fails with RESOURCE_EXHAUSTED without
    ///     being sent (the daemon would close the connection for it).
    ///
    /// Before connecting it checks that nobody else could have put the
    /// socket there (`SocketTrust.check(socketPath:)`): the socket must be
    /// owned by root or by this process's user, and its directory must be a
    /// real directory owned by root or by the socket's owner that nobody
    /// else can write.
    ///
    /// - Throws: `CallError` UNAVAILABLE when the socket cannot be reached;
    ///   FAILED_PRECONDITION, without connecting, when the socket or its
    ///   directory fails that check (the message says why and how to fix it).
    public static func connect(
        socketPath: String,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maximumFrameLength: Int = AccessClient.defaultMaximumFrameLength
    ) async throws -> AccessClient {
        if let problem = SocketTrust.check(socketPath: socketPath) {
            throw CallError(
                code: StatusCode.failedPrecondition,
                message: "cannot connect to the daemon at \(socketPath): \(problem)")
        }
        let calls = CallTable()
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoopGroup)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(ByteToMessageHandler(FrameDecoder(maximumFrameLength: maximumFrameLength)))
                        try sync.addHandler(ResponseHandler(calls: calls))
                    }
                }
                .connect(unixDomainSocketPath: socketPath)
                .get()
        } catch {
            throw CallError(
                code: StatusCode.unavailable,
                message: "cannot connect to the daemon at \(socketPath): \(error)")
        }
        return AccessClient(channel: channel, calls: calls, maximumFrameLength: maximumFrameLength)
    }

    /// Where the connection stands.
    public var connectionState: ConnectionState { calls.phase }

    /// How many calls and streams are in flight.
    public var callsInFlight: Int { calls.inFlight }

    /// Closes the connection. Every call in flight, and every later one,
    /// throws UNAVAILABLE. Closing twice does nothing more.
    public func close() async {
        let error = CallError(code: StatusCode.unavailable, message: "the client was closed")
        calls.fail(pending: error, new: error)
        try? await channel.close()
    }

    // MARK: Unary calls

    /// Calls a method by its path (`Methods.addUser.path`) with an encoded
    /// request: for tools that relay bytes. Programs use
    /// `call(_:_:options:)` with a method of the catalogue.
    ///
    /// - Returns: The reply's payload and revision.
    /// - Throws: `CallError` with the daemon's code and message when the reply
    ///   is not OK, or UNAVAILABLE when the connection is closed or going away;
    ///   `CancellationError` when the task is cancelled (a Cancel is sent).
    public func call(_ path: String, payload: [UInt8], options: CallOptions = CallOptions()) async throws -> Reply {
        let id = try calls.reserveUnary()
        let frame: ByteBuffer
        do {
            frame = try encode(request(id: id, path: path, payload: payload, options: options))
        } catch {
            calls.release(id)
            throw error
        }
        let calls = self.calls
        let channel = self.channel
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Reply, any Error>) in
                guard calls.install(id, continuation) else { return }
                Self.write(frame, for: id, on: channel, calls: calls)
                if calls.markSent(id) {
                    Self.sendCancel(id, on: channel)
                }
            }
        } onCancel: {
            if calls.cancelUnary(id) {
                Self.sendCancel(id, on: channel)
            }
        }
    }

    /// Calls a method of the catalogue (`Methods`) with its request message
    /// and decodes its response message.
    ///
    ///     let reply = try await client.call(Methods.addUser, request, options: CallOptions(actor: "ann@acme.example"))
    ///
    /// Use `reply(_:_:options:)` to see the reply's revision as well.
    public func call<Request, Response>(
        _ method: Method<Request, Response>, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> Response {
        try await reply(method, request, options: options).decode(as: Response.self)
    }

    /// Calls a method of the catalogue and returns its reply undecoded, with
    /// its revision (`Reply.decode(as:)` reads the message).
    public func reply<Request, Response>(
        _ method: Method<Request, Response>, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> Reply {
        try await call(method.path, payload: try Self.serialize(request), options: options)
    }

    // MARK: Server-streaming calls

    /// Calls a server-streaming method by its path: every message the daemon
    /// sends with `more` set is an element; the final one ends the sequence
    /// (OK: it finishes; otherwise it throws `CallError`).
    ///
    /// Cancelling the consuming task, or dropping the sequence before its end,
    /// sends a Cancel for the call. The elements are buffered without bound
    /// until consumed. `dryRun` and `idempotencyKey` do not apply to streams.
    public func stream(_ path: String, payload: [UInt8], options: CallOptions = CallOptions())
        -> AsyncThrowingStream<Reply, any Error>
    {
        let (stream, continuation) = AsyncThrowingStream<Reply, any Error>.makeStream()
        let id: UInt64
        do {
            id = try calls.registerStream(continuation)
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        let frame: ByteBuffer
        do {
            var options = options
            options.dryRun = false
            options.idempotencyKey = ""
            frame = try encode(request(id: id, path: path, payload: payload, options: options))
        } catch {
            calls.fail(id, with: error)
            return stream
        }
        // The closure keeps the client (so its connection) alive as long as the stream.
        continuation.onTermination = { [self] termination in
            if case .cancelled = termination, calls.streamTerminated(id) {
                Self.sendCancel(id, on: channel)
            }
        }
        Self.write(frame, for: id, on: channel, calls: calls)
        return stream
    }

    /// Calls a server-streaming method of the catalogue (FollowEvents,
    /// Backup) and decodes each element as its response message (see
    /// `stream(_:payload:options:)`).
    public func stream<Request, Response>(
        _ method: Method<Request, Response>, _ request: Request, options: CallOptions = CallOptions()
    ) throws -> AsyncThrowingMapSequence<AsyncThrowingStream<Reply, any Error>, Response> {
        let replies = stream(method.path, payload: try Self.serialize(request), options: options)
        return replies.map { reply in try reply.decode(as: Response.self) }
    }

    // MARK: Frames

    private func request(id: UInt64, path: String, payload: [UInt8], options: CallOptions) -> Accessd_V1_ClientFrame {
        var request = Accessd_V1_Request()
        request.id = id
        request.method = path
        request.payload = Data(payload)
        request.actor = options.actor
        request.timeoutMs = options.timeoutMilliseconds
        request.metadata = options.metadata
        request.minRevision = options.minRevision
        request.dryRun = options.dryRun
        request.idempotencyKey = options.idempotencyKey
        var frame = Accessd_V1_ClientFrame()
        frame.kind = .request(request)
        return frame
    }

    private static func serialize(_ message: some SwiftProtobuf.Message) throws(CallError) -> [UInt8] {
        do {
            return try message.serializedBytes()
        } catch {
            throw CallError(
                code: StatusCode.internal,
                message: "cannot encode \(type(of: message).protoMessageName): \(error)")
        }
    }

    /// The frame of `message`, refused when longer than the maximum.
    private func encode(_ message: Accessd_V1_ClientFrame) throws(CallError) -> ByteBuffer {
        let bytes = try Self.serialize(message)
        guard bytes.count <= maximumFrameLength else {
            throw CallError(
                code: StatusCode.resourceExhausted,
                message: "the request is \(bytes.count) bytes, above the frame maximum of \(maximumFrameLength) bytes")
        }
        return channel.allocator.frame(bytes)
    }

    private static func write(_ frame: ByteBuffer, for id: UInt64, on channel: any Channel, calls: CallTable) {
        channel.writeAndFlush(frame).whenFailure { error in
            calls.fail(
                id,
                with: CallError(
                    code: StatusCode.unavailable,
                    message: "the request could not be sent to the daemon: \(error)"))
        }
    }

    private static func sendCancel(_ id: UInt64, on channel: any Channel) {
        var cancel = Accessd_V1_Cancel()
        cancel.id = id
        var frame = Accessd_V1_ClientFrame()
        frame.kind = .cancel(cancel)
        guard let bytes = try? frame.serializedBytes() as [UInt8] else { return }
        channel.writeAndFlush(channel.allocator.frame(bytes), promise: nil)
    }
}
