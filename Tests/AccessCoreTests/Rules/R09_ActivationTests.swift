import Testing

@testable import AccessCore

/// R9: a valid token makes the user ACTIVE; an unknown, used or expired token
/// fails (NOT_FOUND / FAILED_PRECONDITION) without saying which users exist.
/// Resending works only for PENDING users: a new token, the old one stops
/// working, a new outbox message.
@Suite struct R09_ActivationTests {
    private static let sevenDays: Int64 = 7 * 24 * 3600 * 1000

    private static func setUp() throws -> (world: World, acme: AccountID, owner: UserID, ada: UserID, token: String) {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addUser(to: acme, email: "ada@example.com", as: owner)
        let token = try #require(world.activationToken(of: ada))
        return (world, acme, owner, ada, token)
    }

    @Test func R9_aValidTokenMakesTheUserActive() throws {
        let (start, acme, _, ada, token) = try Self.setUp()
        var world = start
        let time = world.now
        let events = try world.run(.activateUser(token: token), as: .anonymous)
        #expect(events.map(\.change.kind) == ["userActivated"])
        guard case .userActivated(let user) = events.first?.change else {
            Issue.record("no userActivated")
            return
        }
        #expect(user.id == ada)
        #expect(user.status == .active)
        #expect(user.activatedAt == time)
        #expect(world.state.users[ada] == user)
        // The activation is spent; the license was already held.
        #expect(world.state.activations.isEmpty)
        #expect(world.state.licensesInUse(acme) == 2)
        #expect(try world.check(ada, acme, .manageProjects).allowed)
        #expect(try world.replayed() == world.state)
    }

    @Test func R9_surroundingWhitespaceOfATokenIsIgnored() throws {
        let (start, _, _, ada, token) = try Self.setUp()
        var world = start
        try world.run(.activateUser(token: "  \(token)\n"), as: .anonymous)
        #expect(world.state.users[ada]?.status == .active)
    }

    @Test func R9_anUnknownTokenIsNotFound() throws {
        let (start, _, _, ada, token) = try Self.setUp()
        var world = start
        let wrong = String(token.reversed())
        let error = world.reject(.activateUser(token: wrong), as: .anonymous, .notFound, rule: .r9)
        #expect(error?.message.contains("ada@example.com") == false)
        #expect(error?.message.contains("usr_") == false)
        world.reject(.activateUser(token: String(repeating: "0", count: 64)), as: .anonymous, .notFound, rule: .r9)
        world.reject(.activateUser(token: "x"), as: .anonymous, .notFound, rule: .r9)
        #expect(world.state.users[ada]?.status == .pending)
    }

    @Test func R9_anEmptyTokenIsInvalidArgument() throws {
        let (start, _, _, _, _) = try Self.setUp()
        var world = start
        world.reject(.activateUser(token: ""), as: .anonymous, .invalidArgument, rule: .r9)
        world.reject(.activateUser(token: "   "), as: .anonymous, .invalidArgument, rule: .r9)
    }

    @Test func R9_aUsedTokenIsNotFoundAndSaysNoMoreThanAnUnknownOne() throws {
        let (start, _, _, ada, token) = try Self.setUp()
        var world = start
        try world.run(.activateUser(token: token), as: .anonymous)
        let used = world.reject(.activateUser(token: token), as: .anonymous, .notFound, rule: .r9)
        let unknown = world.reject(.activateUser(token: String(token.reversed())), as: .anonymous, .notFound, rule: .r9)
        // Nothing tells a used token (an existing user) from a made-up one.
        #expect(used != nil)
        #expect(used == unknown)
        #expect(used?.message.contains(ada.rawValue) == false)
        #expect(used?.message.contains("ada@example.com") == false)
    }

    @Test func R9_anExpiredTokenIsFailedPrecondition() throws {
        let (start, acme, owner, ada, token) = try Self.setUp()
        var world = start
        let issued = try #require(world.state.activations[TokenHash(token: token)])
        #expect(issued.expiresAt == issued.issuedAt.adding(milliseconds: Self.sevenDays))

        world.now = issued.expiresAt
        let error = world.reject(.activateUser(token: token), as: .anonymous, .failedPrecondition, rule: .r9)
        #expect(error?.message.contains("expired") == true)
        #expect(error?.message.contains(ada.rawValue) == false)
        world.now = issued.expiresAt.adding(milliseconds: 1_000_000)
        world.reject(.activateUser(token: token), as: .anonymous, .failedPrecondition, rule: .r9)
        #expect(world.state.users[ada]?.status == .pending)

        // A resend gives a fresh token with a fresh lifetime.
        let resendTime = world.now
        try world.run(.resendActivation(ada), as: .user(owner))
        let fresh = try #require(world.activationToken(of: ada))
        #expect(world.state.activations[TokenHash(token: fresh)]?.expiresAt == resendTime.adding(milliseconds: Self.sevenDays))
        try world.run(.activateUser(token: fresh), as: .anonymous)
        #expect(world.state.users[ada]?.status == .active)
        #expect(try world.check(ada, acme, .viewProjects).allowed)
    }

    @Test func R9_aTokenIsValidUntilJustBeforeItExpires() throws {
        let (start, _, _, ada, token) = try Self.setUp()
        var world = start
        let issued = try #require(world.state.activations[TokenHash(token: token)])
        world.now = issued.expiresAt.adding(milliseconds: -1)
        try world.run(.activateUser(token: token), as: .anonymous)
        #expect(world.state.users[ada]?.status == .active)
    }

    @Test func R9_resendingIssuesANewTokenAndTheOldOneStopsWorking() throws {
        let (start, _, owner, ada, old) = try Self.setUp()
        var world = start
        let time = world.now
        let events = try world.run(.resendActivation(ada), as: .user(owner))
        #expect(events.map(\.change.kind) == ["activationIssued", "outboxMessageQueued"])
        guard case .activationIssued(let activation) = events[0].change,
            case .outboxMessageQueued(let message) = events[1].change
        else {
            Issue.record("unexpected events \(events.map(\.change.kind))")
            return
        }
        #expect(message.token != old)
        #expect(message.kind == .activationEmail)
        #expect(message.to == "ada@example.com")
        #expect(message.user == ada)
        #expect(activation.tokenHash == TokenHash(token: message.token))
        #expect(activation.issuedAt == time)
        // One activation per user: the old hash is gone, both emails wait in the outbox.
        #expect(world.state.activations.count == 1)
        #expect(world.state.activations[TokenHash(token: old)] == nil)
        #expect(world.state.outbox.values.filter { $0.user == ada }.count == 2)

        world.reject(.activateUser(token: old), as: .anonymous, .notFound, rule: .r9)
        try world.run(.activateUser(token: message.token), as: .anonymous)
        #expect(world.state.users[ada]?.status == .active)
        world.reject(.activateUser(token: message.token), as: .anonymous, .notFound, rule: .r9)
        #expect(try world.replayed() == world.state)
        #expect(world.state.indexesAreConsistent)
    }

    @Test func R9_onlyTheNewestOfSeveralResendsWorks() throws {
        let (start, _, owner, ada, first) = try Self.setUp()
        var world = start
        try world.run(.resendActivation(ada), as: .user(owner))
        let second = try #require(world.activationToken(of: ada))
        try world.run(.resendActivation(ada), as: .user(owner))
        let third = try #require(world.activationToken(of: ada))
        #expect(Set([first, second, third]).count == 3)
        world.reject(.activateUser(token: first), as: .anonymous, .notFound, rule: .r9)
        world.reject(.activateUser(token: second), as: .anonymous, .notFound, rule: .r9)
        try world.run(.activateUser(token: third), as: .anonymous)
    }

    @Test func R9_resendingIsOnlyForPendingUsers() throws {
        let (start, acme, owner, ada, token) = try Self.setUp()
        var world = start
        try world.run(.activateUser(token: token), as: .anonymous)
        let active = world.reject(.resendActivation(ada), as: .user(owner), .failedPrecondition, rule: .r9)
        #expect(active?.message.contains("ACTIVE") == true)
        world.reject(.resendActivation(owner), as: .user(ada), .permissionDenied, rule: .r4)

        let bob = try world.addActiveUser(to: acme, email: "bob@example.com", as: owner)
        try world.run(.deactivateUser(bob), as: .user(owner))
        let deactivated = world.reject(.resendActivation(bob), as: .user(owner), .failedPrecondition, rule: .r9)
        #expect(deactivated?.message.contains("DEACTIVATED") == true)
        #expect(world.state.outbox.values.filter { $0.user == bob }.count == 1)
    }

    @Test func R9_deactivatingAPendingUserVoidsTheirToken() throws {
        let (start, _, owner, ada, token) = try Self.setUp()
        var world = start
        try world.run(.deactivateUser(ada), as: .user(owner))
        #expect(world.state.activations.isEmpty)
        world.reject(.activateUser(token: token), as: .anonymous, .notFound, rule: .r9)
        #expect(world.state.users[ada]?.status == .deactivated)
    }

    @Test func R9_resendingForAnUnknownUserIsNotFound() throws {
        let (start, _, owner, _, _) = try Self.setUp()
        var world = start
        let error = world.reject(.resendActivation(UserID("usr_zzz")!), as: .user(owner), .notFound)
        #expect(error?.message == "no user 'usr_zzz'")
    }
}
