import AccessStatus
import AccessClient
import AccessWire
import ArgumentParser
import Foundation
import SwiftProtobuf

#if canImport(Glibc)
import Glibc
#endif

// MARK: Exit statuses

/// What accessctl's exit status says (README, "accessctl"): a script can tell
/// a "no" from a failure, and a refused call from a daemon it cannot reach.
enum ExitStatus {
    /// Done; `check`: allowed.
    static let ok = ExitCode(0)
    /// `check`: denied (as accessd-check and `kubectl auth can-i` say no);
    /// `check-state`: accessd would not start from the directory.
    static let no = ExitCode(1)
    /// The daemon refused the call, or no reply came in time: `error: CODE: message`.
    static let callFailed = ExitCode(2)
    /// Unknown command or option, a bad value (ArgumentParser's EX_USAGE).
    static let usage = ExitCode(64)
    /// `check-state`: no such directory (EX_NOINPUT).
    static let noInput = ExitCode(66)
    /// The daemon cannot be reached: no socket there, permission denied,
    /// nothing listening, a socket that cannot be trusted (EX_UNAVAILABLE).
    static let unavailable = ExitCode(69)
    /// The config file read to find the socket cannot be read or does not parse (EX_CONFIG).
    static let config = ExitCode(78)

    /// For `accessctl --help`.
    static let discussion = """
        Exit status: 0 done (check: allowed); 1 check: denied, check-state: accessd would not start from it; \
        2 the daemon refused the call, or --timeout passed (error: CODE: message); 64 bad usage; \
        66 check-state: no such directory; 69 the daemon cannot be reached; 78 the config file is broken or unreadable.
        """
}

/// Prints `error: TEXT` on stderr; throw what it returns to end the command
/// with `status` (by default 2: the call failed).
func fail(_ text: String, status: ExitCode = ExitStatus.callFailed) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(text)\n".utf8))
    return status
}

// MARK: Calling

/// One connection for the calls of one command, and the command's deadline (`--timeout`).
struct Session: Sendable {
    let client: AccessClient
    /// `--as`.
    let actor: String
    let deadline: Deadline?
    /// Whether what is printed names things (roles) it must read first: not for `--json`.
    var readsNames = true

    /// Calls `method` as `actor` (default: `--as`); throws `CallError` with
    /// the daemon's code and message, or DEADLINE_EXCEEDED when `--timeout` passed first.
    func call<Request, Response>(
        _ method: Method<Request, Response>,
        _ request: Request,
        actor: String? = nil,
        write: WriteOptions? = nil
    ) async throws -> Response {
        let client = self.client
        let actor = actor ?? self.actor
        let dryRun = write?.dryRun ?? false
        let key = write?.idempotencyKey ?? ""
        let milliseconds = try deadline?.remainingMilliseconds() ?? 0
        return try await Deadline.run(deadline, write: write != nil) {
            try await client.call(
                method, request,
                options: CallOptions(actor: actor, timeoutMilliseconds: milliseconds, dryRun: dryRun, idempotencyKey: key))
        }
    }

    /// A read as `--as`, with its reply's revision, at a state no older than `minRevision`.
    func reply<Request, Response>(_ method: Method<Request, Response>, _ request: Request, minRevision: UInt64) async throws -> Reply {
        let client = self.client
        let actor = self.actor
        let milliseconds = try deadline?.remainingMilliseconds() ?? 0
        return try await Deadline.run(deadline, write: false) {
            try await client.reply(
                method, request, options: CallOptions(actor: actor, timeoutMilliseconds: milliseconds, minRevision: minRevision))
        }
    }
}

/// `--timeout`: sent as each call's `timeout_ms` (what is left of it), and
/// kept here as well, a little later than the daemon keeps it, so that a
/// daemon that does not answer at all cannot hold accessctl.
struct Deadline: Sendable {
    let end: ContinuousClock.Instant
    let timeout: Timeout

    /// Past the deadline, the daemon's own DEADLINE_EXCEEDED (which says
    /// why) has this long to arrive before accessctl gives up itself.
    static let grace = Duration.milliseconds(200)

    init(_ timeout: Timeout) {
        self.timeout = timeout
        end = .now + .milliseconds(Int64(timeout.milliseconds))
    }

    /// No reply in time; a write the daemon received may still be applied (it cannot be stopped).
    func exceeded(write: Bool) -> CallError {
        CallError(
            code: StatusCode.deadlineExceeded,
            message: "no reply within --timeout \(timeout)"
                + (write ? " (the write may still be applied: to retry it, give the same --idempotency-key)" : "")
        )
    }

    /// What is left for the daemon, in milliseconds (at least 1); throws once nothing is.
    func remainingMilliseconds() throws -> UInt32 {
        let left = end - .now
        guard left > .zero else { throw exceeded(write: false) }
        let (seconds, attoseconds) = left.components
        return UInt32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    /// `body`, or DEADLINE_EXCEEDED when it has not finished by the deadline
    /// and its grace (it is cancelled: a call in flight is sent a Cancel).
    static func run<T: Sendable>(
        _ deadline: Deadline?,
        write: Bool = false,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard let deadline else { return try await body() }
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(until: deadline.end + grace, clock: .continuous)
                throw deadline.exceeded(write: write)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

extension ConnectionOptions {
    /// The socket, found as accessd finds it, or the end of the command with
    /// exit status 78 when the config file that says where it is is broken.
    func socketPath() throws -> String {
        do {
            return try SocketDiscovery.socketPath(flag: socket, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw fail("\(error)", status: ExitStatus.config)
        }
    }

    /// Connects, throwing AccessClient's `CallError` as it is (for a caller
    /// that retries, such as a follower waiting for the daemon to come back).
    func connect() async throws -> AccessClient {
        try await AccessClient.connect(socketPath: try socketPath())
    }

    /// Connects, or ends the command with exit status 69 and
    /// `error: cannot reach accessd at PATH: WHY (HINT)`.
    func connectOrFail(deadline: Deadline? = nil) async throws -> AccessClient {
        let path = try socketPath()
        do {
            return try await Deadline.run(deadline) { try await AccessClient.connect(socketPath: path) }
        } catch let error as CallError where error.code == StatusCode.failedPrecondition {
            // A socket that cannot be trusted: the message says why and what to do.
            let prefix = "cannot connect to the daemon at \(path): "
            let detail = error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message
            throw fail("cannot reach accessd at \(path): \(detail)", status: ExitStatus.unavailable)
        } catch let error as CallError where error.code == StatusCode.deadlineExceeded {
            throw fail(
                "cannot reach accessd at \(path): no connection within --timeout \(timeout.map(\.text) ?? "")",
                status: ExitStatus.unavailable
            )
        } catch {
            throw fail(
                "cannot reach accessd at \(path): \(ConnectProblem.explain(socketPath: path))",
                status: ExitStatus.unavailable
            )
        }
    }

    /// Connects, runs `body` with the connection, closes it. A call that
    /// fails ends the command with exit status 2 and `error: CODE: message`.
    func withSession<T>(_ body: (Session) async throws -> T) async throws -> T {
        let deadline = timeout.flatMap { $0.milliseconds == 0 ? nil : Deadline($0) }
        let client = try await connectOrFail(deadline: deadline)
        do {
            let result = try await body(Session(client: client, actor: actor, deadline: deadline, readsNames: !json))
            await client.close()
            return result
        } catch let error as CallError {
            await client.close()
            throw fail("\(error.codeName): \(error.message)")
        } catch {
            await client.close()
            throw error
        }
    }

    /// One call on a connection of its own (see `withSession`).
    func call<Request, Response>(
        _ method: Method<Request, Response>,
        _ request: Request,
        write: WriteOptions? = nil
    ) async throws -> Response {
        try await withSession { try await $0.call(method, request, write: write) }
    }

    /// Prints a reply: one JSON document with `--json`, else `text()`'s
    /// lines (and, for a dry run, that nothing was changed).
    func output<Response: SwiftProtobuf.Message>(
        _ response: Response,
        write: WriteOptions? = nil,
        text: () -> String
    ) throws {
        if json {
            print(try JSONOutput.document(response))
        } else {
            let text = text()
            if !text.isEmpty { print(text) }
            if write?.dryRun == true { print("dry run: nothing was changed") }
        }
    }

    /// Calls `method` and prints the reply (see `output`).
    func run<Request, Response>(
        _ method: Method<Request, Response>,
        _ request: Request,
        write: WriteOptions? = nil,
        render: (Response) -> String
    ) async throws {
        let response = try await call(method, request, write: write)
        try output(response, write: write) { render(response) }
    }
}

/// Why connecting to a socket failed, in plain words with what to look at.
enum ConnectProblem {
    static func explain(socketPath path: String) -> String {
        let failure = probe(path)
        let directory = (path as NSString).deletingLastPathComponent
        switch failure {
        case ENOENT:
            var status = stat()
            if !directory.isEmpty, stat(directory, &status) != 0 {
                return
                    "no such directory \(directory) (is accessd running? under systemd: `systemctl status accessd.socket`)"
            }
            return "no such file (is accessd running? under systemd: `systemctl status accessd.socket`)"
        case EACCES, EPERM:
            return "permission denied (is this user in group accessd? `id -nG` lists yours; "
                + "a group added since the last login needs a new login)"
        case ECONNREFUSED:
            var status = stat()
            if lstat(path, &status) == 0, status.st_mode & S_IFMT != S_IFSOCK {
                return "\(path) is not a socket (give --socket the daemon's socket)"
            }
            return "nothing listens there (a socket left by a daemon that stopped? `systemctl status accessd`)"
        case ENOTDIR:
            return "a part of the path is not a directory"
        case EAGAIN:
            return "the daemon's queue of new connections is full; try again"
        case 0:
            return "the connection failed, then succeeded on a second try; try again"
        default:
            return String(cString: strerror(failure))
        }
    }

    /// The errno of a fresh blocking connect() to `path` (0: it connected).
    static func probe(_ path: String) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return ENAMETOOLONG }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0 ? 0 : errno
    }
}

// MARK: Output

/// A header line, then the rows, in columns aligned on the widest cell; the
/// last column is not padded.
func table(_ headers: [String], _ rows: [[String]]) -> String {
    let all = [headers] + rows
    var widths = Array(repeating: 0, count: headers.count)
    for row in all {
        for (index, cell) in row.enumerated() where index < widths.count {
            widths[index] = max(widths[index], cell.count)
        }
    }
    return all.map { row in
        var line = ""
        for (index, cell) in row.enumerated() {
            if index > 0 { line += "  " }
            line += index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }
        while line.last == " " { line.removeLast() }
        return line
    }.joined(separator: "\n")
}

/// `key: value` lines with the values aligned.
func block(_ pairs: [(String, String)]) -> String {
    let width = pairs.map { $0.0.count }.max() ?? 0
    return pairs.map { key, value in
        (key + ":").padding(toLength: width + 1, withPad: " ", startingAt: 0) + " " + value
    }.joined(separator: "\n")
}

func time(_ milliseconds: Int64) -> String {
    milliseconds == 0 ? "-" : Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
}

/// A duration as a person reads it: `45s`, `3m12s`, `2h05m`, `4d03h`.
func duration(_ milliseconds: Int64) -> String {
    let seconds = max(0, milliseconds / 1000)
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60)
    if days > 0 { return "\(days)d" + String(format: "%02dh", hours) }
    if hours > 0 { return "\(hours)h" + String(format: "%02dm", minutes) }
    if minutes > 0 { return "\(minutes)m" + String(format: "%02ds", seconds % 60) }
    return "\(seconds)s"
}

func list(_ items: [String]) -> String { items.isEmpty ? "-" : items.joined(separator: ",") }

/// `NAME (id)`, or the id alone when the name is not known.
func named(_ id: String, _ names: [String: String]) -> String {
    guard !id.isEmpty else { return "-" }
    return names[id].map { "\($0) (\(id))" } ?? id
}

// MARK: Enums by name

/// `editAccountSettings` -> `EDIT_ACCOUNT_SETTINGS`.
func upperSnake(_ camel: String) -> String {
    var out = ""
    for character in camel {
        if character.isUppercase, !out.isEmpty { out += "_" }
        out += character.uppercased()
    }
    return out
}

extension SwiftProtobuf.Enum where Self: CaseIterable {
    /// The proto name without its prefix, for example `EDIT_ACCOUNT_SETTINGS`.
    var name: String {
        if rawValue != 0, !Self.allCases.contains(self) { return "UNKNOWN_\(rawValue)" }
        return upperSnake(String(describing: self))
    }

    /// Names accepted on the command line (not UNSPECIFIED).
    static var names: [String] { allCases.map(\.name).filter { $0 != "UNSPECIFIED" } }

    /// Accepts `EDIT_ACCOUNT_SETTINGS`, `edit-account-settings`, `editAccountSettings`
    /// or the full proto name `PERMISSION_EDIT_ACCOUNT_SETTINGS`.
    static func parse(_ text: String) -> Self? {
        func key(_ s: String) -> String { s.lowercased().filter { $0 != "_" && $0 != "-" && $0 != " " } }
        let wanted = key(text)
        let prefix = key(String(describing: Self.self).replacingOccurrences(of: "Accessd_V1_", with: ""))
        return allCases.first { value in
            value.name != "UNSPECIFIED" && (key(value.name) == wanted || prefix + key(value.name) == wanted)
        }
    }
}

/// An enum of the protos as an option value: parsed by `parse`, its default
/// and its values shown by name (these members are more specific than
/// ArgumentParser's defaults for a RawRepresentable type, which would show
/// and take the numbers).
protocol EnumArgument: ExpressibleByArgument, SwiftProtobuf.Enum, CaseIterable {}

extension EnumArgument {
    init?(argument: String) {
        guard let value = Self.parse(argument) else { return nil }
        self = value
    }
    var defaultValueDescription: String { name }
    static var allValueStrings: [String] { names }
    static var allValueDescriptions: [String: String] { [:] }
    static var defaultCompletionKind: CompletionKind { .list(names) }
}

extension Accessd_V1_UserSortField: EnumArgument {}

extension Accessd_V1_AccountKind: EnumArgument {}

extension Accessd_V1_Region: EnumArgument {}

extension Accessd_V1_Permission: EnumArgument {}

extension Accessd_V1_UserStatus: EnumArgument {}

extension Accessd_V1_RoleAccess: EnumArgument {}

extension Accessd_V1_ProjectVisibility: EnumArgument {}

extension Accessd_V1_ProductKind: EnumArgument {}

/// Parses an enum option value by name (for lists: `--status PENDING,ACTIVE`).
func parseEnum<E: SwiftProtobuf.Enum & CaseIterable>(_ text: String) throws -> E {
    guard let value = E.parse(text) else {
        throw ValidationError("unknown value '\(text)'; one of \(E.names.joined(separator: ", "))")
    }
    return value
}

/// A comma-separated list option value (`--offices off_2,off_3`), also repeatable.
func splitList(_ values: [String]) -> [String] {
    values.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
}

/// Comma-separated permission names, also repeatable.
func parsePermissions(_ values: [String]) throws -> [Accessd_V1_Permission] {
    try splitList(values).map { text in
        guard let permission = Accessd_V1_Permission.parse(text) else {
            throw ValidationError(
                "unknown permission '\(text)'; one of \(Accessd_V1_Permission.names.joined(separator: ", "))"
            )
        }
        return permission
    }
}

// MARK: Rendering the common things

/// The events of a write's reply or of a listing, as a table.
func render(events: [Accessd_V1_Event]) -> String {
    table(
        ["SEQ", "TIME", "ACTOR", "EVENT", "SUBJECT", "CALLER"],
        events.map { event in
            let (kind, subject) = describe(event)
            let caller = event.hasCaller ? "uid \(event.caller.uid) pid \(event.caller.pid)" : "-"
            return [
                "\(event.seq)", time(event.timeMs), event.actor.isEmpty ? "-" : event.actor, kind,
                subject.isEmpty ? "-" : subject, caller,
            ]
        }
    )
}

/// `seq  time  actor  kind  subject  [uid U pid P]` for one event (the caller:
/// the peer that made the call), for a line printed as it comes.
func eventLine(_ event: Accessd_V1_Event) -> String {
    let (kind, subject) = describe(event)
    let caller = event.hasCaller ? "  uid \(event.caller.uid) pid \(event.caller.pid)" : ""
    return "\(event.seq)  \(time(event.timeMs))  \(event.actor)  \(kind)  \(subject)\(caller)"
}

/// An event's kind (`user_added`) and what it is about (an id, a link).
func describe(_ event: Accessd_V1_Event) -> (kind: String, subject: String) {
    var kind = "unknown"
    var subject = ""
    if let change = event.change {
        let child = Mirror(reflecting: change).children.first
        kind = upperSnake(child?.label ?? "unknown").lowercased()
        if let payload = child?.value {
            if let text = payload as? String {
                subject = text
            } else if let ids = payload as? Accessd_V1_OutboxMessageIds {
                subject = list(ids.ids)
            } else if let key = payload as? Accessd_V1_ClientLinkKey {
                subject = "\(key.agencyAccountID)->\(key.clientAccountID)"
            } else if let link = payload as? Accessd_V1_ClientLink {
                subject = "\(link.agencyAccountID)->\(link.clientAccountID)"
            } else if let activation = payload as? Accessd_V1_PendingActivation {
                subject = activation.userID
            } else if let id = Mirror(reflecting: payload).children.first(where: { $0.label == "id" })?.value as? String
            {
                subject = id
            }
        }
    }
    return (kind, subject)
}

/// A user; `roles` names their role (by id) when it could be read.
func render(user: Accessd_V1_User, roles: [String: String] = [:]) -> String {
    block([
        ("id", user.id), ("email", user.email), ("name", "\(user.firstName) \(user.lastName)"),
        ("account", user.accountID), ("role", named(user.roleID, roles)), ("status", user.status.name),
        ("extra permissions", list(user.extraPermissions.map(\.name))), ("offices", list(user.officeIds)),
        ("created", time(user.createdAtMs)), ("activated", time(user.activatedAtMs)),
        ("deactivated", time(user.deactivatedAtMs)),
    ])
}

func render(account: Accessd_V1_Account) -> String { block(accountPairs(account)) }

func accountPairs(_ account: Accessd_V1_Account) -> [(String, String)] {
    var pairs = [
        ("id", account.id), ("name", account.name), ("kind", account.kind.name), ("region", account.region.name),
        ("licenses", "\(account.licensesInUse) of \(account.fullAccessLicenses) in use"),
        ("created", time(account.createdAtMs)), ("updated", time(account.updatedAtMs)),
    ]
    if account.billing != Accessd_V1_Billing() { pairs += billingPairs(account.billing) }
    return pairs
}

func billingPairs(_ billing: Accessd_V1_Billing) -> [(String, String)] {
    [("billing email", billing.billingEmail), ("company", billing.companyName), ("address", billing.address)]
}

/// Through what a user reaches an account; `roles` names roles by id.
func render(path: Accessd_V1_AccessPath, roles: [String: String] = [:]) -> String {
    switch path.path {
    case .homeRoleID(let role): return "home role \(roles[role] ?? role)"
    case .shareID(let share): return "share \(share)"
    case .clientLink(let link):
        return "client link of \(link.agencyAccountID) as role \(roles[link.roleID] ?? link.roleID)"
    case nil: return "-"
    }
}

/// The role ids an access path names.
func roleIDs(of path: Accessd_V1_AccessPath) -> [String] {
    switch path.path {
    case .homeRoleID(let role): [role]
    case .clientLink(let link): [link.roleID]
    case .shareID, nil: []
    }
}

func render(scope: Accessd_V1_ShareScope) -> String {
    switch scope.scope {
    case .allCurrentAndNew: return "ALL_CURRENT_AND_NEW"
    case .products(let products): return list(products.productIds)
    case nil: return "-"
    }
}

/// Makes a line printed while following a stream visible at once through a pipe.
func fflushStandardOutput() {
    fflush(nil)
}
