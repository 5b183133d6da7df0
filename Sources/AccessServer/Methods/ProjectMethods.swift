import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// ProjectService (R14).
    static var projectService: [Entry] {
        [
            Handlers.write(
                Methods.createProject,
                command: { request, _ throws(AccessError) in
                    .createProject(
                        CreateProject(
                            account: try WireInput.id(request.accountID, field: "account_id"), name: request.name,
                            visibility: request.visibility == .unspecified
                                ? .public : try ProjectVisibility.parse(request.visibility, field: "visibility"),
                            offices: try WireInput.idSet(request.officeIds, field: "office_ids"),
                            members: try WireInput.idSet(request.memberIds, field: "member_ids")))
                },
                reply: projectReply),
            Handlers.read(Methods.getProject) { request, context throws(AccessError) in
                let id: ProjectID = try WireInput.id(request.projectID, field: "project_id")
                return Accessd_V1_Project(try context.state.getProject(id, as: context.principal))
            },
            Handlers.read(Methods.listProjects) { request, context throws(AccessError) in
                let account: AccountID = try WireInput.id(request.accountID, field: "account_id")
                var response = Accessd_V1_ListProjectsResponse()
                response.projects = try context.state.listProjects(account, as: context.principal)
                    .map(Accessd_V1_Project.init)
                return response
            },
            Handlers.write(
                Methods.updateProject,
                command: { request, _ throws(AccessError) in
                    .updateProject(
                        UpdateProject(
                            project: try WireInput.id(request.projectID, field: "project_id"),
                            name: request.hasName ? request.name : nil,
                            visibility: request.visibility == .unspecified
                                ? nil : try ProjectVisibility.parse(request.visibility, field: "visibility"),
                            offices: try WireInput.replacement(
                                request.officeIds, field: "office_ids", flag: request.setOffices, flagField: "set_offices"),
                            members: try WireInput.replacement(
                                request.memberIds, field: "member_ids", flag: request.setMembers, flagField: "set_members")))
                },
                reply: projectReply),
            Handlers.write(Methods.deleteProject) { request, _ throws(AccessError) in
                .deleteProject(try WireInput.id(request.projectID, field: "project_id"))
            },
        ]
    }

    @Sendable private static func projectReply(_ events: [Event], _ state: AccessState) -> Accessd_V1_ProjectResponse {
        var response = Accessd_V1_ProjectResponse()
        if let project = events.changedProject() { response.project = Accessd_V1_Project(project) }
        response.events = Handlers.wire(events)
        return response
    }
}
