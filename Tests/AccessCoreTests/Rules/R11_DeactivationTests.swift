import Testing

@testable import AccessCore

/// R11: deactivating keeps everything the user made and frees their license;
/// they can no longer act (R7). Reactivating makes them ACTIVE again if a
/// license is free (R2); one who never activated goes back to PENDING with a
/// new activation. There is no hard delete of users.
@Suite struct R11_DeactivationTests {
    @Test func R11_deactivationKeepsProjectsProductsAndSharesTheUserMade() throws {
        var world = World()
        let (acme, owner) = try world.createAccount("Acme")
        let (beta, betaOwner) = try world.createAccount("Beta")
        let gus = try world.addActiveUser(to: beta, email: "gus@beta.example.com", as: betaOwner)
        let ada = try world.addActiveUser(
            to: acme, email: "ada@example.com", extraPermissions: Permissions([.shareAccess]), as: owner)
        let project = try world.createProject("Site", in: acme, visibility: .private, as: ada)
        let product = try world.createProduct("Web", in: acme, as: ada)
        let share = try world.share(acme, with: "gus@beta.example.com", scope: .products([product]), as: ada)
        let projectBefore = world.state.projects[project]
        let productBefore = world.state.products[product]
        let shareBefore = world.state.shares[share]

        let time = world.now
        let events = try world.run(.deactivateUser(ada), as: .user(owner))
        #expect(events.map(\.change.kind) == ["userDeactivated"])
        guard case .userDeactivated(let user) = events.first?.change else {
            Issue.record("no userDeactivated")
            return
        }
        #expect(user.status == .deactivated)
        #expect(user.deactivatedAt == time)
        #expect(user.activatedAt != nil)
        #expect(world.state.users[ada] == user)

        // Everything they made stays, exactly as it was.
        #expect(world.state.projects[project] != nil)
        #expect(world.state.projects[project] == projectBefore)
        #expect(world.state.projects[project]?.createdBy == ada)
        #expect(world.state.products[product] == productBefore)
        #expect(world.state.products[product]?.createdBy == ada)
        #expect(world.state.shares[share] == shareBefore)
        #expect(world.state.shares[share]?.grantedBy == ada)
        // And still works for the grantee.
        let viaShare = try world.check(gus, acme, .manageProducts, .product(product))
        #expect(viaShare.allowed)
        #expect(viaShare.path == .share(share))
        // The owner still sees the project (R14).
        #expect(try world.check(owner, acme, .viewProjects, .project(project)).allowed)
        #expect(beta != acme)
    }

    @Test func R11_deactivationFreesTheLicense() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        #expect(world.state.licensesInUse(acme) == 2)
        try world.run(.deactivateUser(ada), as: .user(owner))
        #expect(world.state.licensesInUse(acme) == 1)
        try world.addUser(to: acme, email: "bob@example.com", as: owner)
        #expect(world.state.licensesInUse(acme) == 2)
    }

    @Test func R11_aDeactivatedUserCannotAct() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        try world.run(.deactivateUser(ada), as: .user(owner))
        let result = try world.check(ada, acme, .manageProjects)
        #expect(!result.allowed)
        #expect(result.deniedBy == .r7)
        world.reject(.createProject(CreateProject(account: acme, name: "Site")), as: .user(ada), .permissionDenied, rule: .r7)
    }

    @Test func R11_reactivationMakesAnActivatedUserActiveAgain() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        let activatedAt = world.state.users[ada]?.activatedAt
        try world.run(.deactivateUser(ada), as: .user(owner))
        let events = try world.run(.reactivateUser(ada), as: .user(owner))
        // No new activation: they had activated before.
        #expect(events.map(\.change.kind) == ["userReactivated"])
        let user = try #require(world.state.users[ada])
        #expect(user.status == .active)
        #expect(user.deactivatedAt == nil)
        #expect(user.activatedAt == activatedAt)
        #expect(world.state.licensesInUse(acme) == 2)
        #expect(world.state.activations.isEmpty)
        #expect(try world.check(ada, acme, .manageProjects).allowed)
    }

    @Test func R11_reactivationNeedsAFreeLicense() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        try world.run(.deactivateUser(ada), as: .user(owner))
        let bob = try world.addActiveUser(to: acme, email: "bob@example.com", as: owner)

        let error = world.reject(.reactivateUser(ada), as: .user(owner), .resourceExhausted, rule: .r2)
        #expect(error?.message.contains("2 of 2") == true, "\(String(describing: error))")
        #expect(world.state.users[ada]?.status == .deactivated)

        // Freeing one (here: moving Bob to a VIEWER role) lets Ada back in.
        try world.run(.editUser(EditUser(user: bob, role: world.role(.viewer, of: acme))), as: .user(owner))
        try world.run(.reactivateUser(ada), as: .user(owner))
        #expect(world.state.users[ada]?.status == .active)
        #expect(world.state.licensesInUse(acme) == 2)
    }

    @Test func R11_aViewerIsReactivatedWithoutALicense() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 1)
        let vic = try world.addActiveUser(to: acme, email: "vic@example.com", role: world.role(.viewer, of: acme), as: owner)
        try world.run(.deactivateUser(vic), as: .user(owner))
        try world.run(.reactivateUser(vic), as: .user(owner))
        #expect(world.state.users[vic]?.status == .active)
        #expect(world.state.licensesInUse(acme) == 1)
    }

    @Test func R11_aUserWhoNeverActivatedGoesBackToPendingWithANewActivation() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let pat = try world.addUser(to: acme, email: "pat@example.com", as: owner)
        let oldToken = try #require(world.activationToken(of: pat))
        try world.run(.deactivateUser(pat), as: .user(owner))
        #expect(world.state.users[pat]?.status == .deactivated)
        #expect(world.state.licensesInUse(acme) == 1)
        #expect(world.state.activations.isEmpty)

        let time = world.now
        let events = try world.run(.reactivateUser(pat), as: .user(owner))
        #expect(events.map(\.change.kind) == ["userReactivated", "activationIssued", "outboxMessageQueued"])
        guard case .userReactivated(let user) = events[0].change,
            case .activationIssued(let activation) = events[1].change,
            case .outboxMessageQueued(let message) = events[2].change
        else {
            Issue.record("unexpected events \(events.map(\.change.kind))")
            return
        }
        #expect(user.status == .pending)
        #expect(user.activatedAt == nil)
        #expect(user.deactivatedAt == nil)
        #expect(message.kind == .activationEmail)
        #expect(message.to == "pat@example.com")
        #expect(message.token != oldToken)
        #expect(activation.tokenHash == TokenHash(token: message.token))
        #expect(activation.expiresAt == time.adding(milliseconds: world.policy.activationLifetimeMilliseconds))
        // A PENDING FULL user holds a license again (R2).
        #expect(world.state.licensesInUse(acme) == 2)

        world.reject(.activateUser(token: oldToken), as: .anonymous, .notFound, rule: .r9)
        try world.run(.activateUser(token: message.token), as: .anonymous)
        #expect(world.state.users[pat]?.status == .active)
        #expect(try world.replayed() == world.state)
        #expect(world.state.indexesAreConsistent)
    }

    @Test func R11_aNeverActivatedUserAlsoNeedsALicenseToComeBack() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let pat = try world.addUser(to: acme, email: "pat@example.com", as: owner)
        try world.run(.deactivateUser(pat), as: .user(owner))
        try world.addUser(to: acme, email: "bob@example.com", as: owner)
        world.reject(.reactivateUser(pat), as: .user(owner), .resourceExhausted, rule: .r2)
        #expect(world.state.outbox.values.filter { $0.user == pat }.count == 1)
    }

    @Test func R11_onlyDeactivatedUsersAreReactivatedAndOnlyOthersDeactivated() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        let pat = try world.addUser(to: acme, email: "pat@example.com", as: owner)
        let active = world.reject(.reactivateUser(ada), as: .user(owner), .failedPrecondition, rule: .r11)
        #expect(active?.message.contains("ACTIVE") == true)
        let pending = world.reject(.reactivateUser(pat), as: .user(owner), .failedPrecondition, rule: .r11)
        #expect(pending?.message.contains("PENDING") == true)
        try world.run(.deactivateUser(ada), as: .user(owner))
        let again = world.reject(.deactivateUser(ada), as: .user(owner), .failedPrecondition, rule: .r11)
        #expect(again?.message.contains("already DEACTIVATED") == true)
    }

    @Test func R11_thereIsNoHardDelete() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        try world.run(.deactivateUser(ada), as: .user(owner))
        // The user is still there, with their email, role and offices.
        let user = try #require(world.state.users[ada])
        #expect(user.email == "ada@example.com")
        #expect(user.role == world.role(.member, of: acme))
        #expect(try world.state.getUser(ada, as: .user(owner)) == user)
        // Their email stays theirs (R8).
        world.reject(
            .addUser(
                AddUser(
                    account: acme, email: "ada@example.com", firstName: "Ada", lastName: "Again",
                    role: world.role(.member, of: acme))),
            as: .user(owner), .alreadyExists, rule: .r8)
        // Their role stays in use, so it cannot be deleted (R4).
        let editors = try world.createRole("Editors", access: .full, permissions: [], in: acme, as: owner)
        try world.run(.editUser(EditUser(user: ada, role: editors)), as: .user(owner))
        world.reject(.deleteRole(editors), as: .user(owner), .failedPrecondition, rule: .r4)
    }

    @Test func R11_deactivationNeedsEditAccountSettings() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        let bob = try world.addActiveUser(to: acme, email: "bob@example.com", as: owner)
        world.reject(.deactivateUser(bob), as: .user(ada), .permissionDenied, rule: .r4)
        try world.run(.deactivateUser(bob), as: .user(owner))
        world.reject(.reactivateUser(bob), as: .user(ada), .permissionDenied, rule: .r4)
    }
}
