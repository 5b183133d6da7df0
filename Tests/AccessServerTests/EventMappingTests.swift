import AccessMapping
import AccessCore
import AccessWire
import Foundation
import Testing

@testable import AccessServer

@Suite("Event mapping: domain events to protobuf and back, losslessly but for activation tokens")
struct EventMappingTests {
    @Test("the rich history holds every kind of change")
    func historyCoversEveryKind() throws {
        let history = try RichHistory.build()
        let kinds = Set(history.events.map(\.change.kind))
        #expect(kinds == RichHistory.allKinds, "missing: \(RichHistory.allKinds.subtracting(kinds).sorted())")
        #expect(history.events.map(\.seq) == Array(1...UInt64(history.events.count)))
    }

    @Test("every event maps to proto, serializes, parses and maps back to itself, without its secret")
    func roundTrip() throws {
        let history = try RichHistory.build()
        for event in history.events {
            let data: Data = try Accessd_V1_Event(event).serializedBytes()
            let parsed = try Accessd_V1_Event(serializedBytes: data)
            let back = try Event(wire: parsed)
            #expect(back == event.withoutSecrets, "event \(event.seq) (\(event.change.kind)) does not survive the round trip")
            // And the proto side is stable: mapping back again gives the same bytes.
            let again: Data = try Accessd_V1_Event(back).serializedBytes()
            #expect(again == data, "event \(event.seq) encodes differently the second time")
        }
    }

    @Test("replaying the decoded events, with the tokens kept beside them, on an empty state gives the live state")
    func replay() throws {
        let history = try RichHistory.build()
        var decoded: [Event] = []
        for event in history.events {
            let data: Data = try Accessd_V1_Event(event).serializedBytes()
            let back = try Event(wire: try Accessd_V1_Event(serializedBytes: data))
            // The journal keeps an outbox message's token beside its event (JournalRecord.outbox_tokens).
            decoded.append(event.outboxToken.map { back.withToken($0.token) } ?? back)
        }
        var replayed = AccessState()
        try replayed.apply(decoded)
        #expect(replayed == history.state)
        #expect(replayed.revision == UInt64(history.events.count))
    }

    @Test("spec: an activation token never leaves in an event; ListOutbox's message carries it")
    func tokensStayOutOfEvents() throws {
        let history = try RichHistory.build()
        let queued = history.events.filter { $0.outboxToken != nil }
        #expect(!queued.isEmpty)
        for event in queued {
            let wire = Accessd_V1_Event(event)
            guard case .outboxMessageQueued(let message) = wire.change else {
                Issue.record("event \(event.seq) lost its kind")
                continue
            }
            #expect(message.token.isEmpty)
            let bytes: [UInt8] = try wire.serializedBytes()
            #expect(!String(decoding: bytes, as: UTF8.self).contains(event.outboxToken!.token))
            #expect(event.withoutSecrets.outboxToken == nil)
        }
        let outbox = try #require(history.state.outbox.values.first)
        #expect(Accessd_V1_OutboxMessage(outbox).token == outbox.token && !outbox.token.isEmpty)
    }

    @Test("the caller (uid and pid) survives the round trip; events without one stay without")
    func callerRoundTrip() throws {
        let history = try RichHistory.build()
        var event = history.events[0]
        event.caller = Caller(uid: 0, pid: 42)
        let bytes: [UInt8] = try Accessd_V1_Event(event).serializedBytes()
        let back = try Event(wire: try Accessd_V1_Event(serializedBytes: bytes))
        #expect(back.caller == Caller(uid: 0, pid: 42))
        event.caller = nil
        #expect(try Event(wire: Accessd_V1_Event(event)).caller == nil)
    }

    @Test("the actor is \"administrator\", \"anonymous\" or the user id")
    func actors() throws {
        let history = try RichHistory.build()
        let actors = Set(history.events.map { Accessd_V1_Event($0).actor })
        #expect(actors.contains("administrator"))
        #expect(actors.contains("anonymous"))
        #expect(actors.contains { $0.hasPrefix("usr_") })
        for event in history.events { #expect(Accessd_V1_Event(event).actor == event.actor.description) }
    }

    @Test("account events carry licenses_in_use 0, and a value there is ignored on the way back")
    func derivedFieldsIgnored() throws {
        let history = try RichHistory.build()
        let event = try #require(history.events.first { $0.change.kind == "accountCreated" })
        var wire = Accessd_V1_Event(event)
        #expect(wire.accountCreated.licensesInUse == 0)
        wire.accountCreated.licensesInUse = 7
        #expect(try Event(wire: wire) == event)
    }

    @Test("times are milliseconds; an unset optional time is 0")
    func times() throws {
        let history = try RichHistory.build()
        let added = try #require(
            history.events.lazy.compactMap { event -> (Event, User)? in
                if case .userAdded(let user) = event.change, user.status == .pending { (event, user) } else { nil }
            }.first)
        let wire = Accessd_V1_Event(added.0)
        #expect(wire.timeMs == added.0.time.millisecondsSinceEpoch)
        #expect(wire.userAdded.createdAtMs == added.1.createdAt.millisecondsSinceEpoch)
        #expect(wire.userAdded.activatedAtMs == 0)
        #expect(wire.userAdded.deactivatedAtMs == 0)
    }

    @Test("an event that does not map is DATA_LOSS naming the event and the field")
    func badEvents() throws {
        let history = try RichHistory.build()
        let userAdded = try #require(history.events.first { $0.change.kind == "userAdded" })
        let good = Accessd_V1_Event(userAdded)

        var empty = good
        empty.change = nil
        expectDataLoss(empty, mentioning: "no change")

        var actor = good
        actor.actor = "root"
        expectDataLoss(actor, mentioning: "actor 'root'")

        var role = good
        role.userAdded.roleID = "off_1"
        expectDataLoss(role, mentioning: "user_added.role_id 'off_1' is not a role id (rol_...)")

        var status = good
        status.userAdded.status = .UNRECOGNIZED(42)
        expectDataLoss(status, mentioning: "user_added.status is 42")

        var permission = good
        permission.userAdded.extraPermissions = [.viewProjects, .unspecified]
        expectDataLoss(permission, mentioning: "user_added.extra_permissions[1]")

        var scope = Accessd_V1_Event()
        scope.seq = 9
        scope.actor = "administrator"
        scope.accessShared = Accessd_V1_Share()
        expectDataLoss(scope, mentioning: "event 9")

        var kind = Accessd_V1_Event()
        kind.actor = "anonymous"
        var message = Accessd_V1_OutboxMessage()
        message.kind = "postcard"
        kind.outboxMessageQueued = message
        expectDataLoss(kind, mentioning: "'postcard' is not an outbox message kind")
    }

    private func expectDataLoss(_ wire: Accessd_V1_Event, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let event = try Event(wire: wire)
            Issue.record("expected DATA_LOSS, got \(event)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == .dataLoss, sourceLocation: sourceLocation)
            #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
        }
    }
}

@Suite("Record and enum mapping")
struct RecordMappingTests {
    @Test("every domain enum value maps to its proto value and back")
    func enums() throws {
        func roundTrip<E: WireMappedEnum>(_: E.Type) {
            for value in E.allCases { #expect(E.from(wire: value.wire) == value) }
            #expect(Set(E.allCases.map(\.wire)).count == E.allCases.count)
        }
        roundTrip(AccountKind.self)
        roundTrip(Region.self)
        roundTrip(Permission.self)
        roundTrip(UserStatus.self)
        roundTrip(RoleAccess.self)
        roundTrip(ProjectVisibility.self)
        roundTrip(ProductKind.self)
        roundTrip(AccessRequestStatus.self)
        roundTrip(UserSortField.self)
        #expect(Permission.viewAllProjects.wireName == "PERMISSION_VIEW_ALL_PROJECTS")
        #expect(UserSortField.offices.wireName == "USER_SORT_FIELD_OFFICES")
        #expect(Accessd_V1_Permission(Permission.manageClients).rawValue == 9)
        for builtIn in [nil] + BuiltInRole.allCases.map(Optional.some) {
            #expect(try BuiltInRole.parse(Accessd_V1_BuiltInRole(builtIn), field: "built_in") == builtIn)
        }
    }

    @Test("an UNSPECIFIED or unknown enum value is INVALID_ARGUMENT listing the choices")
    func enumErrors() throws {
        #expect(throws: AccessError(
            .invalidArgument,
            "kind is not set (PRODUCT_KIND_UNSPECIFIED); set it to one of PRODUCT_KIND_CONTAINER, PRODUCT_KIND_GATEWAY")
        ) { try ProductKind.parse(.unspecified, field: "kind") }
        #expect(throws: AccessError(
            .invalidArgument,
            "region is 7, which is not a value of accessd.v1.Region this daemon knows; use one of REGION_GLOBAL, REGION_EU")
        ) { try Region.parse(.UNRECOGNIZED(7), field: "region") }
        #expect(throws: AccessError.self) { try Permissions.parse([.viewBilling, .UNRECOGNIZED(12)], field: "permissions") }
        #expect(try Permissions.parse([.viewBilling, .viewBilling, .shareAccess], field: "p") == Permissions([.viewBilling, .shareAccess]))
    }

    @Test("ids: required, well-formed and of their kind, with messages a person can act on")
    func ids() throws {
        #expect(throws: AccessError(.invalidArgument, "account_id is required")) {
            try WireInput.id("", field: "account_id", as: AccountID.self)
        }
        #expect(throws: AccessError(.invalidArgument, "account_id 'x' is not an account id (acc_...)")) {
            try WireInput.id("x", field: "account_id", as: AccountID.self)
        }
        #expect(throws: AccessError(.invalidArgument, "user_id 'acc_1' is not a user id (usr_...)")) {
            try WireInput.id("acc_1", field: "user_id", as: UserID.self)
        }
        #expect(throws: AccessError(.invalidArgument, "ids[1] 'nope' is not an outbox message id (msg_...)")) {
            try WireInput.idList(["msg_1", "nope"], field: "ids", as: OutboxMessageID.self)
        }
        #expect(try WireInput.id("off_2s", field: "office_id", as: OfficeID.self).rawValue == "off_2s")
        #expect(try WireInput.optionalID("", field: "after_id", as: OutboxMessageID.self) == nil)
        let long = String(repeating: "z", count: 500)
        do {
            _ = try WireInput.id(long, field: "role_id", as: RoleID.self)
            Issue.record("a 500-character id parsed")
        } catch {
            #expect(error.message.count < 150, "caller input is quoted short: \(error.message)")
        }
        #expect(throws: AccessError(.invalidArgument, "role_id 'a\\u{0}b' is not a role id (rol_...)")) {
            try WireInput.id("a\u{0}b", field: "role_id", as: RoleID.self)
        }
    }

    @Test("a share's scope: all current and new, or a list (possibly empty)")
    func shareScope() throws {
        for scope in [ShareScope.allCurrentAndNew, .products([]), .products([ProductID("prd_1")!, ProductID("prd_a")!])] {
            #expect(try ShareScope(wire: Accessd_V1_ShareScope(scope), field: "scope") == scope)
        }
        #expect(throws: AccessError.self) { try ShareScope(wire: Accessd_V1_ShareScope(), field: "scope") }
        var none = Accessd_V1_ShareScope()
        none.allCurrentAndNew = false
        #expect(throws: AccessError.self) { try ShareScope(wire: none, field: "scope") }
    }

    @Test("billing: empty fields are absent ones")
    func billing() {
        let billing = Billing(billingEmail: "b@x.example", companyName: nil, address: "Street 1")
        #expect(Billing(wire: Accessd_V1_Billing(billing)) == billing)
        #expect(Billing(wire: Accessd_V1_Billing()) == Billing())
    }

    @Test("the record factories reproduce every record of a rich state")
    func factories() throws {
        let history = try RichHistory.build()
        let state = history.state
        for account in state.accounts.values { #expect(try Account(wire: Accessd_V1_Account(account)) == account) }
        for user in state.users.values { #expect(try User(wire: Accessd_V1_User(user)) == user) }
        for role in state.roles.values { #expect(try Role(wire: Accessd_V1_Role(role)) == role) }
        for office in state.offices.values { #expect(try Office(wire: Accessd_V1_Office(office)) == office) }
        for project in state.projects.values { #expect(try Project(wire: Accessd_V1_Project(project)) == project) }
        for product in state.products.values { #expect(try Product(wire: Accessd_V1_Product(product)) == product) }
        for share in state.shares.values { #expect(try Share(wire: Accessd_V1_Share(share)) == share) }
        for link in state.clientLinks.values { #expect(try ClientLink(wire: Accessd_V1_ClientLink(link)) == link) }
        for activation in state.activations.values {
            #expect(try PendingActivation(wire: Accessd_V1_PendingActivation(activation)) == activation)
        }
        for message in state.outbox.values { #expect(try OutboxMessage(wire: Accessd_V1_OutboxMessage(message)) == message) }
        let paths: [AccessPath] = [
            .homeRole(RoleID("rol_2")!), .share(ShareID("shr_9")!), .clientLink(agency: AccountID("acc_b")!, role: RoleID("rol_c")!),
        ]
        for path in paths { #expect(try AccessPath(wire: Accessd_V1_AccessPath(path)) == path) }
    }
}
