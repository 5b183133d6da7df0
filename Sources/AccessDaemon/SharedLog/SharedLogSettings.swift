import AccessPaths
package import AccessPostgresLog
import Foundation
import NIOCore

extension DaemonConfiguration {
    /// The shared log's settings from the `postgresql_*` and `log_*` keys,
    /// the password read from `postgresql_password_file`, else systemd's
    /// credential `postgresql-password` (`LoadCredential=`), else
    /// `$ACCESSD_POSTGRESQL_PASSWORD`; none is fine for trust or peer
    /// authentication. Throws what an operator must fix.
    package func sharedLogSettings(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> PostgresLogSettings
    {
        guard let endpoints = PostgresEndpoint.list(postgresqlHosts) else {
            throw SharedLogConfigurationError(
                "log = postgresql needs postgresql_hosts: the PostgreSQL servers holding the log (host:port, or a socket directory such as /run/postgresql)")
        }
        var password: String?
        if !postgresqlPasswordFile.isEmpty {
            password = try Self.readSecret(postgresqlPasswordFile, key: "postgresql_password_file")
        } else if let credentials = environment["CREDENTIALS_DIRECTORY"], !credentials.isEmpty,
            FileManager.default.fileExists(atPath: credentials + "/postgresql-password")
        {
            password = try Self.readSecret(credentials + "/postgresql-password", key: "the credential postgresql-password")
        } else if let fromEnvironment = environment["ACCESSD_POSTGRESQL_PASSWORD"], !fromEnvironment.isEmpty {
            password = fromEnvironment
        }
        let writer = logWriter.isEmpty ? (ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "accessd") : logWriter
        return PostgresLogSettings(
            endpoints: endpoints, user: postgresqlUser, database: postgresqlDatabase, password: password, writer: writer,
            connectTimeout: .milliseconds(logConnectTimeoutMilliseconds),
            appendTimeout: .milliseconds(logAppendTimeoutMilliseconds), pollInterval: .milliseconds(logPollMilliseconds),
            snapshotEveryRecords: UInt64(max(1, snapshotEveryRecords)))
    }

    /// A file's first line: a password file may end with a newline.
    private static func readSecret(_ path: String, key: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SharedLogConfigurationError("cannot read \(path) (\(key)): check that it exists and that accessd's user may read it")
        }
        let text = String(decoding: data, as: UTF8.self)
        return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }
}

/// A shared log configured so that it cannot run.
package struct SharedLogConfigurationError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
