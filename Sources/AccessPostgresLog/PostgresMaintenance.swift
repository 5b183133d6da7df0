import AccessStore
import Foundation
package import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// What the maintenance commands do to the shared log: `accessd log init`
/// (the schema, under an owner's role) and `accessd log trim` (old rows,
/// under a role with DELETE), and `accessd log status`.
package enum PostgresMaintenance {
    /// Creates or completes the schema (`PostgresSchema`) in one transaction
    /// and grants the daemon's role what it needs (SELECT, INSERT) and the
    /// trimming role DELETE; the lines say what was done.
    package static func initialize(settings: PostgresLogSettings, writerRole: String?, trimRole: String?, logger: Logger)
        async throws -> [String]
    {
        try await withConnection(settings, logger: logger, requireSchema: false) { connection in
            try await execute(connection, PostgresQuery(unsafeSQL: "BEGIN"), logger: logger)
            do {
                for statement in PostgresSchema.initStatements(writerRole: writerRole, trimRole: trimRole) {
                    try await execute(connection, PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await execute(connection, PostgresQuery(unsafeSQL: "COMMIT"), logger: logger)
            } catch {
                try? await execute(connection, PostgresQuery(unsafeSQL: "ROLLBACK"), logger: logger)
                throw error
            }
            var lines = ["the schema accessd (version \(PostgresSchema.version)) is in database \(settings.database)"]
            if let writerRole { lines.append("\(writerRole) may read and append (SELECT, INSERT), never change or delete") }
            if let trimRole { lines.append("\(trimRole) may trim (SELECT, DELETE): run accessd log trim as it") }
            return lines
        }
    }

    /// Removes the rows before the second-newest snapshot (never the newest
    /// row) and the snapshots older than it, in one transaction. Hosts behind
    /// the oldest row left start from a snapshot.
    package static func trim(settings: PostgresLogSettings, logger: Logger) async throws -> [String] {
        try await withConnection(settings, logger: logger, requireSchema: true) { connection in
            try await execute(connection, PostgresQuery(unsafeSQL: "BEGIN"), logger: logger)
            do {
                let keep: Int64 = try await single(
                    connection,
                    "SELECT coalesce((SELECT lsn FROM accessd.snapshots ORDER BY lsn DESC OFFSET 1 LIMIT 1), -1)",
                    logger: logger)
                guard keep >= 0 else {
                    try await execute(connection, PostgresQuery(unsafeSQL: "ROLLBACK"), logger: logger)
                    return ["the log holds fewer than two snapshots; nothing was trimmed"]
                }
                var binds = PostgresBindings()
                binds.append(keep)
                let rows: Int64 = try await single(
                    connection,
                    PostgresQuery(
                        unsafeSQL: """
                            WITH gone AS (
                                DELETE FROM accessd.log WHERE lsn < $1 AND lsn < (SELECT max(lsn) FROM accessd.log) RETURNING 1)
                            SELECT count(*) FROM gone
                            """, binds: binds), logger: logger)
                let snapshots: Int64 = try await single(
                    connection,
                    PostgresQuery(
                        unsafeSQL: "WITH gone AS (DELETE FROM accessd.snapshots WHERE lsn < $1 RETURNING 1) SELECT count(*) FROM gone",
                        binds: binds), logger: logger)
                try await execute(connection, PostgresQuery(unsafeSQL: "COMMIT"), logger: logger)
                return ["removed \(rows) records before record \(keep) (the second-newest snapshot's) and \(snapshots) older snapshots"]
            } catch {
                try? await execute(connection, PostgresQuery(unsafeSQL: "ROLLBACK"), logger: logger)
                throw error
            }
        }
    }

    /// The oldest record the log still holds (nil when it holds none): a host
    /// whose state ends before the record just before it cannot catch up by
    /// reading records, and starts from the newest snapshot.
    package static func oldestRecord(settings: PostgresLogSettings, logger: Logger) async throws -> UInt64? {
        try await withConnection(settings, logger: logger, requireSchema: true) { connection in
            let oldest: Int64 = try await single(connection, "SELECT coalesce(min(lsn), -1) FROM accessd.log", logger: logger)
            return oldest < 0 ? nil : UInt64(oldest)
        }
    }

    /// The log's rows and snapshots, said in lines.
    package static func status(settings: PostgresLogSettings, logger: Logger) async throws -> [String] {
        try await withConnection(settings, logger: logger, requireSchema: true) { connection in
            let rows: PostgresRowSequence = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT coalesce(min(lsn), 0), coalesce(max(lsn), 0), count(*),
                            coalesce(max(last_seq), 0), coalesce(extract(epoch FROM max(committed_at))::bigint, 0)
                        FROM accessd.log
                        """), logger: logger)
            var lines: [String] = []
            for try await (oldest, newest, count, revision, at) in rows.decode((Int64, Int64, Int64, Int64, Int64).self) {
                lines.append("records \(oldest)...\(newest) (\(count) rows), newest event seq \(revision), last commit at \(at) (unix seconds)")
            }
            let snapshots: PostgresRowSequence = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT lsn, bytes, writer FROM accessd.snapshots ORDER BY lsn DESC"), logger: logger)
            for try await (lsn, bytes, writer) in snapshots.decode((Int64, Int64, String).self) {
                lines.append("snapshot at record \(lsn): \(bytes) bytes, from \(writer)")
            }
            return lines
        }
    }

    private static func withConnection<Value: Sendable>(
        _ settings: PostgresLogSettings, logger: Logger, requireSchema: Bool,
        _ body: @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> Value {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let link = PostgresLink(
            settings: settings, group: group, logger: logger, purpose: "maintenance", requireSchema: requireSchema)
        do {
            let connection = try await link.connection()
            let value = try await body(connection)
            await link.close()
            try? await group.shutdownGracefully()
            return value
        } catch {
            await link.close()
            try? await group.shutdownGracefully()
            throw error
        }
    }
}
