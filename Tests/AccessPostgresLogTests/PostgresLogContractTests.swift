import AccessPostgresLog
import AccessStore
import AccessTestSupport
import Foundation
import Logging
import Testing

/// The shared log on a real PostgreSQL (`PostgresLog`) keeps the contract of
/// `EventLog` (`EventLogContract`), clause by clause as the local journal
/// does: each clause on a database of its own, with a local journal of its
/// own as the cache (kept across a close and an open, as a host's is).
@Suite struct PostgresLogContractTests {
    static var quietLogger: Logger {
        var logger = Logger(label: "contract")
        logger.logLevel = .critical
        return logger
    }

    /// Settings for `database` on the test server, as the postgres role (trusted on the socket).
    static func settings(database: String, writer: String = "contract") async throws -> PostgresLogSettings {
        PostgresLogSettings(
            endpoints: [.socket(path: try await TestPostgres.socketDirectory() + "/.s.PGSQL.5432")], user: "postgres",
            database: database, writer: writer, appendTimeout: .seconds(10), pollInterval: .milliseconds(200),
            snapshotEveryRecords: 1)
    }

    /// A database of its own with the log's schema (made at the first open), and a cache directory of its own.
    static func fixture() -> EventLogFixture {
        let cacheRoot = SystemdTestSupport.temporaryDirectory("pgcache")
        let made = SendableBox<PostgresLogSettings?>(nil)
        return EventLogFixture(
            open: {
                let settings: PostgresLogSettings
                if let existing = made.value {
                    settings = existing
                } else {
                    settings = try await Self.settings(database: try await TestPostgres.database("contract"))
                    _ = try await PostgresMaintenance.initialize(
                        settings: settings, writerRole: nil, trimRole: nil, logger: quietLogger)
                    made.value = settings
                }
                let (cache, recovered) = try LocalJournal.open(
                    StateDirectory(path: cacheRoot + "/state"), logger: quietLogger,
                    onFatalSync: { error in Issue.record("the cache's sync failed: \(error)") })
                return PostgresLog(
                    settings: settings, cache: cache, cachedThrough: recovered.durable.lsn, logger: quietLogger)
            },
            // The databases go with the test server when the process ends.
            remove: { try? FileManager.default.removeItem(atPath: cacheRoot) })
    }

    static let clauses = EventLogContract.clauses.map(\.name)

    @Test(arguments: clauses)
    func theSharedLogOnPostgreSQLKeepsTheContract(_ clause: String) async throws {
        let run = try #require(EventLogContract.clauses.first { $0.name == clause }).run
        try await run { Self.fixture() }
    }
}

/// A value the fixture's closures share (set once, read after).
final class SendableBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
