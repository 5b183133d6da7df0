import AccessStore
import AccessDaemon
import AccessPaths
import CAccessdSystem
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

@main
struct Accessd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accessd",
        abstract: "Keeps who-may-do-what in memory and answers local services over a Unix socket.",
        discussion: """
            Paths: --socket, else $ACCESSD_SOCKET, else the config file's socket, else \
            $RUNTIME_DIRECTORY/accessd.sock (systemd), else $XDG_RUNTIME_DIR/accessd/accessd.sock, else \
            /tmp/accessd-$UID/accessd.sock. State: --state-dir, else $ACCESSD_STATE_DIR, else the config file's \
            state_dir, else $STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/accessd (~/.local/state/accessd). \
            Config file: --config, else $ACCESSD_CONFIG, else $XDG_CONFIG_HOME/accessd/accessd.conf or \
            /etc/accessd/accessd.conf when present. The socket's directory (made mode 0750 when missing) must be owned \
            by root or accessd's user and writable by no one else, or accessd exits 73 saying how to fix it; a socket \
            systemd passes is not checked.

            ENVIRONMENT
              ACCESSD_SOCKET       the socket (after --socket)
              ACCESSD_STATE_DIR    the state directory (after --state-dir)
              ACCESSD_CONFIG       the config file (after --config)
              ACCESSD_LOG_LEVEL    the log level (after --log-level)
              RUNTIME_DIRECTORY    systemd's RuntimeDirectory=: the default socket's directory
              STATE_DIRECTORY      systemd's StateDirectory=: the default state directory
              XDG_RUNTIME_DIR, XDG_STATE_HOME, XDG_CONFIG_HOME, HOME, UID    the defaults outside systemd
              LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES    socket activation: serve the socket systemd passed \
            (named 'accessd' when there are several) and never unlink it
              NOTIFY_SOCKET        sd_notify: READY=1, STATUS=, RELOADING=1, STOPPING=1
              WATCHDOG_USEC, WATCHDOG_PID    send WATCHDOG=1 every WATCHDOG_USEC/2 from the serving loop
              JOURNAL_STREAM       when it names stderr, log lines are '<priority>message key=value' without timestamps
              INVOCATION_ID        set by systemd: a read-only state directory's refusal names the ReadWritePaths= drop-in

            SIGNALS
              SIGTERM, SIGINT      GoAway to every connection, calls in flight finish (drain_timeout_s), final snapshot, exit 0; \
            while recovering: recovery stops, nothing is written, exit 0
              SIGHUP               reload the config file (log level, limits, administrators, intervals) without \
            dropping connections; a broken file keeps the old configuration

            EXIT STATUS
            \(ExitStatus.all.map { "  \($0.code)  \($0.meaning)" }.joined(separator: "\n"))
            """,
        version: AccessdVersion.current,
        subcommands: [Restore.self, Log.self, Resync.self])

    @Option(help: "The config file (key = value lines; --help-config lists its keys).")
    var config: String?

    @Option(help: "The Unix socket to listen on (unless systemd passes one).")
    var socket: String?

    @Option(help: "The directory for the daemon's state.")
    var stateDir: String?

    @Option(name: .customLong("admin-uid"), help: "A uid allowed administrator calls besides root (repeatable).")
    var adminUIDs: [UInt32] = []

    @Option(name: .customLong("admin-gid"), help: "A group allowed administrator calls (repeatable).")
    var adminGIDs: [UInt32] = []

    @Option(help: "The log level (default info; also the config file's log_level).")
    var logLevel: Logger.Level?

    @Option(help: "When the journal syncs: always (default; each acknowledged write is on disk), interval (every second) or none.")
    var fsync: FsyncPolicy?

    @Flag(help: "Start even when the journal is damaged or records are missing, keeping what comes before the damage (it says what it drops).")
    var acceptDataLoss = false

    @Flag(
        name: .customLong("check-config"),
        help: """
            Read and check the configuration (the config file with the flags and the environment, as a start would) \
            and exit: 0 and what is in force on stdout, or 78 with the file and line of the problem on stderr. \
            Starts nothing (like nginx -t); the unit's ExecReload= runs it before SIGHUP.
            """)
    var checkConfig = false

    @Flag(
        name: .customLong("help-config"),
        help: "List the keys of the config file (values, default, whether a reload applies them, what they do) and exit.")
    var helpConfig = false

    /// The same as the README's Markdown table (scripts/config-keys.sh).
    @Flag(name: .customLong("help-config-markdown"), help: .hidden)
    var helpConfigMarkdown = false

    /// The configuration as the flags, the environment and the config file give it.
    func loader(environment: [String: String] = ProcessInfo.processInfo.environment) -> ConfigurationLoader {
        ConfigurationLoader(
            configFlag: config, socketFlag: socket, stateDirFlag: stateDir, adminUIDs: adminUIDs, adminGIDs: adminGIDs,
            logLevelFlag: logLevel, fsyncFlag: fsync, acceptDataLoss: acceptDataLoss,
            environment: environment)
    }

    func validate() throws {
        if helpConfig { throw CleanExit.message(ConfigKey.helpText) }
        if helpConfigMarkdown { throw CleanExit.message(ConfigKey.markdownTable) }
    }

    func run() async throws {
        // Buffers of 128 KiB and more (frames being received, replies queued)
        // get pages of their own that go back to the system when freed,
        // rather than glibc's default of raising that threshold after each
        // free, which lets a burst of large frames leave the heap fragmented
        // and the resident memory high (docs/protocol.md: every resource a
        // peer can hold is bounded).
        _ = accessd_set_mmap_threshold(128 * 1024)
        let environment = ProcessInfo.processInfo.environment
        let sharedLevel = SharedLogLevel(.info)
        let format = JournaldLogHandler.format(environment: environment)
        LoggingSystem.bootstrap { label in JournaldLogHandler(label: label, level: sharedLevel, format: format) }
        let logger = Logger(label: "accessd")
        let loader = self.loader(environment: environment)
        if checkConfig { throw ConfigurationCheck.run(loader) }

        // Taken first, so that a start that fails can answer the connections waiting on it.
        let listener: ActivatedSocket?
        do {
            listener = try SocketActivation.takeListener(environment: environment)
        } catch {
            throw Self.fail(.start(.config, what: "config error", error: "\(error)"), answering: nil, logger: logger)
        }
        var loaded: ConfigurationLoader.Loaded
        do {
            loaded = try loader.load()
        } catch {
            throw Self.fail(.start(.config, what: "config error", error: "\(error)"), answering: listener, logger: logger)
        }
        sharedLevel.level = loaded.level
        if let readOnly = StateDirectoryMount.readOnlyProblem(loaded.configuration.stateDirectory, environment: environment) {
            throw Self.fail(.start(.config, what: "config error", error: readOnly), answering: listener, logger: logger)
        }
        if loaded.configuration.log == .postgresql {
            await SharedLogResync.atStart(configuration: loaded.configuration, logger: logger)
        }
        let configuredSocketPath = loaded.configuration.socketPath
        if let listener {
            loaded.configuration.socketPath = listener.path ?? "(socket passed by systemd)"
        }

        let service = AccessDaemonService(
            configuration: loaded.configuration, listener: listener, environment: environment, logger: logger,
            listening: { path in
                print("accessd: listening on \(path)")
                fflush(nil)
            },
            reload: { server in
                Self.reload(
                    server: server, loader: loader, sharedLevel: sharedLevel, configuredSocketPath: configuredSocketPath,
                    logger: logger)
            })
        // SIGTERM and SIGINT are the group's graceful shutdown: the service drains and writes the final snapshot
        // (or, while recovering, stops and writes nothing). SIGHUP is the service's own (reload).
        var logging = ServiceGroupConfiguration.LoggingConfiguration()
        logging.keys.signalKey = LogKey.signal.rawValue
        logging.keys.errorKey = LogKey.error.rawValue
        logging.keys.serviceKey = LogKey.service.rawValue
        logging.keys.servicesKey = LogKey.services.rawValue
        logging.keys.gracefulShutdownSignalsKey = LogKey.shutdownSignals.rawValue
        logging.keys.cancellationSignalsKey = LogKey.cancellationSignals.rawValue
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.logging = logging
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch let failure as DaemonFailure {
            throw ExitCode(failure.exitStatus.code)  // logged by the service
        } catch {
            throw Self.fail(.start(.software, what: "stopped on an unexpected error", error: "\(error)"), answering: nil, logger: logger)
        }
    }

    /// Logs why accessd stops (and, under socket activation before the service runs, answers the connections
    /// waiting on the socket): the exit to throw.
    private static func fail(_ failure: DaemonFailure, answering listener: ActivatedSocket?, logger: Logger) -> ExitCode {
        AccessDaemonService.log(failure, answering: listener, logger: logger)
        return ExitCode(failure.exitStatus.code)
    }

    /// Reads the configuration again and puts it in force; a broken one is
    /// logged with its file and line, and the old one stays (the log level too).
    private static func reload(
        server: AccessDaemonServer, loader: ConfigurationLoader, sharedLevel: SharedLogLevel, configuredSocketPath: String,
        logger: Logger
    ) {
        var loaded: ConfigurationLoader.Loaded
        do {
            loaded = try loader.load()
        } catch {
            logger.error("reload failed; keeping the old configuration", metadata: .accessd([.error: "\(error)"]))
            return
        }
        // Socket activation: the path served is systemd's; only a changed setting is news.
        if loaded.configuration.socketPath == configuredSocketPath {
            loaded.configuration.socketPath = server.configuration.socketPath
        }
        var change = server.reload(loaded.configuration)
        if loaded.level != sharedLevel.level {
            sharedLevel.level = loaded.level
            change.applied.insert(ConfigKey.logLevel.name, at: 0)
        }
        if !change.fixed.isEmpty {
            logger.warning(
                "these settings cannot change on reload; restart accessd to apply them",
                metadata: .accessd([.keys: "\(change.fixed.joined(separator: ","))"]))
        }
        logger.notice(
            change.applied.isEmpty ? "reloaded the configuration; nothing changed" : "reloaded the configuration",
            metadata: .accessd([
                .changed: "\(change.applied.isEmpty ? "none" : change.applied.joined(separator: ","))",
                .file: "\(loaded.path ?? "none")",
            ]))
    }
}
