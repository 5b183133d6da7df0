import AccessStore
package import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle
package import UnixSignals

/// The daemon as a swift-service-lifecycle `Service`, run by the executable's
/// `ServiceGroup`, whose graceful shutdown signals are SIGTERM and SIGINT.
/// `run` recovers the state (on a thread of its own, stopping between
/// records when a shutdown comes), listens, tells systemd READY=1, serves
/// until the graceful shutdown (SIGHUP reloading meanwhile), and tears down
/// once. `DaemonLifecycle` decides every step from the events, which all go
/// through one stream to this one task; the service only carries the actions
/// out, in the manner of hummingbird's `Server` (docs/ARCHITECTURE.md, "The
/// daemon's life").
///
/// `run` returns after a clean stop (drained with the final snapshot, or
/// stopped while recovering with nothing written) and throws `DaemonFailure`
/// otherwise, logged at critical; the executable maps it to its exit status.
package final class AccessDaemonService: Service, Sendable {
    /// Reads the configuration again and puts it in force on the server (SIGHUP).
    package typealias Reload = @Sendable (AccessDaemonServer) -> Void

    private let configuration: DaemonConfiguration
    private let listener: ActivatedSocket?
    private let environment: [String: String]
    private let logger: Logger
    private let listening: @Sendable (String) -> Void
    private let reload: Reload
    private let signals: [UnixSignal]

    /// - Parameters:
    ///   - listener: the socket systemd passed, if any. Until the server takes
    ///     it over, a failed start answers the connections waiting on it.
    ///   - listening: called once the socket answers, with its path.
    ///   - reload: SIGHUP's work, between RELOADING=1 and READY=1.
    ///   - signals: the signals the service traps (none for a service run inside another process's tests).
    package init(
        configuration: DaemonConfiguration, listener: ActivatedSocket?, environment: [String: String], logger: Logger,
        listening: @escaping @Sendable (String) -> Void = { _ in }, reload: @escaping Reload,
        signals: [UnixSignal] = [.sighup, .sigterm, .sigint]
    ) {
        self.signals = signals
        self.configuration = configuration
        self.listener = listener
        self.environment = environment
        self.logger = logger
        self.listening = listening
        self.reload = reload
    }

    /// What happens, in the order it happens, for the machine.
    private enum Event: Sendable {
        case recovered(AccessDaemonServer)
        case recoveryStopped
        case recoveryFailed(any Error)
        case shutdown
        case reload
        case syncFailed(StorageError)
    }

    package func run() async throws {
        let (events, input) = AsyncStream.makeStream(of: Event.self)
        // SIGHUP reloads. SIGTERM and SIGINT are the ServiceGroup's graceful
        // shutdown, which does not say which signal it was: seen here to log it.
        let signals = await UnixSignalsSequence(trapping: self.signals)
        let stopRecovery = NIOLockedValueBox(false)
        let notifier = SystemdNotifier(environment: environment)
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { [logger] in
                    for await signal in signals {
                        if signal == .sighup {
                            input.yield(.reload)
                        } else {
                            logger.info("shutting down", metadata: .accessd([.signal: "\(signal.rawValue)"]))
                        }
                    }
                }
                var machine = DaemonLifecycle()
                var server: AccessDaemonServer?
                var watchdog: SystemdWatchdog?
                var pending = events.makeAsyncIterator()
                var action = machine.start()
                var logged = DaemonLifecycle.State.initial
                while true {
                    if machine.state != logged {
                        logged = machine.state
                        logger.trace("lifecycle", metadata: .accessd([.state: "\(logged)"]))
                    }
                    switch action {
                    case .recover:
                        logger.info(
                            "recovering the state",
                            metadata: .accessd([.state: "recovering", .stateDirectory: "\(configuration.stateDirectory)"]))
                        group.addTask { input.yield(await self.recover(stopFlag: stopRecovery, input: input)) }
                    case .stopRecovery:
                        stopRecovery.withLockedValue { $0 = true }
                    case .listen:
                        // `recovered` set the server.
                        guard let server else { preconditionFailure("listen before the state was recovered") }
                        do {
                            try await server.start(listener: listener)
                            listening(server.configuration.socketPath)
                            action = machine.listening()
                        } catch {
                            action = machine.listenFailed(
                                .start(ExitStatus.forSocketError(error), what: "cannot listen on the socket", error: "\(error)"))
                        }
                        continue
                    case .serve(let reloadNow):
                        guard let server else { preconditionFailure("serving without a server") }
                        watchdog = SystemdWatchdog(
                            owner: server.owner, notifier: notifier,
                            intervalMicroseconds: SystemdNotifier.watchdogInterval(environment: environment),
                            status: { server.statusSummary() })
                        announce(server, notifier: notifier, watchdog: watchdog)
                        if reloadNow {
                            action = machine.reload()
                            continue
                        }
                    case .reload:
                        guard let server else { break }
                        notifier.reloading()
                        reload(server)
                        announce(server, notifier: notifier, watchdog: watchdog)
                    case .tearDown(let mode):
                        notifier.stopping(status: Self.stoppingStatus(mode, machine.failure, server))
                        watchdog?.stop()
                        var finalSnapshot: DaemonFailure?
                        do {
                            try await server?.tearDown(mode)
                        } catch {
                            finalSnapshot = .finalSnapshot(error: "\(error)")
                        }
                        action = machine.tornDown(finalSnapshot: finalSnapshot)
                        continue
                    case .finish(let failure):
                        group.cancelAll()
                        if let failure {
                            // Before recovery ends, the socket systemd passed is still ours to answer on; after it,
                            // a start that failed was the socket's.
                            var socket: Logger.Metadata = [:]
                            if case .start = failure, let server { socket[accessd: .socket] = "\(server.configuration.socketPath)" }
                            Self.log(failure, answering: server == nil ? listener : nil, logger: logger, metadata: socket)
                            throw failure
                        }
                        if watchdog == nil {
                            // Never served: stopped while recovering, or as the socket was bound.
                            if server == nil { notifier.stopping(status: "stopped while recovering; nothing was written") }
                            logger.notice("stopped before serving; nothing was written", metadata: .accessd([.state: "stopped"]))
                        } else {
                            logger.info("stopped", metadata: .accessd([.state: "stopped"]))
                        }
                        return
                    case .none:
                        break
                    }
                    guard let event = await pending.next() else {
                        // Cancelled: the stream says nothing more. Stop as for SIGTERM, or at once if that asks for
                        // nothing more (recovery, told to stop, ends on its own thread).
                        action = machine.shutdown()
                        if action == .none { throw CancellationError() }
                        continue
                    }
                    switch event {
                    case .recovered(let recovered):
                        server = recovered
                        action = machine.recovered()
                    case .recoveryStopped:
                        action = machine.recoveryStopped()
                    case .recoveryFailed(let error):
                        action = machine.recoveryFailed(
                            .start(ExitStatus.forStateError(error), what: "cannot load the state", error: "\(error)"))
                    case .shutdown:
                        action = machine.shutdown()
                    case .reload:
                        action = machine.reload()
                    case .syncFailed(let error):
                        action = machine.syncFailed(.fatalSync(error: "\(error)"))
                    }
                }
            }
        } onGracefulShutdown: {
            input.yield(.shutdown)
        }
    }

    /// Makes the server (recovery: reads the state directory) on a thread of
    /// the pool, off the concurrency pool; `stopFlag` stops it between records.
    private func recover(stopFlag: NIOLockedValueBox<Bool>, input: AsyncStream<Event>.Continuation) async -> Event {
        let configuration = self.configuration
        let logger = self.logger
        do {
            let server = try await NIOThreadPool.singleton.runIfActive {
                try AccessDaemonServer(
                    configuration: configuration, logger: logger, shouldStop: { stopFlag.withLockedValue { $0 } },
                    onFatalSync: { error in input.yield(.syncFailed(error)) })
            }
            return .recovered(server)
        } catch let error as StateDirectory.RecoveryError where error.kind == .stopped {
            return .recoveryStopped
        } catch {
            return .recoveryFailed(error)
        }
    }

    /// READY=1 with the status line, which the watchdog repeats.
    private func announce(_ server: AccessDaemonServer, notifier: SystemdNotifier, watchdog: SystemdWatchdog?) {
        let status = server.statusSummary()
        notifier.ready(status: status)
        watchdog?.sent(status: status)
    }

    /// STOPPING=1's status line.
    private static func stoppingStatus(
        _ mode: DaemonLifecycle.TearDown, _ failure: DaemonFailure?, _ server: AccessDaemonServer?
    ) -> String {
        switch (mode, failure) {
        case (.drain, _): "draining: GoAway sent, \(server?.runtimeStatus().connections ?? 0) connections open"
        case (.release, .some(let failure)): "stopping: \(failure.message)"
        case (.release, .none): "stopping before serving; nothing is written"
        }
    }

    /// Logs why the daemon stops with a failure (the message, the error and
    /// the exit status as metadata). Given the socket systemd passed, it also
    /// answers the clients waiting on it (without the details, which are in
    /// the log) so that systemd does not start accessd again for the same
    /// connections. The executable uses it for what fails before the service runs.
    package static func log(
        _ failure: DaemonFailure, answering listener: ActivatedSocket?, logger: Logger, metadata: Logger.Metadata = [:]
    ) {
        let status = failure.exitStatus
        var metadata = metadata
        metadata[accessd: .error] = "\(failure.error)"
        metadata[accessd: .exit] = "\(status.code)"
        logger.critical("\(failure.message)", metadata: metadata)
        guard let listener else { return }
        let answered = SocketActivation.answerWaitingConnections(
            on: listener, code: .unavailable,
            message: "accessd could not start (exit status \(status.code): \(status.meaning)); its log says why (journalctl -u accessd)")
        if answered > 0 {
            logger.notice("answered the connections waiting on the socket", metadata: .accessd([.connections: "\(answered)"]))
        }
    }
}
