import AccessStatus
import Testing

@testable import AccessCore

/// R14: who sees a project (owner or VIEW_ALL_PROJECTS; PUBLIC without
/// offices; PUBLIC with a shared office; member), listing returns only those,
/// and MANAGE_PROJECTS creates and changes projects.
@Suite struct R14_ProjectVisibilityTests {
    struct Fixture {
        var world = World()
        let acme: AccountID
        let owner: UserID
        let manager: UserID, auditor: UserID, berliner: UserID, parisian: UserID, nomad: UserID
        let berlin: OfficeID, paris: OfficeID
        let open: ProjectID, publicBerlin: ProjectID, privateBerlin: ProjectID, privateNomad: ProjectID,
            publicBerlinWithParisian: ProjectID

        init() throws {
            var world = World()
            (acme, owner) = try world.createAccount("Acme", licenses: 10)
            berlin = try world.createOffice("Berlin", in: acme, as: owner)
            paris = try world.createOffice("Paris", in: acme, as: owner)
            let viewer = world.role(.viewer, of: acme)
            let auditorRole = try world.createRole(
                "Auditor", access: .full, permissions: Permissions([.viewAllProjects]), in: acme, as: owner)
            manager = try world.addActiveUser(to: acme, email: "manager@example.com", as: owner)
            auditor = try world.addActiveUser(to: acme, email: "auditor@example.com", role: auditorRole, as: owner)
            berliner = try world.addActiveUser(to: acme, email: "berliner@example.com", role: viewer, offices: [berlin], as: owner)
            parisian = try world.addActiveUser(to: acme, email: "parisian@example.com", role: viewer, offices: [paris], as: owner)
            nomad = try world.addActiveUser(to: acme, email: "nomad@example.com", role: viewer, as: owner)
            open = try world.createProject("A Open", in: acme, as: manager)
            publicBerlin = try world.createProject("B Public Berlin", in: acme, offices: [berlin], as: manager)
            privateBerlin = try world.createProject(
                "C Private Berlin", in: acme, visibility: .private, offices: [berlin], as: manager)
            privateNomad = try world.createProject("D Private Nomad", in: acme, visibility: .private, members: [nomad], as: manager)
            publicBerlinWithParisian = try world.createProject(
                "E Public Berlin with Parisian", in: acme, offices: [berlin], members: [parisian], as: manager)
            self.world = world
        }

        var all: [ProjectID] { [open, publicBerlin, privateBerlin, privateNomad, publicBerlinWithParisian] }

        func sees(_ user: UserID, _ project: ProjectID) throws -> Bool {
            try world.check(user, acme, .viewProjects, .project(project)).allowed
        }

        func visible(to user: UserID) throws -> [ProjectID] {
            try world.state.listProjects(acme, as: .user(user)).map(\.id)
        }
    }

    @discardableResult
    private func expectReadError<T>(
        _ code: StatusCode, rule: Rule?, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
    ) -> AccessError? {
        do {
            let value = try body()
            Issue.record("expected \(code), got \(value)", sourceLocation: sourceLocation)
            return nil
        } catch let error as AccessError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.rule == rule, "\(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected an AccessError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    // MARK: - Who sees what

    @Test func R14_accountOwnerSeesEveryProject() throws {
        let f = try Fixture()
        for project in f.all {
            #expect(try f.sees(f.owner, project))
            #expect(f.world.state.projects[project]?.members.contains(f.owner) == false, "not through membership")
        }
        #expect(try f.visible(to: f.owner) == f.all)
    }

    @Test func R14_viewAllProjectsSeesEveryProject() throws {
        let f = try Fixture()
        for project in f.all { #expect(try f.sees(f.auditor, project)) }
        #expect(try f.visible(to: f.auditor) == f.all)
        // VIEW_ALL_PROJECTS implies VIEW_PROJECTS.
        #expect(try f.world.check(f.auditor, f.acme, .viewProjects).allowed)
    }

    @Test func R14_publicProjectWithoutOfficesIsSeenByEveryone() throws {
        let f = try Fixture()
        for user in [f.berliner, f.parisian, f.nomad, f.manager] { #expect(try f.sees(user, f.open)) }
    }

    @Test func R14_publicProjectWithOfficesIsSeenBySharedOfficeOnly() throws {
        let f = try Fixture()
        #expect(try f.sees(f.berliner, f.publicBerlin))
        #expect(try !f.sees(f.parisian, f.publicBerlin))
        #expect(try !f.sees(f.nomad, f.publicBerlin))
    }

    @Test func R14_privateProjectIsSeenByMembersOnlyEvenWithASharedOffice() throws {
        let f = try Fixture()
        #expect(try !f.sees(f.berliner, f.privateBerlin), "an office does not open a PRIVATE project")
        #expect(try f.sees(f.nomad, f.privateNomad))
        #expect(try !f.sees(f.berliner, f.privateNomad))
        #expect(try !f.sees(f.parisian, f.privateNomad))
    }

    @Test func R14_membershipOpensAPublicProjectOfAnotherOffice() throws {
        let f = try Fixture()
        #expect(try f.sees(f.parisian, f.publicBerlinWithParisian))
        #expect(try !f.sees(f.nomad, f.publicBerlinWithParisian))
    }

    @Test func R14_creatorBecomesMemberAndSeesTheirPrivateProject() throws {
        let f = try Fixture()
        for project in f.all {
            #expect(f.world.state.projects[project]?.members.contains(f.manager) == true)
            #expect(try f.sees(f.manager, project))
        }
    }

    @Test func R14_aProjectNotSeenIsDeniedByR14() throws {
        let f = try Fixture()
        let result = try f.world.check(f.parisian, f.acme, .viewProjects, .project(f.privateBerlin))
        #expect(!result.allowed)
        #expect(result.deniedBy == .r14)
        #expect(result.path == .homeRole(f.world.role(.viewer, of: f.acme)))
        expectReadError(.permissionDenied, rule: .r14) {
            try f.world.state.getProject(f.privateBerlin, as: .user(f.parisian))
        }
        #expect(try f.world.state.getProject(f.privateBerlin, as: .user(f.owner)).id == f.privateBerlin)
    }

    @Test func R14_listingReturnsOnlyWhatTheActorSees() throws {
        let f = try Fixture()
        #expect(try f.visible(to: f.berliner) == [f.open, f.publicBerlin, f.publicBerlinWithParisian])
        #expect(try f.visible(to: f.parisian) == [f.open, f.publicBerlinWithParisian])
        #expect(try f.visible(to: f.nomad) == [f.open, f.privateNomad])
        #expect(try f.visible(to: f.manager) == f.all)
        // Every listed project passes Check, every other fails it.
        for user in [f.owner, f.manager, f.auditor, f.berliner, f.parisian, f.nomad] {
            let listed = Set(try f.visible(to: user))
            for project in f.all { #expect(try f.sees(user, project) == listed.contains(project)) }
        }
    }

    @Test func R14_listingNeedsViewProjects() throws {
        var f = try Fixture()
        let blind = try f.world.createRole("Blind", access: .full, permissions: [], in: f.acme, as: f.owner)
        let user = try f.world.addActiveUser(to: f.acme, email: "blind@example.com", role: blind, as: f.owner)
        expectReadError(.permissionDenied, rule: .r14) { try f.world.state.listProjects(f.acme, as: .user(user)) }
        let result = try f.world.check(user, f.acme, .viewProjects, .project(f.open))
        #expect(!result.allowed && result.deniedBy == .r14)
        #expect(try f.world.state.listProjects(f.acme, as: .administrator).count == 5)
    }

    // MARK: - MANAGE_PROJECTS

    @Test func R14_manageProjectsIsNeededToCreateUpdateAndDelete() throws {
        var f = try Fixture()
        f.world.reject(
            .createProject(CreateProject(account: f.acme, name: "Nope")), as: .user(f.berliner), .permissionDenied, rule: .r14)
        f.world.reject(
            .updateProject(UpdateProject(project: f.open, visibility: .private)), as: .user(f.berliner),
            .permissionDenied, rule: .r14)
        f.world.reject(
            .updateProject(UpdateProject(project: f.open, name: "Renamed")), as: .user(f.auditor), .permissionDenied,
            rule: .r14)
        f.world.reject(.deleteProject(f.open), as: .user(f.nomad), .permissionDenied, rule: .r14)
        let (_, stranger) = try f.world.createAccount("Other")
        f.world.reject(
            .createProject(CreateProject(account: f.acme, name: "Nope")), as: .user(stranger), .permissionDenied, rule: .r19)
    }

    @Test func R14_managingAProjectNeedsSeeingIt() throws {
        var f = try Fixture()
        let secret = try f.world.createProject("Secret", in: f.acme, visibility: .private, as: f.owner)
        let other = try f.world.addActiveUser(to: f.acme, email: "other.manager@example.com", as: f.owner)
        f.world.reject(
            .updateProject(UpdateProject(project: secret, visibility: .public)), as: .user(other), .permissionDenied,
            rule: .r14)
        f.world.reject(.deleteProject(secret), as: .user(other), .permissionDenied, rule: .r14)
        #expect(f.world.state.projects[secret]?.visibility == .private)
    }

    @Test func R14_updatingVisibilityOfficesAndMembersChangesWhoSees() throws {
        var f = try Fixture()
        // PRIVATE -> PUBLIC: the Berlin office now opens it.
        #expect(try !f.sees(f.berliner, f.privateBerlin))
        let events = try f.world.run(
            .updateProject(UpdateProject(project: f.privateBerlin, visibility: .public)), as: .user(f.manager))
        #expect(events.map(\.change.kind) == ["projectUpdated"])
        #expect(try f.sees(f.berliner, f.privateBerlin))
        #expect(try !f.sees(f.parisian, f.privateBerlin))

        // Offices Berlin -> Paris.
        try f.world.run(.updateProject(UpdateProject(project: f.privateBerlin, offices: [f.paris])), as: .user(f.manager))
        #expect(try !f.sees(f.berliner, f.privateBerlin))
        #expect(try f.sees(f.parisian, f.privateBerlin))

        // No offices: everyone.
        try f.world.run(.updateProject(UpdateProject(project: f.privateBerlin, offices: [])), as: .user(f.manager))
        #expect(try f.sees(f.nomad, f.privateBerlin))

        // Members of a PRIVATE project.
        try f.world.run(
            .updateProject(UpdateProject(project: f.privateNomad, members: [f.berliner, f.manager])), as: .user(f.manager))
        #expect(try f.sees(f.berliner, f.privateNomad))
        #expect(try !f.sees(f.nomad, f.privateNomad), "nomad was removed from the members")

        // A name change alone keeps the rest.
        let before = try #require(f.world.state.projects[f.privateNomad])
        try f.world.run(.updateProject(UpdateProject(project: f.privateNomad, name: "  Renamed ")), as: .user(f.manager))
        let after = try #require(f.world.state.projects[f.privateNomad])
        #expect(after.name == "Renamed")
        #expect(after.visibility == before.visibility && after.offices == before.offices && after.members == before.members)
        #expect(try f.world.replayed() == f.world.state)
    }

    @Test func R14_membersAndOfficesMustBelongToTheAccount() throws {
        var f = try Fixture()
        let (other, otherOwner) = try f.world.createAccount("Other")
        let otherOffice = try f.world.createOffice("Elsewhere", in: other, as: otherOwner)
        f.world.reject(
            .createProject(CreateProject(account: f.acme, name: "X", members: [otherOwner])), as: .user(f.manager),
            .invalidArgument, rule: .r14)
        f.world.reject(
            .updateProject(UpdateProject(project: f.open, members: [otherOwner])), as: .user(f.manager),
            .invalidArgument, rule: .r14)
        let officeError = f.world.reject(
            .createProject(CreateProject(account: f.acme, name: "X", offices: [otherOffice])), as: .user(f.manager),
            .notFound)
        #expect(officeError?.rule == nil)
        let memberError = f.world.reject(
            .createProject(CreateProject(account: f.acme, name: "X", members: [UserID("usr_zzzz")!])),
            as: .user(f.manager), .notFound)
        #expect(memberError?.rule == nil)
    }

    @Test func R14_deletingAProjectRemovesIt() throws {
        var f = try Fixture()
        try f.world.run(.deleteProject(f.open), as: .user(f.manager))
        #expect(f.world.state.projects[f.open] == nil)
        #expect(try !f.visible(to: f.owner).contains(f.open))
        expectReadError(.notFound, rule: nil) { try f.world.check(f.owner, f.acme, .viewProjects, .project(f.open)) }
        #expect(f.world.reject(.deleteProject(f.open), as: .user(f.manager), .notFound)?.rule == nil)
    }
}
