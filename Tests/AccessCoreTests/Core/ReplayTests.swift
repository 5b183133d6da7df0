import Testing

@testable import AccessCore

/// `apply` is the only way the state changes: it refuses events out of
/// sequence, replaying a history gives exactly the live state, and a copy of
/// the state is a value that later writes do not touch.
@Suite struct ReplayTests {
    /// A world that has done something in every area, cascades included.
    private func busyWorld() throws -> World {
        var world = World()
        let (acme, owner) = try world.createAccount("Acme", licenses: 10)
        let (beta, betaOwner) = try world.createAccount("Beta")
        let (agency, agencyOwner) = try world.createAccount("Agency", kind: .agency)
        let berlin = try world.createOffice("Berlin", in: acme, as: owner)
        let paris = try world.createOffice("Paris", in: acme, as: owner)
        let ops = try world.createRole("Ops", access: .viewer, permissions: Permissions([.viewProjects]), in: acme, as: owner)
        let ada = try world.addActiveUser(to: acme, email: "ada@acme.example.com", offices: [berlin, paris], as: owner)
        let bob = try world.addUser(to: acme, email: "bob@acme.example.com", role: ops, offices: [berlin], as: owner)
        try world.run(.resendActivation(bob), as: .user(owner))
        try world.run(.editUser(EditUser(user: ada, lastName: "King", extraPermissions: Permissions([.shareAccess]))), as: .user(owner))
        try world.run(.editRole(EditRole(role: ops, access: .full)), as: .user(owner))
        try world.run(.deactivateUser(ada), as: .user(owner))
        try world.run(.reactivateUser(ada), as: .user(owner))
        try world.addActiveUser(to: beta, email: "grantee@beta.example.com", as: betaOwner)
        let project = try world.createProject("Site", in: acme, offices: [berlin], members: [ada], as: owner)
        try world.run(.updateProject(UpdateProject(project: project, visibility: .private)), as: .user(owner))
        let first = try world.createProduct("First", in: acme, as: owner)
        let second = try world.createProduct("Second", kind: .gateway, in: acme, as: owner)
        try world.share(acme, with: "grantee@beta.example.com", scope: .products([first, second]), billing: true, as: owner)
        try world.run(.deleteProduct(first), as: .user(owner))
        try world.run(.deleteOffice(berlin), as: .user(owner))
        try world.run(.addClient(agency: agency, client: acme), as: .user(agencyOwner))
        try world.run(.requestClientAccess(agency: agency, client: acme), as: .user(agencyOwner))
        try world.run(.approveClientAccess(client: acme, agency: agency, role: nil), as: .user(owner))
        let messages = try world.state.outboxMessages(as: .administrator)
        try world.run(.acknowledgeOutbox([messages[0].id]), as: .administrator)
        try world.run(.setLicenseCount(account: acme, count: 8), as: .administrator)
        return world
    }

    @Test func replayingTheHistoryGivesTheLiveState() throws {
        let world = try busyWorld()
        let replayed = try world.replayed()
        #expect(replayed == world.state)
        #expect(replayed.nextSeq == world.state.nextSeq)
        #expect(replayed.indexesAreConsistent)
        #expect(world.state.indexesAreConsistent)
    }

    @Test(arguments: [1, 7, 20, 33])
    func replayingInChunksGivesTheSameState(chunk: Int) throws {
        let world = try busyWorld()
        var state = AccessState()
        var rest = world.history[...]
        while !rest.isEmpty {
            try state.apply(rest.prefix(chunk))
            rest = rest.dropFirst(chunk)
        }
        #expect(state == world.state)
    }

    @Test func everyPrefixReplaysToAConsistentState() throws {
        let world = try busyWorld()
        var state = AccessState()
        for event in world.history {
            try state.apply(event)
            #expect(state.indexesAreConsistent, "after event \(event.seq) \(event.change.kind)")
        }
    }

    @Test func applyRefusesAnEventOutOfSequence() throws {
        let world = try busyWorld()
        var state = AccessState()
        // Skipping the first event.
        #expect(throws: ReplayError(seq: 2, message: "out of sequence: the state expects event 1 next")) {
            try state.apply(world.history[1])
        }
        #expect(state == AccessState(), "a refused event changes nothing")

        try state.apply(world.history.prefix(5))
        let before = state
        // The same event again, an older one, and one from further ahead.
        for event in [world.history[4], world.history[0], world.history[9]] {
            do {
                try state.apply(event)
                Issue.record("event \(event.seq) was applied after event 5")
            } catch {
                #expect(error.seq == event.seq)
                #expect(error.message.contains("6"), "\(error)")
            }
            #expect(state == before)
        }
        #expect(throws: ReplayError.self) { try state.apply(world.history.dropFirst(6)) }
        #expect(state == before)
    }

    @Test func applyRefusesAnEventAboutSomethingMissing() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        var state = try world.replayed()
        let before = state
        let time = world.now
        let orphan = Event(seq: state.nextSeq, time: time, actor: .user(owner), change: .officeDeleted(OfficeID("off_zz")!))
        do {
            try state.apply(orphan)
            Issue.record("an event about a missing office was applied")
        } catch {
            #expect(error.seq == orphan.seq)
            #expect(error.description.hasPrefix("event \(orphan.seq): "))
        }
        #expect(state == before)
        let duplicate = Event(
            seq: state.nextSeq, time: time, actor: .administrator,
            change: .accountCreated(world.state.accounts[acme]!))
        #expect(throws: ReplayError.self) { try state.apply(duplicate) }
        #expect(state == before)
    }

    @Test func aCopyIsNotChangedByWritesToTheOriginal() throws {
        var world = try busyWorld()
        let copy = world.state
        let revision = copy.revision
        let acme = try #require(world.state.accounts.values.first { $0.name == "Acme" }?.id)
        let owner = try #require(world.state.users.values.first { $0.account == acme && $0.email.hasPrefix("owner") }?.id)
        let usersBefore = copy.users
        let officesBefore = copy.offices

        try world.run(.createOffice(account: acme, name: "Lyon"), as: .user(owner))
        try world.addUser(to: acme, email: "later@acme.example.com", as: owner)
        try world.run(.renameAccount(account: acme, name: "Acme Renamed"), as: .user(owner))

        #expect(copy.revision == revision)
        #expect(copy.users == usersBefore)
        #expect(copy.offices == officesBefore)
        #expect(copy.accounts[acme]?.name == "Acme")
        #expect(world.state.accounts[acme]?.name == "Acme Renamed")
        #expect(copy != world.state)
        #expect(copy.indexesAreConsistent)
        // The copy is exactly the history up to its revision.
        var replayed = AccessState()
        try replayed.apply(world.history.prefix(Int(revision)))
        #expect(replayed == copy)
    }

    @Test func writingToACopyLeavesTheOriginalAlone() throws {
        let world = try busyWorld()
        let original = world.state
        var branch = world
        let acme = try #require(original.accounts.values.first { $0.name == "Acme" }?.id)
        let owner = try #require(original.users.values.first { $0.account == acme && $0.email.hasPrefix("owner") }?.id)
        try branch.run(.createOffice(account: acme, name: "Branch office"), as: .user(owner))
        #expect(world.state == original)
        #expect(branch.state.offices.count == original.offices.count + 1)
    }
}
