import Testing

@testable import AccessCore

/// R10: editing a user changes names, email (unique in the region, R8),
/// offices, role and extra permissions in one atomic call; a quick role change
/// is the same call with only the role. A VIEWER role (and a user with one)
/// carries no permission but VIEW_PROJECTS and VIEW_BILLING.
@Suite struct R10_EditUserTests {
    private struct Fixture {
        var world: World
        let acme: AccountID
        let owner: UserID
        let ada: UserID
        let berlin: OfficeID
        let paris: OfficeID
        let editors: RoleID

        init() throws {
            var world = World()
            let created = try world.createAccount(licenses: 10)
            acme = created.account
            owner = created.owner
            berlin = try world.createOffice("Berlin", in: acme, as: owner)
            paris = try world.createOffice("Paris", in: acme, as: owner)
            editors = try world.createRole(
                "Editors", access: .full, permissions: Permissions([.viewProjects, .manageProjects]), in: acme, as: owner)
            ada = try world.addActiveUser(to: acme, email: "ada@example.com", offices: [berlin], as: owner)
            try world.addActiveUser(to: acme, email: "bob@example.com", as: owner)
            self.world = world
        }
    }

    @Test func R10_everyFieldChangesInOneCall() throws {
        var f = try Fixture()
        let before = try #require(f.world.state.users[f.ada])
        let events = try f.world.run(
            .editUser(
                EditUser(
                    user: f.ada, firstName: " Augusta ", lastName: "King", email: "augusta@example.com",
                    offices: [f.paris], role: f.editors, extraPermissions: Permissions([.viewBilling, .shareAccess]))),
            as: .user(f.owner))
        #expect(events.map(\.change.kind) == ["userEdited"])
        guard case .userEdited(let user) = events.first?.change else {
            Issue.record("no userEdited")
            return
        }
        #expect(user.firstName == "Augusta")
        #expect(user.lastName == "King")
        #expect(user.email == "augusta@example.com")
        #expect(user.offices == [f.paris])
        #expect(user.role == f.editors)
        #expect(user.extraPermissions == Permissions([.viewBilling, .shareAccess]))
        // What an edit does not touch stays.
        #expect(user.id == before.id)
        #expect(user.account == before.account)
        #expect(user.status == .active)
        #expect(user.createdAt == before.createdAt)
        #expect(user.activatedAt == before.activatedAt)
        #expect(f.world.state.users[f.ada] == user)

        // The new permissions hold at once; the old email is free, the new one taken.
        #expect(try f.world.check(f.ada, f.acme, .shareAccess).allowed)
        #expect(try !f.world.check(f.ada, f.acme, .manageProducts).allowed)
        try f.world.addUser(to: f.acme, email: "ada@example.com", as: f.owner)
        f.world.reject(
            .addUser(
                AddUser(
                    account: f.acme, email: "Augusta@example.com", firstName: "A", lastName: "K",
                    role: f.world.role(.viewer, of: f.acme))),
            as: .user(f.owner), .alreadyExists, rule: .r8)
        #expect(try f.world.replayed() == f.world.state)
        #expect(f.world.state.indexesAreConsistent)
    }

    @Test func R10_oneFailingFieldChangesNothing() throws {
        var f = try Fixture()
        let before = try #require(f.world.state.users[f.ada])
        let (ada, paris, editors) = (f.ada, f.paris, f.editors)
        func edit(
            firstName: String = "Augusta", email: String = "augusta@example.com", offices: Set<OfficeID>? = nil,
            role: RoleID? = nil, extraPermissions: Permissions = Permissions([.viewBilling])
        ) -> Command {
            .editUser(
                EditUser(
                    user: ada, firstName: firstName, lastName: "King", email: email, offices: offices ?? [paris],
                    role: role ?? editors, extraPermissions: extraPermissions))
        }
        // Each of these is valid but for one field.
        f.world.reject(edit(offices: [f.paris, OfficeID("off_zzz")!]), as: .user(f.owner), .notFound)
        f.world.reject(edit(email: "BOB@example.com"), as: .user(f.owner), .alreadyExists, rule: .r8)
        f.world.reject(edit(email: "not an email"), as: .user(f.owner), .invalidArgument)
        f.world.reject(edit(firstName: "  "), as: .user(f.owner), .invalidArgument)
        f.world.reject(edit(role: RoleID("rol_zzz")!), as: .user(f.owner), .notFound)
        f.world.reject(
            edit(role: f.world.role(.viewer, of: f.acme), extraPermissions: Permissions([.manageProjects])),
            as: .user(f.owner), .invalidArgument, rule: .r10)
        #expect(f.world.state.users[f.ada] == before)

        // And the same call with that field fixed goes through.
        try f.world.run(edit(), as: .user(f.owner))
        #expect(f.world.state.users[f.ada]?.firstName == "Augusta")
        #expect(f.world.state.users[f.ada]?.offices == [f.paris])
    }

    @Test func R10_aQuickRoleChangeChangesOnlyTheRole() throws {
        var f = try Fixture()
        let before = try #require(f.world.state.users[f.ada])
        #expect(f.world.state.licensesInUse(f.acme) == 3)
        try f.world.run(.editUser(EditUser(user: f.ada, role: f.world.role(.viewer, of: f.acme))), as: .user(f.owner))
        var expected = before
        expected.role = f.world.role(.viewer, of: f.acme)
        #expect(f.world.state.users[f.ada] == expected)
        #expect(f.world.state.licensesInUse(f.acme) == 2)
        #expect(try !f.world.check(f.ada, f.acme, .manageProjects).allowed)
        #expect(try f.world.check(f.ada, f.acme, .viewProjects).allowed)
    }

    @Test func R10_officesAreReplacedAndMayBeCleared() throws {
        var f = try Fixture()
        try f.world.run(.editUser(EditUser(user: f.ada, offices: [f.berlin, f.paris])), as: .user(f.owner))
        #expect(f.world.state.users[f.ada]?.offices == [f.berlin, f.paris])
        try f.world.run(.editUser(EditUser(user: f.ada, offices: [])), as: .user(f.owner))
        #expect(f.world.state.users[f.ada]?.offices == [])
        // Offices of another account do not exist here.
        let (beta, betaOwner) = try f.world.createAccount("Beta")
        let foreign = try f.world.createOffice("Rome", in: beta, as: betaOwner)
        f.world.reject(.editUser(EditUser(user: f.ada, offices: [foreign])), as: .user(f.owner), .notFound)
    }

    @Test func R10_theEmailStaysUniqueInTheRegion() throws {
        var f = try Fixture()
        let error = f.world.reject(
            .editUser(EditUser(user: f.ada, email: " Bob@Example.com ")), as: .user(f.owner), .alreadyExists, rule: .r8)
        #expect(error?.message.contains("GLOBAL") == true)
        let ownerEmail = try #require(f.world.state.users[f.owner]?.email)
        f.world.reject(.editUser(EditUser(user: f.ada, email: ownerEmail.uppercased())), as: .user(f.owner), .alreadyExists, rule: .r8)
        // A user of another account in the region too.
        let (beta, betaOwner) = try f.world.createAccount("Beta")
        try f.world.addUser(to: beta, email: "cy@example.com", as: betaOwner)
        f.world.reject(.editUser(EditUser(user: f.ada, email: "cy@example.com")), as: .user(f.owner), .alreadyExists, rule: .r8)

        // Their own email in another case is fine, and so is one used only in the other region.
        try f.world.run(.editUser(EditUser(user: f.ada, email: "Ada@Example.com")), as: .user(f.owner))
        #expect(f.world.state.users[f.ada]?.email == "Ada@Example.com")
        let (eu, euOwner) = try f.world.createAccount("Acme EU", region: .eu)
        try f.world.addUser(to: eu, email: "dee@example.com", as: euOwner)
        try f.world.run(.editUser(EditUser(user: f.ada, email: "dee@example.com")), as: .user(f.owner))
        #expect(f.world.state.indexesAreConsistent)
    }

    @Test func R10_viewerRolesCarryOnlyViewProjectsAndViewBilling() throws {
        var f = try Fixture()
        let readers = try f.world.createRole(
            "Readers", access: .viewer, permissions: Permissions([.viewProjects, .viewBilling]), in: f.acme, as: f.owner)
        for permission in Permission.allCases where permission != .viewProjects && permission != .viewBilling {
            let error = f.world.reject(
                .createRole(account: f.acme, name: "Bad", access: .viewer, permissions: Permissions([.viewProjects, permission])),
                as: .user(f.owner), .invalidArgument, rule: .r10)
            #expect(error?.message.contains(permission.name) == true)
            f.world.reject(
                .editRole(EditRole(role: readers, permissions: Permissions([permission]))), as: .user(f.owner),
                .invalidArgument, rule: .r10)
            f.world.reject(
                .editRole(EditRole(role: f.world.role(.viewer, of: f.acme), permissions: Permissions([.viewProjects, permission]))),
                as: .user(f.owner), .invalidArgument, rule: .r10)
        }
        // A FULL role with more permissions cannot turn VIEWER without dropping them.
        f.world.reject(.editRole(EditRole(role: f.editors, access: .viewer)), as: .user(f.owner), .invalidArgument, rule: .r10)
        try f.world.run(
            .editRole(EditRole(role: f.editors, access: .viewer, permissions: Permissions([.viewProjects]))), as: .user(f.owner))
        #expect(f.world.state.roles[f.editors]?.access == .viewer)
        // The same permissions are fine on a FULL role.
        _ = try f.world.createRole("Full", access: .full, permissions: .all, in: f.acme, as: f.owner)
    }

    @Test func R10_usersWithAViewerRoleCarryOnlyViewProjectsAndViewBilling() throws {
        var f = try Fixture()
        let viewer = f.world.role(.viewer, of: f.acme)
        // Adding.
        f.world.reject(
            .addUser(
                AddUser(
                    account: f.acme, email: "vic@example.com", firstName: "Vic", lastName: "Tor", role: viewer,
                    extraPermissions: Permissions([.manageProducts]))),
            as: .user(f.owner), .invalidArgument, rule: .r10)
        let vic = try f.world.addActiveUser(
            to: f.acme, email: "vic@example.com", role: viewer, extraPermissions: Permissions([.viewBilling]), as: f.owner)
        #expect(try f.world.check(vic, f.acme, .viewBilling).allowed)
        // Editing the permissions of a VIEWER user.
        f.world.reject(
            .editUser(EditUser(user: vic, extraPermissions: Permissions([.viewBilling, .editBilling]))), as: .user(f.owner),
            .invalidArgument, rule: .r10)
        // Moving a user with extra permissions to a VIEWER role, unless they go in the same call.
        try f.world.run(.editUser(EditUser(user: f.ada, extraPermissions: Permissions([.shareAccess]))), as: .user(f.owner))
        let error = f.world.reject(.editUser(EditUser(user: f.ada, role: viewer)), as: .user(f.owner), .invalidArgument, rule: .r10)
        #expect(error?.message.contains("SHARE_ACCESS") == true)
        try f.world.run(
            .editUser(EditUser(user: f.ada, role: viewer, extraPermissions: Permissions([.viewBilling]))), as: .user(f.owner))
        #expect(f.world.state.users[f.ada]?.role == viewer)
        #expect(f.world.state.users[f.ada]?.extraPermissions == Permissions([.viewBilling]))
    }

    @Test func R10_aRoleCannotTurnViewerWhileAHolderHasMoreExtraPermissions() throws {
        var f = try Fixture()
        let staff = try f.world.createRole(
            "Staff", access: .full, permissions: Permissions([.viewProjects]), in: f.acme, as: f.owner)
        let sam = try f.world.addActiveUser(
            to: f.acme, email: "sam@example.com", role: staff, extraPermissions: Permissions([.manageProducts]),
            as: f.owner)
        let error = f.world.reject(
            .editRole(EditRole(role: staff, access: .viewer)), as: .user(f.owner), .failedPrecondition, rule: .r10)
        #expect(error?.message.contains(sam.rawValue) == true)
        try f.world.run(.editUser(EditUser(user: sam, extraPermissions: Permissions([.viewBilling]))), as: .user(f.owner))
        try f.world.run(.editRole(EditRole(role: staff, access: .viewer)), as: .user(f.owner))
        #expect(try !f.world.check(sam, f.acme, .manageProducts).allowed)
    }

    @Test func R10_onlyUsersOfTheAccountAreEdited() throws {
        var f = try Fixture()
        let (beta, betaOwner) = try f.world.createAccount("Beta")
        let cy = try f.world.addActiveUser(to: beta, email: "cy@example.com", as: betaOwner)
        // Acme's owner has no say in Beta.
        f.world.reject(.editUser(EditUser(user: cy, firstName: "X")), as: .user(f.owner), .permissionDenied, rule: .r19)
        // Nor can a user get a role of another account.
        f.world.reject(
            .editUser(EditUser(user: f.ada, role: f.world.role(.member, of: beta))), as: .user(f.owner), .notFound)
        f.world.reject(.editUser(EditUser(user: UserID("usr_zzz")!, firstName: "X")), as: .user(f.owner), .notFound)
    }
}
