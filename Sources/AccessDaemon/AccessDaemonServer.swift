import AccessCore
import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import AccessWire
import SwiftProtobuf
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// The listening daemon: the state's owner on the first event loop, a Unix
/// socket (mode 0660) in a directory only the daemon's user can write, and a
/// `ConnectionHandler` per connection on every loop.
public final class AccessDaemonServer: Sendable {
    public let configuration: DaemonConfiguration
    /// The settings in force: `configuration` as reloaded by SIGHUP (`reload(_:)`).
    public let live: LiveConfiguration
    public let owner: StateOwner
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let channel: NIOLockedValueBox<(any Channel)?> = NIOLockedValueBox(nil)
    private let connectionCount = NIOLockedValueBox(0)
    /// Open connections, for GoAway at shutdown.
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    private let snapshotRevision: NIOLockedValueBox<UInt64>
    private let lastSnapshotAt = NIOLockedValueBox<Int64>(0)
    let snapshotTask: NIOLockedValueBox<RepeatedTask?> = NIOLockedValueBox(nil)
    /// The socket this process bound (and so removes at stop); nil for one passed by systemd.
    private let boundSocketPath = NIOLockedValueBox<String?>(nil)

    /// The snapshot file in the state directory.
    public var snapshotPath: String { configuration.stateDirectory + "/state.snapshot" }

    /// Loads the state from the snapshot in the state directory (or starts
    /// empty when there is none); a damaged snapshot stops the start.
    public init(configuration: DaemonConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.live = LiveConfiguration(configuration)
        self.logger = logger
        try FileManager.default.createDirectory(
            atPath: configuration.stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = configuration.stateDirectory + "/state.snapshot"
        var state = AccessState()
        if let bytes = try DurableFile.read(path) {
            state = try SnapshotFile.decode(bytes, path: path)
            logger.info(
                "loaded the snapshot",
                metadata: ["path": "\(path)", "revision": "\(state.revision)", "users": "\(state.users.count)"])
        }
        self.snapshotRevision = NIOLockedValueBox(state.revision)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        self.owner = StateOwner(
            loop: group.any(), state: state, history: EventHistory(retention: configuration.eventRetention),
            policy: configuration.policy)
    }

    /// Binds the socket and starts serving; or serves `listener`, a socket
    /// systemd passed (socket activation), which is then never unlinked.
    public func start(listener: ActivatedSocket? = nil) async throws {
        let socketPath = listener?.path ?? configuration.socketPath
        if listener == nil {
            let directory = (socketPath as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            try removeStaleSocket(at: socketPath)
        }
        let configuration = self.configuration
        let live = self.live
        let owner = self.owner
        let logger = self.logger
        let connectionCount = self.connectionCount
        let connections = self.connections
        let control = DaemonControl(
            snapshot: { [self] in try await self.snapshotNow() },
            status: { [self] in
                let (revision, at) = snapshotRevision.withLockedValue { ($0, lastSnapshotAt.withLockedValue { $0 }) }
                return (connectionCount.withLockedValue { $0 }, revision, at)
            })
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelInitializer { channel in
                let maximumConnections = live.current.maximumConnections
                let admitted = connectionCount.withLockedValue { count -> Bool in
                    guard count < maximumConnections else { return false }
                    count += 1
                    return true
                }
                channel.closeFuture.whenComplete { _ in
                    if admitted { connectionCount.withLockedValue { $0 -= 1 } }
                }
                guard admitted else {
                    logger.warning("refusing a connection: \(maximumConnections) are open")
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RefuseConnectionHandler(frame: Self.tooManyConnectionsFrame()))
                    }
                }
                let key = ObjectIdentifier(channel)
                connections.withLockedValue { $0[key] = channel }
                channel.closeFuture.whenComplete { _ in connections.withLockedValue { $0[key] = nil } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(owner: owner, configuration: configuration, control: control, logger: logger, live: live))
                }
            }
        let channel: any Channel
        if let listener {
            channel = try await bootstrap.withBoundSocket(listener.descriptor).get()
        } else {
            channel = try await bootstrap.bind(unixDomainSocketPath: socketPath).get()
            boundSocketPath.withLockedValue { $0 = socketPath }
            chmod(socketPath, mode_t(configuration.socketMode))
        }
        self.channel.withLockedValue { $0 = channel }
        scheduleSnapshots(everySeconds: configuration.snapshotIntervalSeconds)
        logger.info(
            "accessd listening",
            metadata: ["socket": "\(socketPath)", "activated": "\(listener != nil)"])
    }

    /// Writes a snapshot when the state changed since the last one. The state
    /// is an O(1) copy of the published value; encoding and writing happen off
    /// the serving loops.
    public func snapshotIfChanged() async throws {
        guard snapshotRevision.withLockedValue({ $0 }) != owner.published.revision else { return }
        _ = try await snapshotNow()
    }

    /// Writes a snapshot of the published state now (AdminService.Snapshot).
    public func snapshotNow() async throws -> (revision: UInt64, path: String) {
        let published = owner.published
        let path = snapshotPath
        let writtenAt = StateOwner.wallClock()
        try await Task.detached(priority: .utility) {
            let bytes = try SnapshotFile.encode(published.state, writtenAt: writtenAt)
            try DurableFile.write(bytes, to: path)
        }.value
        snapshotRevision.withLockedValue { $0 = max($0, published.revision) }
        lastSnapshotAt.withLockedValue { $0 = writtenAt.millisecondsSinceEpoch }
        logger.info("wrote a snapshot", metadata: ["revision": "\(published.revision)", "path": "\(path)"])
        return (published.revision, path)
    }

    /// Sends GoAway on every connection; each closes once its calls in flight
    /// are answered. Connections still open after the drain timeout are closed.
    private func goAway() async {
        let open = connections.withLockedValue { Array($0.values) }
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(GoAwayEvent()) }
        let deadline = NIODeadline.now() + .seconds(live.current.drainTimeoutSeconds)
        for channel in open {
            let timeout = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
            try? await channel.closeFuture.get()
            timeout.cancel()
        }
    }

    /// Stops listening, says GoAway, drains, writes the final snapshot, and closes the loops.
    public func stop() async throws {
        if let task = snapshotTask.withLockedValue({ $0 }) {
            let promise = owner.loop.makePromise(of: Void.self)
            task.cancel(promise: promise)
            try? await promise.futureResult.get()
        }
        if let channel = channel.withLockedValue({ $0 }) {
            try? await channel.close()
        }
        if let path = boundSocketPath.withLockedValue({ $0 }) { unlink(path) }
        await goAway()
        do {
            try await snapshotIfChanged()
        } catch {
            logger.error("the final snapshot failed: \(error)")
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    /// Open connections, and the last snapshot's revision and time (ms since the epoch).
    public func runtimeStatus() -> (connections: Int, snapshotRevision: UInt64, snapshotAtMilliseconds: Int64) {
        let (revision, at) = snapshotRevision.withLockedValue { ($0, lastSnapshotAt.withLockedValue { $0 }) }
        return (connectionCount.withLockedValue { $0 }, revision, at)
    }

    private func removeStaleSocket(at path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw DaemonError.socketPathTaken(path)
        }
        // A socket nobody answers on is left over from a crash: replace it.
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected == 0 { throw DaemonError.socketInUse(path) }
        unlink(path)
    }

    private static func tooManyConnectionsFrame() -> ByteBuffer {
        var response = Accessd_V1_Response()
        response.code = UInt32(StatusCode.resourceExhausted.rawValue)
        response.message = "too many connections; try again later"
        var frame = Accessd_V1_ServerFrame()
        frame.response = response
        return ByteBufferAllocator().frame((try? frame.serializedBytes()) ?? [])
    }
}

public enum DaemonError: Error, CustomStringConvertible {
    case socketInUse(String)
    case socketPathTaken(String)

    public var description: String {
        switch self {
        case .socketInUse(let path): "another accessd is already listening on \(path)"
        case .socketPathTaken(let path): "\(path) exists and is not a socket; move it or choose another socket path"
        }
    }
}

/// Answers a connection over the limit with one frame, then closes it.
final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let frame: ByteBuffer

    init(frame: ByteBuffer) { self.frame = frame }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(NIOAny(frame)).whenComplete { _ in channel.close(promise: nil) }
    }
}
