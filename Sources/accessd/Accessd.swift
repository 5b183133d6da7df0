import AccessDaemon
import AccessPaths
import ArgumentParser
import Dispatch
import Foundation
import Logging

@main
struct Accessd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accessd",
        abstract: "Keeps who-may-do-what in memory and answers local services over a Unix socket.",
        discussion: """
            Paths: --socket, else $ACCESSD_SOCKET, else $RUNTIME_DIRECTORY/accessd.sock (systemd), \
            else $XDG_RUNTIME_DIR/accessd/accessd.sock. State: --state-dir, else $ACCESSD_STATE_DIR, \
            else $STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/accessd (~/.local/state/accessd).
            """)

    @Option(help: "The config file (key = value lines; see the README's configuration reference).")
    var config: String?

    @Option(help: "The Unix socket to listen on.")
    var socket: String?

    @Option(help: "The directory for the daemon's state.")
    var stateDir: String?

    @Option(name: .customLong("admin-uid"), help: "A uid allowed administrator calls besides root (repeatable).")
    var adminUIDs: [UInt32] = []

    @Option(name: .customLong("admin-gid"), help: "A group allowed administrator calls (repeatable).")
    var adminGIDs: [UInt32] = []

    @Option(help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?

    @Option(help: "When the journal syncs: always (default; each acknowledged write is on disk), interval (every second) or none.")
    var fsync: String?

    @Flag(help: "Start even when the journal is damaged or records are missing, keeping what comes before the damage (it says what it drops).")
    var acceptDataLoss = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var file: ConfigFile?
        if let path = DaemonPaths.configFile(
            flag: config, environment: environment, exists: { FileManager.default.fileExists(atPath: $0) })
        {
            do {
                file = try ConfigFile(text: String(contentsOfFile: path, encoding: .utf8), path: path)
            } catch let error as ConfigFile.Invalid {
                throw ValidationError("config file: \(error)")
            } catch {
                throw ValidationError("cannot read the config file \(path): \(error)")
            }
        }
        let levelName = logLevel ?? environment["ACCESSD_LOG_LEVEL"] ?? file?.values["log_level"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("unknown log level '\(levelName)'; use trace, debug, info, notice, warning, error or critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "accessd")
        logger.logLevel = level
        var configuration = DaemonConfiguration(
            socketPath: DaemonPaths.socketPath(flag: socket, environment: environment, file: file),
            stateDirectory: DaemonPaths.stateDirectory(flag: stateDir, environment: environment, file: file))
        do {
            try file?.apply(to: &configuration)
        } catch {
            throw ValidationError("config file: \(error)")
        }
        if let fsync {
            guard let policy = FsyncPolicy(rawValue: fsync) else {
                throw ValidationError("unknown fsync policy '\(fsync)'; use always, interval or none")
            }
            configuration.fsyncPolicy = policy
        }
        configuration.acceptDataLoss = acceptDataLoss
        if !adminUIDs.isEmpty { configuration.administratorUIDs = Set(adminUIDs) }
        if !adminGIDs.isEmpty { configuration.administratorGIDs = Set(adminGIDs) }

        let server: AccessDaemonServer
        do {
            server = try AccessDaemonServer(configuration: configuration, logger: logger)
        } catch let error as StateDirectory.RecoveryError {
            logger.critical("cannot recover the state: \(error)")
            FileHandle.standardError.write(Data("accessd: cannot recover the state: \(error)\n".utf8))
            throw ExitCode(65)
        }
        try await server.start()
        print("accessd: listening on \(configuration.socketPath)")
        fflush(nil)
        await waitForTerminationSignal()
        logger.info("shutting down")
        try await server.stop()
    }

    /// Returns on SIGTERM or SIGINT.
    private func waitForTerminationSignal() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = SignalOnce(continuation)
            for signalNumber in [SIGTERM, SIGINT] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { once.fire() }
                source.resume()
                once.keep(source)
            }
        }
    }
}

/// Resumes a continuation once, and keeps the signal sources alive.
private final class SignalOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func keep(_ source: any DispatchSourceSignal) { lock.withLock { sources.append(source) } }

    func fire() {
        let continuation = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            defer { self.continuation = nil }
            return self.continuation
        }
        continuation?.resume()
    }
}
