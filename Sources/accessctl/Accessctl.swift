import AccessPaths
import AccessStore
import AccessClient
import AccessWire
import ArgumentParser
import Foundation

@main
struct Accessctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accessctl",
        abstract: "The command-line client of accessd.",
        discussion: ExitStatus.discussion,
        version: AccessdVersion.current,
        subcommands: [
            Accounts.self, Users.self, Roles.self, Offices.self, Projects.self, Products.self, ShareCommands.self,
            Clients.self, Check.self, Accessible.self, Events.self, Outbox.self, Stats.self, Snapshot.self,
            CheckState.self,
            Backup.self,
            Metrics.self,
            Health.self,
        ])
}

extension Accessctl {
    /// ArgumentParser's main, after a word that names no command has been
    /// answered with the nearest names (ArgumentParser only says "Unexpected argument").
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let message = CommandTree.unknownCommand(in: arguments, root: Accessctl.self) {
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            Foundation.exit(ExitStatus.usage.rawValue)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What the daemon holds (administrators).")

    @OptionGroup var options: ConnectionOptions

    @Flag(help: "Also a SHA-256 of the state's records (equal on every host at the same revision; a pass over the whole state).")
    var digest = false

    func run() async throws {
        var request = Accessd_V1_GetStatsRequest()
        request.stateDigest = digest
        try await options.run(
            Methods.getStats, request
        ) { stats in
            let log: [(String, String)] =
                stats.log.isEmpty
                ? []
                : [
                    ("log", "\(stats.log), \(stats.logConnected ? "connected" : "not reachable")"),
                    ("applied", "record \(stats.logAppliedLsn) of \(stats.logHeadLsn), hash \(stats.logHash)"),
                    ("lag", stats.logLagRecords == 0 ? "none" : "\(stats.logLagRecords) records for \(stats.logLagMs) ms"),
                ]
                    + (stats.log == "local"
                        ? []
                        : [("caught up", stats.logSilenceMs < 0 ? "not since the start" : "\(stats.logSilenceMs) ms ago")])
                    + (stats.writesStopped.isEmpty ? [] : [("writes stopped", stats.writesStopped)])
                    + (stats.stateDigest.isEmpty ? [] : [("state digest", stats.stateDigest)])
            return block([
                ("daemon", "accessd \(stats.daemonVersion.isEmpty ? "(version unknown)" : stats.daemonVersion), up \(duration(stats.uptimeMs))"),
                ("revision", "\(stats.revision)"), ("accounts", "\(stats.accounts)"), ("users", "\(stats.users)"),
                ("connections", "\(stats.connections)"), ("calls in flight", "\(stats.callsInFlight)"),
                ("last snapshot", "revision \(stats.lastSnapshotRevision) at \(time(stats.lastSnapshotAtMs))"),
                ("state directory", stats.stateDirectory), ("socket", stats.socketPath),
                ("fsync policy", stats.fsyncPolicy),
                ("journal", "\(stats.journalRecords) records, \(stats.journalSyncs) syncs since start"),
                ("oldest event", "seq \(stats.oldestEventSeq) (ListEvents and FollowEvents answer from it on)"),
            ] + log)
        }
    }
}

struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a snapshot of the state now (administrators).")

    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        try await options.run(
            Methods.snapshot, Accessd_V1_SnapshotRequest()
        ) { block([("revision", "\($0.revision)"), ("path", $0.path)]) }
    }
}
