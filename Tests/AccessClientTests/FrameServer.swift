import AccessClient
import AccessWire
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A value behind a mutex, shareable between tasks and event loops.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { value in body(&value) }
    }

    var value: Value { withLock { $0 } }
}

/// The test server's side of one connection.
struct ServerConnection: Sendable {
    let channel: any Channel

    func send(_ frames: [Accessd_V1_ServerFrame]) {
        for frame in frames {
            var buffer = channel.allocator.buffer(capacity: 64)
            // The generated messages always encode.
            let bytes = (try? frame.serializedBytes() as [UInt8]) ?? []
            buffer.writeFrame(ByteBuffer(bytes: bytes))
            channel.write(buffer, promise: nil)
        }
        channel.flush()
    }

    func respond(
        id: UInt64, code: UInt32 = 0, message: String = "", payload: [UInt8] = [], more: Bool = false,
        revision: UInt64 = 0
    ) {
        send([.response(id: id, code: code, message: message, payload: payload, more: more, revision: revision)])
    }

    func goAway(reason: String, lastAcceptedID: UInt64) {
        var goAway = Accessd_V1_GoAway()
        goAway.reason = reason
        goAway.lastAcceptedID = lastAcceptedID
        var frame = Accessd_V1_ServerFrame()
        frame.kind = .goAway(goAway)
        send([frame])
    }

    func close() {
        channel.close(promise: nil)
    }
}

extension Accessd_V1_ServerFrame {
    static func response(
        id: UInt64, code: UInt32 = 0, message: String = "", payload: [UInt8] = [], more: Bool = false,
        revision: UInt64 = 0
    ) -> Accessd_V1_ServerFrame {
        var response = Accessd_V1_Response()
        response.id = id
        response.code = code
        response.message = message
        response.payload = Data(payload)
        response.more = more
        response.revision = revision
        var frame = Accessd_V1_ServerFrame()
        frame.kind = .response(response)
        return frame
    }
}

/// What the test server does with each frame it receives, on its connection.
typealias Script = @Sendable (Accessd_V1_ClientFrame, ServerConnection) -> Void

/// A small in-process frame server on a temporary Unix socket: it decodes
/// the ClientFrames of every connection, records them, and answers per a script.
final class FrameServer: Sendable {
    let path: String
    /// The directory the server made for its socket (removed at stop), or nil when it was given one.
    private let ownDirectory: String?
    private let channel: any Channel
    private let recorder: Recorder

    final class Recorder: Sendable {
        let frames = Locked<[Accessd_V1_ClientFrame]>([])
        let connections = Locked<[ServerConnection]>([])
    }

    private init(path: String, ownDirectory: String?, channel: any Channel, recorder: Recorder) {
        self.path = path
        self.ownDirectory = ownDirectory
        self.channel = channel
        self.recorder = recorder
    }

    /// Listens on `directory`/accessd.sock; by default in a directory of its
    /// own (mode 0700), as the client trusts no socket in a directory others
    /// can write, such as /tmp itself.
    static func start(in directory: String? = nil, script: @escaping Script = { _, _ in }) async throws -> FrameServer {
        let ownDirectory = directory == nil ? try temporaryDirectory() : nil
        let path = (directory ?? ownDirectory!) + "/accessd.sock"
        let recorder = Recorder()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(FrameDecoder()))
                    try sync.addHandler(ScriptHandler(recorder: recorder, script: script))
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
            .get()
        return FrameServer(path: path, ownDirectory: ownDirectory, channel: channel, recorder: recorder)
    }

    /// A fresh directory under /tmp, mode 0700 (mkdtemp).
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/accessd-client-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SetupFailure(description: "mkdtemp: errno \(errno)") }
        return String(cString: made)
    }

    func stop() async {
        for connection in recorder.connections.value {
            try? await connection.channel.close()
        }
        try? await channel.close()
        unlink(path)
        if let ownDirectory { rmdir(ownDirectory) }
    }

    var frames: [Accessd_V1_ClientFrame] { recorder.frames.value }

    var requests: [Accessd_V1_Request] {
        frames.compactMap { if case .request(let request) = $0.kind { request } else { nil } }
    }

    var cancelledIDs: [UInt64] {
        frames.compactMap { if case .cancel(let cancel) = $0.kind { cancel.id } else { nil } }
    }

    /// The first connection the server accepted.
    var connection: ServerConnection? { recorder.connections.value.first }

    /// How many connections the server accepted.
    var connectionCount: Int { recorder.connections.value.count }

    private final class ScriptHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        let recorder: Recorder
        let script: Script

        init(recorder: Recorder, script: @escaping Script) {
            self.recorder = recorder
            self.script = script
        }

        func channelActive(context: ChannelHandlerContext) {
            let connection = ServerConnection(channel: context.channel)
            recorder.connections.withLock { $0.append(connection) }
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = Self.unwrapInboundIn(data)
            guard let frame = try? Accessd_V1_ClientFrame(serializedBytes: Array(buffer.readableBytesView)) else {
                context.close(promise: nil)
                return
            }
            recorder.frames.withLock { $0.append(frame) }
            script(frame, ServerConnection(channel: context.channel))
        }
    }
}

struct SetupFailure: Error, CustomStringConvertible {
    var description: String
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Waits, polling, until `condition` holds; throws after `timeout` (generous:
/// the test command runs suites in parallel on a shared machine, and these
/// tests check what happens, not how fast).
func eventually(
    _ what: String, timeout: Duration = .seconds(30), _ condition: @Sendable () -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while !condition() {
        guard clock.now < deadline else { throw TimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// Runs `body` against a fresh server and a client connected to it, bounded
/// in time, and cleans both up whatever happens.
func withServer(
    timeout: Duration = .seconds(60),
    maximumFrameLength: Int = AccessClient.defaultMaximumFrameLength,
    script: @escaping Script = { _, _ in },
    _ body: @escaping @Sendable (FrameServer, AccessClient) async throws -> Void
) async throws {
    let server = try await FrameServer.start(script: script)
    let client: AccessClient
    do {
        client = try await AccessClient.connect(socketPath: server.path, maximumFrameLength: maximumFrameLength)
    } catch {
        await server.stop()
        throw error
    }
    let result: Result<Void, any Error>
    do {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body(server, client) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TimedOut(what: "the test (\(timeout))")
            }
            try await group.next()
            group.cancelAll()
        }
        result = .success(())
    } catch {
        result = .failure(error)
    }
    await client.close()
    await server.stop()
    try result.get()
}

/// The elements of a stream, in order.
func collect(_ stream: AsyncThrowingStream<Reply, any Error>) async throws -> [Reply] {
    var elements: [Reply] = []
    for try await element in stream { elements.append(element) }
    return elements
}
