public import AccessStore
public import Logging
import NIOConcurrencyHelpers
import NIOPosix
public import ServiceLifecycle
import UnixSignals

/// Why the daemon ended other than by a clean stop; the executable exits with `exitStatus`.
/// Each was logged (at critical) where it happened.
public enum DaemonFailure: Error, Sendable, CustomStringConvertible {
    /// The start failed: the configuration in force, the state, the socket.
    case start(ExitStatus, String)
    /// A journal fsync failed: the kernel may have dropped what it held, so
    /// nothing more is acknowledged and recovery must decide what is on disk.
    case fatalSync(StorageError)
    /// Calls drained, but the final snapshot could not be written (the journal holds every acknowledged write).
    case finalSnapshot(String)

    public var exitStatus: ExitStatus {
        switch self {
        case .start(let status, _): status
        case .fatalSync, .finalSnapshot: .stateIO
        }
    }

    public var description: String {
        switch self {
        case .start(_, let message): message
        case .fatalSync(let error): "a journal fsync failed: \(error)"
        case .finalSnapshot(let message): message
        }
    }
}

/// The daemon as a swift-service-lifecycle `Service`, run by the
/// executable's `ServiceGroup` (SIGTERM and SIGINT are its graceful shutdown
/// signals). `run` recovers the state (on a thread of its own; a shutdown
/// stops it between records), listens, tells systemd, serves until the
/// graceful shutdown, SIGHUP reloading meanwhile, then tears down once.
/// `DaemonLifecycle` decides each step; this type only carries them out.
public final class AccessDaemonService: Service, Sendable {
    /// Reads the configuration again and puts it in force on the server (SIGHUP).
    public typealias Reload = @Sendable (AccessDaemonServer) -> Void

    private let configuration: DaemonConfiguration
    private let listener: ActivatedSocket?
    private let environment: [String: String]
    private let logger: Logger
    private let reload: Reload
    private let listening: @Sendable (String) -> Void
    /// Set by the graceful shutdown: recovery polls it.
    private let shutdownAsked = NIOLockedValueBox(false)
    /// Where the lifecycle is (for `state`).
    private let machine = NIOLockedValueBox(DaemonLifecycle())

    /// - Parameters:
    ///   - listener: the socket systemd passed, if any (until the server takes
    ///     it over, a failed start answers the connections waiting on it).
    ///   - listening: called once the socket answers, with its path.
    public init(
        configuration: DaemonConfiguration, listener: ActivatedSocket?, environment: [String: String], logger: Logger,
        listening: @escaping @Sendable (String) -> Void = { _ in }, reload: @escaping Reload
    ) {
        self.configuration = configuration
        self.listener = listener
        self.environment = environment
        self.logger = logger
        self.listening = listening
        self.reload = reload
    }

    /// Where the daemon's life is now.
    package var state: DaemonLifecycle.State { machine.withLockedValue { $0.state } }

    private enum Event: Sendable {
        case shutdown
        case reload
        case fatalSync(StorageError)
    }

    public func run() async throws {
        let (events, input) = AsyncStream.makeStream(of: Event.self)
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        // The group acts on these; here they are only logged, with their number.
        let stops = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in hangups { input.yield(.reload) }
                }
                group.addTask { [logger] in
                    for await signal in stops {
                        logger.info("shutting down", metadata: .accessd([.signal: "\(signal.rawValue)"]))
                    }
                }
                defer { group.cancelAll() }
                try await live(events: events, input: input)
            }
        } onGracefulShutdown: { [shutdownAsked] in
            shutdownAsked.withLockedValue { $0 = true }
            input.yield(.shutdown)
        }
    }

    /// Applies one event to the machine and returns the action.
    private func step(_ event: (inout DaemonLifecycle) -> DaemonLifecycle.Action) -> DaemonLifecycle.Action {
        machine.withLockedValue { event(&$0) }
    }

    private var stopWasAsked: Bool { shutdownAsked.withLockedValue { $0 } }

    private func live(events: AsyncStream<Event>, input: AsyncStream<Event>.Continuation) async throws {
        guard step({ $0.start() }) == .recover else { return }
        logger.info("recovering the state", metadata: .accessd([.state: "recovering"]))
        let server: AccessDaemonServer
        do {
            server = try await NIOThreadPool.singleton.runIfActive { [configuration, logger, shutdownAsked] in
                try AccessDaemonServer(
                    configuration: configuration, logger: logger,
                    shouldStop: { shutdownAsked.withLockedValue { $0 } },
                    onFatalSync: { error in input.yield(.fatalSync(error)) })
            }
        } catch let error as StateDirectory.RecoveryError where error.kind == .stopped {
            _ = step { $0.shutdown() }
            _ = step { $0.recoveryStopped() }
            logger.notice("stopped while recovering; nothing was written", metadata: .accessd([.state: "stopped"]))
            return
        } catch {
            _ = step { $0.failed() }
            throw fail(ExitStatus.forStateError(error), "cannot load the state: \(error)", answering: listener)
        }
        if stopWasAsked { _ = step { $0.shutdown() } }
        if case .tearDown(let mode) = step({ $0.recovered() }) {
            try? await server.tearDown(mode)
            logger.notice("stopped once recovered, before serving; nothing was written", metadata: .accessd([.state: "stopped"]))
            return
        }
        do {
            try await server.start(listener: listener)
        } catch {
            _ = step { $0.failed() }
            try? await server.tearDown(.release)
            throw fail(ExitStatus.forSocketError(error), "cannot listen on \(server.configuration.socketPath): \(error)", answering: nil)
        }
        listening(server.configuration.socketPath)

        let notifier = SystemdNotifier(environment: environment)
        let watchdog = SystemdWatchdog(
            owner: server.owner, notifier: notifier,
            intervalMicroseconds: SystemdNotifier.watchdogInterval(environment: environment),
            status: { server.statusSummary() })
        if stopWasAsked { _ = step { $0.shutdown() } }
        var action = step { $0.listening() }
        var fatal: StorageError?
        if action == .announceReady {
            let status = server.statusSummary()
            notifier.ready(status: status)
            watchdog.sent(status: status)
            serving: for await event in events {
                switch event {
                case .reload:
                    guard step({ $0.reload() }) == .reload else { continue }
                    notifier.reloading()
                    reload(server)
                    let status = server.statusSummary()
                    notifier.ready(status: status)
                    watchdog.sent(status: status)
                case .shutdown:
                    action = step { $0.shutdown() }
                    if case .tearDown = action { break serving }
                case .fatalSync(let error):
                    fatal = error
                    action = step { $0.failed() }
                    break serving
                }
            }
            // The stream ends only if this task is cancelled: stop as for SIGTERM.
            if case .announceReady = action { action = step { $0.shutdown() } }
        }
        guard case .tearDown(let mode) = action else { return }
        notifier.stopping(
            status: mode == .drain
                ? "draining: GoAway sent, \(server.runtimeStatus().connections) connections open"
                : "stopping after a failed journal fsync")
        watchdog.stop()
        if let fatal {
            logger.critical(
                "a journal fsync failed; stopping without acknowledging anything more (a restart recovers from what is on disk)",
                metadata: .accessd([.error: "\(fatal)", .exit: "\(ExitStatus.stateIO.code)"]))
            try? await server.tearDown(.release)
            throw DaemonFailure.fatalSync(fatal)
        }
        do {
            try await server.tearDown(mode)
        } catch {
            _ = step { $0.drained() }
            let message = "stopped without the final snapshot: \(error)"
            logger.critical("\(message)", metadata: .accessd([.exit: "\(ExitStatus.stateIO.code)"]))
            throw DaemonFailure.finalSnapshot(message)
        }
        _ = step { $0.drained() }
        logger.info("stopped", metadata: .accessd([.state: "stopped"]))
    }

    /// Logs why the start failed; under socket activation also answers the
    /// clients waiting on the socket (without the details, which are in the
    /// log) so that systemd does not start accessd again for the same connections.
    private func fail(_ status: ExitStatus, _ message: String, answering listener: ActivatedSocket?) -> DaemonFailure {
        Self.reportFailedStart(status, message, answering: listener, logger: logger)
        return .start(status, message)
    }

    /// What a failed start does before the executable exits with `status`:
    /// used by the service and by the executable for what fails before it runs.
    public static func reportFailedStart(_ status: ExitStatus, _ message: String, answering listener: ActivatedSocket?, logger: Logger) {
        logger.critical("\(message)", metadata: .accessd([.exit: "\(status.code)"]))
        guard let listener else { return }
        let answered = SocketActivation.answerWaitingConnections(
            on: listener, code: .unavailable,
            message: "accessd could not start (exit status \(status.code): \(status.meaning)); its log says why (journalctl -u accessd)")
        if answered > 0 {
            logger.notice("answered the connections waiting on the socket", metadata: .accessd([.connections: "\(answered)"]))
        }
    }
}
