import AccessWire
import ArgumentParser

struct Projects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Projects and who sees them (R14).",
        subcommands: [Create.self, Get.self, List.self, Update.self, Delete.self])

    static func show(project: Accessd_V1_Project) -> String {
        block([
            ("id", project.id), ("account", project.accountID), ("name", project.name),
            ("visibility", project.visibility.name), ("offices", list(project.officeIds)),
            ("members", list(project.memberIds)), ("created by", project.createdBy), ("created", time(project.createdAtMs)),
        ])
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a project (MANAGE_PROJECTS).")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Option(help: "The account id.") var account: String
        @Option(help: "The project's name.") var name: String
        @Option(help: "Who sees it (R14; default: PUBLIC).") var visibility: Accessd_V1_ProjectVisibility?
        @Option(help: "Office ids, comma-separated.") var offices: [String] = []
        @Option(help: "Members (user ids or emails), comma-separated.") var members: [String] = []

        func run() async throws {
            var request = Accessd_V1_CreateProjectRequest()
            request.accountID = account
            request.name = name
            request.visibility = visibility ?? .public
            request.officeIds = splitList(offices)
            let reply = try await options.withSession { session in
                request.memberIds = try await session.userIDs(splitList(members), account: account)
                return try await session.call(
                    Methods.createProject, request, write: write)
            }
            try options.output(reply, write: write) { Projects.show(project: reply.project) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a project the actor sees.")
        @OptionGroup var options: ConnectionOptions
        @Argument(help: "The project id.") var project: String

        func run() async throws {
            var request = Accessd_V1_GetProjectRequest()
            request.projectID = project
            try await options.run(Methods.getProject, request) {
                Projects.show(project: $0)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the projects the actor sees.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "The account id.") var account: String

        func run() async throws {
            var request = Accessd_V1_ListProjectsRequest()
            request.accountID = account
            try await options.run(Methods.listProjects, request) {
                table(
                    ["ID", "NAME", "VISIBILITY", "OFFICES", "MEMBERS"],
                    $0.projects.map { [$0.id, $0.name, $0.visibility.name, list($0.officeIds), list($0.memberIds)] })
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a project's name, visibility, offices or members.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The project id.") var project: String
        @Option(help: "The new name.") var name: String?
        @Option(help: "Who sees it (R14).") var visibility: Accessd_V1_ProjectVisibility?
        @Option(help: "Replace the offices (comma-separated ids; \"\" for none).") var offices: [String] = []
        @Option(help: "Replace the members (user ids or emails, comma-separated; \"\" for none).") var members: [String] = []

        func run() async throws {
            var request = Accessd_V1_UpdateProjectRequest()
            request.projectID = project
            if let name { request.name = name }
            request.visibility = visibility ?? .unspecified
            if !offices.isEmpty {
                request.setOffices = true
                request.officeIds = splitList(offices)
            }
            let reply = try await options.withSession { session in
                if !members.isEmpty {
                    request.setMembers = true
                    let named = splitList(members)
                    var account: String?
                    if named.contains(where: { $0.contains("@") }) {
                        // Emails are looked up in the project's account.
                        var get = Accessd_V1_GetProjectRequest()
                        get.projectID = project
                        account = try await session.call(
                            Methods.getProject, get
                        ).accountID
                    }
                    request.memberIds = try await session.userIDs(named, account: account)
                }
                return try await session.call(
                    Methods.updateProject, request, write: write)
            }
            try options.output(reply, write: write) { Projects.show(project: reply.project) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a project.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "The project id.") var project: String

        func run() async throws {
            var request = Accessd_V1_DeleteProjectRequest()
            request.projectID = project
            try await options.run(
                Methods.deleteProject, request, write: write
            ) {
                render(events: $0.events)
            }
        }
    }
}
