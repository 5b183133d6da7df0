import AccessStatus
import Foundation
import AccessWire
import ArgumentParser

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "May a user do something in an account, and why (R19)?",
        discussion: """
            Exit status 0 when allowed, 1 when denied (as accessd-check and `kubectl auth can-i` answer), \
            2 when the daemon refused the call (an unknown user or account: NOT_FOUND), 69 when it cannot be reached.

            With --batch FILE (- for standard input), many checks in BatchCheck calls of --batch-size: one check \
            per line, `USER ACCOUNT PERMISSION [PROJECT-OR-PRODUCT-ID]` separated by spaces (# starts a comment), \
            or a JSON array of objects {"user", "account", "permission", "project" or "product"}. One row per \
            check, in order; exit status 0 when every check is allowed, 1 when one is denied, 2 when one failed \
            (its error in the row) or the daemon refused a call.
            """
    )
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The user's id or email.") var user: String?
    @Option(help: "The account id.") var account: String?
    @Option(help: "The permission (MANAGE_PRODUCTS or manage-products).") var permission: Accessd_V1_Permission?
    @Option(help: "A project id to check on.") var project: String?
    @Option(help: "A product id to check on.") var product: String?
    @Option(help: "Checks to read from a file (- for standard input), answered with BatchCheck.") var batch: String?
    @Option(help: "Checks per BatchCheck call (the daemon's max_batch_checks bounds it).")
    var batchSize: Int = 1000

    func validate() throws {
        if project != nil, product != nil { throw ValidationError("give --project or --product, not both") }
        if batch != nil {
            if user != nil || account != nil || permission != nil || project != nil || product != nil {
                throw ValidationError("--batch reads every check from its file: give no --user, --account, --permission, --project or --product")
            }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        } else if user == nil || account == nil || permission == nil {
            throw ValidationError("give --user, --account and --permission (or --batch FILE)")
        }
    }

    func run() async throws {
        if let batch { return try await runBatch(file: batch) }
        var request = Accessd_V1_CheckRequest()
        request.user = user!
        request.accountID = account!
        request.permission = permission!
        if let project { request.projectID = project }
        if let product { request.productID = product }
        let (reply, roles) = try await options.withSession { session in
            let reply = try await session.call(
                Methods.check,
                request
            )
            return (reply, await session.roleNames(roleIDs(of: reply.path), otherwise: user!))
        }
        try options.output(reply) {
            var pairs = [
                ("allowed", reply.allowed ? "yes" : "no"), ("through", render(path: reply.path, roles: roles)),
                ("reason", reply.reason),
            ]
            if !reply.deniedBy.isEmpty { pairs.append(("denied by", reply.deniedBy)) }
            return block(pairs)
        }
        if !reply.allowed { throw ExitStatus.no }
    }

    private func runBatch(file: String) async throws {
        let text: String
        do {
            text =
                file == "-"
                ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                : try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw fail("cannot read \(file): \((error as NSError).localizedDescription)", status: ExitStatus.noInput)
        }
        let checks: [Accessd_V1_CheckRequest]
        do {
            checks = try BatchFile.checks(in: text)
        } catch let error as BatchFile.Problem {
            throw fail("\(file): \(error.message)", status: ExitStatus.usage)
        }
        var reply = Accessd_V1_BatchCheckResponse()
        try await options.withSession { session in
            var revision: UInt64 = 0
            for start in stride(from: 0, to: checks.count, by: batchSize) {
                var request = Accessd_V1_BatchCheckRequest()
                request.checks = Array(checks[start..<min(start + batchSize, checks.count)])
                // Each call reads a state at least as new as the one before.
                let answer = try await session.reply(Methods.batchCheck, request, minRevision: revision)
                revision = answer.revision
                reply.results += try answer.decode(as: Accessd_V1_BatchCheckResponse.self).results
            }
        }
        try options.output(reply) {
            let rows = zip(checks, reply.results).map { check, result -> [String] in
                let resource = check.projectID.isEmpty ? check.productID : check.projectID
                let (allowed, reason): (String, String) =
                    result.code == 0
                    ? (result.response.allowed ? "yes" : "no", result.response.reason)
                    : ("error", "\(StatusCode(rawValue: Int(result.code))?.name ?? "code \(result.code)"): \(result.message)")
                return [check.user, check.accountID, check.permission.name, resource.isEmpty ? "-" : resource, allowed, reason]
            }
            return table(["USER", "ACCOUNT", "PERMISSION", "ON", "ALLOWED", "REASON"], rows)
        }
        if reply.results.contains(where: { $0.code != 0 }) { throw ExitStatus.callFailed }
        if reply.results.contains(where: { !$0.response.allowed }) { throw ExitStatus.no }
    }
}

/// The checks of a `check --batch` file: lines of words, or a JSON array.
enum BatchFile {
    struct Problem: Error {
        var message: String
    }

    static func checks(in text: String) throws -> [Accessd_V1_CheckRequest] {
        if text.drop(while: { $0.isWhitespace }).first == "[" { return try jsonChecks(in: text) }
        var checks: [Accessd_V1_CheckRequest] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if words.isEmpty { continue }
            guard words.count == 3 || words.count == 4 else {
                throw Problem(
                    message: "line \(index + 1) has \(words.count) words; a check is USER ACCOUNT PERMISSION [PROJECT-OR-PRODUCT-ID]")
            }
            checks.append(try check(user: words[0], account: words[1], permission: words[2], on: words.count == 4 ? words[3] : nil, at: "line \(index + 1)"))
        }
        return checks
    }

    private static func jsonChecks(in text: String) throws -> [Accessd_V1_CheckRequest] {
        guard let items = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else {
            throw Problem(message: "not a JSON array of checks")
        }
        return try items.enumerated().map { index, item in
            let place = "item \(index + 1)"
            guard let object = item as? [String: Any] else { throw Problem(message: "\(place) is not an object") }
            let known: Set<String> = ["user", "account", "permission", "project", "product"]
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw Problem(message: "\(place) has an unknown key '\(unknown)'; the keys are \(known.sorted().joined(separator: ", "))")
            }
            func field(_ key: String) throws -> String? {
                guard let value = object[key] else { return nil }
                guard let text = value as? String else { throw Problem(message: "\(place): '\(key)' is not a string") }
                return text
            }
            guard let user = try field("user"), let account = try field("account"), let permission = try field("permission") else {
                throw Problem(message: "\(place) needs 'user', 'account' and 'permission'")
            }
            let project = try field("project")
            let product = try field("product")
            if project != nil, product != nil { throw Problem(message: "\(place) names a project and a product; give one") }
            var check = try check(user: user, account: account, permission: permission, on: nil, at: place)
            if let project { check.projectID = project }
            if let product { check.productID = product }
            return check
        }
    }

    private static func check(user: String, account: String, permission: String, on resource: String?, at place: String) throws
        -> Accessd_V1_CheckRequest
    {
        var check = Accessd_V1_CheckRequest()
        check.user = user
        check.accountID = account
        guard let parsed = Accessd_V1_Permission.parse(permission) else {
            throw Problem(message: "\(place): unknown permission '\(permission)'; one of \(Accessd_V1_Permission.names.joined(separator: ", "))")
        }
        check.permission = parsed
        if let resource {
            if resource.hasPrefix("prj_") {
                check.projectID = resource
            } else if resource.hasPrefix("prd_") {
                check.productID = resource
            } else {
                throw Problem(message: "\(place): '\(resource)' is neither a project id (prj_...) nor a product id (prd_...)")
            }
        }
        return check
    }
}

struct Accessible: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every account a user can act in, and through what (R19)."
    )
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The user's id or email.") var user: String

    func run() async throws {
        var request = Accessd_V1_ListAccessibleAccountsRequest()
        request.user = user
        let (reply, roles) = try await options.withSession { session in
            let reply = try await session.call(
                Methods.listAccessibleAccounts,
                request
            )
            return (reply, await session.roleNames(reply.accounts.flatMap { roleIDs(of: $0.path) }, otherwise: user))
        }
        try options.output(reply) {
            table(
                ["ACCOUNT", "NAME", "THROUGH", "PERMISSIONS"],
                reply.accounts.map {
                    [$0.accountID, $0.name, render(path: $0.path, roles: roles), list($0.permissions.map(\.name))]
                }
            )
        }
    }
}
