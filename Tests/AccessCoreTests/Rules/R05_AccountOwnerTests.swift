import Testing

@testable import AccessCore

/// R5: every account has at least one ACTIVE Account Owner at all times.
/// Deactivating, or moving to another role, the last active owner fails with
/// FAILED_PRECONDITION, and the message says to assign another Account Owner first.
@Suite struct R05_AccountOwnerTests {
    /// An account with its owner and an administrator (Member + EDIT_ACCOUNT_SETTINGS)
    /// who may deactivate and edit the owner: the owner cannot act on themselves (R6).
    private static func setUp() throws -> (world: World, acme: AccountID, owner: UserID, admin: UserID) {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 10)
        let admin = try world.addActiveUser(
            to: acme, email: "admin@example.com", extraPermissions: Permissions([.editAccountSettings]), as: owner)
        return (world, acme, owner, admin)
    }

    private static func activeOwners(of account: AccountID, in state: AccessState) -> [UserID] {
        state.users.values.filter {
            $0.account == account && $0.status == .active && state.roles[$0.role]?.isAccountOwner == true
        }.map(\.id)
    }

    private static func expectAssignAnotherOwnerFirst(_ error: AccessError?, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error?.message.contains("last active Account Owner") == true, sourceLocation: sourceLocation)
        #expect(error?.message.contains("assign another Account Owner first") == true, sourceLocation: sourceLocation)
    }

    @Test func R5_lastActiveOwnerCannotBeDeactivated() throws {
        let (start, acme, owner, admin) = try Self.setUp()
        var world = start
        let error = world.reject(.deactivateUser(owner), as: .user(admin), .failedPrecondition, rule: .r5)
        Self.expectAssignAnotherOwnerFirst(error)
        #expect(world.state.users[owner]?.status == .active)
        #expect(Self.activeOwners(of: acme, in: world.state) == [owner])
    }

    @Test func R5_lastActiveOwnerCannotBeMovedToAnotherRole() throws {
        let (start, acme, owner, admin) = try Self.setUp()
        var world = start
        let viewersRole = try world.createRole(
            "Readers", access: .viewer, permissions: Permissions([.viewProjects]), in: acme, as: admin)
        for role in [world.role(.member, of: acme), world.role(.viewer, of: acme), viewersRole] {
            let error = world.reject(
                .editUser(EditUser(user: owner, role: role)), as: .user(admin), .failedPrecondition, rule: .r5)
            Self.expectAssignAnotherOwnerFirst(error)
        }
        // Nothing else in the same call changes either (R10, R21).
        world.reject(
            .editUser(EditUser(user: owner, firstName: "Changed", role: world.role(.member, of: acme))), as: .user(admin),
            .failedPrecondition, rule: .r5)
        #expect(world.state.users[owner]?.firstName == "Olga")
        #expect(world.state.users[owner]?.role == world.role(.accountOwner, of: acme))
    }

    @Test func R5_theLastOwnerMayStillBeEditedOtherwise() throws {
        let (start, acme, owner, admin) = try Self.setUp()
        var world = start
        try world.run(
            .editUser(EditUser(user: owner, firstName: "Olivia", role: world.role(.accountOwner, of: acme))),
            as: .user(admin))
        #expect(world.state.users[owner]?.firstName == "Olivia")
        #expect(Self.activeOwners(of: acme, in: world.state) == [owner])
    }

    @Test func R5_anOwnerCanBeDeactivatedWhenAnotherOwnerIsActive() throws {
        let (start, acme, owner, admin) = try Self.setUp()
        var world = start
        let second = try world.addActiveUser(
            to: acme, email: "second@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        try world.run(.deactivateUser(owner), as: .user(admin))
        #expect(world.state.users[owner]?.status == .deactivated)
        #expect(Self.activeOwners(of: acme, in: world.state) == [second])
        // Now the second is the last one.
        let error = world.reject(.deactivateUser(second), as: .user(admin), .failedPrecondition, rule: .r5)
        Self.expectAssignAnotherOwnerFirst(error)
        #expect(world.state.indexesAreConsistent)
    }

    @Test func R5_anOwnerCanBeMovedToAnotherRoleWhenAnotherOwnerIsActive() throws {
        let (start, acme, owner, admin) = try Self.setUp()
        var world = start
        let second = try world.addActiveUser(
            to: acme, email: "second@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        try world.run(.editUser(EditUser(user: owner, role: world.role(.member, of: acme))), as: .user(admin))
        #expect(world.state.users[owner]?.role == world.role(.member, of: acme))
        #expect(Self.activeOwners(of: acme, in: world.state) == [second])
        world.reject(
            .editUser(EditUser(user: second, role: world.role(.member, of: acme))), as: .user(admin), .failedPrecondition,
            rule: .r5)
    }

    @Test func R5_aPendingOwnerDoesNotCount() throws {
        let (start, acme, owner, admin) = try Self.setUp()
        var world = start
        let pending = try world.addUser(
            to: acme, email: "second@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        #expect(world.state.users[pending]?.status == .pending)
        world.reject(.deactivateUser(owner), as: .user(admin), .failedPrecondition, rule: .r5)
        world.reject(
            .editUser(EditUser(user: owner, role: world.role(.member, of: acme))), as: .user(admin), .failedPrecondition,
            rule: .r5)
        // Once activated, it counts.
        try world.run(.activateUser(token: world.activationToken(of: pending)!), as: .anonymous)
        try world.run(.deactivateUser(owner), as: .user(admin))
        #expect(Self.activeOwners(of: acme, in: world.state) == [pending])
    }

    @Test func R5_aDeactivatedOwnerDoesNotCount() throws {
        let (start, acme, owner, admin) = try Self.setUp()
        var world = start
        let second = try world.addActiveUser(
            to: acme, email: "second@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        try world.run(.deactivateUser(second), as: .user(owner))
        world.reject(.deactivateUser(owner), as: .user(admin), .failedPrecondition, rule: .r5)
        // Reactivating the second owner makes room again.
        try world.run(.reactivateUser(second), as: .user(admin))
        try world.run(.deactivateUser(owner), as: .user(admin))
        #expect(Self.activeOwners(of: acme, in: world.state) == [second])
    }

    @Test func R5_pendingOwnersMayBeDeactivatedOrMovedFreely() throws {
        let (start, acme, owner, admin) = try Self.setUp()
        var world = start
        let pending = try world.addUser(
            to: acme, email: "p1@example.com", role: world.role(.accountOwner, of: acme), as: owner)
        try world.run(.editUser(EditUser(user: pending, role: world.role(.member, of: acme))), as: .user(admin))
        try world.run(.deactivateUser(pending), as: .user(admin))
        #expect(Self.activeOwners(of: acme, in: world.state) == [owner])
    }

    @Test func R5_everyAccountKeepsItsOwnOwners() throws {
        let (start, acme, owner, admin) = try Self.setUp()
        var world = start
        let (beta, betaOwner) = try world.createAccount("Beta")
        // A second owner in another account does not help Acme.
        try world.addActiveUser(to: beta, email: "second@beta.example.com", role: world.role(.accountOwner, of: beta), as: betaOwner)
        world.reject(.deactivateUser(owner), as: .user(admin), .failedPrecondition, rule: .r5)
        #expect(Self.activeOwners(of: acme, in: world.state) == [owner])
        #expect(Self.activeOwners(of: beta, in: world.state).count == 2)
    }
}
