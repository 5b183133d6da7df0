package import Logging

/// The metadata keys accessd logs with, in one place and in one namespace
/// (`accessd.`), so that a journal query or a log pipeline can rely on them:
/// `journalctl -u accessd` shows `accessd.connection=17 accessd.method=...`.
/// Values go in metadata, not into the message, so that a message reads the
/// same for every connection and can be grepped.
package enum LogKey: String, Sendable, CaseIterable {
    /// The connection's number in this process (from 1, in accept order).
    case connection = "accessd.connection"
    /// The peer's credentials as the kernel gave them (`uid=... gid=... pid=...`).
    case peer = "accessd.peer"
    /// The peer's uid alone.
    case uid = "accessd.uid"
    /// A call's method path.
    case method = "accessd.method"
    /// Who a call acts for (quoted as the peer sent it), or `administrator` / `anonymous`.
    case actor = "accessd.actor"
    /// A call's status code name.
    case status = "accessd.status"
    /// A call's duration in microseconds.
    case micros = "accessd.us"
    /// A call's trace metadata is logged under `accessd.meta.<key>`.
    case metadataPrefix = "accessd.meta"
    /// How many lines like this one were left out since the last (rate-limited lines).
    case suppressed = "accessd.suppressed"
    /// An error's description.
    case error = "accessd.error"
    /// The signal that asked for a shutdown.
    case signal = "accessd.signal"
    /// The socket path served.
    case socket = "accessd.socket"
    /// A state revision, a journal lsn, a snapshot or segment file name.
    case revision = "accessd.revision"
    case lsn = "accessd.lsn"
    case snapshot = "accessd.snapshot"
    case segment = "accessd.segment"
    /// The exit status the daemon is about to end with.
    case exit = "accessd.exit"
    /// A file the line is about (the metrics textfile, a config file).
    case path = "accessd.path"
    /// How many journal records (replayed at recovery, or after which a snapshot is due).
    case records = "accessd.records"
    /// How many users the state holds.
    case users = "accessd.users"
    /// How many connections (open, allowed, answered).
    case connections = "accessd.connections"
    /// A size in bytes.
    case bytes = "accessd.bytes"
    /// How long something took, in milliseconds.
    case milliseconds = "accessd.ms"
    /// A setting as configured, and the limit that caps it.
    case configured = "accessd.configured"
    case limit = "accessd.limit"
    /// Why (a refusal's message).
    case reason = "accessd.reason"
    /// What to do about it.
    case hint = "accessd.hint"
    /// A shared log's servers (`postgresql_hosts`), and this host's name in its rows.
    case servers = "accessd.servers"
    case writer = "accessd.writer"
    /// The oldest record a shared log still holds.
    case oldestLSN = "accessd.oldest_lsn"
    /// Whether the socket came from systemd (socket activation).
    case activated = "accessd.activated"
    /// A thread's nice value.
    case nice = "accessd.nice"
    /// Config keys: the ones a reload changed, the ones it cannot change.
    case changed = "accessd.changed"
    case keys = "accessd.keys"
    /// The file the line is about: the config file read, a state file (a segment, a snapshot).
    case file = "accessd.file"
    /// The state directory.
    case stateDirectory = "accessd.state_dir"
    /// The daemon's lifecycle state (recovering, serving, draining, stopped).
    case state = "accessd.state"
    /// An offset in a file.
    case offset = "accessd.offset"
    /// Event seqs: the first and last of a range, and a count of events or segments.
    case firstSeq = "accessd.first_seq"
    case lastSeq = "accessd.last_seq"
    case events = "accessd.events"
    case segments = "accessd.segments"
    /// swift-service-lifecycle's lines: a service, the services, the signals of a ServiceGroup.
    case service = "accessd.service"
    case services = "accessd.services"
    case shutdownSignals = "accessd.shutdown_signals"
    case cancellationSignals = "accessd.cancellation_signals"
}

extension Logger {
    /// Metadata under one of accessd's keys: `logger[accessd: .connection] = "17"`.
    package subscript(accessd key: LogKey) -> Logger.Metadata.Value? {
        get { self[metadataKey: key.rawValue] }
        set { self[metadataKey: key.rawValue] = newValue }
    }
}

extension Logger.Metadata {
    /// Metadata under one of accessd's keys, for one line: `[accessd: .error]`.
    package subscript(accessd key: LogKey) -> Logger.Metadata.Value? {
        get { self[key.rawValue] }
        set { self[key.rawValue] = newValue }
    }

    /// One line's metadata from accessd's keys.
    package static func accessd(_ pairs: KeyValuePairs<LogKey, Logger.Metadata.Value>) -> Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for (key, value) in pairs { metadata[key.rawValue] = value }
        return metadata
    }
}
