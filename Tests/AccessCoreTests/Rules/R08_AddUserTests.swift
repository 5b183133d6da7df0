import Testing

@testable import AccessCore

/// R8: adding a user takes email, names, role, optional extra permissions and
/// offices (which must exist in the account); the user starts PENDING with a
/// random single-use activation token (>= 128 bits, only its hash stored) that
/// expires after a configurable time (default 7 days), and an activation email
/// goes to the outbox. An email already used in the region is ALREADY_EXISTS.
@Suite struct R08_AddUserTests {
    private static func addUser(
        _ account: AccountID, _ email: String, role: RoleID, firstName: String = "Ada", lastName: String = "Lovelace",
        extraPermissions: Permissions = [], offices: Set<OfficeID> = []
    ) -> Command {
        .addUser(
            AddUser(
                account: account, email: email, firstName: firstName, lastName: lastName, role: role,
                extraPermissions: extraPermissions, offices: offices))
    }

    private static let sevenDays: Int64 = 7 * 24 * 3600 * 1000

    @Test func R8_aNewUserStartsPendingWithAnActivationAndAnEmail() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let berlin = try world.createOffice("Berlin", in: acme, as: owner)
        let paris = try world.createOffice("Paris", in: acme, as: owner)
        let time = world.now
        let events = try world.run(
            Self.addUser(
                acme, "  Ada@Example.com ", role: world.role(.member, of: acme), firstName: " Ada ",
                extraPermissions: Permissions([.shareAccess]), offices: [berlin, paris]),
            as: .user(owner))

        #expect(events.map(\.change.kind) == ["userAdded", "activationIssued", "outboxMessageQueued"])
        #expect(events.allSatisfy { $0.actor == .user(owner) && $0.time == time })
        guard case .userAdded(let user) = events[0].change,
            case .activationIssued(let activation) = events[1].change,
            case .outboxMessageQueued(let message) = events[2].change
        else {
            Issue.record("unexpected events \(events.map(\.change.kind))")
            return
        }
        #expect(user.id.rawValue.hasPrefix("usr_"))
        #expect(user.email == "Ada@Example.com")
        #expect(user.firstName == "Ada")
        #expect(user.lastName == "Lovelace")
        #expect(user.account == acme)
        #expect(user.role == world.role(.member, of: acme))
        #expect(user.extraPermissions == Permissions([.shareAccess]))
        #expect(user.offices == [berlin, paris])
        #expect(user.status == .pending)
        #expect(user.createdAt == time)
        #expect(user.activatedAt == nil)
        #expect(world.state.users[user.id] == user)

        // The activation email carries the address and the token.
        #expect(message.kind == .activationEmail)
        #expect(message.kind.rawValue == "activation_email")
        #expect(message.to == "Ada@Example.com")
        #expect(message.user == user.id)
        #expect(world.state.outbox[message.id] == message)

        // Only the token's hash is kept with the activation.
        #expect(activation.user == user.id)
        #expect(activation.tokenHash == TokenHash(token: message.token))
        #expect(activation.tokenHash.hex != message.token)
        #expect(world.state.activations[TokenHash(token: message.token)] == activation)
        #expect(world.state.activations.count == 1)
        #expect(!String(describing: world.state.activations).contains(message.token))
        #expect(!String(describing: world.state.users).contains(message.token))
        #expect(!String(describing: events[0...1]).contains(message.token))

        // The default lifetime is seven days.
        #expect(activation.issuedAt == time)
        #expect(activation.expiresAt == time.adding(milliseconds: Self.sevenDays))
        #expect(message.expiresAt == activation.expiresAt)
    }

    @Test func R8_theTokenHasAtLeast128RandomBitsAndIsNeverReused() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(licenses: 50)
        var tokens: Set<String> = []
        for index in 0..<20 {
            let user = try world.addUser(to: acme, email: "user\(index)@example.com", as: owner)
            let token = try #require(world.activationToken(of: user))
            // 128 bits are at least 32 hex digits.
            #expect(token.count >= 32)
            #expect(token.allSatisfy { $0.isHexDigit })
            tokens.insert(token)
        }
        #expect(tokens.count == 20)
        #expect(world.state.activations.count == 20)
    }

    @Test func R8_theTokenComesFromTheInjectedRandomness() throws {
        // Same seed, same tokens: decide has no randomness of its own.
        func token(seed: UInt64) throws -> String? {
            var world = World()
            world.rng = SeededGenerator(seed: seed)
            let (acme, owner) = try world.createAccount()
            let user = try world.addUser(to: acme, email: "ada@example.com", as: owner)
            return world.activationToken(of: user)
        }
        #expect(try token(seed: 1) == token(seed: 1))
        #expect(try token(seed: 1) != token(seed: 2))
    }

    @Test func R8_theLifetimeComesFromThePolicy() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        world.policy = DomainPolicy(activationLifetimeMilliseconds: 3_600_000)
        let time = world.now
        let user = try world.addUser(to: acme, email: "ada@example.com", as: owner)
        let token = try #require(world.activationToken(of: user))
        let activation = try #require(world.state.activations[TokenHash(token: token)])
        #expect(activation.expiresAt == time.adding(milliseconds: 3_600_000))
        #expect(DomainPolicy().activationLifetimeMilliseconds == Self.sevenDays)

        // It works within the hour and not after it (R9).
        world.now = time.adding(milliseconds: 3_600_000)
        world.reject(.activateUser(token: token), as: .anonymous, .failedPrecondition, rule: .r9)
        world.now = time.adding(milliseconds: 3_599_999)
        try world.run(.activateUser(token: token), as: .anonymous)
        #expect(world.state.users[user]?.status == .active)
    }

    @Test func R8_officesMustExistInTheAccount() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let berlin = try world.createOffice("Berlin", in: acme, as: owner)
        let (beta, betaOwner) = try world.createAccount("Beta")
        let foreign = try world.createOffice("Paris", in: beta, as: betaOwner)
        let member = world.role(.member, of: acme)

        let missing = world.reject(
            Self.addUser(acme, "ada@example.com", role: member, offices: [berlin, OfficeID("off_zzz")!]), as: .user(owner),
            .notFound)
        #expect(missing?.message == "no office 'off_zzz' in account \(acme)", "the caller's id, quoted")
        let other = world.reject(
            Self.addUser(acme, "ada@example.com", role: member, offices: [foreign]), as: .user(owner), .notFound)
        #expect(other?.message.contains(foreign.rawValue) == true)

        // A deleted office is gone too.
        try world.run(.deleteOffice(berlin), as: .user(owner))
        world.reject(Self.addUser(acme, "ada@example.com", role: member, offices: [berlin]), as: .user(owner), .notFound)
        #expect(world.state.users.values.allSatisfy { $0.email != "ada@example.com" })
    }

    @Test func R8_theRoleMustBeOfTheAccount() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let (beta, _) = try world.createAccount("Beta")
        let error = world.reject(
            Self.addUser(acme, "ada@example.com", role: world.role(.member, of: beta)), as: .user(owner), .notFound)
        #expect(error?.message.contains(world.role(.member, of: beta).rawValue) == true)
        world.reject(Self.addUser(acme, "ada@example.com", role: RoleID("rol_zzz")!), as: .user(owner), .notFound)
    }

    @Test func R8_anEmailUsedInTheRegionIsAlreadyExists() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let (beta, betaOwner) = try world.createAccount("Beta", owner: "bea@beta.example.com")
        try world.addUser(to: acme, email: "ada@example.com", as: owner)
        let member = world.role(.member, of: acme)

        let error = world.reject(Self.addUser(acme, " ADA@example.COM ", role: member), as: .user(owner), .alreadyExists, rule: .r8)
        #expect(error?.message.contains("GLOBAL") == true)
        // Any account of the region: a user of another account, or its owner.
        world.reject(
            Self.addUser(beta, "ada@example.com", role: world.role(.member, of: beta)), as: .user(betaOwner), .alreadyExists,
            rule: .r8)
        world.reject(Self.addUser(acme, "Bea@Beta.example.com", role: member), as: .user(owner), .alreadyExists, rule: .r8)
    }

    @Test func R8_aDeactivatedUsersEmailStaysTaken() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", as: owner)
        try world.run(.deactivateUser(ada), as: .user(owner))
        world.reject(
            Self.addUser(acme, "ada@example.com", role: world.role(.member, of: acme)), as: .user(owner), .alreadyExists,
            rule: .r8)
    }

    @Test func R8_theSameEmailIsFineInTheOtherRegion() throws {
        var world = World()
        let (acme, owner) = try world.createAccount(region: .global)
        let (euAcme, euOwner) = try world.createAccount("Acme EU", region: .eu)
        let global = try world.addUser(to: acme, email: "ada@example.com", as: owner)
        let eu = try world.addUser(to: euAcme, email: "ada@example.com", as: euOwner)
        #expect(global != eu)
        #expect(world.state.users[eu]?.account == euAcme)
        #expect(world.state.indexesAreConsistent)
    }

    @Test func R8_badEmailOrNamesAreInvalidArguments() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let member = world.role(.member, of: acme)
        for email in ["", "ada", "ada@", "ada@example", "a da@example.com"] {
            let error = world.reject(Self.addUser(acme, email, role: member), as: .user(owner), .invalidArgument)
            #expect(error?.message.contains("email") == true, "\(email)")
        }
        let first = world.reject(Self.addUser(acme, "ada@example.com", role: member, firstName: ""), as: .user(owner), .invalidArgument)
        #expect(first?.message.contains("first name") == true)
        let last = world.reject(
            Self.addUser(acme, "ada@example.com", role: member, lastName: String(repeating: "x", count: 201)),
            as: .user(owner), .invalidArgument)
        #expect(last?.message.contains("last name") == true)
    }

    @Test func R8_extraPermissionsCountOnceActive() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addActiveUser(
            to: acme, email: "ada@example.com", extraPermissions: Permissions([.shareAccess, .viewBilling]), as: owner)
        #expect(try world.check(ada, acme, .shareAccess).allowed)
        #expect(try world.check(ada, acme, .viewBilling).allowed)
        #expect(try world.check(ada, acme, .manageProjects).allowed)
        #expect(try !world.check(ada, acme, .editBilling).allowed)
        #expect(try world.replayed() == world.state)
    }
}
