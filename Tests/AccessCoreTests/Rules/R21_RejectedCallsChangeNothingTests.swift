import AccessStatus
import Testing

@testable import AccessCore

/// R21: a rejected call changes nothing (no partial writes, no events, no
/// outbox messages), and every error carries a status code and a message a
/// person can act on.
@Suite struct R21_RejectedCallsChangeNothingTests {
    /// Something in every area: users of every status, roles, offices,
    /// projects, products, a share, a client link, outbox messages.
    struct Fixture {
        var world = World()
        let acme: AccountID, owner: UserID, member: UserID, viewer: UserID, pending: UserID
        let beta: AccountID, betaOwner: UserID, grantee: UserID
        let agency: AccountID, agencyOwner: UserID
        let office: OfficeID, role: RoleID, project: ProjectID, product: ProductID, unshared: ProductID, share: ShareID

        init() throws {
            var world = World()
            (acme, owner) = try world.createAccount("Acme", licenses: 3)
            office = try world.createOffice("Berlin", in: acme, as: owner)
            role = try world.createRole("Readers", access: .viewer, permissions: Permissions([.viewProjects]), in: acme, as: owner)
            member = try world.addActiveUser(
                to: acme, email: "member@acme.example.com", extraPermissions: Permissions([.editAccountSettings]),
                offices: [office], as: owner)
            viewer = try world.addActiveUser(to: acme, email: "viewer@acme.example.com", role: role, as: owner)
            pending = try world.addUser(to: acme, email: "pending@acme.example.com", as: owner)
            (beta, betaOwner) = try world.createAccount("Beta")
            grantee = try world.addActiveUser(to: beta, email: "grantee@beta.example.com", as: betaOwner)
            (agency, agencyOwner) = try world.createAccount("Agency", kind: .agency, owner: "boss@agency.example.com")
            project = try world.createProject("Site", in: acme, offices: [office], as: owner)
            product = try world.createProduct("Container", in: acme, as: owner)
            unshared = try world.createProduct("Gateway", kind: .gateway, in: acme, as: owner)
            share = try world.share(acme, with: "grantee@beta.example.com", scope: .products([product]), as: owner)
            try world.run(.addClient(agency: agency, client: acme), as: .user(agencyOwner))
            self.world = world
        }
    }

    struct Refusal: CustomStringConvertible {
        var name: String
        var command: Command
        var principal: Principal
        var code: StatusCode
        var rule: Rule?
        var description: String { name }
    }

    /// A sample of refusals from every area, each for a different reason.
    private func refusals(_ f: Fixture) -> [Refusal] {
        let member = f.world.role(.member, of: f.acme)
        let ownerRole = f.world.role(.accountOwner, of: f.acme)
        return [
            // Accounts and licenses.
            Refusal(
                name: "a user creates an account",
                command: .createAccount(
                    CreateAccount(name: "X", fullAccessLicenses: 1, ownerEmail: "x@example.com", ownerFirstName: "X", ownerLastName: "Y")),
                principal: .user(f.owner), code: .permissionDenied, rule: .r1),
            Refusal(
                name: "licenses below use", command: .setLicenseCount(account: f.acme, count: 2), principal: .administrator,
                code: .failedPrecondition, rule: .r3),
            Refusal(
                name: "no license free",
                command: .addUser(AddUser(account: f.acme, email: "new@acme.example.com", firstName: "N", lastName: "U", role: member)),
                principal: .user(f.owner), code: .resourceExhausted, rule: .r2),
            Refusal(
                name: "rename account without settings", command: .renameAccount(account: f.acme, name: "Mine"),
                principal: .user(f.viewer), code: .permissionDenied, rule: .r4),
            // Users.
            Refusal(
                name: "email taken",
                command: .addUser(
                    AddUser(account: f.acme, email: "MEMBER@acme.example.com", firstName: "N", lastName: "U", role: f.role)),
                principal: .user(f.owner), code: .alreadyExists, rule: .r8),
            Refusal(
                name: "deactivate oneself", command: .deactivateUser(f.owner), principal: .user(f.owner),
                code: .permissionDenied, rule: .r6),
            Refusal(
                name: "last owner deactivated", command: .deactivateUser(f.owner), principal: .user(f.member),
                code: .failedPrecondition, rule: .r5),
            Refusal(
                name: "last owner moved",
                command: .editUser(EditUser(user: f.owner, role: member)), principal: .user(f.member), code: .failedPrecondition,
                rule: .r5),
            Refusal(
                name: "pending user acts", command: .createOffice(account: f.acme, name: "P"), principal: .user(f.pending),
                code: .permissionDenied, rule: .r7),
            Refusal(
                name: "unknown token", command: .activateUser(token: "00ff"), principal: .anonymous, code: .notFound, rule: .r9),
            Refusal(
                name: "resend to an active user", command: .resendActivation(f.member), principal: .user(f.owner),
                code: .failedPrecondition, rule: .r9),
            Refusal(
                name: "viewer with manage permission",
                command: .editUser(EditUser(user: f.viewer, extraPermissions: Permissions([.manageProjects]))),
                principal: .user(f.owner), code: .invalidArgument, rule: .r10),
            Refusal(
                name: "reactivate an active user", command: .reactivateUser(f.member), principal: .user(f.owner),
                code: .failedPrecondition, rule: .r11),
            // Roles.
            Refusal(
                name: "edit Account Owner", command: .editRole(EditRole(role: ownerRole, name: "Boss")),
                principal: .user(f.owner), code: .failedPrecondition, rule: .r4),
            Refusal(
                name: "role in use deleted", command: .deleteRole(f.role), principal: .user(f.owner),
                code: .failedPrecondition, rule: .r4),
            // Offices.
            Refusal(
                name: "office name taken", command: .createOffice(account: f.acme, name: "BERLIN"), principal: .user(f.owner),
                code: .alreadyExists, rule: .r13),
            Refusal(
                name: "office deleted by a viewer", command: .deleteOffice(f.office), principal: .user(f.viewer),
                code: .permissionDenied, rule: .r4),
            // Projects.
            Refusal(
                name: "viewer creates a project", command: .createProject(CreateProject(account: f.acme, name: "P")),
                principal: .user(f.viewer), code: .permissionDenied, rule: .r14),
            Refusal(
                name: "foreign member",
                command: .updateProject(UpdateProject(project: f.project, name: "New name", members: [f.grantee])),
                principal: .user(f.owner), code: .invalidArgument, rule: .r14),
            // Products.
            Refusal(
                name: "viewer deletes a product", command: .deleteProduct(f.product), principal: .user(f.viewer),
                code: .permissionDenied, rule: .r15),
            // Sharing.
            Refusal(
                name: "share without SHARE_ACCESS",
                command: .shareAccess(ShareAccess(owner: f.acme, granteeEmail: "grantee@beta.example.com", scope: .allCurrentAndNew)),
                principal: .user(f.member), code: .permissionDenied, rule: .r16),
            Refusal(
                name: "share with an agency",
                command: .shareAccess(ShareAccess(owner: f.acme, granteeEmail: "boss@agency.example.com", scope: .allCurrentAndNew)),
                principal: .user(f.owner), code: .failedPrecondition, rule: .r16),
            Refusal(
                name: "share with a colleague",
                command: .shareAccess(ShareAccess(owner: f.acme, granteeEmail: "member@acme.example.com", scope: .allCurrentAndNew)),
                principal: .user(f.owner), code: .invalidArgument, rule: .r16),
            Refusal(
                name: "grantee goes beyond the list", command: .renameProduct(f.unshared, name: "X"), principal: .user(f.grantee),
                code: .permissionDenied, rule: .r16),
            Refusal(
                name: "stranger renames a product", command: .renameProduct(f.product, name: "X"), principal: .user(f.betaOwner),
                code: .permissionDenied, rule: .r19),
            Refusal(
                name: "stranger retires", command: .retireShare(f.share), principal: .user(f.betaOwner),
                code: .permissionDenied, rule: .r17),
            // Clients.
            Refusal(
                name: "client added twice", command: .addClient(agency: f.agency, client: f.acme), principal: .user(f.agencyOwner),
                code: .alreadyExists, rule: .r18),
            Refusal(
                name: "approve without request", command: .approveClientAccess(client: f.acme, agency: f.agency, role: nil),
                principal: .user(f.owner), code: .failedPrecondition, rule: .r18),
            // Outbox.
            Refusal(
                name: "a user acknowledges", command: .acknowledgeOutbox(Array(f.world.state.outbox.keys)),
                principal: .user(f.owner), code: .permissionDenied, rule: .r20),
        ]
    }

    @Test func R21_rejectedCommandsOfEveryAreaChangeNothing() throws {
        var f = try Fixture()
        let history = f.world.history
        let outbox = f.world.state.outbox
        #expect(!outbox.isEmpty)
        for refusal in refusals(f) {
            let before = f.world.state
            let error = f.world.reject(refusal.command, as: refusal.principal, refusal.code, rule: refusal.rule)
            #expect(error != nil, "\(refusal)")
            #expect(f.world.state == before, "\(refusal)")
            #expect(f.world.state.nextSeq == before.nextSeq, "no events: \(refusal)")
            #expect(f.world.state.outbox == outbox, "no outbox messages: \(refusal)")
            #expect(f.world.history == history, "\(refusal)")
            if let rule = refusal.rule {
                #expect(error?.message.hasSuffix("(\(rule))") == true, "the message names its rule: \(error?.message ?? "")")
            }
        }
        #expect(try f.world.replayed() == f.world.state)

        // The next accepted write continues the sequence without a gap.
        let next = try f.world.run(.createOffice(account: f.acme, name: "Paris"), as: .user(f.owner))
        #expect(next.first?.seq == history.last!.seq + 1)
    }

    @Test func R21_aFailedMultiFieldEditWritesNoPart() throws {
        var f = try Fixture()
        let before = try #require(f.world.state.users[f.member])
        // A valid name change together with an email that is taken.
        f.world.reject(
            .editUser(EditUser(user: f.member, firstName: "Changed", email: "viewer@acme.example.com")), as: .user(f.owner),
            .alreadyExists, rule: .r8)
        // Valid offices together with a role that needs a license none is free for.
        try f.world.run(.editUser(EditUser(user: f.member, offices: [])), as: .user(f.owner))
        let afterOffices = try #require(f.world.state.users[f.member])
        #expect(afterOffices.firstName == before.firstName)
        f.world.reject(
            .editUser(EditUser(user: f.viewer, firstName: "Changed", offices: [f.office], role: f.world.role(.member, of: f.acme))),
            as: .user(f.owner), .resourceExhausted, rule: .r2)
        #expect(f.world.state.users[f.viewer]?.firstName == "Ada")
        #expect(f.world.state.users[f.viewer]?.offices == [])
        #expect(f.world.state.users[f.viewer]?.role == f.role)
    }

    @Test func R21_aRefusedAddUserQueuesNoActivationEmail() throws {
        var f = try Fixture()
        let outbox = f.world.state.outbox
        let activations = f.world.state.activations
        f.world.reject(
            .addUser(
                AddUser(
                    account: f.acme, email: "new@acme.example.com", firstName: "N", lastName: "U",
                    role: f.world.role(.member, of: f.acme))),
            as: .user(f.owner), .resourceExhausted, rule: .r2)
        #expect(f.world.state.outbox == outbox)
        #expect(f.world.state.activations == activations)
        #expect(f.world.state.indexes.userByEmail[EmailKey(region: .global, email: "new@acme.example.com")] == nil)
    }

    @Test func R21_errorsCarryAStatusCodeAndAnActionableMessage() throws {
        var f = try Fixture()
        let error = f.world.reject(
            .addUser(
                AddUser(
                    account: f.acme, email: "new@acme.example.com", firstName: "N", lastName: "U",
                    role: f.world.role(.member, of: f.acme))),
            as: .user(f.owner), .resourceExhausted, rule: .r2)
        #expect(error?.message.contains("3 of 3") == true, "\(error?.message ?? "")")
        #expect(error?.description.hasPrefix("RESOURCE_EXHAUSTED: ") == true)
        #expect(error?.code.rawValue == 8)
    }

    @Test func R21_aDryDecideChangesNothing() throws {
        let f = try Fixture()
        let state = f.world.state
        var rng = f.world.rng
        let context = CommandContext(principal: .user(f.owner), now: f.world.now)
        let commands: [Command] = [
            .createOffice(account: f.acme, name: "Paris"),
            .deleteOffice(f.office),
            .addUser(AddUser(account: f.acme, email: "dry@acme.example.com", firstName: "D", lastName: "Ry", role: f.role)),
            .deleteProduct(f.product),
            .removeShare(f.share),
            .resendActivation(f.pending),
        ]
        for command in commands {
            let events = try state.decide(command, context: context, using: &rng)
            #expect(!events.isEmpty)
            #expect(events.first?.seq == state.nextSeq)
            #expect(state == f.world.state, "decide never changes the state")
            // The same events, applied, are what execute would do.
            var applied = state
            try applied.apply(events)
            #expect(applied != state)
            #expect(applied.nextSeq == state.nextSeq + UInt64(events.count))
        }
        #expect(state.outbox == f.world.state.outbox)
        #expect(state.nextSeq == f.world.state.nextSeq)
        // A refused decide changes nothing either.
        #expect(throws: AccessError.self) {
            try state.decide(.createOffice(account: f.acme, name: "berlin"), context: context, using: &rng)
        }
        #expect(state == f.world.state)
    }
}
