import Testing

@testable import AccessCore

/// Snapshots hold records only; restoring rebuilds the indexes and refuses
/// records that do not hold together.
@Suite struct RestoreTests {
    func richWorld() throws -> World {
        var world = World()
        let (acme, owner) = try world.createAccount("Acme")
        let (beta, betaOwner) = try world.createAccount("Beta")
        let (agency, agencyOwner) = try world.createAccount("Agency", kind: .agency)
        let office = try world.createOffice("Berlin", in: acme, as: owner)
        let ada = try world.addActiveUser(to: acme, email: "ada@acme.example", offices: [office], as: owner)
        _ = try world.addUser(to: acme, email: "pending@acme.example", as: owner)
        _ = try world.createProject("Plan", in: acme, visibility: .private, offices: [office], members: [ada], as: owner)
        let product = try world.createProduct("Box", in: acme, as: owner)
        let grantee = try world.addActiveUser(to: beta, email: "grantee@beta.example", as: betaOwner)
        _ = grantee
        try world.share(acme, with: "grantee@beta.example", scope: .products([product]), billing: true, as: owner)
        try world.run(.addClient(agency: agency, client: acme), as: .user(agencyOwner))
        try world.run(.requestClientAccess(agency: agency, client: acme), as: .user(agencyOwner))
        try world.run(.approveClientAccess(client: acme, agency: agency, role: nil), as: .user(owner))
        return world
    }

    @Test func restoringTheRecordsOfAStateGivesTheSameState() throws {
        let world = try richWorld()
        let restored = try AccessState(restoring: world.state.records)
        #expect(restored == world.state)
        #expect(restored.indexesAreConsistent)
    }

    @Test func thePiecesOfARestoreMayRunInAnyOrder() throws {
        let world = try richWorld()
        let counted = Counter()
        let backwards = PieceRunner { pieces in
            counted.add(pieces.count)
            for piece in pieces.reversed() { piece() }
        }
        let restored = try AccessState(restoring: world.state.records, pieces: backwards)
        #expect(counted.value > 1, "the restore hands its work to the runner in pieces")
        #expect(restored == world.state)
        #expect(restored.indexesAreConsistent)
    }

    /// A count a `@Sendable` runner may add to (the restore calls it on the test's thread).
    final class Counter: @unchecked Sendable {
        var value = 0
        func add(_ n: Int) { value += n }
    }

    @Test func aUserOfAMissingAccountIsRefused() throws {
        let world = try richWorld()
        var records = world.state.records
        records.accounts.removeAll { $0.name == "Acme" }
        #expect(throws: RestoreError.self) { try AccessState(restoring: records) }
    }

    @Test func twoUsersWithOneEmailAreRefused() throws {
        let world = try richWorld()
        var records = world.state.records
        var twin = records.users[0]
        twin.id = UserID(sequence: 9999)
        records.users.append(twin)
        records.nextSeq = 10_000
        #expect(throws: RestoreError.self) { try AccessState(restoring: records) }
    }

    @Test func aNextSequenceBelowTheThingsHeldIsRefused() throws {
        let world = try richWorld()
        var records = world.state.records
        records.nextSeq = 2
        #expect(throws: RestoreError.self) { try AccessState(restoring: records) }
    }
}
