import Testing

@testable import AccessCore

/// R6: no user can change their own role or permissions (PERMISSION_DENIED),
/// whatever their role; a user may edit their own first and last name.
@Suite struct R06_SelfChangeTests {
    @Test func R6_anOwnerCannotChangeTheirOwnRole() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        // Even with a second active owner, so that R5 would not stop it.
        try world.addActiveUser(to: acme, email: "second@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        for role in [world.role(.member, of: acme), world.role(.viewer, of: acme)] {
            let error = world.reject(
                .editUser(EditUser(user: owner, role: role)), as: .user(owner), .permissionDenied, rule: .r6)
            #expect(error?.message.contains("own role") == true)
        }
        #expect(world.state.users[owner]?.role == world.role(.accountOwner, of: acme))
    }

    @Test func R6_anOwnerCannotChangeTheirOwnExtraPermissions() throws {
        var world = World()
        let (_, owner) = try world.createAccount()
        world.reject(
            .editUser(EditUser(user: owner, extraPermissions: Permissions([.manageClients]))), as: .user(owner),
            .permissionDenied, rule: .r6)
        #expect(world.state.users[owner]?.extraPermissions == [])
    }

    @Test func R6_anAdministratorCannotRaiseOrLowerTheirOwnPermissions() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let admin = try world.addActiveUser(
            to: acme, email: "admin@example.com", extraPermissions: Permissions([.editAccountSettings]), as: owner)
        world.reject(
            .editUser(EditUser(user: admin, role: world.role(.accountOwner, of: acme))), as: .user(admin),
            .permissionDenied, rule: .r6)
        world.reject(
            .editUser(EditUser(user: admin, extraPermissions: Permissions([.editAccountSettings, .shareAccess]))),
            as: .user(admin), .permissionDenied, rule: .r6)
        world.reject(
            .editUser(EditUser(user: admin, extraPermissions: [])), as: .user(admin), .permissionDenied, rule: .r6)
        // A name change riding along does not happen either.
        world.reject(
            .editUser(EditUser(user: admin, firstName: "Root", extraPermissions: Permissions(Permission.allCases))),
            as: .user(admin), .permissionDenied, rule: .r6)
        #expect(world.state.users[admin]?.firstName == "Ada")
        #expect(world.state.users[admin]?.extraPermissions == Permissions([.editAccountSettings]))
        #expect(try !world.check(admin, acme, .shareAccess).allowed)

        // Another user with the permission may do it for them.
        try world.run(
            .editUser(EditUser(user: admin, extraPermissions: Permissions([.editAccountSettings, .shareAccess]))),
            as: .user(owner))
        #expect(try world.check(admin, acme, .shareAccess).allowed)
    }

    @Test func R6_aUserMayEditTheirOwnNames() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        // A Member without EDIT_ACCOUNT_SETTINGS, and a Viewer.
        let member = try world.addActiveUser(to: acme, email: "member@example.com", as: owner)
        let viewer = try world.addActiveUser(
            to: acme, email: "viewer@example.com", role: world.role(.viewer, of: acme), as: owner)
        for user in [member, viewer, owner] {
            let events = try world.run(
                .editUser(EditUser(user: user, firstName: "  Grace ", lastName: "Hopper")), as: .user(user))
            #expect(events.map(\.change.kind) == ["userEdited"])
            #expect(world.state.users[user]?.firstName == "Grace")
            #expect(world.state.users[user]?.lastName == "Hopper")
        }
        #expect(world.state.users[member]?.role == world.role(.member, of: acme))
    }

    @Test func R6_restatingYourOwnRoleAndPermissionsIsNoChange() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let member = try world.addActiveUser(
            to: acme, email: "member@example.com", extraPermissions: Permissions([.viewBilling]), as: owner)
        try world.run(
            .editUser(
                EditUser(
                    user: member, firstName: "Grace", role: world.role(.member, of: acme),
                    extraPermissions: Permissions([.viewBilling]))),
            as: .user(member))
        #expect(world.state.users[member]?.firstName == "Grace")
    }

    @Test func R6_ownEmailAndOfficesNeedEditAccountSettings() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let office = try world.createOffice("Berlin", in: acme, as: owner)
        let member = try world.addActiveUser(to: acme, email: "member@example.com", as: owner)
        world.reject(
            .editUser(EditUser(user: member, email: "me@example.com")), as: .user(member), .permissionDenied, rule: .r4)
        world.reject(.editUser(EditUser(user: member, offices: [office])), as: .user(member), .permissionDenied, rule: .r4)

        // With EDIT_ACCOUNT_SETTINGS a user changes their own email and offices, still not their permissions.
        let admin = try world.addActiveUser(
            to: acme, email: "admin@example.com", extraPermissions: Permissions([.editAccountSettings]), as: owner)
        try world.run(.editUser(EditUser(user: admin, email: "boss@example.com", offices: [office])), as: .user(admin))
        #expect(world.state.users[admin]?.email == "boss@example.com")
        #expect(world.state.users[admin]?.offices == [office])
    }

    @Test func R6_nobodyDeactivatesThemselves() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        try world.addActiveUser(to: acme, email: "second@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        let admin = try world.addActiveUser(
            to: acme, email: "admin@example.com", extraPermissions: Permissions([.editAccountSettings]), as: owner)
        world.reject(.deactivateUser(owner), as: .user(owner), .permissionDenied, rule: .r6)
        world.reject(.deactivateUser(admin), as: .user(admin), .permissionDenied, rule: .r6)
        #expect(world.state.users[owner]?.status == .active)
        #expect(world.state.users[admin]?.status == .active)
    }

    @Test func R6_editingTheRoleYouHoldIsChangingYourOwnPermissions() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let admins = try world.createRole(
            "Admins", access: .full, permissions: Permissions([.editAccountSettings, .viewProjects]), in: acme, as: owner)
        let admin = try world.addActiveUser(to: acme, email: "admin@example.com", role: admins, as: owner)
        let other = try world.addActiveUser(to: acme, email: "other@example.com", role: admins, as: owner)
        #expect(other != admin)

        world.reject(
            .editRole(EditRole(role: admins, permissions: Permissions([.editAccountSettings, .viewAllProjects]))),
            as: .user(admin), .permissionDenied, rule: .r6)
        world.reject(
            .editRole(EditRole(role: admins, permissions: Permissions([.viewProjects]))), as: .user(admin),
            .permissionDenied, rule: .r6)
        world.reject(.editRole(EditRole(role: admins, access: .viewer)), as: .user(admin), .permissionDenied, rule: .r6)
        #expect(world.state.roles[admins]?.permissions == Permissions([.editAccountSettings, .viewProjects]))

        // The name is not a permission.
        try world.run(.editRole(EditRole(role: admins, name: "Administrators")), as: .user(admin))
        #expect(world.state.roles[admins]?.name == "Administrators")

        // Someone who does not hold the role may change it.
        let editor = try world.addActiveUser(
            to: acme, email: "editor@example.com", extraPermissions: Permissions([.editAccountSettings]), as: owner)
        try world.run(
            .editRole(EditRole(role: admins, permissions: Permissions([.editAccountSettings, .viewAllProjects]))),
            as: .user(editor))
        #expect(try world.check(admin, acme, .viewAllProjects).allowed)
        // The editor holds Member: editing Member is their own permissions.
        world.reject(
            .editRole(EditRole(role: world.role(.member, of: acme), permissions: Permissions([.viewProjects]))),
            as: .user(editor), .permissionDenied, rule: .r6)
    }

    @Test func R6_anAgencyUserCannotEditTheClientRoleTheyActWith() throws {
        var world = World()
        let (client, clientOwner) = try world.createAccount("Client")
        let (agency, agencyOwner) = try world.createAccount("Agency", kind: .agency)
        let agent = try world.addActiveUser(
            to: agency, email: "agent@agency.example.com", extraPermissions: Permissions([.manageClients]),
            as: agencyOwner)
        let agencyAdmins = try world.createRole(
            "Agency Admins", access: .full, permissions: Permissions([.editAccountSettings, .viewProjects]), in: client,
            as: clientOwner)
        try world.run(.addClient(agency: agency, client: client), as: .user(agencyOwner))
        try world.run(.requestClientAccess(agency: agency, client: client), as: .user(agencyOwner))
        try world.run(.approveClientAccess(client: client, agency: agency, role: agencyAdmins), as: .user(clientOwner))
        #expect(try world.check(agent, client, .editAccountSettings).allowed)
        #expect(try !world.check(agent, client, .shareAccess).allowed)

        // In the client, the agent holds that role: widening it widens their own permissions.
        world.reject(
            .editRole(
                EditRole(role: agencyAdmins, permissions: Permissions([.editAccountSettings, .viewProjects, .shareAccess]))),
            as: .user(agent), .permissionDenied, rule: .r6)
        #expect(try !world.check(agent, client, .shareAccess).allowed)
        // Its name is not a permission; other roles of the client are account settings as usual.
        try world.run(.editRole(EditRole(role: agencyAdmins, name: "Agency")), as: .user(agent))
        try world.run(
            .editRole(EditRole(role: world.role(.viewer, of: client), permissions: Permissions([.viewBilling]))),
            as: .user(agent))
        // The client's own users may change it.
        try world.run(
            .editRole(
                EditRole(role: agencyAdmins, permissions: Permissions([.editAccountSettings, .viewProjects, .shareAccess]))),
            as: .user(clientOwner))
        #expect(try world.check(agent, client, .shareAccess).allowed)
    }

    @Test func R6_othersChangeYourRole() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let member = try world.addActiveUser(to: acme, email: "member@example.com", as: owner)
        try world.run(.editUser(EditUser(user: member, role: world.role(.viewer, of: acme))), as: .user(owner))
        #expect(world.state.users[member]?.role == world.role(.viewer, of: acme))
        // Which the member could not undo on their own.
        world.reject(
            .editUser(EditUser(user: member, role: world.role(.member, of: acme))), as: .user(member), .permissionDenied,
            rule: .r6)
    }
}
