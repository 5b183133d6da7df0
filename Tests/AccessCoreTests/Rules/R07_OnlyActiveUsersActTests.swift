import Testing

@testable import AccessCore

/// R7: only an ACTIVE user acts. A PENDING or DEACTIVATED user is denied every
/// call and every check, including through shares and client links.
@Suite struct R07_OnlyActiveUsersActTests {
    /// Commands an Account Owner of `acme` may run; `other` is another user of it.
    private static func commands(
        acme: AccountID, actor: UserID, other: UserID, world: World
    ) -> [Command] {
        [
            .addUser(
                AddUser(
                    account: acme, email: "new@example.com", firstName: "New", lastName: "User",
                    role: world.role(.member, of: acme))),
            .editUser(EditUser(user: actor, firstName: "Me")),
            .editUser(EditUser(user: other, firstName: "You")),
            .deactivateUser(other),
            .createRole(account: acme, name: "Auditors", access: .viewer, permissions: []),
            .createOffice(account: acme, name: "Paris"),
            .renameAccount(account: acme, name: "Acme Inc"),
            .updateBilling(account: acme, billing: Billing(companyName: "Acme Inc")),
            .createProject(CreateProject(account: acme, name: "Site")),
            .createProduct(account: acme, kind: .container, name: "Web"),
        ]
    }

    private static func expectDenied(
        _ world: World, _ user: UserID, in account: AccountID, _ permissions: [Permission] = Permission.allCases,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for permission in permissions {
            let result = try world.check(user, account, permission)
            #expect(!result.allowed, "\(permission)", sourceLocation: sourceLocation)
            #expect(result.deniedBy == .r7, "\(permission)", sourceLocation: sourceLocation)
        }
    }

    private static func expectR7(
        sourceLocation: SourceLocation = #_sourceLocation, _ read: () throws(AccessError) -> Void
    ) {
        do {
            try read()
            Issue.record("expected PERMISSION_DENIED (R7)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .permissionDenied, "\(error)", sourceLocation: sourceLocation)
            #expect(error.rule == .r7, "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func R7_aPendingUserIsDeniedEveryCall() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        // A pending Account Owner: its role would allow everything.
        let pending = try world.addUser(
            to: acme, email: "pending@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        for command in Self.commands(acme: acme, actor: pending, other: owner, world: world) {
            let error = world.reject(command, as: .user(pending), .permissionDenied, rule: .r7)
            #expect(error?.message.contains("PENDING") == true, "\(command)")
        }
    }

    @Test func R7_aDeactivatedUserIsDeniedEveryCall() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let gone = try world.addActiveUser(
            to: acme, email: "gone@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        try world.run(.deactivateUser(gone), as: .user(owner))
        for command in Self.commands(acme: acme, actor: gone, other: owner, world: world) {
            let error = world.reject(command, as: .user(gone), .permissionDenied, rule: .r7)
            #expect(error?.message.contains("DEACTIVATED") == true, "\(command)")
        }
        // The same calls go through for an ACTIVE owner.
        let active = try world.addActiveUser(
            to: acme, email: "active@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        for command in Self.commands(acme: acme, actor: active, other: gone, world: world)
        where command != .deactivateUser(gone) {
            var copy = world
            try copy.run(command, as: .user(active))
        }
    }

    @Test func R7_pendingAndDeactivatedUsersAreNotAllowedByAnyCheck() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let project = try world.createProject("Site", in: acme, as: owner)
        let product = try world.createProduct("Web", in: acme, as: owner)
        let pending = try world.addUser(
            to: acme, email: "pending@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        let gone = try world.addActiveUser(
            to: acme, email: "gone@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        #expect(try world.check(gone, acme, .manageProjects, .project(project)).allowed)
        try world.run(.deactivateUser(gone), as: .user(owner))

        for user in [pending, gone] {
            try Self.expectDenied(world, user, in: acme)
            let onProject = try world.check(user, acme, .viewProjects, .project(project))
            #expect(!onProject.allowed)
            #expect(onProject.deniedBy == .r7)
            let onProduct = try world.check(user, acme, .manageProducts, .product(product))
            #expect(!onProduct.allowed)
            #expect(onProduct.deniedBy == .r7)
            #expect(try world.state.accessibleAccounts(of: user).isEmpty)
        }
    }

    @Test func R7_pendingAndDeactivatedUsersCannotRead() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let pending = try world.addUser(
            to: acme, email: "pending@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        let state = world.state
        Self.expectR7 { () throws(AccessError) in _ = try state.getAccount(acme, as: .user(pending)) }
        Self.expectR7 { () throws(AccessError) in _ = try state.getUser(pending, as: .user(pending)) }
        Self.expectR7 { () throws(AccessError) in _ = try state.getUser(owner, as: .user(pending)) }
        Self.expectR7 { () throws(AccessError) in _ = try state.listProjects(acme, as: .user(pending)) }
        Self.expectR7 { () throws(AccessError) in _ = try state.listRoles(acme, as: .user(pending)) }
        Self.expectR7 { () throws(AccessError) in _ = try state.sharedWithMe(as: .user(pending)) }
    }

    @Test func R7_activationMakesTheUserAct() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let user = try world.addUser(to: acme, email: "ada@example.com", as: owner)
        try Self.expectDenied(world, user, in: acme, [.manageProjects])
        try world.run(.activateUser(token: world.activationToken(of: user)!), as: .anonymous)
        #expect(try world.check(user, acme, .manageProjects).allowed)
        _ = try world.createProject("Site", in: acme, as: user)
    }

    @Test func R7_aDeactivatedGranteeIsDeniedThroughTheShare() throws {
        var world = World()
        let (acme, owner) = try world.createAccount("Acme")
        let product = try world.createProduct("Web", in: acme, as: owner)
        let (beta, betaOwner) = try world.createAccount("Beta")
        let grantee = try world.addActiveUser(to: beta, email: "gus@beta.example.com", as: betaOwner)
        let share = try world.share(acme, with: "gus@beta.example.com", billing: true, as: owner)

        let before = try world.check(grantee, acme, .manageProducts, .product(product))
        #expect(before.allowed)
        #expect(before.path == .share(share))

        try world.run(.deactivateUser(grantee), as: .user(betaOwner))
        try Self.expectDenied(world, grantee, in: acme, [.manageProducts, .viewBilling, .editBilling])
        let onProduct = try world.check(grantee, acme, .manageProducts, .product(product))
        #expect(!onProduct.allowed)
        #expect(onProduct.deniedBy == .r7)
        world.reject(.renameProduct(product, name: "Shop"), as: .user(grantee), .permissionDenied, rule: .r7)
        world.reject(.createProduct(account: acme, kind: .gateway, name: "GW"), as: .user(grantee), .permissionDenied, rule: .r7)
        world.reject(
            .updateBilling(account: acme, billing: Billing(companyName: "X")), as: .user(grantee), .permissionDenied,
            rule: .r7)
        world.reject(.retireShare(share), as: .user(grantee), .permissionDenied, rule: .r7)
        #expect(try world.state.accessibleAccounts(of: grantee).isEmpty)
        // The share itself stays; reactivated, the grantee acts through it again.
        #expect(world.state.shares[share] != nil)
        try world.run(.reactivateUser(grantee), as: .user(betaOwner))
        #expect(try world.check(grantee, acme, .manageProducts, .product(product)).allowed)
    }

    @Test func R7_inactiveAgencyUsersAreDeniedThroughTheClientLink() throws {
        var world = World()
        let (acme, owner) = try world.createAccount("Acme")
        let (agency, agencyOwner) = try world.createAccount("Agency", kind: .agency)
        let agent = try world.addActiveUser(
            to: agency, email: "agent@agency.example.com", extraPermissions: Permissions([.manageClients]),
            as: agencyOwner)
        let newcomer = try world.addUser(
            to: agency, email: "new@agency.example.com", extraPermissions: Permissions([.manageClients]),
            as: agencyOwner)
        try world.run(.addClient(agency: agency, client: acme), as: .user(agencyOwner))
        try world.run(.requestClientAccess(agency: agency, client: acme), as: .user(agencyOwner))
        try world.run(.approveClientAccess(client: acme, agency: agency, role: nil), as: .user(owner))

        let allowed = try world.check(agent, acme, .manageProjects)
        #expect(allowed.allowed)
        #expect(allowed.path == .clientLink(agency: agency, role: world.role(.member, of: acme)))

        // A pending agency user does not act in the client.
        try Self.expectDenied(world, newcomer, in: acme, [.manageProjects, .viewProjects, .manageProducts])
        world.reject(
            .createProject(CreateProject(account: acme, name: "Site")), as: .user(newcomer), .permissionDenied, rule: .r7)

        // Nor a deactivated one.
        try world.run(.deactivateUser(agent), as: .user(agencyOwner))
        try Self.expectDenied(world, agent, in: acme, [.manageProjects, .viewProjects, .manageProducts])
        world.reject(
            .createProject(CreateProject(account: acme, name: "Site")), as: .user(agent), .permissionDenied, rule: .r7)
        #expect(try world.state.accessibleAccounts(of: agent).isEmpty)
    }

    @Test func R7_anUnknownActorIsUnauthenticated() throws {
        var world = World()
        let (acme, _) = try world.createAccount()
        let error = world.reject(
            .createOffice(account: acme, name: "Paris"), as: .user(UserID("usr_zzzz")!), .unauthenticated)
        #expect(error?.message.contains("usr_zzzz") == true)
    }
}
