import AccessDaemon
import AccessPostgresLog
import AccessStore
import ArgumentParser
import Foundation
import Logging
import NIOPosix

/// `accessd log init|trim|status`: the shared log's maintenance, run by an
/// operator (or a timer), never by the daemon. The servers and database come
/// from the config file (`postgresql_hosts`, `postgresql_database`); the role
/// and its password from the options, else the file's `postgresql_user` and
/// password (file, credential or environment, as the daemon reads them).
struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, trim or inspect the shared log in PostgreSQL (log = postgresql).",
        subcommands: [Init.self, Trim.self, Status.self])

    /// The role and password a maintenance command logs in as.
    struct Login: ParsableArguments {
        @Option(help: "The role to log in as (default: the config file's postgresql_user).")
        var user: String?

        @Option(help: "A file holding that role's password (default: as the daemon finds its own).")
        var passwordFile: String?

        func settings(_ daemon: Accessd) throws -> PostgresLogSettings {
            let loaded: ConfigurationLoader.Loaded
            do {
                loaded = try daemon.loader().load()
            } catch {
                throw ValidationError("\(error)")
            }
            var configuration = loaded.configuration
            if let user { configuration.postgresqlUser = user }
            if let passwordFile { configuration.postgresqlPasswordFile = passwordFile }
            do {
                return try configuration.sharedLogSettings()
            } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the schema accessd in the database (idempotent) and grant the roles.",
            discussion: """
                Run once, as a role that may create a schema in the database (its owner, or postgres). \
                --writer-role gets SELECT and INSERT (the daemons' role), --trim-role SELECT and DELETE (the role \
                `accessd log trim` runs as); neither may UPDATE. Running it again changes nothing that is there.
                """)
        @ParentCommand var log: Log
        @OptionGroup var login: Login
        @Option(help: "The daemons' role: may read and append.") var writerRole: String?
        @Option(help: "The maintenance role: may read and delete old rows.") var trimRole: String?

        func run() async throws {
            let settings = try login.settings(log.daemon)
            try await report("init") {
                try await PostgresMaintenance.initialize(
                    settings: settings, writerRole: writerRole, trimRole: trimRole, logger: Log.quiet)
            }
        }
    }

    struct Trim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the log's rows before its second-newest snapshot, and older snapshots.",
            discussion: """
                Run as the role with DELETE (--trim-role of `accessd log init`), for example daily from a timer. A \
                host whose state is older than the oldest row left starts from the newest snapshot (accessd resync).
                """)
        @ParentCommand var log: Log
        @OptionGroup var login: Login

        func run() async throws {
            let settings = try login.settings(log.daemon)
            try await report("trim") { try await PostgresMaintenance.trim(settings: settings, logger: Log.quiet) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say what the log holds: its records and snapshots.")
        @ParentCommand var log: Log
        @OptionGroup var login: Login

        func run() async throws {
            let settings = try login.settings(log.daemon)
            try await report("status") { try await PostgresMaintenance.status(settings: settings, logger: Log.quiet) }
        }
    }

    @ParentCommand var daemon: Accessd

    static var quiet: Logger {
        var logger = Logger(label: "accessd")
        logger.logLevel = .error
        return logger
    }
}

/// Prints the lines, or the error on stderr with exit status 69 (EX_UNAVAILABLE).
func report(_ command: String, _ body: () async throws -> [String]) async throws {
    do {
        for line in try await body() { print(line) }
    } catch {
        FileHandle.standardError.write(Data("accessd \(command): \(describePostgres(error))\n".utf8))
        throw ExitCode(69)
    }
}

/// `accessd resync`: rebuilds a stopped host's state from the shared log.
struct Resync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild this host's state directory from the shared log (offline).",
        discussion: """
            For a host that diverged from the log (writes stopped with DATA_LOSS) or fell behind what the log keeps. \
            Stop accessd first. Moves everything in the state directory into before-restore-<time>/ (nothing is \
            deleted), installs the log's newest snapshot (or nothing, when the log still holds every record), and \
            says so; at its next start accessd catches up the records after it from the log.
            """)
    @ParentCommand var daemon: Accessd
    @OptionGroup var login: Log.Login

    func run() async throws {
        let settings = try login.settings(daemon)
        let loaded: ConfigurationLoader.Loaded
        do {
            loaded = try daemon.loader().load()
        } catch {
            throw ValidationError("\(error)")
        }
        try await report("resync") {
            try await SharedLogResync.run(
                settings: settings, stateDirectory: loaded.configuration.stateDirectory, logger: Log.quiet, force: true)
        }
    }
}

/// What `accessd resync` and a start behind the log's oldest row do.
enum SharedLogResync {
    /// At a start on a shared log: a host whose state ends before the record
    /// just before the log's oldest (the log was trimmed past it, or the host
    /// is new and the log no longer begins at record 1) cannot catch up by
    /// reading records, and starts from the log's newest snapshot; its own
    /// files are moved aside, never deleted. A log that does not answer
    /// changes nothing: the host starts from its own state, and its follower
    /// says so if it turns out to be behind what the log keeps.
    static func atStart(configuration: DaemonConfiguration, logger: Logger) async {
        guard let settings = try? configuration.sharedLogSettings() else { return }  // the start itself says why
        let path = configuration.stateDirectory
        let newest: UInt64
        if FileManager.default.fileExists(atPath: path) {
            guard let lsn = try? StateDirectory(path: path).newestLSN() else { return }  // recovery says why
            newest = lsn
        } else {
            newest = 0
        }
        let oldest: UInt64?
        do {
            oldest = try await PostgresMaintenance.oldestRecord(settings: settings, logger: Log.quiet)
        } catch {
            logger.warning(
                "could not ask the shared log where it begins; starting from this host's own state",
                metadata: .accessd([.error: "\(describePostgres(error))"]))
            return
        }
        guard let oldest, newest + 1 < oldest else { return }
        logger.notice(
            "this host's state ends before the oldest record the shared log keeps: starting from the log's newest snapshot",
            metadata: .accessd([.lsn: "\(newest)", .oldestLSN: "\(oldest)"]))
        do {
            for line in try await run(settings: settings, stateDirectory: path, logger: Log.quiet, force: true) {
                logger.notice("\(line)")
            }
        } catch {
            logger.error(
                "could not start from the shared log's newest snapshot; starting from this host's own state (writes stop until accessd resync)",
                metadata: .accessd([.error: "\(describePostgres(error))"]))
        }
    }

    /// Moves the directory's state aside and installs the log's newest snapshot; the lines say what was done.
    static func run(settings: PostgresLogSettings, stateDirectory: String, logger: Logger, force: Bool) async throws
        -> [String]
    {
        var lines: [String] = []
        let snapshot = try await PostgresSnapshots.newest(
            settings: settings, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        guard let snapshot else {
            // The log holds every record from 1 (it is trimmed only behind two snapshots): start empty.
            let state = StateDirectory(path: stateDirectory)
            let names = (try? state.files()).map { $0.snapshots.map(\.name) + $0.segments.map(\.name) } ?? []
            let aside = stateDirectory + "/before-resync-" + String(Int(Date().timeIntervalSince1970))
            if !names.isEmpty {
                try FileManager.default.createDirectory(atPath: aside, withIntermediateDirectories: false)
                for name in (try FileManager.default.contentsOfDirectory(atPath: stateDirectory)) where name != "lock" && !name.hasPrefix("before-") {
                    try FileManager.default.moveItem(atPath: stateDirectory + "/" + name, toPath: aside + "/" + name)
                }
                lines.append("moved aside into \(aside)/ (delete it once the host is back)")
            }
            lines.append("the log holds no snapshot: accessd replays every record from the log at its next start")
            return lines
        }
        let file = NSTemporaryDirectory() + "accessd-resync-\(UUID().uuidString).snap"
        _ = FileManager.default.createFile(atPath: file, contents: Data(snapshot.bytes), attributes: [.posixPermissions: 0o600])
        defer { try? FileManager.default.removeItem(atPath: file) }
        lines.append("the log's newest snapshot is at record \(snapshot.lsn)")
        lines += try StateRestore.run(file: file, into: stateDirectory, owner: nil, force: force)
        return lines
    }
}
