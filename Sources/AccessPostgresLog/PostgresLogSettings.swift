package import AccessPaths
package import NIOCore

/// Where the shared log is and how this host uses it: the `postgresql_*`
/// and `log_*` keys of the config file, the password resolved (from a file,
/// systemd's credentials or the environment; never the command line).
package struct PostgresLogSettings: Sendable, Equatable {
    /// The servers, tried in order; only one that takes writes (a primary,
    /// not a standby in recovery) is used.
    package var endpoints: [Endpoint]
    package var user: String
    package var database: String
    package var password: String?
    /// This host's name in the rows it writes (`writer`).
    package var writer: String
    /// How long a connection attempt to one server may take.
    package var connectTimeout: TimeAmount
    /// An append not committed within this fails (UNAVAILABLE); its batch id tells later whether it did commit.
    package var appendTimeout: TimeAmount
    /// How often the log is read when no notification came (notifications sent while disconnected are lost).
    package var pollInterval: TimeAmount
    /// Snapshots go to the log's table when the newest there is this many records old (or there is none).
    package var snapshotEveryRecords: UInt64

    package init(
        endpoints: [Endpoint], user: String = "accessd", database: String = "accessd", password: String? = nil,
        writer: String, connectTimeout: TimeAmount = .seconds(3), appendTimeout: TimeAmount = .seconds(5),
        pollInterval: TimeAmount = .seconds(1), snapshotEveryRecords: UInt64 = 100_000
    ) {
        self.endpoints = endpoints
        self.user = user
        self.database = database
        self.password = password
        self.writer = writer
        self.connectTimeout = connectTimeout
        self.appendTimeout = appendTimeout
        self.pollInterval = pollInterval
        self.snapshotEveryRecords = snapshotEveryRecords
    }

    package typealias Endpoint = PostgresEndpoint
}
