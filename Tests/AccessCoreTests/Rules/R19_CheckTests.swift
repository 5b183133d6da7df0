import AccessStatus
import Testing

@testable import AccessCore

/// R19: Check answers allowed or not and why (home role, share, client link,
/// or the rule that denied); ListAccessibleAccounts lists every account a user
/// can act in and through what.
@Suite struct R19_CheckTests {
    /// A STANDARD account with a project and a product, a grantee in another
    /// STANDARD account, and an agency with an approved link.
    struct Fixture {
        var world = World()
        let acme: AccountID, owner: UserID, member: UserID, viewer: UserID
        let beta: AccountID, betaOwner: UserID, grantee: UserID
        let agency: AccountID, agencyOwner: UserID
        let project: ProjectID, product: ProductID, betaProject: ProjectID, betaProduct: ProductID
        let share: ShareID

        init() throws {
            var world = World()
            (acme, owner) = try world.createAccount("Acme")
            member = try world.addActiveUser(to: acme, email: "member@acme.example.com", as: owner)
            viewer = try world.addActiveUser(
                to: acme, email: "viewer@acme.example.com", role: world.role(.viewer, of: acme), as: owner)
            (beta, betaOwner) = try world.createAccount("Beta")
            grantee = try world.addActiveUser(to: beta, email: "grantee@beta.example.com", as: betaOwner)
            (agency, agencyOwner) = try world.createAccount("Agency", kind: .agency)
            project = try world.createProject("Site", in: acme, as: owner)
            product = try world.createProduct("Container", in: acme, as: owner)
            betaProject = try world.createProject("Beta site", in: beta, as: betaOwner)
            betaProduct = try world.createProduct("Beta container", in: beta, as: betaOwner)
            share = try world.share(acme, with: "grantee@beta.example.com", scope: .products([product]), billing: true, as: owner)
            try world.run(.addClient(agency: agency, client: acme), as: .user(agencyOwner))
            try world.run(.requestClientAccess(agency: agency, client: acme), as: .user(agencyOwner))
            try world.run(.approveClientAccess(client: acme, agency: agency, role: nil), as: .user(owner))
            self.world = world
        }

        func check(
            _ user: UserID, _ account: AccountID, _ permission: Permission, _ resource: CheckResource? = nil
        ) throws -> CheckResult {
            try world.check(user, account, permission, resource)
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

    // MARK: - Why allowed

    @Test func R19_allowedThroughTheHomeRole() throws {
        let f = try Fixture()
        let result = try f.check(f.member, f.acme, .manageProjects, .project(f.project))
        #expect(result.allowed)
        #expect(result.path == .homeRole(f.world.role(.member, of: f.acme)))
        #expect(result.deniedBy == nil)
        #expect(!result.reason.isEmpty)
        let owner = try f.check(f.owner, f.acme, .manageClients)
        #expect(owner.allowed && owner.path == .homeRole(f.world.role(.accountOwner, of: f.acme)))
    }

    @Test func R19_allowedThroughAShare() throws {
        let f = try Fixture()
        let result = try f.check(f.grantee, f.acme, .manageProducts, .product(f.product))
        #expect(result.allowed)
        #expect(result.path == .share(f.share))
        #expect(result.reason.contains(f.share.rawValue))
        #expect(try f.check(f.grantee, f.acme, .editBilling).path == .share(f.share))
        // At home the same user acts through their role.
        #expect(try f.check(f.grantee, f.beta, .manageProducts).path == .homeRole(f.world.role(.member, of: f.beta)))
    }

    @Test func R19_allowedThroughAClientLink() throws {
        let f = try Fixture()
        let member = f.world.role(.member, of: f.acme)
        let result = try f.check(f.agencyOwner, f.acme, .manageProjects, .project(f.project))
        #expect(result.allowed)
        #expect(result.path == .clientLink(agency: f.agency, role: member))
        #expect(result.reason.contains(f.agency.rawValue))
    }

    // MARK: - Why denied

    @Test func R19_deniedByTheRuleThatGovernsTheMissingPermission() throws {
        let f = try Fixture()
        let expected: [(Permission, Rule)] = [
            (.editAccountSettings, .r4), (.viewAllProjects, .r14), (.manageProjects, .r14), (.manageProducts, .r15),
            (.viewBilling, .r16), (.editBilling, .r16), (.shareAccess, .r16), (.manageClients, .r18),
        ]
        for (permission, rule) in expected {
            let result = try f.check(f.viewer, f.acme, permission)
            #expect(!result.allowed, "\(permission)")
            #expect(result.deniedBy == rule, "\(permission)")
            #expect(result.path == .homeRole(f.world.role(.viewer, of: f.acme)), "denied, but reached through the home role")
            #expect(result.reason.contains(permission.name))
        }
        #expect(try f.check(f.viewer, f.acme, .viewProjects).allowed)
    }

    @Test func R19_deniedByR19WithoutAnyPathToTheAccount() throws {
        let f = try Fixture()
        let result = try f.check(f.member, f.beta, .viewProjects)
        #expect(!result.allowed)
        #expect(result.deniedBy == .r19)
        #expect(result.path == nil)
        #expect(try f.check(f.betaOwner, f.acme, .manageProducts).deniedBy == .r19)
    }

    @Test func R19_deniedByR7ForUsersWhoAreNotActive() throws {
        var f = try Fixture()
        let pending = try f.world.addUser(to: f.acme, email: "pending@acme.example.com", as: f.owner)
        #expect(try f.check(pending, f.acme, .viewProjects).deniedBy == .r7)
        try f.world.run(.deactivateUser(f.member), as: .user(f.owner))
        #expect(try f.check(f.member, f.acme, .viewProjects).deniedBy == .r7)
        try f.world.run(.deactivateUser(f.grantee), as: .user(f.betaOwner))
        #expect(try f.check(f.grantee, f.acme, .manageProducts, .product(f.product)).deniedBy == .r7)
    }

    @Test func R19_deniedByR14ForAProjectNotSeenAndR16ForAProductNotShared() throws {
        var f = try Fixture()
        let secret = try f.world.createProject("Secret", in: f.acme, visibility: .private, as: f.owner)
        let hidden = try f.check(f.viewer, f.acme, .viewProjects, .project(secret))
        #expect(!hidden.allowed && hidden.deniedBy == .r14 && hidden.path == .homeRole(f.world.role(.viewer, of: f.acme)))
        let other = try f.world.createProduct("Other", in: f.acme, as: f.owner)
        let notShared = try f.check(f.grantee, f.acme, .manageProducts, .product(other))
        #expect(!notShared.allowed && notShared.deniedBy == .r16 && notShared.path == .share(f.share))
    }

    // MARK: - Bad requests

    @Test func R19_unknownThingsAreNotFound() throws {
        let f = try Fixture()
        expectReadError(.notFound, rule: nil) { try f.check(UserID("usr_zzzz")!, f.acme, .viewProjects) }
        expectReadError(.notFound, rule: nil) { try f.check(f.owner, AccountID("acc_zzzz")!, .viewProjects) }
        expectReadError(.notFound, rule: nil) {
            try f.check(f.owner, f.acme, .viewProjects, .project(ProjectID("prj_zzzz")!))
        }
        expectReadError(.notFound, rule: nil) {
            try f.check(f.owner, f.acme, .manageProducts, .product(ProductID("prd_zzzz")!))
        }
    }

    @Test func R19_resourcesThatDoNotFitAreInvalidArgument() throws {
        let f = try Fixture()
        // Another account's project or product.
        expectReadError(.invalidArgument, rule: nil) {
            try f.check(f.owner, f.acme, .viewProjects, .project(f.betaProject))
        }
        expectReadError(.invalidArgument, rule: nil) {
            try f.check(f.owner, f.acme, .manageProducts, .product(f.betaProduct))
        }
        // A permission that is not about projects or products.
        expectReadError(.invalidArgument, rule: nil) {
            try f.check(f.owner, f.acme, .editBilling, .project(f.project))
        }
        expectReadError(.invalidArgument, rule: nil) {
            try f.check(f.owner, f.acme, .viewProjects, .product(f.product))
        }
        expectReadError(.invalidArgument, rule: nil) {
            try f.check(f.owner, f.acme, .manageProjects, .product(f.product))
        }
        for permission in [Permission.viewProjects, .viewAllProjects, .manageProjects] {
            #expect(try f.check(f.owner, f.acme, permission, .project(f.project)).allowed)
        }
    }

    @Test func R19_writesAreAllowedExactlyWhenCheckAllows() throws {
        let f = try Fixture()
        let users = [f.owner, f.member, f.viewer, f.grantee, f.agencyOwner, f.betaOwner]
        for user in users {
            var world = f.world
            let allowed = try world.check(user, f.acme, .manageProducts, .product(f.product)).allowed
            let context = CommandContext(principal: .user(user), now: world.now)
            let accepted = (try? world.state.decide(.renameProduct(f.product, name: "Renamed"), context: context, using: &world.rng)) != nil
            #expect(allowed == accepted, "\(user)")

            let mayCreate = try world.check(user, f.acme, .manageProjects).allowed
            let created = (try? world.state.decide(
                .createProject(CreateProject(account: f.acme, name: "New")), context: context, using: &world.rng)) != nil
            #expect(mayCreate == created, "\(user)")
        }
    }

    // MARK: - ListAccessibleAccounts

    @Test func R19_accessibleAccountsListsEveryPath() throws {
        var f = try Fixture()
        // The grantee also gets a share from a third STANDARD account.
        let (gamma, gammaOwner) = try f.world.createAccount("Gamma")
        let gammaShare = try f.world.share(gamma, with: "grantee@beta.example.com", as: gammaOwner)
        let accounts = try f.world.state.accessibleAccounts(of: f.grantee)
        let byAccount = Dictionary(uniqueKeysWithValues: accounts.map { ($0.account, $0) })
        #expect(accounts.count == 3)
        #expect(accounts.first?.account == f.beta, "the home account first")
        #expect(byAccount[f.beta]?.path == .homeRole(f.world.role(.member, of: f.beta)))
        #expect(byAccount[f.beta]?.name == "Beta")
        #expect(byAccount[f.beta]?.permissions == BuiltInRole.member.permissions)
        #expect(byAccount[f.acme]?.path == .share(f.share))
        #expect(byAccount[f.acme]?.name == "Acme")
        #expect(byAccount[f.acme]?.permissions == Permissions([.manageProducts, .viewBilling, .editBilling]))
        #expect(byAccount[gamma]?.path == .share(gammaShare))
        #expect(byAccount[gamma]?.permissions == Permissions([.manageProducts]))

        let agencyAccounts = try f.world.state.accessibleAccounts(of: f.agencyOwner)
        #expect(agencyAccounts.map(\.account) == [f.agency, f.acme])
        #expect(agencyAccounts.last?.path == .clientLink(agency: f.agency, role: f.world.role(.member, of: f.acme)))
        #expect(agencyAccounts.last?.permissions == BuiltInRole.member.permissions)
        #expect(agencyAccounts.first?.permissions == .all)

        #expect(try f.world.state.accessibleAccounts(of: f.member).map(\.account) == [f.acme])
    }

    @Test func R19_accessibleAccountsOmitsLinksNotApproved() throws {
        var f = try Fixture()
        let (other, _) = try f.world.createAccount("Other")
        try f.world.run(.addClient(agency: f.agency, client: other), as: .user(f.agencyOwner))
        try f.world.run(.requestClientAccess(agency: f.agency, client: other), as: .user(f.agencyOwner))
        #expect(try f.world.state.accessibleAccounts(of: f.agencyOwner).map(\.account) == [f.agency, f.acme])
    }

    @Test func R19_accessibleAccountsIsEmptyForInactiveUsers() throws {
        var f = try Fixture()
        let pending = try f.world.addUser(to: f.acme, email: "pending@acme.example.com", as: f.owner)
        #expect(try f.world.state.accessibleAccounts(of: pending).isEmpty)
        try f.world.run(.deactivateUser(f.grantee), as: .user(f.betaOwner))
        #expect(try f.world.state.accessibleAccounts(of: f.grantee).isEmpty, "not even the shares")
        try f.world.run(.reactivateUser(f.grantee), as: .user(f.betaOwner))
        #expect(try f.world.state.accessibleAccounts(of: f.grantee).count == 2, "the share was kept (R11)")
        expectReadError(.notFound, rule: nil) { try f.world.state.accessibleAccounts(of: UserID("usr_zzzz")!) }
    }
}
