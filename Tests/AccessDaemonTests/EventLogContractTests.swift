import AccessStore
import AccessTestSupport
import Foundation
import Logging
import Testing

/// The local journal (`LocalJournal`) keeps the contract of `EventLog`
/// (`EventLogContract`, the clauses the shared log of issue 15 passes too),
/// on the simulated disk and on the real filesystem.
@Suite struct EventLogContractTests {
    static var quietLogger: Logger {
        var logger = Logger(label: "contract")
        logger.logLevel = .critical
        return logger
    }

    /// A local journal on a simulated disk of its own: opening again recovers the same directory.
    static func simulated() -> EventLogFixture {
        let disk = SimulatedDisk()
        return EventLogFixture(open: {
            try LocalJournal.open(
                StateDirectory(storage: disk, path: "/state"), logger: quietLogger,
                onFatalSync: { error in Issue.record("a sync failed: \(error)") }
            ).journal
        })
    }

    /// A local journal in a temporary directory, removed afterwards.
    static func onDisk() -> EventLogFixture {
        let root = NSTemporaryDirectory() + "accessd-contract-" + UUID().uuidString
        return EventLogFixture(
            open: {
                try LocalJournal.open(
                    StateDirectory(path: root + "/state"), logger: quietLogger,
                    onFatalSync: { error in Issue.record("a sync failed: \(error)") }
                ).journal
            },
            remove: { try? FileManager.default.removeItem(atPath: root) })
    }

    static let clauses = EventLogContract.clauses.map(\.name)

    @Test(arguments: clauses)
    func theLocalJournalOnASimulatedDiskKeepsTheContract(_ clause: String) async throws {
        let run = try #require(EventLogContract.clauses.first { $0.name == clause }).run
        try await run { Self.simulated() }
    }

    @Test(arguments: clauses)
    func theLocalJournalOnTheFilesystemKeepsTheContract(_ clause: String) async throws {
        let run = try #require(EventLogContract.clauses.first { $0.name == clause }).run
        try await run { Self.onDisk() }
    }
}
