import AccessStatus
import Testing

@testable import AccessCore

/// R17: owners list whom they shared with, grantees what was shared with them;
/// the owner removes a share, the grantee retires it; both take effect at once.
@Suite struct R17_ShareListingAndRevocationTests {
    struct Fixture {
        var world = World()
        let acme: AccountID, owner: UserID, member: UserID
        let beta: AccountID, betaOwner: UserID, ada: UserID, bob: UserID
        let gamma: AccountID, gammaOwner: UserID
        let product: ProductID
        let adaShare: ShareID, bobShare: ShareID, gammaShare: ShareID

        init() throws {
            var world = World()
            (acme, owner) = try world.createAccount("Acme")
            member = try world.addActiveUser(to: acme, email: "member@acme.example.com", as: owner)
            (beta, betaOwner) = try world.createAccount("Beta")
            ada = try world.addActiveUser(
                to: beta, email: "Ada@Beta.example.com", as: betaOwner, firstName: "Ada", lastName: "Lovelace")
            bob = try world.addActiveUser(
                to: beta, email: "bob@beta.example.com", as: betaOwner, firstName: "Bob", lastName: "Brown")
            (gamma, gammaOwner) = try world.createAccount("Gamma")
            product = try world.createProduct("Site", in: acme, as: owner)
            adaShare = try world.share(acme, with: "ada@beta.example.com", scope: .products([product]), billing: true, as: owner)
            bobShare = try world.share(acme, with: "bob@beta.example.com", as: owner)
            gammaShare = try world.share(gamma, with: "ada@beta.example.com", as: gammaOwner)
            self.world = world
        }

        func canManage(_ user: UserID) throws -> Bool {
            try world.check(user, acme, .manageProducts, .product(product)).allowed
        }
    }

    @discardableResult
    private func expectReadError<T>(
        _ code: StatusCode, rule: Rule?, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
    ) -> AccessError? {
        do {
            let value = try body()
            Issue.record("expected \(code), got \(value)", sourceLocation: sourceLocation)
            return nil
        } catch let error as AccessError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.rule == rule, "\(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected an AccessError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    // MARK: - Listing

    @Test func R17_ownerListsWhomTheySharedWith() throws {
        let f = try Fixture()
        let outgoing = try f.world.state.sharedWith(f.acme, as: .user(f.owner))
        #expect(outgoing.map(\.share.id) == [f.bobShare, f.adaShare], "newest first")
        let ada = try #require(outgoing.first { $0.share.id == f.adaShare })
        #expect(ada.granteeEmail == "Ada@Beta.example.com")
        #expect(ada.granteeName == "Ada Lovelace")
        #expect(ada.share.scope == .products([f.product]))
        #expect(ada.share.billing)
        #expect(ada.share.grantee == f.ada)
        #expect(ada.share.grantedBy == f.owner)
        let bob = try #require(outgoing.first { $0.share.id == f.bobShare })
        #expect(bob.granteeEmail == "bob@beta.example.com" && bob.granteeName == "Bob Brown")
        #expect(bob.share.scope == .allCurrentAndNew && !bob.share.billing)
        #expect(ada.share.createdAt < bob.share.createdAt, "since: when each share was made")
        // Gamma's share is not Acme's business.
        #expect(!outgoing.contains { $0.share.id == f.gammaShare })
        #expect(try f.world.state.sharedWith(f.gamma, as: .user(f.gammaOwner)).map(\.share.id) == [f.gammaShare])
        #expect(try f.world.state.sharedWith(f.beta, as: .user(f.betaOwner)).isEmpty)
    }

    @Test func R17_listingOutgoingSharesNeedsShareAccess() throws {
        let f = try Fixture()
        expectReadError(.permissionDenied, rule: .r16) { try f.world.state.sharedWith(f.acme, as: .user(f.member)) }
        expectReadError(.permissionDenied, rule: .r16) { try f.world.state.sharedWith(f.acme, as: .user(f.ada)) }
        expectReadError(.permissionDenied, rule: .r19) { try f.world.state.sharedWith(f.acme, as: .user(f.gammaOwner)) }
        #expect(try f.world.state.sharedWith(f.acme, as: .administrator).count == 2)
    }

    @Test func R17_granteeListsWhatWasSharedWithThem() throws {
        let f = try Fixture()
        let incoming = try f.world.state.sharedWithMe(as: .user(f.ada))
        #expect(incoming.map(\.share.id) == [f.gammaShare, f.adaShare], "newest first")
        #expect(incoming.map(\.ownerName) == ["Gamma", "Acme"])
        #expect(incoming.last?.share.scope == .products([f.product]))
        #expect(incoming.last?.share.billing == true)
        #expect(try f.world.state.sharedWithMe(as: .user(f.bob)).map(\.share.id) == [f.bobShare])
        #expect(try f.world.state.sharedWithMe(as: .user(f.betaOwner)).isEmpty)
        #expect(try f.world.state.sharedWithMe(as: .user(f.owner)).isEmpty)
        expectReadError(.permissionDenied, rule: nil) { try f.world.state.sharedWithMe(as: .administrator) }
    }

    // MARK: - Remove (owner side)

    @Test func R17_ownerRemovesAShareAndItEndsAtOnce() throws {
        var f = try Fixture()
        #expect(try f.canManage(f.ada))
        let events = try f.world.run(.removeShare(f.adaShare), as: .user(f.owner))
        #expect(events.map(\.change) == [.shareRemoved(f.adaShare)])
        let result = try f.world.check(f.ada, f.acme, .manageProducts, .product(f.product))
        #expect(!result.allowed)
        #expect(result.deniedBy == .r19, "no role, share or client link left in Acme")
        #expect(try !f.world.check(f.ada, f.acme, .viewBilling).allowed)
        f.world.reject(.renameProduct(f.product, name: "X"), as: .user(f.ada), .permissionDenied, rule: .r19)
        #expect(try f.world.state.sharedWith(f.acme, as: .user(f.owner)).map(\.share.id) == [f.bobShare])
        #expect(try f.world.state.sharedWithMe(as: .user(f.ada)).map(\.share.id) == [f.gammaShare])
        #expect(try !f.world.state.accessibleAccounts(of: f.ada).contains { $0.account == f.acme })
        // Bob's and Gamma's shares are untouched.
        #expect(try f.canManage(f.bob))
        #expect(try f.world.check(f.ada, f.gamma, .manageProducts).allowed)
        #expect(try f.world.replayed() == f.world.state)
        #expect(f.world.state.indexesAreConsistent)
    }

    @Test func R17_removingNeedsShareAccessInTheOwnerAccount() throws {
        var f = try Fixture()
        f.world.reject(.removeShare(f.adaShare), as: .user(f.member), .permissionDenied, rule: .r16)
        f.world.reject(.removeShare(f.adaShare), as: .user(f.ada), .permissionDenied, rule: .r16)
        f.world.reject(.removeShare(f.adaShare), as: .user(f.gammaOwner), .permissionDenied, rule: .r19)
        let sharer = try f.world.addActiveUser(
            to: f.acme, email: "sharer@acme.example.com", extraPermissions: Permissions([.shareAccess]), as: f.owner)
        try f.world.run(.removeShare(f.adaShare), as: .user(sharer))
        #expect(f.world.state.shares[f.adaShare] == nil)
        #expect(f.world.reject(.removeShare(f.adaShare), as: .user(f.owner), .notFound)?.rule == nil)
    }

    // MARK: - Retire (grantee side)

    @Test func R17_granteeRetiresAShareAndItEndsAtOnce() throws {
        var f = try Fixture()
        let events = try f.world.run(.retireShare(f.bobShare), as: .user(f.bob))
        #expect(events.map(\.change) == [.shareRetired(f.bobShare)])
        #expect(try !f.canManage(f.bob))
        #expect(try f.world.check(f.bob, f.acme, .manageProducts).deniedBy == .r19)
        #expect(try f.world.state.sharedWithMe(as: .user(f.bob)).isEmpty)
        #expect(try f.world.state.sharedWith(f.acme, as: .user(f.owner)).map(\.share.id) == [f.adaShare])
        #expect(try f.world.state.accessibleAccounts(of: f.bob).map(\.account) == [f.beta])
        #expect(f.world.reject(.retireShare(f.bobShare), as: .user(f.bob), .notFound)?.rule == nil)
        #expect(try f.world.replayed() == f.world.state)
    }

    @Test func R17_onlyTheGranteeRetires() throws {
        var f = try Fixture()
        // A stranger, a colleague of the grantee, and the owner side itself.
        f.world.reject(.retireShare(f.bobShare), as: .user(f.gammaOwner), .permissionDenied, rule: .r17)
        f.world.reject(.retireShare(f.bobShare), as: .user(f.ada), .permissionDenied, rule: .r17)
        f.world.reject(.retireShare(f.bobShare), as: .user(f.betaOwner), .permissionDenied, rule: .r17)
        let ownerSide = f.world.reject(.retireShare(f.bobShare), as: .user(f.owner), .permissionDenied, rule: .r17)
        #expect(ownerSide?.message.contains("remove") == true, "points the owner side to Remove")
        #expect(try f.canManage(f.bob))
    }

    @Test func R17_aDeactivatedGranteeCannotRetire() throws {
        var f = try Fixture()
        try f.world.run(.deactivateUser(f.bob), as: .user(f.betaOwner))
        f.world.reject(.retireShare(f.bobShare), as: .user(f.bob), .permissionDenied, rule: .r7)
        // The owner side still can remove it.
        try f.world.run(.removeShare(f.bobShare), as: .user(f.owner))
    }

    @Test func R17_sharingAfterRemovalMakesANewShare() throws {
        var f = try Fixture()
        try f.world.run(.removeShare(f.adaShare), as: .user(f.owner))
        let again = try f.world.share(f.acme, with: "ada@beta.example.com", as: f.owner)
        #expect(again != f.adaShare, "share ids are never reused")
        #expect(f.world.state.shares[again]?.scope == .allCurrentAndNew)
        #expect(try f.canManage(f.ada))
    }
}
