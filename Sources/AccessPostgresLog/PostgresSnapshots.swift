package import AccessStore
import AccessCore
import Foundation
package import Logging
package import NIOCore
import PostgresNIO

/// Snapshots in the shared log's tables: `snapshots` (one row: lsn, size,
/// chunk count, SHA-256 of the whole) and `snapshot_chunks` (the bytes in
/// chunks of at most `chunkSize`), written in one transaction so that a
/// snapshot is there whole or not at all, on a connection of its own (a big
/// upload never delays an append).
package enum PostgresSnapshots {
    package static let chunkSize = 1 << 20

    /// Stores `snapshot` unless the log has one at most `everyRecords` older; true when stored.
    package static func upload(
        _ snapshot: LogSnapshot, settings: PostgresLogSettings, group: any EventLoopGroup, everyRecords: UInt64,
        logger: Logger
    ) async throws -> Bool {
        let link = PostgresLink(settings: settings, group: group, logger: logger, purpose: "snapshot")
        defer { Task { await link.close() } }
        let connection = try await link.connection()
        let newest: Int64 = try await single(
            connection, "SELECT coalesce(max(lsn), -1) FROM accessd.snapshots", logger: logger)
        if newest >= 0, UInt64(newest) + everyRecords > snapshot.lsn { return false }
        let digest = sha256(snapshot.bytes)
        let chunks = stride(from: 0, to: max(1, snapshot.bytes.count), by: chunkSize).map { start in
            Array(snapshot.bytes[start..<min(snapshot.bytes.count, start + chunkSize)])
        }
        try await execute(connection, PostgresQuery(unsafeSQL: "BEGIN"), logger: logger)
        do {
            var binds = PostgresBindings()
            binds.append(Int64(snapshot.lsn))
            binds.append(Int64(snapshot.bytes.count))
            binds.append(Int32(chunks.count))
            binds.append(ByteBuffer(bytes: digest))
            binds.append(settings.writer)
            let inserted: Bool = try await single(
                connection,
                PostgresQuery(
                    unsafeSQL: """
                        WITH added AS (
                            INSERT INTO accessd.snapshots (lsn, bytes, chunks, sha256, writer) VALUES ($1, $2, $3, $4, $5)
                            ON CONFLICT (lsn) DO NOTHING RETURNING lsn)
                        SELECT count(*) > 0 FROM added
                        """, binds: binds), logger: logger)
            guard inserted else {
                try await execute(connection, PostgresQuery(unsafeSQL: "ROLLBACK"), logger: logger)
                return false
            }
            for (index, chunk) in chunks.enumerated() {
                var binds = PostgresBindings()
                binds.append(Int64(snapshot.lsn))
                binds.append(Int32(index))
                binds.append(ByteBuffer(bytes: chunk))
                try await execute(
                    connection,
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO accessd.snapshot_chunks (lsn, chunk, bytes) VALUES ($1, $2, $3)", binds: binds),
                    logger: logger)
            }
            // Only a snapshot of a record the log holds: a host whose state went past the log's head
            // (records lost in a failover) must not offer its state to hosts that start later. Asked
            // last, just before the commit (a lock on the record would need UPDATE, which the
            // writers' role does not have).
            var record = PostgresBindings()
            record.append(Int64(snapshot.lsn))
            let held: Bool = try await single(
                connection,
                PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM accessd.log WHERE lsn = $1)", binds: record),
                logger: logger)
            guard held else {
                try await execute(connection, PostgresQuery(unsafeSQL: "ROLLBACK"), logger: logger)
                logger.notice(
                    "not storing the snapshot in the shared log: the log does not hold its record",
                    metadata: ["accessd.lsn": "\(snapshot.lsn)"])
                return false
            }
            try await execute(connection, PostgresQuery(unsafeSQL: "COMMIT"), logger: logger)
            return true
        } catch {
            try? await execute(connection, PostgresQuery(unsafeSQL: "ROLLBACK"), logger: logger)
            throw error
        }
    }

    /// The newest snapshot the log holds whole (its size, digest and the
    /// snapshot file's own checksum hold), or nil.
    package static func newest(settings: PostgresLogSettings, group: any EventLoopGroup, logger: Logger) async throws
        -> LogSnapshot?
    {
        let link = PostgresLink(settings: settings, group: group, logger: logger, purpose: "snapshot")
        defer { Task { await link.close() } }
        let connection = try await link.connection()
        let heads: PostgresRowSequence = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT lsn, bytes, chunks, sha256 FROM accessd.snapshots ORDER BY lsn DESC"),
            logger: logger)
        var candidates: [(lsn: Int64, bytes: Int64, chunks: Int32, digest: ByteBuffer)] = []
        for try await row in heads.decode((Int64, Int64, Int32, ByteBuffer).self) { candidates.append(row) }
        for candidate in candidates {
            var binds = PostgresBindings()
            binds.append(candidate.lsn)
            let rows: PostgresRowSequence = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT chunk, bytes FROM accessd.snapshot_chunks WHERE lsn = $1 ORDER BY chunk", binds: binds),
                logger: logger)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(candidate.bytes))
            var expected: Int32 = 0
            var whole = true
            for try await (chunk, part) in rows.decode((Int32, ByteBuffer).self) {
                if chunk != expected { whole = false }
                expected += 1
                bytes += part.readableBytesView
            }
            guard whole, expected == candidate.chunks, bytes.count == Int(candidate.bytes),
                sha256(bytes) == Array(candidate.digest.readableBytesView), SnapshotFile.holds(bytes),
                SnapshotFile.header(bytes)?.lsn == UInt64(candidate.lsn)
            else {
                logger.warning(
                    "a snapshot in the shared log does not hold; trying an older one", metadata: ["accessd.lsn": "\(candidate.lsn)"])
                continue
            }
            return LogSnapshot(lsn: UInt64(candidate.lsn), bytes: bytes)
        }
        return nil
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
