import AccessStatus
import Testing

@testable import AccessCore

/// R20: every accepted write appends events with a gapless sequence number;
/// readers fetch events after N and follow new ones; activation emails go to an
/// outbox that the mailer (an administrator) drains and acknowledges, and an
/// unacknowledged message is delivered again.
@Suite struct R20_EventsAndOutboxTests {
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

    // MARK: - Events

    @Test func R20_sequenceNumbersAreGaplessFromOneAcrossCommands() throws {
        var world = World()
        #expect(world.state.nextSeq == 1 && world.state.revision == 0)
        let (acme, owner) = try world.createAccount()
        let office = try world.createOffice("Berlin", in: acme, as: owner)
        world.reject(.createOffice(account: acme, name: "berlin"), as: .user(owner), .alreadyExists, rule: .r13)
        let ada = try world.addActiveUser(to: acme, email: "ada@example.com", offices: [office], as: owner)
        try world.run(.editUser(EditUser(user: ada, lastName: "King")), as: .user(owner))
        world.reject(.deactivateUser(owner), as: .user(owner), .permissionDenied, rule: .r6)
        try world.run(.deleteOffice(office), as: .user(owner))

        #expect(world.history.map(\.seq) == Array(1...UInt64(world.history.count)), "gapless from 1, refusals skip nothing")
        #expect(world.state.nextSeq == UInt64(world.history.count) + 1)
        #expect(world.state.revision == UInt64(world.history.count))
    }

    @Test func R20_everyAcceptedWriteProducesNumberedEventsStampedWithTimeAndActor() throws {
        var world = World()
        let (acme, owner) = try world.createAccount("Acme", licenses: 10)
        let (agency, agencyOwner) = try world.createAccount("Agency", kind: .agency)
        let (beta, betaOwner) = try world.createAccount("Beta")
        try world.addActiveUser(to: beta, email: "grantee@beta.example.com", as: betaOwner)
        let viewer = world.role(.viewer, of: acme)
        var product: ProductID?
        var project: ProjectID?
        var role: RoleID?
        var office: OfficeID?
        var user: UserID?
        var share: ShareID?

        var commands: [(String, () -> Command, Principal)] = []
        commands.append(("setLicenseCount", { .setLicenseCount(account: acme, count: 12) }, .administrator))
        commands.append(("renameAccount", { .renameAccount(account: acme, name: "Acme 2") }, .user(owner)))
        commands.append(("updateBilling", { .updateBilling(account: acme, billing: Billing(companyName: "Acme Ltd")) }, .user(owner)))
        commands.append(("createRole", { .createRole(account: acme, name: "Ops", access: .full, permissions: []) }, .user(owner)))
        commands.append(("editRole", { .editRole(EditRole(role: role!, permissions: Permissions([.viewProjects]))) }, .user(owner)))
        commands.append(("createOffice", { .createOffice(account: acme, name: "HQ") }, .user(owner)))
        commands.append(("renameOffice", { .renameOffice(office!, name: "Head office") }, .user(owner)))
        commands.append((
            "addUser",
            { .addUser(AddUser(account: acme, email: "u@acme.example.com", firstName: "U", lastName: "Ser", role: viewer)) },
            .user(owner)))
        commands.append(("resendActivation", { .resendActivation(user!) }, .user(owner)))
        commands.append(("editUser", { .editUser(EditUser(user: user!, firstName: "You")) }, .user(owner)))
        commands.append(("deactivateUser", { .deactivateUser(user!) }, .user(owner)))
        commands.append(("reactivateUser", { .reactivateUser(user!) }, .user(owner)))
        commands.append(("createProject", { .createProject(CreateProject(account: acme, name: "P")) }, .user(owner)))
        commands.append(("updateProject", { .updateProject(UpdateProject(project: project!, visibility: .private)) }, .user(owner)))
        commands.append(("createProduct", { .createProduct(account: acme, kind: .gateway, name: "G") }, .user(owner)))
        commands.append(("renameProduct", { .renameProduct(product!, name: "G2") }, .user(owner)))
        commands.append((
            "shareAccess",
            { .shareAccess(ShareAccess(owner: acme, granteeEmail: "grantee@beta.example.com", scope: .allCurrentAndNew)) },
            .user(owner)))
        commands.append(("removeShare", { .removeShare(share!) }, .user(owner)))
        commands.append(("addClient", { .addClient(agency: agency, client: acme) }, .user(agencyOwner)))
        commands.append(("requestClientAccess", { .requestClientAccess(agency: agency, client: acme) }, .user(agencyOwner)))
        commands.append(("approveClientAccess", { .approveClientAccess(client: acme, agency: agency, role: nil) }, .user(owner)))
        commands.append(("revokeClientAccess", { .revokeClientAccess(client: acme, agency: agency) }, .user(owner)))
        commands.append(("removeClient", { .removeClient(agency: agency, client: acme) }, .user(agencyOwner)))
        commands.append(("deleteProduct", { .deleteProduct(product!) }, .user(owner)))
        commands.append(("deleteProject", { .deleteProject(project!) }, .user(owner)))
        commands.append(("deleteOffice", { .deleteOffice(office!) }, .user(owner)))

        for (name, command, principal) in commands {
            let seq = world.state.nextSeq
            let now = world.now
            let events = try world.run(command(), as: principal)
            #expect(!events.isEmpty, "\(name) produces at least one event")
            #expect(events.map(\.seq) == Array(seq..<(seq + UInt64(events.count))), "\(name)")
            #expect(events.allSatisfy { $0.time == now && $0.actor == principal }, "\(name)")
            for event in events {
                switch event.change {
                case .productCreated(let p): product = p.id
                case .projectCreated(let p): project = p.id
                case .roleCreated(let r): role = r.id
                case .officeCreated(let o): office = o.id
                case .userAdded(let u): user = u.id
                case .accessShared(let s): share = s.id
                default: break
                }
            }
        }
        #expect(world.history.map(\.seq) == Array(1...UInt64(world.history.count)))
        #expect(try world.replayed() == world.state)
    }

    @Test func R20_idsCarryTheSequenceNumberOfTheEventThatMadeThem() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let events = try world.run(.createOffice(account: acme, name: "HQ"), as: .user(owner))
        let seq = try #require(events.first?.seq)
        guard case .officeCreated(let office) = events.first?.change else {
            Issue.record("expected officeCreated")
            return
        }
        #expect(office.id.rawValue == "off_" + String(seq, radix: 36))
        #expect(acme.rawValue == "acc_1")
    }

    @Test func R20_readersFetchEventsAfterANumberAndFollowNewOnes() throws {
        var world = World()
        var history = EventHistory()
        let (acme, owner) = try world.createAccount()
        history.append(world.history)
        let seen = history.lastSeq
        #expect(try history.events(after: 0) == world.history)
        #expect(try history.events(after: seen).isEmpty, "nothing new yet")

        let new = try world.run(.createOffice(account: acme, name: "HQ"), as: .user(owner))
        history.append(new)
        #expect(try history.events(after: seen) == new, "a follower gets exactly the new events")
        #expect(try history.events(after: 2) == Array(world.history.dropFirst(2)))
    }

    // MARK: - Outbox

    @Test func R20_addingAUserQueuesAnActivationEmail() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        #expect(try world.state.outboxMessages(as: .administrator).isEmpty, "the first owner is ACTIVE at once")
        let ada = try world.addUser(to: acme, email: " Ada@Example.com ", as: owner)
        let messages = try world.state.outboxMessages(as: .administrator)
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.kind == .activationEmail)
        #expect(message.kind.rawValue == "activation_email")
        #expect(message.to == "Ada@Example.com")
        #expect(message.user == ada)
        #expect(message.token.count >= 32, "at least 128 bits")
        #expect(message.expiresAt == message.queuedAt.adding(milliseconds: world.policy.activationLifetimeMilliseconds))
        // The token in the message is the one that activates the user.
        try world.run(.activateUser(token: message.token), as: .anonymous)
        #expect(world.state.users[ada]?.status == .active)
    }

    @Test func R20_resendQueuesAnotherMessageAndKeepsTheUnacknowledgedOne() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        let ada = try world.addUser(to: acme, email: "ada@example.com", as: owner)
        let first = try #require(try world.state.outboxMessages(as: .administrator).first)
        let events = try world.run(.resendActivation(ada), as: .user(owner))
        #expect(events.map(\.change.kind) == ["activationIssued", "outboxMessageQueued"])
        let messages = try world.state.outboxMessages(as: .administrator)
        #expect(messages.count == 2)
        #expect(messages.first == first, "oldest first; the unacknowledged one is delivered again")
        #expect(messages.last?.token != first.token)
        #expect(messages.last?.user == ada)
    }

    @Test func R20_acknowledgedMessagesLeaveAndTheRestStay() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        for name in ["ada", "bob", "carl"] {
            try world.addUser(to: acme, email: "\(name)@example.com", as: owner)
        }
        let messages = try world.state.outboxMessages(as: .administrator)
        #expect(messages.map(\.to) == ["ada@example.com", "bob@example.com", "carl@example.com"])

        let events = try world.run(.acknowledgeOutbox([messages[0].id, messages[2].id, messages[0].id]), as: .administrator)
        #expect(events.map(\.change) == [.outboxAcknowledged([messages[0].id, messages[2].id])])
        let left = try world.state.outboxMessages(as: .administrator)
        #expect(left == [messages[1]], "what is not acknowledged is read again")
        #expect(try world.state.outboxMessages(as: .administrator) == left)
        #expect(try world.replayed() == world.state)

        // Acknowledging again, or an unknown message, changes nothing.
        world.reject(.acknowledgeOutbox([messages[0].id]), as: .administrator, .notFound, rule: .r20)
        world.reject(.acknowledgeOutbox([messages[1].id, messages[2].id]), as: .administrator, .notFound, rule: .r20)
        #expect(try world.state.outboxMessages(as: .administrator) == [messages[1]])
        world.reject(.acknowledgeOutbox([]), as: .administrator, .invalidArgument, rule: .r20)
    }

    @Test func R20_onlyAnAdministratorReadsAndAcknowledgesTheOutbox() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        try world.addUser(to: acme, email: "ada@example.com", as: owner)
        let message = try #require(try world.state.outboxMessages(as: .administrator).first)
        world.reject(.acknowledgeOutbox([message.id]), as: .user(owner), .permissionDenied, rule: .r20)
        world.reject(.acknowledgeOutbox([message.id]), as: .anonymous, .permissionDenied, rule: .r20)
        expectReadError(.permissionDenied, rule: .r20) { try world.state.outboxMessages(as: .user(owner)) }
        expectReadError(.permissionDenied, rule: .r20) { try world.state.outboxMessages(as: .anonymous) }
        #expect(world.state.outbox.count == 1)
    }

    @Test func R20_theMailerReadsInOrderAfterACursorWithALimit() throws {
        var world = World()
        let (acme, owner) = try world.createAccount()
        for i in 0..<5 { try world.addUser(to: acme, email: "user\(i)@example.com", role: world.role(.viewer, of: acme), as: owner) }
        let all = try world.state.outboxMessages(as: .administrator)
        #expect(all.count == 5)
        #expect(all.map(\.id) == all.map(\.id).sorted())
        let firstTwo = try world.state.outboxMessages(limit: 2, as: .administrator)
        #expect(firstTwo == Array(all.prefix(2)))
        let next = try world.state.outboxMessages(after: firstTwo.last?.id, limit: 2, as: .administrator)
        #expect(next == Array(all[2..<4]))
        expectReadError(.invalidArgument, rule: nil) { try world.state.outboxMessages(limit: 0, as: .administrator) }
    }
}
