import Foundation
package import Logging
package import NIOCore
import NIOConcurrencyHelpers
import NIOPosix
package import PostgresNIO

/// The shared log could not be reached, or refused this host: said so that
/// an operator can act (which server, what it answered).
package struct PostgresUnreachable: Error, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// A PostgreSQL error as a person can read it: the server's SQLSTATE and
/// message when it sent one (postgres-nio's own description hides them).
package func describePostgres(_ error: any Error) -> String {
    if let error = error as? PSQLError {
        if let info = error.serverInfo {
            let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            let detail = info[.detail].map { ": \($0)" } ?? ""
            return (info[.message] ?? "the server refused") + detail + state
        }
        switch error.code {
        case .serverClosedConnection: return "the server closed the connection"
        case .clientClosedConnection: return "the connection was closed"
        case .connectionError: return "cannot connect: " + describeConnectFailure(error.underlying)
        default: return "\(error.code)" + (error.underlying.map { ": \($0)" } ?? "")
        }
    }
    if let error = error as? PostgresUnreachable { return error.description }
    return "\(error)"
}

/// Why a connection could not be made. Where it is the process's sandbox
/// that refused (systemd's `RestrictAddressFamilies=` makes `socket()` fail
/// with EAFNOSUPPORT, `IPAddressDeny=` makes `connect()` fail with EPERM),
/// it says which setting and what to do, rather than NIO's bare errno.
package func describeConnectFailure(_ underlying: (any Error)?) -> String {
    guard let underlying else { return "connection error" }
    var errors: [any Error] = [underlying]
    if let failed = underlying as? NIOConnectionError {
        if let dns = failed.dnsAError ?? failed.dnsAAAAError { return "cannot resolve \(failed.host): \(dns)" }
        errors = failed.connectionErrors.map(\.error)
    }
    let codes = errors.compactMap { ($0 as? IOError)?.errnoCode }
    if codes.contains(EAFNOSUPPORT) {
        return "this process may not open TCP sockets (socket(): address family not supported, errno \(EAFNOSUPPORT)); "
            + "under systemd, accessd.service allows Unix sockets only: install the drop-in for a shared log "
            + "(shared-log.conf; README, The shared log under systemd) or name the server's socket directory"
    }
    if codes.contains(EPERM) {
        return "the connection is not permitted (connect(): errno \(EPERM)); under systemd, IPAddressDeny=any "
            + "holds: add the server's address to IPAddressAllow= of the shared-log drop-in"
    }
    guard !errors.isEmpty else { return "\(underlying)" }
    return errors.map { "\($0)" }.joined(separator: "; ")
}

/// The SQLSTATE of a server error, if it is one.
package func sqlState(of error: any Error) -> String? {
    (error as? PSQLError)?.serverInfo?[.sqlState]
}

/// One connection to the shared log for one purpose (appends; reads and
/// notifications): made on demand to the first server of the list that
/// takes writes (`pg_is_in_recovery()` false), with the session settings
/// the log relies on; remade after it broke. While a connection cannot be
/// made, callers within `retryAfter` of the last failed attempt get that
/// failure at once instead of each waiting for a connect timeout: writes
/// fail fast while the log is down.
package actor PostgresLink {
    private let settings: PostgresLogSettings
    private let group: any EventLoopGroup
    private let logger: Logger
    private let purpose: String
    private var connection: PostgresConnection?
    private var attempt: Task<(PostgresConnection, String), any Error>?
    private var lastFailure: (message: String, at: NIODeadline)?
    private var nextID = 0
    private var closed = false
    /// The server of the current connection.
    private(set) var server: String?

    /// Whether the server must hold the log's schema (all but `accessd log init`, which makes it).
    private let requireSchema: Bool

    package init(
        settings: PostgresLogSettings, group: any EventLoopGroup, logger: Logger, purpose: String, requireSchema: Bool = true
    ) {
        self.settings = settings
        self.group = group
        self.logger = logger
        self.purpose = purpose
        self.requireSchema = requireSchema
    }

    /// The connection, made now if there is none; fails at once within `retryAfter` of a failed attempt.
    package func connection(retryAfter: TimeAmount = .milliseconds(500)) async throws -> PostgresConnection {
        if closed { throw PostgresUnreachable("the shared log is closed") }
        if let connection, !connection.isClosed { return connection }
        connection = nil
        if let attempt { return try await attempt.value.0 }
        if let lastFailure, NIODeadline.now() - lastFailure.at < retryAfter {
            throw PostgresUnreachable(lastFailure.message)
        }
        nextID += 1
        let (settings, group, logger, purpose, id, schema) = (
            self.settings, self.group, self.logger, self.purpose, nextID, requireSchema
        )
        let task = Task {
            try await Self.connect(
                settings: settings, group: group, logger: logger, purpose: purpose, id: id, requireSchema: schema)
        }
        attempt = task
        defer { attempt = nil }
        do {
            let (made, server) = try await task.value
            if closed {
                try? await made.close()
                throw PostgresUnreachable("the shared log is closed")
            }
            if lastFailure != nil || self.server != server {
                logger.notice(
                    "connected to the shared log",
                    metadata: ["accessd.server": "\(server)", "accessd.purpose": "\(purpose)"])
            }
            connection = made
            self.server = server
            lastFailure = nil
            return made
        } catch {
            let message = (error as? PostgresUnreachable)?.description ?? describePostgres(error)
            if lastFailure?.message != message {
                logger.warning(
                    "cannot reach the shared log", metadata: ["accessd.purpose": "\(purpose)", "accessd.error": "\(message)"])
            }
            lastFailure = (message, .now())
            throw PostgresUnreachable(message)
        }
    }

    /// Forgets `broken` (after an error or a timeout on it) and closes it: the next call makes a new one.
    package func drop(_ broken: PostgresConnection, because reason: String) async {
        if connection === broken { connection = nil }
        lastFailure = (reason, .now())
        try? await broken.close()
    }

    /// Whether a connection is open, and why not.
    package var state: (connected: Bool, failure: String?) {
        (connection.map { !$0.isClosed } ?? false, lastFailure?.message)
    }

    package func close() async {
        closed = true
        attempt?.cancel()
        if let connection { try? await connection.close() }
        connection = nil
    }

    /// Tries the servers in order; the first that answers, takes writes and
    /// holds the log's schema is the one.
    private static func connect(
        settings: PostgresLogSettings, group: any EventLoopGroup, logger: Logger, purpose: String, id: Int,
        requireSchema: Bool
    ) async throws -> (PostgresConnection, String) {
        var refusals: [String] = []
        for endpoint in settings.endpoints {
            var configuration: PostgresConnection.Configuration
            switch endpoint {
            case .socket(let path):
                configuration = .init(
                    unixSocketPath: path, username: settings.user, password: settings.password, database: settings.database)
            case .tcp(let host, let port):
                configuration = .init(
                    host: host, port: port, username: settings.user, password: settings.password,
                    database: settings.database, tls: .disable)
            }
            configuration.options.connectTimeout = settings.connectTimeout
            configuration.options.additionalStartupParameters = [("application_name", "accessd \(settings.writer) \(purpose)")]
            var quiet = logger
            quiet.logLevel = .critical
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    on: group.any(), configuration: configuration, id: id, logger: quiet)
            } catch {
                refusals.append("\(endpoint): \(describePostgres(error))")
                continue
            }
            do {
                let recovering: Bool = try await single(connection, "SELECT pg_is_in_recovery()", logger: quiet)
                if recovering {
                    refusals.append("\(endpoint): a standby (in recovery), not the primary")
                    try? await connection.close()
                    continue
                }
                if requireSchema { try await checkSchema(connection, logger: quiet) }
                // Every commit waits for the server's (and its synchronous standbys') flush; a lock or a
                // transaction left open by a host cut off cannot hold the others for long; a peer that
                // vanished is found by the server's keepalives.
                let timeout = max(1, settings.appendTimeout.nanoseconds / 1_000_000)
                for setting in [
                    "SET synchronous_commit = on",
                    "SET lock_timeout = \(timeout)",
                    "SET idle_in_transaction_session_timeout = \(2 * timeout)",
                    "SET tcp_keepalives_idle = 5",
                    "SET tcp_keepalives_interval = 2",
                    "SET tcp_keepalives_count = 3",
                ] {
                    try await execute(connection, PostgresQuery(unsafeSQL: setting), logger: quiet)
                }
                return (connection, endpoint.description)
            } catch let refused as PostgresUnreachable {
                try? await connection.close()
                refusals.append("\(endpoint): \(refused.description)")
            } catch {
                try? await connection.close()
                refusals.append("\(endpoint): \(describePostgres(error))")
            }
        }
        throw PostgresUnreachable(
            "no server of postgresql_hosts takes writes (" + refusals.joined(separator: "; ") + ")")
    }

    /// The schema `accessd log init` made, in a version this accessd knows.
    private static func checkSchema(_ connection: PostgresConnection, logger: Logger) async throws {
        let exists: Bool = try await single(connection, "SELECT to_regclass('accessd.meta') IS NOT NULL", logger: logger)
        guard exists else {
            throw PostgresUnreachable(
                "the database has no accessd schema; create it once with `accessd log init` (see the README, Several hosts)")
        }
        let version: String = try await single(
            connection, "SELECT coalesce((SELECT value FROM accessd.meta WHERE key = 'schema_version'), '0')", logger: logger)
        guard Int(version) == PostgresSchema.version else {
            throw PostgresUnreachable(
                "the log's schema is version \(version); this accessd knows version \(PostgresSchema.version) (run `accessd log init` of the newer accessd, or upgrade this host)")
        }
    }
}

/// Runs a statement and reads its rows to the end: the async `query`
/// overload, never the EventLoopFuture one that a bare `try await` binds to
/// (its errors would be lost).
package func execute(_ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws {
    let rows: PostgresRowSequence = try await connection.query(query, logger: logger)
    for try await _ in rows {}
}

/// The one value of the one row of `query`.
package func single<Value: PostgresDecodable & Sendable>(
    _ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger, as: Value.Type = Value.self
) async throws -> Value {
    let rows: PostgresRowSequence = try await connection.query(query, logger: logger)
    var found: Value?
    for try await row in rows {
        if found == nil { found = try row.decode(Value.self) }
    }
    guard let found else { throw PostgresUnreachable("the server answered no row to: \(query.sql)") }
    return found
}

/// Runs `body` in an explicit transaction and returns once its COMMIT has
/// completed. A write is never a bare statement: in the extended protocol
/// PostgreSQL sends a statement's rows and its CommandComplete before it
/// commits the implicit transaction (at Sync), and PostgresNIO ends the query
/// at CommandComplete, so a bare INSERT "succeeds" before it is committed,
/// let alone flushed by a synchronous standby (a crash then loses a write
/// that was acknowledged). A COMMIT's CommandComplete comes after the commit,
/// and after the synchronous standbys have it (`synchronous_commit = on`).
package func inTransaction<Value: Sendable>(
    _ connection: PostgresConnection, logger: Logger, _ body: () async throws -> Value
) async throws -> Value {
    try await execute(connection, PostgresQuery(unsafeSQL: "BEGIN"), logger: logger)
    let value: Value
    do {
        value = try await body()
    } catch {
        try? await execute(connection, PostgresQuery(unsafeSQL: "ROLLBACK"), logger: logger)
        throw error
    }
    try await execute(connection, PostgresQuery(unsafeSQL: "COMMIT"), logger: logger)
    return value
}

/// Returns once everything the server had committed before it is on its
/// synchronous standbys too. A row is visible on the primary as soon as it
/// is committed there, before the standbys have it (its writer is still
/// waiting for them): a reader that applied it, and a failover that lost
/// it, would leave the reader ahead of the log. A transaction with an xid
/// commits after them in the WAL, and its commit waits for the standbys'
/// flush, which is in WAL order.
package func durabilityBarrier(_ connection: PostgresConnection, logger: Logger) async throws {
    _ = try await inTransaction(connection, logger: logger) {
        try await single(connection, "SELECT txid_current()", logger: logger, as: Int64.self)
    }
}

extension PostgresQuery {
    /// SQL of the project's own, without binds (never text from a peer or a file).
    package init(unsafeSQL sql: String) {
        self.init(unsafeSQL: sql, binds: PostgresBindings())
    }
}

/// Runs `body`, and answers `TimedOut` if it has not finished by `deadline`
/// (then `expire` runs: closing the connection ends the query itself).
package func within<Value: Sendable>(
    _ deadline: NIODeadline, what: String, expire: @escaping @Sendable () async -> Void,
    _ body: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let finished = NIOLockedValueBox(false)
    let timer = NIOLockedValueBox<Task<Void, Never>?>(nil)
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
        @Sendable func finish(_ result: Result<Value, any Error>) -> Bool {
            let first = finished.withLockedValue { done in defer { done = true }; return !done }
            if first { continuation.resume(with: result) }
            return first
        }
        let work = Task {
            let result = await Result(catching: body)
            if finish(result) { timer.withLockedValue { $0 }?.cancel() }
        }
        let waiting = Task {
            let wait = deadline - NIODeadline.now()
            if wait > .zero { try? await Task.sleep(nanoseconds: UInt64(wait.nanoseconds)) }
            guard !Task.isCancelled else { return }
            if finish(.failure(TimedOut(what: what))) {
                await expire()
                work.cancel()
            }
        }
        timer.withLockedValue { $0 = waiting }
        if finished.withLockedValue({ $0 }) { waiting.cancel() }
    }
}

/// `within` ran out of time.
package struct TimedOut: Error, Sendable, CustomStringConvertible {
    package var what: String
    package var description: String { "\(what) did not finish in time" }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
