import Testing

@testable import AccessCore

/// R2: a user with a FULL role who is PENDING or ACTIVE holds one Full-Access
/// license; adding, reactivating, or moving to FULL access fails with
/// RESOURCE_EXHAUSTED ("N of M") when none is free. VIEWER roles are unlimited.
@Suite struct R02_LicenseTests {
    private static func addUser(_ account: AccountID, _ email: String, role: RoleID) -> Command {
        .addUser(AddUser(account: account, email: email, firstName: "New", lastName: "User", role: role))
    }

    @Test func R2_pendingAndActiveFullUsersEachHoldALicense() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 5)
        #expect(world.state.licensesInUse(acme) == 1)
        let pending = try world.addUser(to: acme, email: "pending@example.com", as: owner)
        #expect(world.state.users[pending]?.status == .pending)
        #expect(world.state.licensesInUse(acme) == 2)
        try world.addActiveUser(to: acme, email: "active@example.com", as: owner)
        #expect(world.state.licensesInUse(acme) == 3)
        // Activating a pending user does not take a second license.
        try world.run(.activateUser(token: world.activationToken(of: pending)!), as: .anonymous)
        #expect(world.state.licensesInUse(acme) == 3)
        #expect(world.state.indexesAreConsistent)
    }

    @Test func R2_addingAFullUserWithNoFreeLicenseIsResourceExhausted() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        try world.addUser(to: acme, email: "ada@example.com", as: owner)
        #expect(world.state.licensesInUse(acme) == 2)

        let error = world.reject(
            Self.addUser(acme, "bob@example.com", role: world.role(.member, of: acme)), as: .user(owner),
            .resourceExhausted, rule: .r2)
        #expect(error?.message.contains("2 of 2") == true, "\(String(describing: error))")
        // The same with any FULL role, built-in or not.
        let editors = try world.createRole(
            "Editors", access: .full, permissions: Permissions([.viewProjects]), in: acme, as: owner)
        world.reject(Self.addUser(acme, "bob@example.com", role: editors), as: .user(owner), .resourceExhausted, rule: .r2)
        world.reject(
            Self.addUser(acme, "bob@example.com", role: world.role(.accountOwner, of: acme)), as: .user(owner),
            .resourceExhausted, rule: .r2)
        #expect(world.state.licensesInUse(acme) == 2)
    }

    @Test func R2_messageCountsLicensesInUseOfTotal() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 3)
        try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        try world.addUser(to: acme, email: "bea@example.com", as: owner)
        let error = world.reject(
            Self.addUser(acme, "cy@example.com", role: world.role(.member, of: acme)), as: .user(owner),
            .resourceExhausted, rule: .r2)
        #expect(error?.message.contains("3 of 3") == true, "\(String(describing: error))")
    }

    @Test func R2_viewerUsersNeedNoLicenseAndAreUnlimited() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 1)
        let viewer = world.role(.viewer, of: acme)
        let readers = try world.createRole(
            "Readers", access: .viewer, permissions: Permissions([.viewProjects, .viewBilling]), in: acme, as: owner)
        for index in 0..<10 {
            try world.addActiveUser(to: acme, email: "viewer\(index)@example.com", role: viewer, as: owner)
            try world.addUser(to: acme, email: "reader\(index)@example.com", role: readers, as: owner)
        }
        #expect(world.state.licensesInUse(acme) == 1)
        #expect(world.state.users.values.filter { $0.account == acme }.count == 21)
        // Still no room for a FULL user.
        world.reject(
            Self.addUser(acme, "full@example.com", role: world.role(.member, of: acme)), as: .user(owner),
            .resourceExhausted, rule: .r2)
    }

    @Test func R2_deactivatedUsersHoldNoLicense() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        try world.run(.deactivateUser(ada), as: .user(owner))
        #expect(world.state.licensesInUse(acme) == 1)
        try world.addUser(to: acme, email: "bob@example.com", as: owner)
        #expect(world.state.licensesInUse(acme) == 2)
    }

    @Test func R2_reactivatingWithNoFreeLicenseIsResourceExhausted() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        try world.run(.deactivateUser(ada), as: .user(owner))
        try world.addActiveUser(to: acme, email: "bob@example.com", as: owner)

        let error = world.reject(.reactivateUser(ada), as: .user(owner), .resourceExhausted, rule: .r2)
        #expect(error?.message.contains("2 of 2") == true, "\(String(describing: error))")
        #expect(world.state.users[ada]?.status == .deactivated)

        // A VIEWER user is reactivated whatever the licenses.
        let viewer = try world.addActiveUser(
            to: acme, email: "vic@example.com", role: world.role(.viewer, of: acme), as: owner)
        try world.run(.deactivateUser(viewer), as: .user(owner))
        try world.run(.reactivateUser(viewer), as: .user(owner))
        #expect(world.state.users[viewer]?.status == .active)
        #expect(world.state.licensesInUse(acme) == 2)
    }

    @Test func R2_movingAUserFromViewerToFullRoleNeedsAFreeLicense() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        let vic = try world.addActiveUser(
            to: acme, email: "vic@example.com", role: world.role(.viewer, of: acme), as: owner)

        let error = world.reject(
            .editUser(EditUser(user: vic, role: world.role(.member, of: acme))), as: .user(owner), .resourceExhausted,
            rule: .r2)
        #expect(error?.message.contains("2 of 2") == true, "\(String(describing: error))")
        #expect(world.state.users[vic]?.role == world.role(.viewer, of: acme))

        // A pending VIEWER user would take a license too.
        let pending = try world.addUser(
            to: acme, email: "pat@example.com", role: world.role(.viewer, of: acme), as: owner)
        world.reject(
            .editUser(EditUser(user: pending, role: world.role(.member, of: acme))), as: .user(owner),
            .resourceExhausted, rule: .r2)

        // With one more license it works and takes it.
        try world.run(.setLicenseCount(account: acme, count: 3), as: .administrator)
        try world.run(.editUser(EditUser(user: vic, role: world.role(.member, of: acme))), as: .user(owner))
        #expect(world.state.users[vic]?.role == world.role(.member, of: acme))
        #expect(world.state.licensesInUse(acme) == 3)
    }

    @Test func R2_movingADeactivatedViewerToFullRoleNeedsNoLicense() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 1)
        let vic = try world.addActiveUser(
            to: acme, email: "vic@example.com", role: world.role(.viewer, of: acme), as: owner)
        try world.run(.deactivateUser(vic), as: .user(owner))
        try world.run(.editUser(EditUser(user: vic, role: world.role(.member, of: acme))), as: .user(owner))
        #expect(world.state.licensesInUse(acme) == 1)
        // It needs one when it comes back.
        world.reject(.reactivateUser(vic), as: .user(owner), .resourceExhausted, rule: .r2)
    }

    @Test func R2_changingBetweenFullRolesNeedsNoNewLicense() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        let editors = try world.createRole(
            "Editors", access: .full, permissions: Permissions([.viewProjects]), in: acme, as: owner)
        try world.run(.editUser(EditUser(user: ada, role: editors)), as: .user(owner))
        #expect(world.state.users[ada]?.role == editors)
        #expect(world.state.licensesInUse(acme) == 2)
    }

    @Test func R2_movingAUserToAViewerRoleFreesTheirLicense() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        try world.run(.editUser(EditUser(user: ada, role: world.role(.viewer, of: acme))), as: .user(owner))
        #expect(world.state.licensesInUse(acme) == 1)
        try world.addUser(to: acme, email: "bob@example.com", as: owner)
        #expect(world.state.licensesInUse(acme) == 2)
    }

    @Test func R2_editingARoleFromViewerToFullNeedsALicensePerHolder() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let readers = try world.createRole(
            "Readers", access: .viewer, permissions: Permissions([.viewProjects]), in: acme, as: owner)
        try world.addActiveUser(to: acme, email: "r1@example.com", role: readers, as: owner)
        try world.addUser(to: acme, email: "r2@example.com", role: readers, as: owner)
        let gone = try world.addActiveUser(to: acme, email: "r3@example.com", role: readers, as: owner)
        try world.run(.deactivateUser(gone), as: .user(owner))
        #expect(world.state.licensesInUse(acme) == 1)

        // Two PENDING/ACTIVE holders, one free license.
        let error = world.reject(
            .editRole(EditRole(role: readers, access: .full)), as: .user(owner), .resourceExhausted, rule: .r2)
        #expect(error?.message.contains("1 of 2") == true, "\(String(describing: error))")
        #expect(world.state.roles[readers]?.access == .viewer)

        // The deactivated holder needs none.
        try world.run(.setLicenseCount(account: acme, count: 3), as: .administrator)
        try world.run(.editRole(EditRole(role: readers, access: .full)), as: .user(owner))
        #expect(world.state.roles[readers]?.access == .full)
        #expect(world.state.licensesInUse(acme) == 3)
        #expect(world.state.indexesAreConsistent)
    }

    @Test func R2_editingTheBuiltInViewerRoleToFullNeedsLicenses() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 1)
        let viewer = world.role(.viewer, of: acme)
        try world.addActiveUser(to: acme, email: "vic@example.com", role: viewer, as: owner)
        let error = world.reject(
            .editRole(EditRole(role: viewer, access: .full)), as: .user(owner), .resourceExhausted, rule: .r2)
        #expect(error?.message.contains("1 of 1") == true, "\(String(describing: error))")
    }

    @Test func R2_editingARoleToViewerFreesLicensesOfItsHolders() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 3)
        let editors = try world.createRole(
            "Editors", access: .full, permissions: Permissions([.viewProjects]), in: acme, as: owner)
        try world.addActiveUser(to: acme, email: "e1@example.com", role: editors, as: owner)
        try world.addUser(to: acme, email: "e2@example.com", role: editors, as: owner)
        #expect(world.state.licensesInUse(acme) == 3)
        try world.run(.editRole(EditRole(role: editors, access: .viewer)), as: .user(owner))
        #expect(world.state.licensesInUse(acme) == 1)
        #expect(try world.replayed() == world.state)
        #expect(world.state.indexesAreConsistent)
    }
}
