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

    static func userReply(_ options: ConnectionOptions, _ rpc: String, _ request: some SwiftProtobuf.Message) async throws {
        try await options.run("/accessd.v1.UserService/\(rpc)", request, as: Accessd_V1_UserResponse.self) {
            render(user: $0.user)
        }
    }

    static func userRequest(_ user: String) -> Accessd_V1_UserRequest {
        var request = Accessd_V1_UserRequest()
        request.userID = user
        return request
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user; they start PENDING and get an activation email (R8, R2).")
        @OptionGroup var options: ConnectionOptions
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
            try await userReply(options, "AddUser", request)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a user.")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The user id.") var user: String

        func run() async throws {
            var request = Accessd_V1_GetUserRequest()
            request.userID = user
            try await options.run("/accessd.v1.UserService/GetUser", request, as: Accessd_V1_User.self) {
                render(user: $0)
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change names, email, offices, role and extra permissions at once; only what is given changes (R10).")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The user id.") var user: String
        @Option(help: "First name.") var firstName: String?
        @Option(help: "Last name.") var lastName: String?
        @Option(help: "Email.") var email: String?
        @Option(help: "A role id or name.") var role: String?
        @Option(help: "Replace the offices (comma-separated ids; \"\" for none).") var offices: [String] = []
        @Option(help: "Replace the extra permissions (comma-separated; \"\" for none).") var permissions: [String] = []

        func run() async throws {
            var request = Accessd_V1_EditUserRequest()
            request.userID = user
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
            try await userReply(options, "EditUser", request)
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deactivate a user and free their license (R11, R5).")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The user id.") var user: String
        func run() async throws { try await userReply(options, "DeactivateUser", userRequest(user)) }
    }

    struct Reactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reactivate a user if a license is free (R11, R2).")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The user id.") var user: String
        func run() async throws { try await userReply(options, "ReactivateUser", userRequest(user)) }
    }

    struct ResendActivation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resend-activation", abstract: "Issue a new activation to a PENDING user (R9).")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The user id.") var user: String
        func run() async throws { try await userReply(options, "ResendActivation", userRequest(user)) }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Activate a user with their token (no --as needed, R9).")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The activation token.") var token: String

        func run() async throws {
            var request = Accessd_V1_ActivateUserRequest()
            request.token = token
            try await userReply(options, "ActivateUser", request)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List, sort, search and filter users (R12).")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "The account id.") var account: String
        @Option(help: "NAME, EMAIL, STATUS, ROLE, PERMISSIONS or OFFICES.", transform: parseEnum)
        var sort: Accessd_V1_UserSortField = .name
        @Flag(help: "Sort descending.") var descending = false
        @Option(help: "A substring of the name or email.") var search: String = ""
        @Option(help: "Statuses, comma-separated (PENDING, ACTIVE, DEACTIVATED).") var status: [String] = []
        @Option(help: "Role ids, comma-separated.") var roles: [String] = []
        @Option(help: "Office ids, comma-separated.") var offices: [String] = []
        @Option(help: "Users holding every one of these permissions.") var permissions: [String] = []
        @Option(help: "Page size (default 50, at most 1000).") var pageSize: UInt32 = 0
        @Option(help: "The page token of a previous reply.") var pageToken: String = ""

        func run() async throws {
            var request = Accessd_V1_ListUsersRequest()
            request.accountID = account
            request.sortBy = sort
            request.descending = descending
            request.search = search
            request.statuses = try splitList(status).map { try parseEnum($0) }
            request.roleIds = splitList(roles)
            request.officeIds = splitList(offices)
            request.permissions = try parsePermissions(permissions)
            request.pageSize = pageSize
            request.pageToken = pageToken
            try await options.run("/accessd.v1.UserService/ListUsers", request, as: Accessd_V1_ListUsersResponse.self) { reply in
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
