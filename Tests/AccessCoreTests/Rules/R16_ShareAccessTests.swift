import AccessStatus
import Testing

@testable import AccessCore

/// R16: SHARE_ACCESS grants an ACTIVE user of another STANDARD account of the
/// same region control over this account's products (all current and new, or a
/// list) and, with billing, the billing; nothing else.
@Suite struct R16_ShareAccessTests {
    struct Fixture {
        var world = World()
        let acme: AccountID, owner: UserID, member: UserID
        let beta: AccountID, betaOwner: UserID, grantee: UserID
        let first: ProductID, second: ProductID
        let granteeEmail = "grantee@beta.example.com"

        init() throws {
            var world = World()
            (acme, owner) = try world.createAccount("Acme")
            member = try world.addActiveUser(to: acme, email: "member@acme.example.com", as: owner)
            (beta, betaOwner) = try world.createAccount("Beta")
            grantee = try world.addActiveUser(to: beta, email: "grantee@beta.example.com", as: betaOwner)
            first = try world.createProduct("First", in: acme, as: owner)
            second = try world.createProduct("Second", in: acme, as: owner)
            self.world = world
        }

        mutating func share(_ scope: ShareScope = .allCurrentAndNew, billing: Bool = false) throws -> ShareID {
            try world.share(acme, with: granteeEmail, scope: scope, billing: billing, as: owner)
        }

        func check(_ permission: Permission, _ resource: CheckResource? = nil) throws -> CheckResult {
            try world.check(grantee, acme, permission, resource)
        }

        func command(_ email: String, scope: ShareScope = .allCurrentAndNew, billing: Bool = false) -> Command {
            .shareAccess(ShareAccess(owner: acme, granteeEmail: email, scope: scope, billing: billing))
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

    // MARK: - Granting

    @Test func R16_ownerSharesAllCurrentAndNewProducts() throws {
        var f = try Fixture()
        let events = try f.world.run(f.command(f.granteeEmail), as: .user(f.owner))
        guard case .accessShared(let share) = events.first?.change else {
            Issue.record("expected accessShared, got \(events.map(\.change.kind))")
            return
        }
        #expect(events.count == 1)
        #expect(share.owner == f.acme && share.grantee == f.grantee)
        #expect(share.scope == .allCurrentAndNew && !share.billing)
        #expect(share.grantedBy == f.owner)
        #expect(share.id.rawValue.hasPrefix("shr_"))
        #expect(try f.check(.manageProducts, .product(f.first)).allowed)
        #expect(try f.check(.manageProducts, .product(f.second)).allowed)
        #expect(try f.check(.manageProducts, .product(f.first)).path == .share(share.id))

        // "and new": a product created later is covered, and the grantee may create one.
        let later = try f.world.createProduct("Later", in: f.acme, as: f.owner)
        #expect(try f.check(.manageProducts, .product(later)).allowed)
        let own = try f.world.createProduct("Grantee's", in: f.acme, as: f.grantee)
        #expect(f.world.state.products[own]?.account == f.acme)
    }

    @Test func R16_aChosenListCoversExactlyThoseProducts() throws {
        var f = try Fixture()
        let id = try f.share(.products([f.first]))
        #expect(try f.check(.manageProducts, .product(f.first)).allowed)
        let denied = try f.check(.manageProducts, .product(f.second))
        #expect(!denied.allowed && denied.deniedBy == .r16 && denied.path == .share(id))
        f.world.reject(.renameProduct(f.second, name: "Mine"), as: .user(f.grantee), .permissionDenied, rule: .r16)
        f.world.reject(.deleteProduct(f.second), as: .user(f.grantee), .permissionDenied, rule: .r16)
        try f.world.run(.renameProduct(f.first, name: "Renamed by grantee"), as: .user(f.grantee))
        // Account-wide MANAGE_PRODUCTS (creating) needs the whole account.
        f.world.reject(
            .createProduct(account: f.acme, kind: .gateway, name: "New"), as: .user(f.grantee), .permissionDenied, rule: .r16)
        #expect(try f.check(.manageProducts).deniedBy == .r16)
        // A product created later is not on the list.
        let later = try f.world.createProduct("Later", in: f.acme, as: f.owner)
        #expect(try !f.check(.manageProducts, .product(later)).allowed)
        #expect(try f.world.state.listProducts(f.acme, as: .user(f.grantee)).map(\.id) == [f.first])
        expectReadError(.permissionDenied, rule: .r16) { try f.world.state.getProduct(f.second, as: .user(f.grantee)) }
    }

    @Test func R16_billingIsGrantedOnlyWhenSet() throws {
        var f = try Fixture()
        _ = try f.share(billing: false)
        #expect(try f.check(.viewBilling).deniedBy == .r16)
        #expect(try f.check(.editBilling).deniedBy == .r16)
        f.world.reject(
            .updateBilling(account: f.acme, billing: Billing(companyName: "Grantee Ltd")), as: .user(f.grantee),
            .permissionDenied, rule: .r16)
        expectReadError(.permissionDenied, rule: .r16) { try f.world.state.getBilling(f.acme, as: .user(f.grantee)) }

        _ = try f.share(billing: true)
        #expect(try f.check(.viewBilling).allowed)
        #expect(try f.check(.editBilling).allowed)
        try f.world.run(
            .updateBilling(account: f.acme, billing: Billing(companyName: "Acme GmbH")), as: .user(f.grantee))
        #expect(try f.world.state.getBilling(f.acme, as: .user(f.grantee)).companyName == "Acme GmbH")
    }

    @Test func R16_granteeHoldsNothingElseInTheOwnerAccount() throws {
        var f = try Fixture()
        let id = try f.share(billing: true)
        let project = try f.world.createProject("Open", in: f.acme, as: f.owner)
        let granted: Set<Permission> = [.manageProducts, .viewBilling, .editBilling]
        for permission in Permission.allCases where !granted.contains(permission) {
            let result = try f.check(permission)
            #expect(!result.allowed, "\(permission)")
            #expect(result.deniedBy == .r16, "\(permission)")
            #expect(result.path == .share(id))
        }
        #expect(try !f.check(.viewProjects, .project(project)).allowed, "a share gives no project access")
        let accessible = try f.world.state.accessibleAccounts(of: f.grantee).first { $0.account == f.acme }
        #expect(accessible?.permissions == Permissions(granted))

        let member = f.world.role(.member, of: f.acme)
        f.world.reject(
            .addUser(AddUser(account: f.acme, email: "x@example.com", firstName: "X", lastName: "Y", role: member)),
            as: .user(f.grantee), .permissionDenied, rule: .r16)
        f.world.reject(.createOffice(account: f.acme, name: "Grantee office"), as: .user(f.grantee), .permissionDenied, rule: .r16)
        f.world.reject(.createProject(CreateProject(account: f.acme, name: "P")), as: .user(f.grantee), .permissionDenied, rule: .r16)
        f.world.reject(.renameAccount(account: f.acme, name: "Taken"), as: .user(f.grantee), .permissionDenied, rule: .r16)
        f.world.reject(f.command("someone@example.com"), as: .user(f.grantee), .permissionDenied, rule: .r16)
        expectReadError(.permissionDenied, rule: .r16) {
            try f.world.state.listUsers(ListUsersQuery(account: f.acme), as: .user(f.grantee))
        }
        expectReadError(.permissionDenied, rule: .r16) { try f.world.state.listRoles(f.acme, as: .user(f.grantee)) }
        expectReadError(.permissionDenied, rule: .r16) { try f.world.state.listProjects(f.acme, as: .user(f.grantee)) }
        // The grantee's own account is untouched by the share.
        #expect(f.world.state.users[f.grantee]?.account == f.beta)
        #expect(f.world.state.users[f.grantee]?.role == f.world.role(.member, of: f.beta))
    }

    @Test func R16_sharingAgainReplacesTheScope() throws {
        var f = try Fixture()
        let id = try f.share(.products([f.first]))
        let events = try f.world.run(f.command(" GRANTEE@Beta.Example.com ", billing: true), as: .user(f.owner))
        #expect(events.map(\.change.kind) == ["shareUpdated"])
        #expect(f.world.state.shares.count == 1)
        let replaced = try #require(f.world.state.shares[id])
        #expect(replaced.scope == .allCurrentAndNew && replaced.billing)
        #expect(try f.check(.manageProducts, .product(f.second)).allowed)
        #expect(try f.check(.viewBilling).allowed)

        // Again, narrower: the wider scope and billing are gone at once.
        let admin = try f.world.addActiveUser(
            to: f.acme, email: "sharer@acme.example.com", extraPermissions: Permissions([.shareAccess]), as: f.owner)
        #expect(try f.world.share(f.acme, with: f.granteeEmail, scope: .products([f.second]), as: admin) == id)
        #expect(f.world.state.shares[id]?.scope == .products([f.second]))
        #expect(f.world.state.shares[id]?.billing == false)
        #expect(f.world.state.shares[id]?.grantedBy == admin)
        #expect(f.world.state.shares[id]?.createdAt == replaced.createdAt)
        #expect(try !f.check(.manageProducts, .product(f.first)).allowed)
        #expect(try !f.check(.viewBilling).allowed)
        #expect(try f.world.replayed() == f.world.state)
    }

    // MARK: - Refusals

    @Test func R16_shareAccessIsNeeded() throws {
        var f = try Fixture()
        let error = f.world.reject(f.command(f.granteeEmail), as: .user(f.member), .permissionDenied, rule: .r16)
        #expect(error?.message.contains("SHARE_ACCESS") == true)
        // Extra SHARE_ACCESS is enough.
        let sharer = try f.world.addActiveUser(
            to: f.acme, email: "sharer@acme.example.com", extraPermissions: Permissions([.shareAccess]), as: f.owner)
        try f.world.run(f.command(f.granteeEmail), as: .user(sharer))
    }

    @Test(arguments: [AccountKind.agency, .partner])
    func R16_agencyGranteeIsRefusedAndPointedToClientLinks(kind: AccountKind) throws {
        var f = try Fixture()
        _ = try f.world.createAccount("Agency", kind: kind, owner: "boss@agency.example.com")
        let error = f.world.reject(f.command("boss@agency.example.com"), as: .user(f.owner), .failedPrecondition, rule: .r16)
        let message = error?.message ?? ""
        #expect(message.contains("client"), "\(message)")
        #expect(message.contains("R18"), "\(message)")
        #expect(message.contains(kind.rawValue), "\(message)")
    }

    @Test func R16_granteeInAnotherRegionIsRefused() throws {
        var f = try Fixture()
        _ = try f.world.createAccount("Euro", region: .eu, owner: "eu@euro.example.com")
        let error = f.world.reject(f.command("eu@euro.example.com"), as: .user(f.owner), .failedPrecondition, rule: .r16)
        #expect(error?.message.contains("EU") == true)
    }

    @Test func R16_granteeOfTheSameAccountIsInvalidArgument() throws {
        var f = try Fixture()
        f.world.reject(f.command("member@acme.example.com"), as: .user(f.owner), .invalidArgument, rule: .r16)
    }

    @Test func R16_inactiveGranteeIsRefused() throws {
        var f = try Fixture()
        try f.world.addUser(to: f.beta, email: "pending@beta.example.com", as: f.betaOwner)
        let gone = try f.world.addActiveUser(to: f.beta, email: "gone@beta.example.com", as: f.betaOwner)
        try f.world.run(.deactivateUser(gone), as: .user(f.betaOwner))
        let pending = f.world.reject(f.command("pending@beta.example.com"), as: .user(f.owner), .failedPrecondition, rule: .r16)
        #expect(pending?.message.contains("PENDING") == true)
        let deactivated = f.world.reject(f.command("gone@beta.example.com"), as: .user(f.owner), .failedPrecondition, rule: .r16)
        #expect(deactivated?.message.contains("DEACTIVATED") == true)
    }

    @Test func R16_unknownEmailIsNotFound() throws {
        var f = try Fixture()
        f.world.reject(f.command("nobody@nowhere.example.com"), as: .user(f.owner), .notFound, rule: .r16)
        #expect(f.world.reject(f.command("not an email"), as: .user(f.owner), .invalidArgument)?.rule == nil)
    }

    @Test func R16_aShareThatGivesNothingIsInvalidArgument() throws {
        var f = try Fixture()
        f.world.reject(f.command(f.granteeEmail, scope: .products([])), as: .user(f.owner), .invalidArgument, rule: .r16)
        // Billing alone is something to share.
        _ = try f.share(.products([]), billing: true)
        #expect(try f.check(.viewBilling).allowed)
        #expect(try !f.check(.manageProducts, .product(f.first)).allowed)
    }

    @Test func R16_listedProductsMustExistInTheOwnerAccount() throws {
        var f = try Fixture()
        let foreign = try f.world.createProduct("Beta's", in: f.beta, as: f.betaOwner)
        f.world.reject(
            f.command(f.granteeEmail, scope: .products([f.first, foreign])), as: .user(f.owner), .invalidArgument, rule: .r16)
        let error = f.world.reject(
            f.command(f.granteeEmail, scope: .products([ProductID("prd_zzzz")!])), as: .user(f.owner), .notFound)
        #expect(error?.rule == nil)
    }

    @Test func R16_aShareEndsForAGranteeWhoIsDeactivatedAtHome() throws {
        var f = try Fixture()
        _ = try f.share()
        try f.world.run(.deactivateUser(f.grantee), as: .user(f.betaOwner))
        let result = try f.check(.manageProducts, .product(f.first))
        #expect(!result.allowed && result.deniedBy == .r7)
        f.world.reject(.renameProduct(f.first, name: "X"), as: .user(f.grantee), .permissionDenied, rule: .r7)
    }
}
