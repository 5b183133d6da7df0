import Testing

@testable import AccessCore

/// R3: changing an account's license count is an administrator's call;
/// lowering it below the licenses in use fails with FAILED_PRECONDITION.
@Suite struct R03_LicenseCountTests {
    @Test func R3_administratorChangesTheLicenseCount() throws {
        var world = World()
        let (acme, _) = try world.createAccount(licenses: 2)
        let time = world.now
        let events = try world.run(.setLicenseCount(account: acme, count: 10), as: .administrator)
        #expect(events.map(\.change.kind) == ["licenseCountChanged"])
        guard case .licenseCountChanged(let account) = events.first?.change else {
            Issue.record("no licenseCountChanged")
            return
        }
        #expect(account.fullAccessLicenses == 10)
        #expect(account.updatedAt == time)
        #expect(world.state.accounts[acme] == account)

        try world.run(.setLicenseCount(account: acme, count: 1), as: .administrator)
        #expect(world.state.accounts[acme]?.fullAccessLicenses == 1)
        #expect(try world.replayed() == world.state)
    }

    @Test func R3_usersCannotChangeTheLicenseCount() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 2)
        let ada = try world.addActiveUser(
            to: acme, email: "ada@example.com", extraPermissions: Permissions(Permission.allCases), as: owner)

        // Not the Account Owner, not a user with every permission, not anonymous.
        let error = world.reject(.setLicenseCount(account: acme, count: 5), as: .user(owner), .permissionDenied, rule: .r3)
        #expect(error?.message.contains("administrator") == true)
        world.reject(.setLicenseCount(account: acme, count: 5), as: .user(ada), .permissionDenied, rule: .r3)
        world.reject(.setLicenseCount(account: acme, count: 5), as: .anonymous, .permissionDenied, rule: .r3)
        #expect(world.state.accounts[acme]?.fullAccessLicenses == 2)
    }

    @Test func R3_loweringBelowTheLicensesInUseIsFailedPrecondition() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 5)
        try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        try world.addUser(to: acme, email: "bob@example.com", as: owner)
        #expect(world.state.licensesInUse(acme) == 3)

        let error = world.reject(.setLicenseCount(account: acme, count: 2), as: .administrator, .failedPrecondition, rule: .r3)
        #expect(error?.message.contains("3") == true)
        world.reject(.setLicenseCount(account: acme, count: 1), as: .administrator, .failedPrecondition, rule: .r3)
        #expect(world.state.accounts[acme]?.fullAccessLicenses == 5)

        // Down to exactly the licenses in use is fine; then no license is free (R2).
        try world.run(.setLicenseCount(account: acme, count: 3), as: .administrator)
        #expect(world.state.accounts[acme]?.fullAccessLicenses == 3)
        world.reject(
            .addUser(
                AddUser(account: acme, email: "cy@example.com", firstName: "Cy", lastName: "Doe", role: world.role(.member, of: acme))),
            as: .user(owner), .resourceExhausted, rule: .r2)
    }

    @Test func R3_viewersAndDeactivatedUsersDoNotCountAgainstLowering() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 4)
        try world.addActiveUser(to: acme, email: "vic@example.com", role: world.role(.viewer, of: acme), as: owner)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        world.reject(.setLicenseCount(account: acme, count: 1), as: .administrator, .failedPrecondition, rule: .r3)
        try world.run(.deactivateUser(ada), as: .user(owner))
        try world.run(.setLicenseCount(account: acme, count: 1), as: .administrator)
        #expect(world.state.accounts[acme]?.fullAccessLicenses == 1)
        #expect(world.state.licensesInUse(acme) == 1)
    }

    @Test(arguments: [0, -3])
    func R3_anAccountKeepsAtLeastOneLicense(count: Int) throws {
        var world = World()
        let (acme, _) = try world.createAccount(licenses: 2)
        let error = world.reject(.setLicenseCount(account: acme, count: count), as: .administrator, .invalidArgument, rule: .r3)
        #expect(error?.message.contains("at least 1") == true)
    }

    @Test func R3_unknownAccountIsNotFound() throws {
        var world = World()
        try world.createAccount()
        let missing = AccountID("acc_zzz")!
        let error = world.reject(.setLicenseCount(account: missing, count: 5), as: .administrator, .notFound)
        #expect(error?.message.contains("acc_zzz") == true)
    }
}
