import Testing

@testable import AccessCore

/// R1: creating an account is an administrator's call; it creates the account,
/// the three built-in roles, and its first user as Account Owner, ACTIVE at once.
@Suite struct R01_AccountCreationTests {
    private static func createAccount(
        _ name: String = "Acme", kind: AccountKind = .standard, region: Region = .global, licenses: Int = 3,
        email: String = "olga@example.com", firstName: String = "Olga", lastName: String = "Owner"
    ) -> Command {
        .createAccount(
            CreateAccount(
                name: name, kind: kind, region: region, fullAccessLicenses: licenses, ownerEmail: email,
                ownerFirstName: firstName, ownerLastName: lastName))
    }

    private static func roles(of account: AccountID, in state: AccessState) -> [Role] {
        state.roles.values.filter { $0.account == account }.sorted { $0.id < $1.id }
    }

    @Test func R1_administratorCreatesAccountRolesAndOwner() throws {
        var world = World()
        let time = world.now
        let events = try world.run(Self.createAccount(kind: .agency, region: .eu), as: .administrator)

        #expect(events.map(\.change.kind) == ["accountCreated", "roleCreated", "roleCreated", "roleCreated", "userAdded"])
        #expect(events.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(events.allSatisfy { $0.actor == .administrator && $0.time == time })
        guard case .accountCreated(let account) = events[0].change, case .userAdded(let owner) = events[4].change else {
            Issue.record("unexpected events \(events.map(\.change.kind))")
            return
        }
        #expect(account.id.rawValue.hasPrefix("acc_"))
        #expect(account.name == "Acme")
        #expect(account.kind == .agency)
        #expect(account.region == .eu)
        #expect(account.fullAccessLicenses == 3)
        #expect(account.createdAt == time)
        #expect(world.state.accounts[account.id] == account)
        #expect(world.state.accounts.count == 1)

        #expect(owner.id.rawValue.hasPrefix("usr_"))
        #expect(owner.account == account.id)
        #expect(owner.email == "olga@example.com")
        #expect(owner.firstName == "Olga")
        #expect(owner.lastName == "Owner")
        #expect(owner.role == world.role(.accountOwner, of: account.id))
        #expect(owner.extraPermissions.isEmpty)
        #expect(world.state.users[owner.id] == owner)
    }

    @Test func R1_threeBuiltInRolesWithTheirAccessAndPermissions() throws {
        var world = World()
        let (acme, _) = try world.createAccount()
        let roles = Self.roles(of: acme, in: world.state)
        #expect(roles.count == 3)

        let owner = try #require(roles.first { $0.builtIn == .accountOwner })
        #expect(owner.name == "Account Owner")
        #expect(owner.access == .full)
        #expect(owner.permissions == .all)
        #expect(owner.isAccountOwner)

        let member = try #require(roles.first { $0.builtIn == .member })
        #expect(member.name == "Member")
        #expect(member.access == .full)
        #expect(member.permissions == Permissions([.viewProjects, .manageProjects, .manageProducts]))

        let viewer = try #require(roles.first { $0.builtIn == .viewer })
        #expect(viewer.name == "Viewer")
        #expect(viewer.access == .viewer)
        #expect(viewer.permissions == Permissions([.viewProjects]))

        for role in roles { #expect(role.id.rawValue.hasPrefix("rol_")) }
    }

    @Test func R1_eachAccountGetsItsOwnBuiltInRoles() throws {
        var world = World()
        let (acme, _) = try world.createAccount("Acme")
        let (beta, _) = try world.createAccount("Beta")
        let acmeRoles = Set(Self.roles(of: acme, in: world.state).map(\.id))
        let betaRoles = Set(Self.roles(of: beta, in: world.state).map(\.id))
        #expect(acmeRoles.count == 3)
        #expect(betaRoles.count == 3)
        #expect(acmeRoles.isDisjoint(with: betaRoles))
    }

    @Test func R1_ownerIsActiveAtOnceWithEveryPermission() throws {
        var world = World()
        let time = world.now
        let (acme, owner) = try world.createAccount()
        let user = try #require(world.state.users[owner])
        #expect(user.status == .active)
        #expect(user.activatedAt == time)
        #expect(user.deactivatedAt == nil)
        // No activation is needed: no token, no activation email.
        #expect(world.state.activations.isEmpty)
        #expect(world.state.outbox.isEmpty)
        // The owner takes one Full-Access license and acts at once.
        #expect(world.state.licensesInUse(acme) == 1)
        for permission in Permission.allCases {
            let result = try world.check(owner, acme, permission)
            #expect(result.allowed, "\(permission)")
            #expect(result.path == .homeRole(world.role(.accountOwner, of: acme)))
        }
        let office = try world.createOffice("Berlin", in: acme, as: owner)
        #expect(world.state.offices[office] != nil)
    }

    @Test func R1_usersCannotCreateAccounts() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addActiveUser(
            to: acme, email: "ada@example.com", extraPermissions: Permissions(Permission.allCases), as: owner)

        // Not even an Account Owner, or a user holding every permission.
        let byOwner = world.reject(Self.createAccount(email: "new@example.com"), as: .user(owner), .permissionDenied, rule: .r1)
        #expect(byOwner?.message.contains("administrator") == true)
        world.reject(Self.createAccount(email: "new@example.com"), as: .user(ada), .permissionDenied, rule: .r1)
        world.reject(Self.createAccount(email: "new@example.com"), as: .anonymous, .permissionDenied, rule: .r1)
        #expect(world.state.accounts.count == 1)
    }

    @Test func R1_ownerEmailAlreadyUsedInTheRegionIsRejected() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(owner: "olga@example.com")
        try world.addUser(to: acme, email: "ada@example.com", as: owner)

        // Emails are trimmed and compared case-insensitively.
        let error = world.reject(
            Self.createAccount("Other", email: "  OLGA@Example.com "), as: .administrator, .alreadyExists, rule: .r8)
        #expect(error?.message.contains("GLOBAL") == true)
        // Any user of the region, not only owners.
        world.reject(Self.createAccount("Other", email: "Ada@example.com"), as: .administrator, .alreadyExists, rule: .r8)
        #expect(world.state.accounts.count == 1)
    }

    @Test func R1_sameOwnerEmailIsFineInTheOtherRegion() throws {
        var world = World()
        let (global, globalOwner) = try world.createAccount(region: .global, owner: "olga@example.com")
        let (eu, euOwner) = try world.createAccount("Acme EU", region: .eu, owner: "olga@example.com")
        #expect(global != eu)
        #expect(globalOwner != euOwner)
        #expect(world.state.users[euOwner]?.status == .active)
        #expect(world.state.users[euOwner]?.account == eu)
        // Still unique inside the EU region.
        world.reject(Self.createAccount("Third", region: .eu, email: "OLGA@example.com"), as: .administrator, .alreadyExists, rule: .r8)
    }

    @Test(arguments: ["", "   ", String(repeating: "a", count: 201), "Ac\u{7}me", "Acme\nCorp"])
    func R1_badAccountNameIsInvalidArgument(name: String) throws {
        var world = World()
        let error = world.reject(Self.createAccount(name), as: .administrator, .invalidArgument)
        #expect(error?.message.contains("account name") == true)
        #expect(world.state.accounts.isEmpty)
        #expect(world.state.nextSeq == 1)
    }

    @Test func R1_accountNameIsTrimmedAndMayHave200Characters() throws {
        var world = World()
        let events = try world.run(Self.createAccount("  Acme  "), as: .administrator)
        guard case .accountCreated(let account) = events.first?.change else {
            Issue.record("no accountCreated")
            return
        }
        #expect(account.name == "Acme")
        let long = String(repeating: "b", count: 200)
        let more = try world.run(Self.createAccount(long, email: "other@example.com"), as: .administrator)
        guard case .accountCreated(let second) = more.first?.change else {
            Issue.record("no accountCreated")
            return
        }
        #expect(second.name == long)
    }

    @Test func R1_badOwnerNamesAndEmailAreInvalidArguments() throws {
        var world = World()
        let first = world.reject(Self.createAccount(firstName: " "), as: .administrator, .invalidArgument)
        #expect(first?.message.contains("owner first name") == true)
        let last = world.reject(Self.createAccount(lastName: "Own\u{0}er"), as: .administrator, .invalidArgument)
        #expect(last?.message.contains("owner last name") == true)
        for email in ["", "not-an-email", "olga@localhost", "olga @example.com", "@example.com"] {
            let error = world.reject(Self.createAccount(email: email), as: .administrator, .invalidArgument)
            #expect(error?.message.contains("owner email") == true, "\(email)")
        }
        #expect(world.state.accounts.isEmpty)
    }

    @Test(arguments: [0, -1, Int.min])
    func R1_anAccountNeedsAtLeastOneLicense(licenses: Int) throws {
        var world = World()
        let error = world.reject(Self.createAccount(licenses: licenses), as: .administrator, .invalidArgument, rule: .r2)
        #expect(error?.message.contains("at least 1") == true)
        #expect(world.state.accounts.isEmpty)
    }

    @Test func R1_oneLicenseIsEnoughForTheOwner() throws {
        var world = World()
        let (acme, _) = try world.createAccount(licenses: 1)
        #expect(world.state.licensesInUse(acme) == 1)
        #expect(world.state.accounts[acme]?.fullAccessLicenses == 1)
        #expect(try world.replayed() == world.state)
        #expect(world.state.indexesAreConsistent)
    }
}
