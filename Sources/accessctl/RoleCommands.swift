import AccessWire
import ArgumentParser

struct Roles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roles of an account (R4, R10).", subcommands: [Create.self, Get.self, List.self, Edit.self, Delete.self])

    static func show(role: Accessd_V1_Role) -> String {
        block([
            ("id", role.id), ("account", role.accountID), ("name", role.name), ("access", role.access.name),
            ("permissions", list(role.permissions.map(\.name))),
            ("built-in", role.builtIn == .none ? "no" : role.builtIn.name),
        ])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a role.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Option(help: "The account id.") var account: String
        @Option(help: "The role's name.") var name: String
        @Option(help: "FULL (takes a license) or VIEWER (default: FULL).") var access: Accessd_V1_RoleAccess?
        @Option(help: "Permissions, comma-separated.") var permissions: [String] = []

        func run() async throws {
            var request = Accessd_V1_CreateRoleRequest()
            request.accountID = account
            request.name = name
            request.access = access ?? .full
            request.permissions = try parsePermissions(permissions)
            try await options.run(
                Methods.createRole, request, write: write
            ) {
                Roles.show(role: $0.role)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a role.")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The role id.") var role: String

        func run() async throws {
            var request = Accessd_V1_GetRoleRequest()
            request.roleID = role
            try await options.run(Methods.getRole, request) {
                Roles.show(role: $0)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an account's roles, built-in first.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "The account id.") var account: String

        func run() async throws {
            var request = Accessd_V1_ListRolesRequest()
            request.accountID = account
            try await options.run(Methods.listRoles, request) {
                table(
                    ["ID", "NAME", "ACCESS", "BUILT-IN", "PERMISSIONS"],
                    $0.roles.map {
                        [$0.id, $0.name, $0.access.name, $0.builtIn == .none ? "no" : "yes", list($0.permissions.map(\.name))]
                    })
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a role, change its access or permissions.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The role id.") var role: String
        @Option(help: "The new name.") var name: String?
        @Option(help: "FULL (takes a license) or VIEWER.") var access: Accessd_V1_RoleAccess?
        @Option(help: "Replace the permissions (comma-separated; \"\" for none).") var permissions: [String] = []

        func run() async throws {
            var request = Accessd_V1_EditRoleRequest()
            request.roleID = role
            if let name { request.name = name }
            request.access = access ?? .unspecified
            if !permissions.isEmpty {
                request.setPermissions = true
                request.permissions = try parsePermissions(permissions)
            }
            try await options.run(
                Methods.editRole, request, write: write
            ) {
                Roles.show(role: $0.role)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a role that is not built-in and not in use.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The role id.") var role: String

        func run() async throws {
            var request = Accessd_V1_DeleteRoleRequest()
            request.roleID = role
            try await options.run(
                Methods.deleteRole, request, write: write
            ) {
                render(events: $0.events)
            }
        }
    }
}
