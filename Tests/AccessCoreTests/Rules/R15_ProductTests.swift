import Testing

@testable import AccessCore

/// R15: MANAGE_PRODUCTS creates, renames and deletes containers and gateways;
/// deleting a product removes it from the shares that list it.
@Suite struct R15_ProductTests {
    @Test func R15_manageProductsCreatesContainersAndGateways() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let member = try world.addActiveUser(to: acme, email: "member@example.com", as: owner)
        let container = try world.createProduct("  Web container ", kind: .container, in: acme, as: member)
        let gateway = try world.createProduct("Gateway", kind: .gateway, in: acme, as: member)
        let stored = try #require(world.state.products[container])
        #expect(stored.name == "Web container")
        #expect(stored.kind == .container)
        #expect(stored.account == acme)
        #expect(stored.createdBy == member)
        #expect(world.state.products[gateway]?.kind == .gateway)
        #expect(container.rawValue.hasPrefix("prd_"))
        #expect(try world.state.listProducts(acme, as: .user(owner)).map(\.id) == [gateway, container])
    }

    @Test func R15_renameAndDelete() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let member = try world.addActiveUser(to: acme, email: "member@example.com", as: owner)
        let product = try world.createProduct("Old", in: acme, as: owner)
        let renamed = try world.run(.renameProduct(product, name: "New"), as: .user(member))
        #expect(renamed.map(\.change.kind) == ["productRenamed"])
        #expect(world.state.products[product]?.name == "New")
        #expect(world.state.products[product]?.createdBy == owner, "renaming keeps the creator")

        let deleted = try world.run(.deleteProduct(product), as: .user(member))
        #expect(deleted.map(\.change) == [.productDeleted(product)])
        #expect(world.state.products[product] == nil)
        #expect(world.reject(.renameProduct(product, name: "Again"), as: .user(member), .notFound)?.rule == nil)
        #expect(world.reject(.deleteProduct(product), as: .user(member), .notFound)?.rule == nil)
        #expect(try world.replayed() == world.state)
    }

    @Test func R15_withoutManageProductsEveryProductCallIsDenied() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let viewer = try world.addActiveUser(
            to: acme, email: "viewer@example.com", role: world.role(.viewer, of: acme), as: owner)
        let product = try world.createProduct("Thing", in: acme, as: owner)
        world.reject(.createProduct(account: acme, kind: .container, name: "X"), as: .user(viewer), .permissionDenied, rule: .r15)
        world.reject(.renameProduct(product, name: "X"), as: .user(viewer), .permissionDenied, rule: .r15)
        world.reject(.deleteProduct(product), as: .user(viewer), .permissionDenied, rule: .r15)
        #expect(try !world.check(viewer, acme, .manageProducts, .product(product)).allowed)
        #expect(try world.check(viewer, acme, .manageProducts, .product(product)).deniedBy == .r15)

        // A custom role with MANAGE_PRODUCTS alone is enough.
        let maker = try world.createRole("Maker", access: .full, permissions: Permissions([.manageProducts]), in: acme, as: owner)
        let user = try world.addActiveUser(to: acme, email: "maker@example.com", role: maker, as: owner)
        try world.run(.renameProduct(product, name: "Renamed"), as: .user(user))
        #expect(world.state.products[product]?.name == "Renamed")
    }

    @Test func R15_productsOfAnotherAccountAreOutOfReach() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let (_, stranger) = try world.createAccount("Other")
        let product = try world.createProduct("Thing", in: acme, as: owner)
        world.reject(.renameProduct(product, name: "Mine"), as: .user(stranger), .permissionDenied, rule: .r19)
        world.reject(.deleteProduct(product), as: .user(stranger), .permissionDenied, rule: .r19)
        world.reject(.createProduct(account: acme, kind: .gateway, name: "Mine"), as: .user(stranger), .permissionDenied, rule: .r19)
    }

    @Test func R15_productNamesAreValidated() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let product = try world.createProduct("Thing", in: acme, as: owner)
        for bad in ["", " \n ", "bad\u{7}name", String(repeating: "p", count: 201)] {
            #expect(world.reject(.createProduct(account: acme, kind: .container, name: bad), as: .user(owner), .invalidArgument)?.rule == nil)
            #expect(world.reject(.renameProduct(product, name: bad), as: .user(owner), .invalidArgument)?.rule == nil)
        }
    }

    @Test func R15_deletingAProductRemovesItFromSharesThatListIt() throws {
        var world = World()
        let (acme, owner) = try world.createAccount("Acme")
        let (beta, betaOwner) = try world.createAccount("Beta")
        let ada = try world.addActiveUser(to: beta, email: "ada@beta.example.com", as: betaOwner)
        let bob = try world.addActiveUser(to: beta, email: "bob@beta.example.com", as: betaOwner)
        let first = try world.createProduct("First", in: acme, as: owner)
        let second = try world.createProduct("Second", in: acme, as: owner)
        let listed = try world.share(acme, with: "ada@beta.example.com", scope: .products([first, second]), as: owner)
        let everything = try world.share(acme, with: "bob@beta.example.com", scope: .allCurrentAndNew, as: owner)
        // A share of another owner listing a product of its own is not touched.
        let (gamma, gammaOwner) = try world.createAccount("Gamma")
        let gammaProduct = try world.createProduct("Gamma thing", in: gamma, as: gammaOwner)
        let gammaShare = try world.share(gamma, with: "ada@beta.example.com", scope: .products([gammaProduct]), as: gammaOwner)

        #expect(try world.check(ada, acme, .manageProducts, .product(first)).allowed)
        let events = try world.run(.deleteProduct(first), as: .user(owner))
        #expect(events.count == 1, "one event; the cascade happens in apply")
        #expect(world.state.shares[listed]?.scope == .products([second]))
        #expect(world.state.shares[everything]?.scope == .allCurrentAndNew)
        #expect(world.state.shares[gammaShare]?.scope == .products([gammaProduct]))
        #expect(try world.check(ada, acme, .manageProducts, .product(second)).allowed)
        #expect(try world.state.listProducts(acme, as: .user(ada)).map(\.id) == [second])
        #expect(try world.state.listProducts(acme, as: .user(bob)).map(\.id) == [second])
        let outgoing = try world.state.sharedWith(acme, as: .user(owner))
        #expect(outgoing.first { $0.share.id == listed }?.share.scope == .products([second]))

        try world.run(.deleteProduct(second), as: .user(ada))
        #expect(world.state.shares[listed]?.scope == .products([]), "the share stays, listing nothing")
        #expect(try world.replayed() == world.state, "the cascade replays")
        #expect(world.state.indexesAreConsistent)
    }
}
