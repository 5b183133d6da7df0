import Testing

@testable import AccessCore

/// R4: adding, editing, deactivating and reactivating users, and managing roles
/// and offices (and the account name), needs EDIT_ACCOUNT_SETTINGS (or Account
/// Owner) in that account; otherwise PERMISSION_DENIED.
@Suite struct R04_AccountSettingsPermissionTests {
    /// An account with one of everything R4 manages.
    private struct Fixture {
        var world = World()
        let acme: AccountID
        let owner: UserID
        /// ACTIVE, Member role, no EDIT_ACCOUNT_SETTINGS.
        let member: UserID
        /// ACTIVE, Viewer role.
        let viewer: UserID
        /// ACTIVE, Member role; the target of user commands.
        let target: UserID
        let pending: UserID
        let deactivated: UserID
        let office: OfficeID
        let customRole: RoleID

        init() throws {
            var world = World()
            let created = try world.createAccount(licenses: 10)
            acme = created.account
            owner = created.owner
            member = try world.addActiveUser(to: acme, email: "member@example.com", as: owner)
            viewer = try world.addActiveUser(
                to: acme, email: "viewer@example.com", role: world.role(.viewer, of: acme), as: owner)
            target = try world.addActiveUser(to: acme, email: "target@example.com", as: owner)
            pending = try world.addUser(to: acme, email: "pending@example.com", as: owner)
            deactivated = try world.addActiveUser(to: acme, email: "gone@example.com", as: owner)
            try world.run(.deactivateUser(deactivated), as: .user(owner))
            office = try world.createOffice("Berlin", in: acme, as: owner)
            customRole = try world.createRole(
                "Editors", access: .full, permissions: Permissions([.viewProjects]), in: acme, as: owner)
            self.world = world
        }

        /// Every command R4 governs, each one the owner could run.
        func settingsCommands() -> [Command] {
            [
                .addUser(
                    AddUser(
                        account: acme, email: "new@example.com", firstName: "New", lastName: "User",
                        role: world.role(.member, of: acme))),
                .editUser(EditUser(user: target, firstName: "Renamed")),
                .editUser(EditUser(user: target, email: "target2@example.com")),
                .editUser(EditUser(user: target, offices: [office])),
                .editUser(EditUser(user: target, role: world.role(.viewer, of: acme))),
                .editUser(EditUser(user: target, extraPermissions: Permissions([.viewBilling]))),
                .deactivateUser(target),
                .reactivateUser(deactivated),
                .resendActivation(pending),
                .createRole(account: acme, name: "Auditors", access: .viewer, permissions: Permissions([.viewBilling])),
                .editRole(EditRole(role: customRole, name: "Writers")),
                .editRole(EditRole(role: customRole, permissions: Permissions([.viewProjects, .manageProjects]))),
                .editRole(EditRole(role: world.role(.viewer, of: acme), permissions: Permissions([.viewBilling]))),
                .deleteRole(customRole),
                .createOffice(account: acme, name: "Paris"),
                .renameOffice(office, name: "Munich"),
                .deleteOffice(office),
                .renameAccount(account: acme, name: "Acme Inc"),
            ]
        }
    }

    @Test func R4_membersWithoutEditAccountSettingsAreDeniedEveryUserRoleAndOfficeCommand() throws {
        var fixture = try Fixture()
        for actor in [fixture.member, fixture.viewer] {
            for command in fixture.settingsCommands() {
                let error = fixture.world.reject(command, as: .user(actor), .permissionDenied, rule: .r4)
                #expect(error?.message.contains("EDIT_ACCOUNT_SETTINGS") == true, "\(command)")
            }
        }
    }

    @Test func R4_checkSaysTheSame() throws {
        let fixture = try Fixture()
        let denied = try fixture.world.check(fixture.member, fixture.acme, .editAccountSettings)
        #expect(!denied.allowed)
        #expect(denied.deniedBy == .r4)
        #expect(try fixture.world.check(fixture.owner, fixture.acme, .editAccountSettings).allowed)
    }

    @Test func R4_theAccountOwnerMayRunEveryCommand() throws {
        let fixture = try Fixture()
        for command in fixture.settingsCommands() {
            var world = fixture.world
            try world.run(command, as: .user(fixture.owner))
        }
    }

    @Test func R4_anExtraEditAccountSettingsPermissionAllowsEveryCommand() throws {
        var fixture = try Fixture()
        let admin = try fixture.world.addActiveUser(
            to: fixture.acme, email: "admin@example.com", extraPermissions: Permissions([.editAccountSettings]),
            as: fixture.owner)
        #expect(try fixture.world.check(admin, fixture.acme, .editAccountSettings).allowed)
        for command in fixture.settingsCommands() {
            var world = fixture.world
            try world.run(command, as: .user(admin))
        }
    }

    @Test func R4_aRoleWithEditAccountSettingsAllowsEveryCommand() throws {
        var fixture = try Fixture()
        let admins = try fixture.world.createRole(
            "Admins", access: .full, permissions: Permissions([.editAccountSettings]), in: fixture.acme,
            as: fixture.owner)
        let admin = try fixture.world.addActiveUser(
            to: fixture.acme, email: "admin@example.com", role: admins, as: fixture.owner)
        for command in fixture.settingsCommands() {
            var world = fixture.world
            try world.run(command, as: .user(admin))
        }
    }

    @Test func R4_losingThePermissionDeniesAtOnce() throws {
        var fixture = try Fixture()
        let admin = try fixture.world.addActiveUser(
            to: fixture.acme, email: "admin@example.com", extraPermissions: Permissions([.editAccountSettings]),
            as: fixture.owner)
        try fixture.world.run(.createOffice(account: fixture.acme, name: "Paris"), as: .user(admin))
        try fixture.world.run(.editUser(EditUser(user: admin, extraPermissions: [])), as: .user(fixture.owner))
        fixture.world.reject(.createOffice(account: fixture.acme, name: "Rome"), as: .user(admin), .permissionDenied, rule: .r4)
        #expect(try !fixture.world.check(admin, fixture.acme, .editAccountSettings).allowed)
    }

    @Test func R4_editAccountSettingsInAnotherAccountDoesNotCount() throws {
        var fixture = try Fixture()
        let (_, betaOwner) = try fixture.world.createAccount("Beta")
        // The owner of Beta holds every permission, but only in Beta.
        for command in fixture.settingsCommands() {
            fixture.world.reject(command, as: .user(betaOwner), .permissionDenied, rule: .r19)
        }
        let result = try fixture.world.check(betaOwner, fixture.acme, .editAccountSettings)
        #expect(!result.allowed)
        #expect(result.deniedBy == .r19)
    }

    @Test func R4_aShareGivesNoAccountSettings() throws {
        var fixture = try Fixture()
        let (_, betaOwner) = try fixture.world.createAccount("Beta", owner: "bea@beta.example.com")
        try fixture.world.share(fixture.acme, with: "bea@beta.example.com", billing: true, as: fixture.owner)
        for command in fixture.settingsCommands() {
            fixture.world.reject(command, as: .user(betaOwner), .permissionDenied, rule: .r16)
        }
    }

    @Test func R4_theAccountOwnerRoleCannotBeEditedAndBuiltInRolesCannotBeDeleted() throws {
        var fixture = try Fixture()
        let ownerRole = fixture.world.role(.accountOwner, of: fixture.acme)
        fixture.world.reject(
            .editRole(EditRole(role: ownerRole, permissions: Permissions([.viewProjects]))), as: .user(fixture.owner),
            .failedPrecondition, rule: .r4)
        fixture.world.reject(
            .editRole(EditRole(role: ownerRole, name: "Boss")), as: .user(fixture.owner), .failedPrecondition, rule: .r4)
        fixture.world.reject(
            .editRole(EditRole(role: fixture.world.role(.member, of: fixture.acme), name: "Staff")),
            as: .user(fixture.owner), .failedPrecondition, rule: .r4)
        for builtIn in BuiltInRole.allCases {
            fixture.world.reject(
                .deleteRole(fixture.world.role(builtIn, of: fixture.acme)), as: .user(fixture.owner), .failedPrecondition,
                rule: .r4)
        }
    }

    @Test func R4_roleNamesAreUniqueInTheAccountAndRolesInUseStay() throws {
        var fixture = try Fixture()
        fixture.world.reject(
            .createRole(account: fixture.acme, name: " editors ", access: .full, permissions: []),
            as: .user(fixture.owner), .alreadyExists, rule: .r4)
        fixture.world.reject(
            .createRole(account: fixture.acme, name: "MEMBER", access: .full, permissions: []),
            as: .user(fixture.owner), .alreadyExists, rule: .r4)
        try fixture.world.run(.editUser(EditUser(user: fixture.target, role: fixture.customRole)), as: .user(fixture.owner))
        let error = fixture.world.reject(
            .deleteRole(fixture.customRole), as: .user(fixture.owner), .failedPrecondition, rule: .r4)
        #expect(error?.message.contains("another role") == true)
        // Another account may use the same name.
        let (beta, betaOwner) = try fixture.world.createAccount("Beta")
        _ = try fixture.world.createRole("Editors", access: .full, permissions: [], in: beta, as: betaOwner)
    }
}
