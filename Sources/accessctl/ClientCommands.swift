import AccessWire
import ArgumentParser
import SwiftProtobuf

/// `--agency ACC --client ACC`.
struct LinkOptions: ParsableArguments {
    @Option(help: "The AGENCY or PARTNER account id.") var agency: String
    @Option(help: "The client (STANDARD) account id.") var client: String

    var request: Accessd_V1_ClientLinkRequest {
        var request = Accessd_V1_ClientLinkRequest()
        request.agencyAccountID = agency
        request.clientAccountID = client
        return request
    }
}

struct Clients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Agency and partner clients (R18).",
        subcommands: [
            Add.self, Request.self, Approve.self, Deny.self, Revoke.self, Remove.self, List.self, Agencies.self,
        ]
    )

    /// A link; `roles` names the client's role the agency acts with.
    static func show(_ link: Accessd_V1_ClientLink, roles: [String: String]) -> String {
        block([
            ("agency", link.agencyAccountID), ("client", link.clientAccountID), ("status", link.status.name),
            ("role", named(link.roleID, roles)), ("added by", link.addedBy),
        ])
    }

    static func links(_ reply: Accessd_V1_ListClientLinksResponse, roles: [String: String]) -> String {
        table(
            ["AGENCY", "CLIENT", "STATUS", "ROLE", "UPDATED"],
            reply.links.map {
                [
                    $0.agencyAccountID, $0.clientAccountID, $0.status.name,
                    $0.roleID.isEmpty ? "-" : roles[$0.roleID] ?? $0.roleID, time($0.updatedAtMs),
                ]
            }
        )
    }

    /// A write whose reply is a link, printed with its role's name.
    static func linkCall<Request>(
        _ options: ConnectionOptions,
        _ write: WriteOptions,
        _ method: Method<Request, Accessd_V1_ClientLinkResponse>,
        _ request: Request
    ) async throws {
        let (reply, roles) = try await options.withSession { session in
            let reply = try await session.call(method, request, write: write)
            return (reply, await session.roleNames([reply.link.roleID]))
        }
        try options.output(reply, write: write) { show(reply.link, roles: roles) }
    }

    /// A read of links, printed with their roles' names.
    static func listCall<Request>(
        _ options: ConnectionOptions,
        _ method: Method<Request, Accessd_V1_ListClientLinksResponse>,
        _ request: Request
    ) async throws {
        let (reply, roles) = try await options.withSession { session in
            let reply = try await session.call(method, request)
            return (reply, await session.roleNames(reply.links.map(\.roleID)))
        }
        try options.output(reply) { links(reply, roles: roles) }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The agency adds a client (MANAGE_CLIENTS).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var link: LinkOptions
        func run() async throws { try await linkCall(options, write, Methods.addClient, link.request) }
    }

    struct Request: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The agency asks the client for access.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var link: LinkOptions
        func run() async throws { try await linkCall(options, write, Methods.requestAccess, link.request) }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The client approves, choosing the role the agency acts with (EDIT_ACCOUNT_SETTINGS)."
        )
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var link: LinkOptions
        @Option(help: "A role id or name of the client (default: Member).") var role: String?

        func run() async throws {
            var request = Accessd_V1_ApproveAccessRequest()
            request.agencyAccountID = link.agency
            request.clientAccountID = link.client
            request.role = role ?? ""
            try await linkCall(options, write, Methods.approveAccess, request)
        }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The client denies the request.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var link: LinkOptions
        func run() async throws { try await linkCall(options, write, Methods.denyAccess, link.request) }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The client ends an approval at once.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var link: LinkOptions
        func run() async throws { try await linkCall(options, write, Methods.revokeAccess, link.request) }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The agency removes the client; any access ends.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var link: LinkOptions

        func run() async throws {
            try await options.run(
                Methods.removeClient,
                link.request,
                write: write
            ) {
                render(events: $0.events)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An agency's clients (MANAGE_CLIENTS).")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "The agency account id.") var agency: String

        func run() async throws {
            var request = Accessd_V1_ListClientsRequest()
            request.agencyAccountID = agency
            try await listCall(options, Methods.listClients, request)
        }
    }

    struct Agencies: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A client's agencies and their requests.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "The client account id.") var client: String

        func run() async throws {
            var request = Accessd_V1_ListAgenciesRequest()
            request.clientAccountID = client
            try await listCall(options, Methods.listAgencies, request)
        }
    }
}
