import AccessWire
import ArgumentParser

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "May a user do something in an account, and why (R19)?",
        discussion: """
            Exit status 0 when allowed, 1 when denied (as accessd-check and `kubectl auth can-i` answer), \
            2 when the daemon refused the call (an unknown user or account: NOT_FOUND), 69 when it cannot be reached.
            """
    )
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The user's id or email.") var user: String
    @Option(help: "The account id.") var account: String
    @Option(help: "The permission (MANAGE_PRODUCTS or manage-products).") var permission: Accessd_V1_Permission
    @Option(help: "A project id to check on.") var project: String?
    @Option(help: "A product id to check on.") var product: String?

    func validate() throws {
        if project != nil, product != nil { throw ValidationError("give --project or --product, not both") }
    }

    func run() async throws {
        var request = Accessd_V1_CheckRequest()
        request.user = user
        request.accountID = account
        request.permission = permission
        if let project { request.projectID = project }
        if let product { request.productID = product }
        let (reply, roles) = try await options.withSession { session in
            let reply = try await session.call(
                Methods.check,
                request
            )
            return (reply, await session.roleNames(roleIDs(of: reply.path), otherwise: user))
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
