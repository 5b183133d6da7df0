import AccessStatus
import Testing

@testable import AccessCore

/// R18: an AGENCY or PARTNER account adds a STANDARD client of its region
/// (MANAGE_CLIENTS) and requests access; the client's user with
/// EDIT_ACCOUNT_SETTINGS approves (with a role, default Member, never Account
/// Owner) or denies; while approved the agency's ACTIVE users with
/// MANAGE_CLIENTS act in the client with that role; removing or revoking ends it at once.
@Suite struct R18_AgencyClientTests {
    struct Fixture {
        var world = World()
        let agency: AccountID, agencyOwner: UserID, manager: UserID, plain: UserID
        let client: AccountID, clientOwner: UserID, clientAdmin: UserID, clientMember: UserID

        init() throws {
            var world = World()
            (agency, agencyOwner) = try world.createAccount("Agency", kind: .agency, licenses: 10)
            manager = try world.addActiveUser(
                to: agency, email: "manager@agency.example.com", extraPermissions: Permissions([.manageClients]),
                as: agencyOwner)
            plain = try world.addActiveUser(to: agency, email: "plain@agency.example.com", as: agencyOwner)
            (client, clientOwner) = try world.createAccount("Client", licenses: 10)
            clientAdmin = try world.addActiveUser(
                to: client, email: "admin@client.example.com", extraPermissions: Permissions([.editAccountSettings]),
                as: clientOwner)
            clientMember = try world.addActiveUser(to: client, email: "member@client.example.com", as: clientOwner)
            self.world = world
        }

        var link: ClientLink? { world.state.clientLinks[ClientLinkKey(agency: agency, client: client)] }

        /// Adds the client and requests access, as the agency's manager.
        mutating func request() throws {
            try world.run(.addClient(agency: agency, client: client), as: .user(manager))
            try world.run(.requestClientAccess(agency: agency, client: client), as: .user(manager))
        }

        mutating func approve(role: RoleID? = nil) throws {
            try request()
            try world.run(.approveClientAccess(client: client, agency: agency, role: role), as: .user(clientAdmin))
        }

        func check(_ user: UserID, _ permission: Permission, _ resource: CheckResource? = nil) throws -> CheckResult {
            try world.check(user, client, permission, resource)
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

    // MARK: - Adding a client

    @Test func R18_agencyAddsAStandardClientOfItsRegion() throws {
        var f = try Fixture()
        let events = try f.world.run(.addClient(agency: f.agency, client: f.client), as: .user(f.manager))
        #expect(events.map(\.change.kind) == ["clientAdded"])
        let link = try #require(f.link)
        #expect(link.status == AccessRequestStatus.none)
        #expect(link.role == nil)
        #expect(link.addedBy == f.manager)
        #expect(try f.world.state.listClients(f.agency, as: .user(f.manager)) == [link])
        #expect(try f.world.state.listAgencies(f.client, as: .user(f.clientAdmin)) == [link])
        // Added, not approved: no access yet.
        #expect(try f.check(f.manager, .viewProjects).deniedBy == .r19)
    }

    @Test func R18_partnerAddsAClientToo() throws {
        var f = try Fixture()
        let (partner, partnerOwner) = try f.world.createAccount("Partner", kind: .partner)
        try f.world.run(.addClient(agency: partner, client: f.client), as: .user(partnerOwner))
        #expect(try f.world.state.listClients(partner, as: .user(partnerOwner)).map(\.client) == [f.client])
    }

    @Test func R18_aStandardAccountHasNoClients() throws {
        var f = try Fixture()
        let (other, _) = try f.world.createAccount("Other")
        let error = f.world.reject(
            .addClient(agency: f.client, client: other), as: .user(f.clientOwner), .failedPrecondition, rule: .r18)
        #expect(error?.message.contains("R16") == true, "points a STANDARD account to sharing")
    }

    @Test func R18_onlyStandardAccountsAreClients() throws {
        var f = try Fixture()
        let (otherAgency, _) = try f.world.createAccount("Other agency", kind: .agency)
        let (partner, _) = try f.world.createAccount("Partner", kind: .partner)
        f.world.reject(.addClient(agency: f.agency, client: otherAgency), as: .user(f.manager), .failedPrecondition, rule: .r18)
        f.world.reject(.addClient(agency: f.agency, client: partner), as: .user(f.manager), .failedPrecondition, rule: .r18)
        f.world.reject(.addClient(agency: f.agency, client: f.agency), as: .user(f.manager), .invalidArgument, rule: .r18)
    }

    @Test func R18_clientMustBeInTheAgencyRegion() throws {
        var f = try Fixture()
        let (euro, _) = try f.world.createAccount("Euro", region: .eu)
        f.world.reject(.addClient(agency: f.agency, client: euro), as: .user(f.manager), .failedPrecondition, rule: .r18)
    }

    @Test func R18_aClientIsAddedOnce() throws {
        var f = try Fixture()
        try f.world.run(.addClient(agency: f.agency, client: f.client), as: .user(f.manager))
        f.world.reject(.addClient(agency: f.agency, client: f.client), as: .user(f.agencyOwner), .alreadyExists, rule: .r18)
        // Another agency may add the same client.
        let (second, secondOwner) = try f.world.createAccount("Second agency", kind: .agency)
        try f.world.run(.addClient(agency: second, client: f.client), as: .user(secondOwner))
        #expect(try f.world.state.listAgencies(f.client, as: .user(f.clientOwner)).map(\.agency) == [f.agency, second])
    }

    @Test func R18_agencyCallsNeedManageClients() throws {
        var f = try Fixture()
        f.world.reject(.addClient(agency: f.agency, client: f.client), as: .user(f.plain), .permissionDenied, rule: .r18)
        try f.world.run(.addClient(agency: f.agency, client: f.client), as: .user(f.manager))
        f.world.reject(.requestClientAccess(agency: f.agency, client: f.client), as: .user(f.plain), .permissionDenied, rule: .r18)
        f.world.reject(.removeClient(agency: f.agency, client: f.client), as: .user(f.plain), .permissionDenied, rule: .r18)
        expectReadError(.permissionDenied, rule: .r18) { try f.world.state.listClients(f.agency, as: .user(f.plain)) }
        // A client's user cannot act for the agency.
        f.world.reject(
            .requestClientAccess(agency: f.agency, client: f.client), as: .user(f.clientOwner), .permissionDenied, rule: .r19)
        #expect(f.world.reject(.addClient(agency: f.agency, client: AccountID("acc_zzzz")!), as: .user(f.manager), .notFound)?.rule == nil)
    }

    // MARK: - Request, approve, deny

    @Test func R18_requestIsPendingAndNotRepeated() throws {
        var f = try Fixture()
        f.world.reject(.requestClientAccess(agency: f.agency, client: f.client), as: .user(f.manager), .notFound, rule: .r18)
        try f.request()
        #expect(f.link?.status == .pending)
        f.world.reject(.requestClientAccess(agency: f.agency, client: f.client), as: .user(f.manager), .failedPrecondition, rule: .r18)
        #expect(try f.check(f.manager, .viewProjects).allowed == false, "pending gives nothing")
    }

    @Test func R18_approvalWithoutRoleActsAsMember() throws {
        var f = try Fixture()
        try f.approve()
        let member = f.world.role(.member, of: f.client)
        #expect(f.link?.status == .approved)
        #expect(f.link?.role == member)
        let result = try f.check(f.manager, .manageProjects)
        #expect(result.allowed)
        #expect(result.path == .clientLink(agency: f.agency, role: member))
        #expect(try f.check(f.manager, .manageProducts).allowed)
        // Only Member's permissions, nothing of the agency user's own.
        let denied = try f.check(f.manager, .editAccountSettings)
        #expect(!denied.allowed && denied.deniedBy == .r18)
        #expect(try f.check(f.manager, .manageClients).deniedBy == .r18)
        #expect(try f.check(f.manager, .shareAccess).deniedBy == .r18)
        // The agency's owner holds MANAGE_CLIENTS too, so acts as well.
        #expect(try f.check(f.agencyOwner, .manageProjects).allowed)
        // Writes follow checks.
        let product = try f.world.createProduct("Agency-made", in: f.client, as: f.manager)
        #expect(f.world.state.products[product]?.account == f.client)
        f.world.reject(
            .createOffice(account: f.client, name: "Agency office"), as: .user(f.manager), .permissionDenied, rule: .r18)
    }

    @Test func R18_approvalWithAChosenRole() throws {
        var f = try Fixture()
        let ops = try f.world.createRole(
            "Agency Ops", access: .full, permissions: Permissions([.viewProjects, .manageProducts]), in: f.client,
            as: f.clientOwner)
        try f.approve(role: ops)
        #expect(f.link?.role == ops)
        #expect(try f.check(f.manager, .manageProducts).allowed)
        #expect(try f.check(f.manager, .manageProducts).path == .clientLink(agency: f.agency, role: ops))
        #expect(try f.check(f.manager, .manageProjects).deniedBy == .r18)
        // A role in use by an approved agency stays.
        f.world.reject(.deleteRole(ops), as: .user(f.clientOwner), .failedPrecondition, rule: .r18)
    }

    @Test func R18_approvalCannotGrantAccountOwner() throws {
        var f = try Fixture()
        try f.request()
        let owner = f.world.role(.accountOwner, of: f.client)
        f.world.reject(
            .approveClientAccess(client: f.client, agency: f.agency, role: owner), as: .user(f.clientOwner),
            .invalidArgument, rule: .r18)
        // A role of another account is not found.
        let agencyMember = f.world.role(.member, of: f.agency)
        let error = f.world.reject(
            .approveClientAccess(client: f.client, agency: f.agency, role: agencyMember), as: .user(f.clientOwner),
            .notFound)
        #expect(error?.rule == nil)
        #expect(f.link?.status == .pending)
    }

    @Test func R18_onlyTheClientsOwnUsersWithEditAccountSettingsAnswer() throws {
        var f = try Fixture()
        try f.request()
        let approve = Command.approveClientAccess(client: f.client, agency: f.agency, role: nil)
        f.world.reject(approve, as: .user(f.clientMember), .permissionDenied, rule: .r4)
        f.world.reject(.denyClientAccess(client: f.client, agency: f.agency), as: .user(f.clientMember), .permissionDenied, rule: .r4)
        f.world.reject(approve, as: .user(f.manager), .permissionDenied, rule: .r19)
        #expect(f.world.reject(approve, as: .administrator, .permissionDenied)?.rule == nil, "an administrator acts for no user")

        // Even an agency acting with a role that has EDIT_ACCOUNT_SETTINGS cannot answer for the client.
        let admins = try f.world.createRole(
            "Admins", access: .full, permissions: Permissions([.editAccountSettings, .viewProjects]), in: f.client,
            as: f.clientOwner)
        try f.world.run(.approveClientAccess(client: f.client, agency: f.agency, role: admins), as: .user(f.clientAdmin))
        #expect(try f.check(f.manager, .editAccountSettings).allowed)
        f.world.reject(.revokeClientAccess(client: f.client, agency: f.agency), as: .user(f.manager), .permissionDenied, rule: .r18)
        expectReadError(.permissionDenied, rule: .r18) { try f.world.state.listAgencies(f.client, as: .user(f.manager)) }
    }

    @Test func R18_approvingOrDenyingNeedsAPendingRequest() throws {
        var f = try Fixture()
        try f.world.run(.addClient(agency: f.agency, client: f.client), as: .user(f.manager))
        let approve = Command.approveClientAccess(client: f.client, agency: f.agency, role: nil)
        f.world.reject(approve, as: .user(f.clientAdmin), .failedPrecondition, rule: .r18)
        f.world.reject(.denyClientAccess(client: f.client, agency: f.agency), as: .user(f.clientAdmin), .failedPrecondition, rule: .r18)
        f.world.reject(.revokeClientAccess(client: f.client, agency: f.agency), as: .user(f.clientAdmin), .failedPrecondition, rule: .r18)
        try f.world.run(.requestClientAccess(agency: f.agency, client: f.client), as: .user(f.manager))
        try f.world.run(approve, as: .user(f.clientAdmin))
        f.world.reject(approve, as: .user(f.clientAdmin), .failedPrecondition, rule: .r18)
        f.world.reject(.requestClientAccess(agency: f.agency, client: f.client), as: .user(f.manager), .failedPrecondition, rule: .r18)
        let (stranger, _) = try f.world.createAccount("Stranger agency", kind: .agency)
        f.world.reject(
            .approveClientAccess(client: f.client, agency: stranger, role: nil), as: .user(f.clientAdmin), .notFound, rule: .r18)
    }

    @Test func R18_denyingGivesNothingAndTheAgencyMayAskAgain() throws {
        var f = try Fixture()
        try f.request()
        let events = try f.world.run(.denyClientAccess(client: f.client, agency: f.agency), as: .user(f.clientAdmin))
        #expect(events.map(\.change.kind) == ["clientAccessDenied"])
        #expect(f.link?.status == .denied)
        #expect(f.link?.role == nil)
        #expect(try f.check(f.manager, .viewProjects).deniedBy == .r19)
        try f.world.run(.requestClientAccess(agency: f.agency, client: f.client), as: .user(f.manager))
        #expect(f.link?.status == .pending)
    }

    // MARK: - Ending access

    @Test func R18_revokingEndsAccessAtOnce() throws {
        var f = try Fixture()
        try f.approve()
        #expect(try f.check(f.manager, .manageProjects).allowed)
        try f.world.run(.revokeClientAccess(client: f.client, agency: f.agency), as: .user(f.clientOwner))
        #expect(f.link?.status == AccessRequestStatus.none)
        #expect(f.link?.role == nil)
        #expect(try f.check(f.manager, .manageProjects).deniedBy == .r19)
        f.world.reject(
            .createProduct(account: f.client, kind: .container, name: "Late"), as: .user(f.manager), .permissionDenied,
            rule: .r19)
        #expect(try f.world.state.accessibleAccounts(of: f.manager).map(\.account) == [f.agency])
        // It may be asked for again.
        try f.world.run(.requestClientAccess(agency: f.agency, client: f.client), as: .user(f.manager))
        #expect(f.link?.status == .pending)
    }

    @Test func R18_removingTheClientEndsAccessAtOnce() throws {
        var f = try Fixture()
        try f.approve()
        let events = try f.world.run(.removeClient(agency: f.agency, client: f.client), as: .user(f.manager))
        #expect(events.map(\.change) == [.clientRemoved(ClientLinkKey(agency: f.agency, client: f.client))])
        #expect(f.link == nil)
        #expect(try f.check(f.manager, .manageProjects).deniedBy == .r19)
        #expect(try f.world.state.listClients(f.agency, as: .user(f.manager)).isEmpty)
        #expect(try f.world.state.listAgencies(f.client, as: .user(f.clientOwner)).isEmpty)
        f.world.reject(.removeClient(agency: f.agency, client: f.client), as: .user(f.manager), .notFound, rule: .r18)
        // It can be added again, starting over.
        try f.world.run(.addClient(agency: f.agency, client: f.client), as: .user(f.manager))
        #expect(f.link?.status == AccessRequestStatus.none)
        #expect(try f.world.replayed() == f.world.state)
        #expect(f.world.state.indexesAreConsistent)
    }

    // MARK: - Who acts through the link

    @Test func R18_agencyUsersWithoutManageClientsDoNotAct() throws {
        var f = try Fixture()
        try f.approve()
        let result = try f.check(f.plain, .viewProjects)
        #expect(!result.allowed)
        #expect(result.deniedBy == .r18)
        #expect(result.reason.contains("MANAGE_CLIENTS"))
        f.world.reject(
            .createProduct(account: f.client, kind: .container, name: "X"), as: .user(f.plain), .permissionDenied, rule: .r18)
        #expect(try f.world.state.accessibleAccounts(of: f.plain).map(\.account) == [f.agency])
        // Given MANAGE_CLIENTS, they act at once; taken away, they stop at once.
        try f.world.run(
            .editUser(EditUser(user: f.plain, extraPermissions: Permissions([.manageClients]))), as: .user(f.agencyOwner))
        #expect(try f.check(f.plain, .viewProjects).allowed)
        try f.world.run(.editUser(EditUser(user: f.plain, extraPermissions: [])), as: .user(f.agencyOwner))
        #expect(try f.check(f.plain, .viewProjects).deniedBy == .r18)
    }

    @Test func R18_onlyActiveAgencyUsersAct() throws {
        var f = try Fixture()
        try f.approve()
        try f.world.run(.deactivateUser(f.manager), as: .user(f.agencyOwner))
        let result = try f.check(f.manager, .viewProjects)
        #expect(!result.allowed && result.deniedBy == .r7)
        f.world.reject(
            .createProduct(account: f.client, kind: .container, name: "X"), as: .user(f.manager), .permissionDenied, rule: .r7)
        #expect(try f.world.state.accessibleAccounts(of: f.manager).isEmpty)
        let pending = try f.world.addUser(
            to: f.agency, email: "new@agency.example.com", extraPermissions: Permissions([.manageClients]), as: f.agencyOwner)
        #expect(try f.check(pending, .viewProjects).deniedBy == .r7)
    }

    @Test func R18_agencySeesProjectsByItsRoleOnly() throws {
        var f = try Fixture()
        let office = try f.world.createOffice("HQ", in: f.client, as: f.clientOwner)
        let open = try f.world.createProject("Open", in: f.client, as: f.clientOwner)
        let withOffice = try f.world.createProject("HQ only", in: f.client, offices: [office], as: f.clientOwner)
        let secret = try f.world.createProject("Secret", in: f.client, visibility: .private, as: f.clientOwner)
        try f.approve()
        #expect(try f.check(f.manager, .viewProjects, .project(open)).allowed)
        #expect(try f.check(f.manager, .viewProjects, .project(withOffice)).deniedBy == .r14)
        #expect(try f.check(f.manager, .viewProjects, .project(secret)).deniedBy == .r14)
        #expect(try f.world.state.listProjects(f.client, as: .user(f.manager)).map(\.id) == [open])

        // With VIEW_ALL_PROJECTS in the approved role, all of them.
        try f.world.run(
            .editRole(EditRole(role: f.world.role(.member, of: f.client), permissions: Permissions([.viewProjects, .viewAllProjects]))),
            as: .user(f.clientOwner))
        #expect(try f.world.state.listProjects(f.client, as: .user(f.manager)).count == 3)
    }
}
