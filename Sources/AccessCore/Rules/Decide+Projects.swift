extension Decider {
    /// R14: MANAGE_PROJECTS creates projects. The creator, when a user of the
    /// account, becomes a member, so a PRIVATE project stays visible to them.
    mutating func createProject(_ request: CreateProject) throws(AccessError) {
        let (actor, _) = try authorize(.manageProjects, in: request.account)
        let name = try Validation.name(request.name, field: "project name")
        try requireOffices(request.offices, in: request.account)
        try requireMembers(request.members, in: request.account)
        var members = request.members
        if actor.account == request.account { members.insert(actor.id) }
        recorder.record(
            .projectCreated(
                Project(
                    id: recorder.nextID(), account: request.account, name: name, visibility: request.visibility,
                    offices: request.offices, members: members, createdBy: actor.id, createdAt: now)))
    }

    /// R14: MANAGE_PROJECTS changes visibility, offices and members of a project the actor sees.
    mutating func updateProject(_ request: UpdateProject) throws(AccessError) {
        guard var project = state.projects[request.project] else { throw .notFound("no project \(PeerText.quote(request.project))") }
        try authorize(.manageProjects, in: project.account, on: .project(project.id))
        if let name = request.name { project.name = try Validation.name(name, field: "project name") }
        if let visibility = request.visibility { project.visibility = visibility }
        if let offices = request.offices {
            try requireOffices(offices, in: project.account)
            project.offices = offices
        }
        if let members = request.members {
            try requireMembers(members, in: project.account)
            project.members = members
        }
        recorder.record(.projectUpdated(project))
    }

    mutating func deleteProject(_ id: ProjectID) throws(AccessError) {
        guard let project = state.projects[id] else { throw .notFound("no project \(PeerText.quote(id))") }
        try authorize(.manageProjects, in: project.account, on: .project(id))
        recorder.record(.projectDeleted(id))
    }

    /// Members are users of the project's account.
    private func requireMembers(_ members: Set<UserID>, in account: AccountID) throws(AccessError) {
        for id in members.sorted() {
            guard let user = state.users[id] else { throw .notFound("no user \(PeerText.quote(id))") }
            guard user.account == account else {
                throw .invalidArgument("user \(id) is not a user of account \(account), so cannot be a project member", rule: .r14)
            }
        }
    }
}
