import Testing

@testable import AccessCore

@Suite struct SmokeTests {
    @Test func accountLifecycleReplaysToTheSameState() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let office = try world.createOffice("Berlin", in: acme, as: owner)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", offices: [office], as: owner)
        #expect(world.state.users[ada]?.status == .active)
        #expect(try world.check(ada, acme, .manageProjects).allowed)
        #expect(try world.replayed() == world.state)
        #expect(world.state.indexesAreConsistent)
    }
}
