import Testing

@testable import AccessCore

/// R13: offices are created, renamed and deleted by R4's users; names are
/// unique in the account, case-insensitively; deleting an office removes it
/// from every user and project.
@Suite struct R13_OfficeTests {
    @Test func R13_ownerCreatesRenamesAndDeletesAnOffice() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let berlin = try world.createOffice("Berlin", in: acme, as: owner)
        #expect(world.state.offices[berlin] == Office(id: berlin, account: acme, name: "Berlin"))

        let renamed = try world.run(.renameOffice(berlin, name: "Berlin Mitte"), as: .user(owner))
        #expect(renamed.map(\.change) == [.officeRenamed(Office(id: berlin, account: acme, name: "Berlin Mitte"))])
        #expect(world.state.offices[berlin]?.name == "Berlin Mitte")
        #expect(try world.state.listOffices(acme, as: .user(owner)).map(\.name) == ["Berlin Mitte"])

        let deleted = try world.run(.deleteOffice(berlin), as: .user(owner))
        #expect(deleted.map(\.change) == [.officeDeleted(berlin)])
        #expect(world.state.offices[berlin] == nil)
        #expect(try world.state.listOffices(acme, as: .user(owner)).isEmpty)
        #expect(world.reject(.deleteOffice(berlin), as: .user(owner), .notFound)?.rule == nil)
        #expect(world.reject(.renameOffice(berlin, name: "Again"), as: .user(owner), .notFound)?.rule == nil)
        #expect(try world.replayed() == world.state)
        #expect(world.state.indexesAreConsistent)
    }

    @Test func R13_aUserWithEditAccountSettingsManagesOffices() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let admin = try world.addActiveUser(
            to: acme, email: "admin@example.com", extraPermissions: Permissions([.editAccountSettings]), as: owner)
        let office = try world.createOffice("Paris", in: acme, as: admin)
        try world.run(.renameOffice(office, name: "Paris 1er"), as: .user(admin))
        try world.run(.deleteOffice(office), as: .user(admin))
        #expect(world.state.offices.isEmpty)
    }

    @Test func R13_othersCannotManageOffices() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let member = try world.addActiveUser(to: acme, email: "member@example.com", as: owner)
        let office = try world.createOffice("Paris", in: acme, as: owner)
        world.reject(.createOffice(account: acme, name: "Lyon"), as: .user(member), .permissionDenied, rule: .r4)
        world.reject(.renameOffice(office, name: "Lyon"), as: .user(member), .permissionDenied, rule: .r4)
        world.reject(.deleteOffice(office), as: .user(member), .permissionDenied, rule: .r4)

        // The owner of another account has nothing to do with this one.
        let (_, stranger) = try world.createAccount("Other")
        world.reject(.createOffice(account: acme, name: "Lyon"), as: .user(stranger), .permissionDenied, rule: .r19)
        world.reject(.deleteOffice(office), as: .user(stranger), .permissionDenied, rule: .r19)
        #expect(world.state.offices[office]?.name == "Paris")
    }

    @Test func R13_officeNamesAreUniqueInTheAccountCaseInsensitively() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let berlin = try world.createOffice("Berlin", in: acme, as: owner)
        let paris = try world.createOffice("Paris", in: acme, as: owner)
        world.reject(.createOffice(account: acme, name: "Berlin"), as: .user(owner), .alreadyExists, rule: .r13)
        world.reject(.createOffice(account: acme, name: "  bERLIN "), as: .user(owner), .alreadyExists, rule: .r13)
        world.reject(.renameOffice(paris, name: "BERLIN"), as: .user(owner), .alreadyExists, rule: .r13)
        // The name is the caller's text: quoted, its apostrophe escaped.
        _ = try world.createOffice("O'Brien", in: acme, as: owner)
        let taken = world.reject(.createOffice(account: acme, name: " o'brien"), as: .user(owner), .alreadyExists, rule: .r13)
        #expect(taken?.message == "account \(acme) already has an office named 'o\\'brien' (R13)")

        // Renaming an office to its own name in other letters is fine.
        try world.run(.renameOffice(berlin, name: "BERLIN"), as: .user(owner))
        #expect(world.state.offices[berlin]?.name == "BERLIN")

        // Another account may use the same name.
        let (other, otherOwner) = try world.createAccount("Other")
        let otherBerlin = try world.createOffice("berlin", in: other, as: otherOwner)
        #expect(world.state.offices[otherBerlin]?.account == other)
    }

    @Test func R13_aRenamedOrDeletedOfficeFreesItsName() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let berlin = try world.createOffice("Berlin", in: acme, as: owner)
        try world.run(.renameOffice(berlin, name: "Potsdam"), as: .user(owner))
        let second = try world.createOffice("berlin", in: acme, as: owner)
        try world.run(.deleteOffice(second), as: .user(owner))
        let third = try world.createOffice("Berlin", in: acme, as: owner)
        #expect(third != second, "ids are never reused")
        world.reject(.createOffice(account: acme, name: "POTSDAM"), as: .user(owner), .alreadyExists, rule: .r13)
    }

    @Test func R13_officeNamesAreValidated() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let office = try world.createOffice("  Hamburg\t", in: acme, as: owner)
        #expect(world.state.offices[office]?.name == "Hamburg", "names are trimmed")
        for bad in ["", "   ", "Ham\u{0}burg", String(repeating: "x", count: 201)] {
            let error = world.reject(.createOffice(account: acme, name: bad), as: .user(owner), .invalidArgument)
            #expect(error?.rule == nil)
            let renameError = world.reject(.renameOffice(office, name: bad), as: .user(owner), .invalidArgument)
            #expect(renameError?.rule == nil)
        }
    }

    @Test func R13_deletingAnOfficeRemovesItFromEveryUserAndProject() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let berlin = try world.createOffice("Berlin", in: acme, as: owner)
        let paris = try world.createOffice("Paris", in: acme, as: owner)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", offices: [berlin, paris], as: owner)
        let bob = try world.addUser(to: acme, email: "bob@example.com", offices: [berlin], as: owner)
        let carl = try world.addActiveUser(
            to: acme, email: "carl@example.com", role: world.role(.viewer, of: acme), offices: [paris], as: owner)
        let both = try world.createProject("Both", in: acme, offices: [berlin, paris], as: owner)
        let onlyBerlin = try world.createProject("Only Berlin", in: acme, offices: [berlin], as: owner)
        let onlyParis = try world.createProject("Only Paris", in: acme, offices: [paris], as: owner)

        // Before: carl (Paris) does not see the Berlin-only project.
        #expect(try !world.check(carl, acme, .viewProjects, .project(onlyBerlin)).allowed)

        let events = try world.run(.deleteOffice(berlin), as: .user(owner))
        #expect(events.count == 1, "one event; the cascade happens in apply")
        #expect(world.state.users[ada]?.offices == [paris])
        #expect(world.state.users[bob]?.offices == [])
        #expect(world.state.users[carl]?.offices == [paris])
        #expect(world.state.projects[both]?.offices == [paris])
        #expect(world.state.projects[onlyBerlin]?.offices == [])
        #expect(world.state.projects[onlyParis]?.offices == [paris])
        #expect(world.state.offices[berlin] == nil)

        // A PUBLIC project left without offices is now visible to every user who may view projects (R14).
        #expect(try world.check(carl, acme, .viewProjects, .project(onlyBerlin)).allowed)
        // The users list no longer shows or filters by it.
        let page = try world.state.listUsers(ListUsersQuery(account: acme, offices: [berlin]), as: .user(owner))
        #expect(page.users.isEmpty)
        #expect(try world.replayed() == world.state, "the cascade replays")
        #expect(world.state.indexesAreConsistent)
    }

    @Test func R13_deletingAnOfficeLeavesOtherAccountsAlone() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let (other, otherOwner) = try world.createAccount("Other")
        let berlin = try world.createOffice("Berlin", in: acme, as: owner)
        let otherBerlin = try world.createOffice("Berlin", in: other, as: otherOwner)
        let user = try world.addUser(to: other, email: "u@example.com", offices: [otherBerlin], as: otherOwner)
        try world.run(.deleteOffice(berlin), as: .user(owner))
        #expect(world.state.users[user]?.offices == [otherBerlin])
        #expect(world.state.offices[otherBerlin] != nil)
        // Offices of another account cannot be given to a user (they do not exist there).
        let error = world.reject(
            .addUser(
                AddUser(
                    account: acme, email: "x@example.com", firstName: "X", lastName: "Y",
                    role: world.role(.member, of: acme), offices: [otherBerlin])),
            as: .user(owner), .notFound)
        #expect(error?.rule == nil)
    }
}
