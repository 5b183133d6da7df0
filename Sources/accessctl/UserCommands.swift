import AccessWire
import ArgumentParser
import SwiftProtobuf

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Users of an account.",
        subcommands: [
            Add.self, Get.self, Edit.self, Deactivate.self, Reactivate.self, ResendActivation.self, Activate.self,
            List.self,
        ])

    /// Calls a write whose reply is a user, and prints the user with their role's name.
    static func userReply<Request>(
        _ options: ConnectionOptions, _ write: WriteOptions, _ method: Method<Request, Accessd_V1_UserResponse>,
        _ request: (Session) async throws -> Request
    ) async throws {
        let (reply, roles) = try await options.withSession { session in
            let reply = try await session.call(method, try await request(session), write: write)
            // A token call (ActivateUser) has no --as: the user reads their own role.
            let reader = options.actor.isEmpty && method.path == Methods.activateUser.path ? reply.user.id : nil
            return (reply, await session.roleNames([reply.user.roleID], actor: reader))
        }
        try options.output(reply, write: write) { render(user: reply.user, roles: roles) }
    }

    /// A UserRequest for the user `user` names (an id or an email).
    static func userRequest(_ session: Session, _ user: UserArgument) async throws -> Accessd_V1_UserRequest {
        var request = Accessd_V1_UserRequest()
        request.userID = try await session.userID(user.user, account: user.account)
        return request
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user; they start PENDING and get an activation email (R8, R2).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Option(help: "The account id.") var account: String
        @Option(help: "The user's email.") var email: String
        @Option(help: "First name.") var firstName: String
        @Option(help: "Last name.") var lastName: String
        @Option(help: "A role id or name (\"Viewer\", \"Member\", \"Account Owner\").") var role: String
        @Option(help: "Extra permissions, comma-separated (EDIT_ACCOUNT_SETTINGS or edit-account-settings).")
        var permissions: [String] = []
        @Option(help: "Office ids, comma-separated.") var offices: [String] = []

        func run() async throws {
            var request = Accessd_V1_AddUserRequest()
            request.accountID = account
            request.email = email
            request.firstName = firstName
            request.lastName = lastName
            request.role = role
            request.extraPermissions = try parsePermissions(permissions)
            request.officeIds = splitList(offices)
            try await userReply(options, write, Methods.addUser) { _ in request }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a user.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var user: UserArgument

        func run() async throws {
            let (reply, roles) = try await options.withSession { session in
                var request = Accessd_V1_GetUserRequest()
                request.userID = try await session.userID(user.user, account: user.account)
                let reply = try await session.call(Methods.getUser, request)
                return (reply, await session.roleNames([reply.roleID]))
            }
            try options.output(reply) { render(user: reply, roles: roles) }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change names, email, offices, role and extra permissions at once; only what is given changes (R10).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var user: UserArgument
        @Option(help: "First name.") var firstName: String?
        @Option(help: "Last name.") var lastName: String?
        @Option(help: "Email.") var email: String?
        @Option(help: "A role id or name.") var role: String?
        @Option(help: "Replace the offices (comma-separated ids; \"\" for none).") var offices: [String] = []
        @Option(help: "Replace the extra permissions (comma-separated; \"\" for none).") var permissions: [String] = []

        func run() async throws {
            var request = Accessd_V1_EditUserRequest()
            if let firstName { request.firstName = firstName }
            if let lastName { request.lastName = lastName }
            if let email { request.email = email }
            request.role = role ?? ""
            if !offices.isEmpty {
                request.setOffices = true
                request.officeIds = splitList(offices)
            }
            if !permissions.isEmpty {
                request.setExtraPermissions = true
                request.extraPermissions = try parsePermissions(permissions)
            }
            try await userReply(options, write, Methods.editUser) { session in
                var request = request
                request.userID = try await session.userID(user.user, account: user.account)
                return request
            }
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deactivate a user and free their license (R11, R5).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var user: UserArgument
        func run() async throws { try await userReply(options, write, Methods.deactivateUser) { try await userRequest($0, user) } }
    }

    struct Reactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reactivate a user if a license is free (R11, R2).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var user: UserArgument
        func run() async throws { try await userReply(options, write, Methods.reactivateUser) { try await userRequest($0, user) } }
    }

    struct ResendActivation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resend-activation", abstract: "Issue a new activation to a PENDING user (R9).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @OptionGroup var user: UserArgument
        func run() async throws { try await userReply(options, write, Methods.resendActivation) { try await userRequest($0, user) } }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Activate a user with their token (no --as needed, R9).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The activation token.") var token: String

        func run() async throws {
            var request = Accessd_V1_ActivateUserRequest()
            request.token = token
            try await userReply(options, write, Methods.activateUser) { _ in request }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List, sort, search and filter users (R12).")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "The account id.") var account: String
        @Option(help: "The column to sort by (default: NAME).") var sort: Accessd_V1_UserSortField?
        @Flag(help: "Sort descending.") var descending = false
        @Option(help: "A substring of the name or email.") var search: String = ""
        @Option(help: "Statuses, comma-separated (PENDING, ACTIVE, DEACTIVATED).") var status: [String] = []
        @Option(help: "Roles (ids or names), comma-separated.") var roles: [String] = []
        @Option(help: "Office ids, comma-separated.") var offices: [String] = []
        @Option(help: "Users holding every one of these permissions.") var permissions: [String] = []
        @Option(help: "Users per page, at most 1000.") var pageSize: UInt32 = 50
        @Option(help: "The page token of a previous reply.") var pageToken: String = ""

        func run() async throws {
            var request = Accessd_V1_ListUsersRequest()
            request.accountID = account
            request.sortBy = sort ?? .name
            request.descending = descending
            request.search = search
            request.statuses = try splitList(status).map { try parseEnum($0) }
            request.officeIds = splitList(offices)
            request.permissions = try parsePermissions(permissions)
            request.pageSize = pageSize
            request.pageToken = pageToken
            let reply = try await options.withSession { session in
                request.roleIds = try await session.roleIDs(splitList(roles), account: account)
                return try await session.call(
                    Methods.listUsers, request)
            }
            try options.output(reply) {
                let rows = reply.users.map { user in
                    [
                        user.id, "\(user.firstName) \(user.lastName)", user.email, user.status.name, user.roleName,
                        list(user.permissions.map(\.name)), list(user.offices.map(\.name)),
                    ]
                }
                var text = table(["ID", "NAME", "EMAIL", "STATUS", "ROLE", "PERMISSIONS", "OFFICES"], rows)
                text += "\n\(reply.totalMatching) of \(reply.totalUsers) users; licenses \(reply.licensesInUse) of \(reply.licenseCount) in use"
                if !reply.nextPageToken.isEmpty { text += "\nnext page: --page-token \(reply.nextPageToken)" }
                return text
            }
        }
    }
}

/// A user named by id or email, and where to find an email.
struct UserArgument: ParsableArguments {
    @Argument(help: "The user's id or email.") var user: String
    @Option(
        help: "With an email: the account to find it in (default: the user's own when they are ACTIVE, else that of --as).")
    var account: String?
}
