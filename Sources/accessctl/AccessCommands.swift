import AccessWire
import ArgumentParser

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "May a user do something in an account, and why (R19)?")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The user's id or email.") var user: String
    @Option(help: "The account id.") var account: String
    @Option(help: "A permission (MANAGE_PRODUCTS or manage-products).", transform: parseEnum)
    var permission: Accessd_V1_Permission
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
        try await options.run("/accessd.v1.AccessService/Check", request, as: Accessd_V1_CheckResponse.self) {
            var pairs = [("allowed", $0.allowed ? "yes" : "no"), ("through", render(path: $0.path)), ("reason", $0.reason)]
            if !$0.deniedBy.isEmpty { pairs.append(("denied by", $0.deniedBy)) }
            return block(pairs)
        }
    }
}

struct Accessible: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Every account a user can act in, and through what (R19).")
    @OptionGroup var options: ConnectionOptions
    @Option(help: "The user's id or email.") var user: String

    func run() async throws {
        var request = Accessd_V1_ListAccessibleAccountsRequest()
        request.user = user
        try await options.run(
            "/accessd.v1.AccessService/ListAccessibleAccounts", request, as: Accessd_V1_ListAccessibleAccountsResponse.self
        ) {
            table(
                ["ACCOUNT", "NAME", "THROUGH", "PERMISSIONS"],
                $0.accounts.map { [$0.accountID, $0.name, render(path: $0.path), list($0.permissions.map(\.name))] })
        }
    }
}
