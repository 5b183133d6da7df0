import AccessClient
import AccessWire
import ArgumentParser
import Foundation
import SwiftProtobuf

// MARK: Calling

/// Prints `error: TEXT` on stderr and ends the command with exit status 1.
func fail(_ text: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(text)\n".utf8))
    return ExitCode.failure
}

extension ConnectionOptions {
    var socketPath: String {
        SocketDiscovery.socketPath(flag: socket, environment: ProcessInfo.processInfo.environment)
    }

    /// Connects, or ends the command with `error: cannot reach accessd at PATH: ...`.
    func connectOrFail() async throws -> AccessClient {
        let path = socketPath
        do {
            return try await AccessClient.connect(socketPath: path)
        } catch let error as CallError {
            let prefix = "cannot connect to the daemon at \(path): "
            let detail = error.message.hasPrefix(prefix) ? String(error.message.dropFirst(prefix.count)) : error.message
            throw fail("cannot reach accessd at \(path): \(detail)")
        } catch {
            throw fail("cannot reach accessd at \(path): \(error)")
        }
    }

    /// One unary call: connects, calls `method` with `request`, closes; a
    /// non-OK reply ends the command with `error: CODE: message`.
    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ request: Request, as type: Response.Type = Response.self
    ) async throws -> Response {
        let client = try await connectOrFail()
        do {
            let response = try await client.call(
                method, request, as: type, actor: actor, dryRun: dryRun, idempotencyKey: idempotencyKey)
            await client.close()
            return response
        } catch let error as CallError {
            await client.close()
            throw fail("\(error.codeName): \(error.message)")
        }
    }

    /// Calls `method` and prints the reply: JSON with `--json`, else `render`'s lines.
    func run<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: String, _ request: Request, as type: Response.Type = Response.self,
        render: (Response) -> String
    ) async throws {
        let response = try await call(method, request, as: type)
        if json {
            print(try response.jsonString())
        } else {
            let text = render(response)
            if !text.isEmpty { print(text) }
            if dryRun { print("dry run: nothing was changed") }
        }
    }
}

// MARK: Output

/// Columns aligned on the widest cell; the last column is not padded.
func table(_ headers: [String], _ rows: [[String]]) -> String {
    let all = [headers] + rows
    var widths = Array(repeating: 0, count: headers.count)
    for row in all {
        for (index, cell) in row.enumerated() where index < widths.count {
            widths[index] = max(widths[index], cell.count)
        }
    }
    return all.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
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

func list(_ items: [String]) -> String { items.isEmpty ? "-" : items.joined(separator: ",") }

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

/// Parses an enum option value by name (`@Option(transform: parseEnum)`).
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
            throw ValidationError("unknown permission '\(text)'; one of \(Accessd_V1_Permission.names.joined(separator: ", "))")
        }
        return permission
    }
}

// MARK: Rendering the common things

func render(events: [Accessd_V1_Event]) -> String {
    events.map(eventLine).joined(separator: "\n")
}

/// `seq  time  actor  kind  subject  [uid U pid P]` for one event (the caller: the peer that made the call).
func eventLine(_ event: Accessd_V1_Event) -> String {
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
            } else if let id = Mirror(reflecting: payload).children.first(where: { $0.label == "id" })?.value as? String {
                subject = id
            }
        }
    }
    let caller = event.hasCaller ? "  uid \(event.caller.uid) pid \(event.caller.pid)" : ""
    return "\(event.seq)  \(time(event.timeMs))  \(event.actor)  \(kind)  \(subject)\(caller)"
}

func render(user: Accessd_V1_User) -> String {
    block([
        ("id", user.id), ("email", user.email), ("name", "\(user.firstName) \(user.lastName)"),
        ("account", user.accountID), ("role", user.roleID), ("status", user.status.name),
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

func render(path: Accessd_V1_AccessPath) -> String {
    switch path.path {
    case .homeRoleID(let role): return "home role \(role)"
    case .shareID(let share): return "share \(share)"
    case .clientLink(let link): return "client link of \(link.agencyAccountID) as role \(link.roleID)"
    case nil: return "-"
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
