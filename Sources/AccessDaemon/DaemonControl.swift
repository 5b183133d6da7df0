import AccessStore
import NIOCore

/// What a connection may ask of the daemon itself (AdminService.Snapshot, Backup and GetStats).
struct DaemonControl: Sendable {
    /// Writes a snapshot now; its revision and path.
    var snapshot: @Sendable () -> EventLoopFuture<(revision: UInt64, path: String)>
    /// Encodes a snapshot of the durable state for a backup (off the loops); fails with `BackupBusy` while one is sent.
    var backup: (@Sendable () -> EventLoopFuture<BackupImage>)? = nil
    /// Connections, the last snapshot and the journal.
    var status: @Sendable () -> DaemonStatus
}

struct DaemonStatus: Sendable {
    var connections: Int
    var snapshotRevision: UInt64
    var snapshotLSN: UInt64
    var snapshotAtMilliseconds: Int64
    var fsyncPolicy: String
    var journalRecords: UInt64
    var journalSyncs: UInt64
    var log = LogReport(
        kind: "local", connected: true, headLSN: 0, appliedLSN: 0, appliedHash: .zero, lagRecords: 0, lagMilliseconds: 0,
        silence: .zero, writesStopped: nil)
}
