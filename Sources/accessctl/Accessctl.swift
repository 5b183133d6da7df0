import AccessClient
import AccessWire
import ArgumentParser
import Foundation

@main
struct Accessctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accessctl",
        abstract: "The command-line client of accessd.",
        subcommands: [
            Accounts.self, Users.self, Roles.self, Offices.self, Projects.self, Products.self, ShareCommands.self,
            Clients.self, Check.self, Accessible.self, Events.self, Outbox.self, Stats.self, Snapshot.self,
            CheckState.self,
            Backup.self,
            Metrics.self,
            Health.self,
        ])
}

/// Options every command shares.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "The daemon's socket (default: the daemon's own discovery rules).")
    var socket: String?

    @Option(name: .customLong("as"), help: "The user (id or email) the call acts for; none for administrator calls.")
    var actor: String = ""

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    @Flag(help: "Writes: validate and answer as if applied, change nothing.")
    var dryRun = false

    @Option(help: "Writes: a retry with the same key (same --as, within 24 hours) gets the first reply instead of applying the write again.")
    var idempotencyKey: String = ""

    func connect() async throws -> AccessClient {
        try await AccessClient.connect(
            socketPath: SocketDiscovery.socketPath(flag: socket, environment: ProcessInfo.processInfo.environment))
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What the daemon holds (administrators).")

    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        try await options.run(
            "/accessd.v1.AdminService/GetStats", Accessd_V1_GetStatsRequest(), as: Accessd_V1_GetStatsResponse.self
        ) { stats in
            block([
                ("revision", "\(stats.revision)"), ("accounts", "\(stats.accounts)"), ("users", "\(stats.users)"),
                ("connections", "\(stats.connections)"), ("calls in flight", "\(stats.callsInFlight)"),
                ("last snapshot", "revision \(stats.lastSnapshotRevision) at \(time(stats.lastSnapshotAtMs))"),
                ("state directory", stats.stateDirectory), ("socket", stats.socketPath),
                ("fsync policy", stats.fsyncPolicy),
                ("journal", "\(stats.journalRecords) records, \(stats.journalSyncs) syncs since start"),
            ])
        }
    }
}

struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a snapshot of the state now (administrators).")

    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        try await options.run(
            "/accessd.v1.AdminService/Snapshot", Accessd_V1_SnapshotRequest(), as: Accessd_V1_SnapshotResponse.self
        ) { block([("revision", "\($0.revision)"), ("path", $0.path)]) }
    }
}
