import AccessWire
import ArgumentParser

struct ShareCommands: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share", abstract: "Shared access between accounts (R16, R17).",
        subcommands: [Grant.self, ListShares.self, Mine.self, Remove.self, Retire.self])

    static func shareID(_ share: String) -> Accessd_V1_ShareIdRequest {
        var request = Accessd_V1_ShareIdRequest()
        request.shareID = share
        return request
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Share this account's products (and billing) with a user of another STANDARD account (SHARE_ACCESS).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Option(help: "The owner account id.") var account: String
        @Option(help: "The grantee's email (a user of another STANDARD account of the same region).") var email: String
        @Option(help: "Product ids, comma-separated; none = every current and new product.") var products: [String] = []
        @Flag(help: "Also let the grantee view and edit billing.") var billing = false

        func run() async throws {
            var request = Accessd_V1_ShareAccessRequest()
            request.ownerAccountID = account
            request.granteeEmail = email
            let ids = splitList(products)
            if ids.isEmpty {
                request.scope.allCurrentAndNew = true
            } else {
                request.scope.products.productIds = ids
            }
            request.billing = billing
            try await options.run(
                Methods.shareAccess, request, write: write
            ) {
                block([
                    ("id", $0.share.id), ("owner account", $0.share.ownerAccountID),
                    ("grantee", "\(email) (\($0.share.granteeUserID))"),
                    ("products", render(scope: $0.share.scope)), ("billing", $0.share.billing ? "yes" : "no"),
                ])
            }
        }
    }

    struct ListShares: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "Whom this account already shared with (SHARE_ACCESS).")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "The owner account id.") var account: String

        func run() async throws {
            var request = Accessd_V1_ListSharedWithRequest()
            request.ownerAccountID = account
            try await options.run(Methods.listSharedWith, request) {
                table(
                    ["ID", "EMAIL", "NAME", "PRODUCTS", "BILLING", "SINCE"],
                    $0.shares.map {
                        [
                            $0.share.id, $0.granteeEmail, $0.granteeName, render(scope: $0.share.scope),
                            $0.share.billing ? "yes" : "no", time($0.share.createdAtMs),
                        ]
                    })
            }
        }
    }

    struct Mine: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What was shared with the actor (--as).")
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            try await options.run(
                Methods.listSharedWithMe, Accessd_V1_ListSharedWithMeRequest()
            ) {
                table(
                    ["ID", "ACCOUNT", "ACCOUNT NAME", "PRODUCTS", "BILLING", "SINCE"],
                    $0.shares.map {
                        [
                            $0.share.id, $0.share.ownerAccountID, $0.ownerAccountName, render(scope: $0.share.scope),
                            $0.share.billing ? "yes" : "no", time($0.share.createdAtMs),
                        ]
                    })
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The owner side removes a share (SHARE_ACCESS).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The share id.") var share: String

        func run() async throws {
            try await options.run(
                Methods.removeShare, ShareCommands.shareID(share),
                write: write
            ) {
                render(events: $0.events)
            }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The grantee steps away from a share.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The share id.") var share: String

        func run() async throws {
            try await options.run(
                Methods.retireShare, ShareCommands.shareID(share),
                write: write
            ) {
                render(events: $0.events)
            }
        }
    }
}
