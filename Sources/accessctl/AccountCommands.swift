import AccessWire
import ArgumentParser

struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accounts, licenses and billing.",
        subcommands: [
            Create.self, Get.self, List.self, Rename.self, SetLicenses.self, GetBilling.self, UpdateBilling.self,
        ])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account and its first user as Account Owner (administrators, R1).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Option(help: "The account's name.") var name: String
        @Option(help: "The kind of account (default: STANDARD).") var kind: Accessd_V1_AccountKind?
        @Option(help: "The region its users' emails are unique in (default: GLOBAL).") var region: Accessd_V1_Region?
        @Option(help: "Full-Access licenses.") var licenses: UInt32 = 1
        @Option(help: "The owner's email.") var ownerEmail: String
        @Option(help: "The owner's first name.") var ownerFirstName: String
        @Option(help: "The owner's last name.") var ownerLastName: String
        @OptionGroup var billing: BillingOptions

        func run() async throws {
            var request = Accessd_V1_CreateAccountRequest()
            request.name = name
            request.kind = kind ?? .standard
            request.region = region ?? .global
            request.fullAccessLicenses = licenses
            request.ownerEmail = ownerEmail
            request.ownerFirstName = ownerFirstName
            request.ownerLastName = ownerLastName
            if billing.isSet { request.billing = billing.message }
            try await options.run(
                Methods.createAccount, request, write: write
            ) {
                block(accountPairs($0.account) + [("owner", "\($0.owner.id) \($0.owner.email)")])
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an account.")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The account id.") var account: String

        func run() async throws {
            var request = Accessd_V1_GetAccountRequest()
            request.accountID = account
            try await options.run(Methods.getAccount, request) {
                render(account: $0)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every account, by id (oldest first), a page at a time (administrators).")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "Accounts per page, at most 1000.") var pageSize: UInt32 = 100
        @Option(help: "The page token of a previous reply.") var pageToken: String = ""
        @Flag(help: "Every page, one after another (one reply: every account, no next page token).") var all = false

        func run() async throws {
            var request = Accessd_V1_ListAccountsRequest()
            request.pageSize = pageSize
            request.pageToken = pageToken
            let reply = try await options.withSession { session in
                var reply = try await session.call(
                    Methods.listAccounts, request)
                while all, !reply.nextPageToken.isEmpty {
                    request.pageToken = reply.nextPageToken
                    let next = try await session.call(
                        Methods.listAccounts, request)
                    reply.accounts += next.accounts
                    reply.nextPageToken = next.nextPageToken
                }
                return reply
            }
            try options.output(reply) {
                var text = table(
                    ["ID", "NAME", "KIND", "REGION", "LICENSES", "CREATED"],
                    reply.accounts.map {
                        [
                            $0.id, $0.name, $0.kind.name, $0.region.name,
                            "\($0.licensesInUse) of \($0.fullAccessLicenses)", time($0.createdAtMs),
                        ]
                    })
                if !reply.nextPageToken.isEmpty { text += "\nnext page: --page-token \(reply.nextPageToken)" }
                return text
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename an account (EDIT_ACCOUNT_SETTINGS).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The account id.") var account: String
        @Option(help: "The new name.") var name: String

        func run() async throws {
            var request = Accessd_V1_RenameAccountRequest()
            request.accountID = account
            request.name = name
            try await options.run(
                Methods.renameAccount, request, write: write
            ) {
                render(events: $0.events)
            }
        }
    }

    struct SetLicenses: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-licenses", abstract: "Change the number of Full-Access licenses (administrators, R3).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The account id.") var account: String
        @Option(help: "The new license count.") var count: UInt32

        func run() async throws {
            var request = Accessd_V1_SetLicenseCountRequest()
            request.accountID = account
            request.count = count
            try await options.run(
                Methods.setLicenseCount, request, write: write
            ) {
                render(events: $0.events)
            }
        }
    }

    struct GetBilling: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "billing", abstract: "Show an account's billing (VIEW_BILLING).")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The account id.") var account: String

        func run() async throws {
            var request = Accessd_V1_GetBillingRequest()
            request.accountID = account
            try await options.run(Methods.getBilling, request) {
                block(billingPairs($0))
            }
        }
    }

    struct UpdateBilling: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update-billing", abstract: "Replace an account's billing (EDIT_BILLING).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The account id.") var account: String
        @OptionGroup var billing: BillingOptions

        func run() async throws {
            var request = Accessd_V1_UpdateBillingRequest()
            request.accountID = account
            request.billing = billing.message
            try await options.run(
                Methods.updateBilling, request, write: write
            ) {
                render(events: $0.events)
            }
        }
    }
}

struct BillingOptions: ParsableArguments {
    @Option(help: "The billing email.") var billingEmail: String?
    @Option(help: "The company name on invoices.") var company: String?
    @Option(help: "The billing address.") var address: String?

    var isSet: Bool { billingEmail != nil || company != nil || address != nil }

    var message: Accessd_V1_Billing {
        var billing = Accessd_V1_Billing()
        billing.billingEmail = billingEmail ?? ""
        billing.companyName = company ?? ""
        billing.address = address ?? ""
        return billing
    }
}
