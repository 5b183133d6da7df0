/// What a connection may ask of the daemon itself (AdminService.Snapshot and GetStats).
struct DaemonControl: Sendable {
    /// Writes a snapshot now; returns its revision and path.
    var snapshot: @Sendable () async throws -> (revision: UInt64, path: String)
    /// Open connections, and the last snapshot's revision and time (ms since the epoch).
    var status: @Sendable () -> (connections: Int, snapshotRevision: UInt64, snapshotAtMilliseconds: Int64)
}
