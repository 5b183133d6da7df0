import AccessMapping
import AccessCore
import AccessServer
import AccessWire
import Foundation
import SwiftProtobuf

/// Runs the method table as the daemon does, without a socket (as
/// AccessServerTests' `TableHarness`): a read gets a `ReadContext`; a write
/// decodes its command against the state and runs `execute` (decide, then
/// apply) with a seeded generator and a clock that moves a second per write.
struct MethodDriver {
    var state = AccessState()
    var history = EventHistory()
    var rng = SplitMix(seed: 0xF022_ACCE55)
    var now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)
    /// The events of every write applied, one list per write (a journal record each).
    var writes: [[Event]] = []

    mutating func call(path: String, _ payload: Data, as principal: Principal) throws(AccessError) -> Data {
        guard let handler = MethodTable.handlers[path] else { throw AccessError(.unimplemented, "no handler for \(path)") }
        switch handler {
        case .read(let read, _):
            return try read(payload, ReadContext(state: state, history: history, principal: principal))
        case .write(let command, let reply):
            let decided = try command(payload, state)
            let events = try state.execute(decided, context: CommandContext(principal: principal, now: now), using: &rng)
            history.append(events)
            writes.append(events)
            now = now.adding(milliseconds: 1000)
            return reply(events, state)
        case .daemon:
            throw AccessError(.unimplemented, "\(path) is served by the daemon")
        }
    }
}

/// The state every `methods` input starts from, built through the method
/// table: three accounts (Acme, Beta, the agency Agency) with an office, a
/// custom role, users in every status, a private project, a product, a share
/// and an approved client link. Its writes are also the journal seeds.
struct Fixture: Sendable {
    /// Someone a call can act for.
    struct Actor: Sendable {
        var email: String
        var id: String
    }

    var state: AccessState
    var history: EventHistory
    var now: Timestamp
    /// ann (Acme's owner), carl (Member, active), dora (Auditor, pending),
    /// erin (Viewer, deactivated), bob (Beta's owner), gary (Agency's owner).
    var actors: [Actor]
    /// Calls made on the way, as (path, payload, actor email or "" for the administrator).
    var calls: [(path: String, payload: [UInt8], actor: String)]
    /// The events of each write, in order.
    var writes: [[Event]]
    /// Ids by name ("acme", "berlin", "auditor", "carl", ...), for the seeds.
    var ids: [String: String]
    /// Activation tokens still pending, for the seeds (dora's).
    var tokens: [String]

    static let shared: Fixture = {
        do {
            return try build()
        } catch {
            preconditionFailure("the fuzz fixture does not build: \(error)")
        }
    }()

    private static func build() throws -> Fixture {
        var driver = MethodDriver()
        var calls: [(path: String, payload: [UInt8], actor: String)] = []
        var ids: [String: String] = [:]
        func call<Request, Response>(_ method: Method<Request, Response>, _ request: Request, as actor: String = "") throws
            -> Response
        {
            let path = method.path
            let payload: [UInt8] = try request.serializedBytes()
            let principal: Principal = actor.isEmpty ? .administrator : try driver.state.principal(forActor: actor)
            let data = try driver.call(path: path, Data(payload), as: principal)
            calls.append((path, payload, actor))
            return try Response(serializedBytes: data)
        }
        func account(_ name: String, kind: Accessd_V1_AccountKind, owner: String, first: String) throws
            -> Accessd_V1_CreateAccountResponse
        {
            var request = Accessd_V1_CreateAccountRequest()
            request.name = name
            request.kind = kind
            request.fullAccessLicenses = 4
            request.billing.companyName = name + " GmbH"
            request.ownerEmail = owner
            request.ownerFirstName = first
            request.ownerLastName = "Owner"
            return try call(Methods.createAccount, request)
        }
        let (ann, bob, gary) = ("ann@acme.example", "bob@beta.example", "gary@agency.example")
        let acme = try account("Acme", kind: .standard, owner: ann, first: "Ann")
        let beta = try account("Beta", kind: .standard, owner: bob, first: "Bob")
        let agency = try account("Agency", kind: .agency, owner: gary, first: "Gary")
        ids["acme"] = acme.account.id
        ids["beta"] = beta.account.id
        ids["agency"] = agency.account.id

        var office = Accessd_V1_CreateOfficeRequest()
        office.accountID = acme.account.id
        office.name = "Berlin"
        let berlin: Accessd_V1_OfficeResponse = try call(Methods.createOffice, office, as: ann)
        ids["berlin"] = berlin.office.id

        var role = Accessd_V1_CreateRoleRequest()
        role.accountID = acme.account.id
        role.name = "Auditor"
        role.access = .viewer
        role.permissions = [.viewProjects, .viewBilling]
        let auditor: Accessd_V1_RoleResponse = try call(Methods.createRole, role, as: ann)
        ids["auditor"] = auditor.role.id

        func addUser(_ email: String, _ first: String, role: String, offices: [String] = []) throws -> Accessd_V1_User {
            var request = Accessd_V1_AddUserRequest()
            request.accountID = acme.account.id
            request.email = email
            request.firstName = first
            request.lastName = "Tester"
            request.role = role
            request.officeIds = offices
            let reply: Accessd_V1_UserResponse = try call(Methods.addUser, request, as: ann)
            return reply.user
        }
        let carl = try addUser("carl@acme.example", "Carl", role: "Member", offices: [berlin.office.id])
        var outbox: Accessd_V1_ListOutboxResponse = try call(Methods.listOutbox, Accessd_V1_ListOutboxRequest())
        var activate = Accessd_V1_ActivateUserRequest()
        activate.token = outbox.messages.last?.token ?? ""
        let _: Accessd_V1_UserResponse = try call(Methods.activateUser, activate)
        let dora = try addUser("dora@acme.example", "Dora", role: "auditor")
        let erin = try addUser("erin@acme.example", "Erin", role: "Viewer")
        var deactivate = Accessd_V1_UserRequest()
        deactivate.userID = erin.id
        let _: Accessd_V1_UserResponse = try call(Methods.deactivateUser, deactivate, as: ann)
        ids["carl"] = carl.id
        ids["dora"] = dora.id
        ids["erin"] = erin.id
        ids["ann"] = acme.owner.id
        ids["bob"] = beta.owner.id
        ids["gary"] = agency.owner.id
        ids["member"] = carl.roleID

        var project = Accessd_V1_CreateProjectRequest()
        project.accountID = acme.account.id
        project.name = "Apollo"
        project.visibility = .private
        project.officeIds = [berlin.office.id]
        let apollo: Accessd_V1_ProjectResponse = try call(Methods.createProject, project, as: "carl@acme.example")
        ids["apollo"] = apollo.project.id

        var product = Accessd_V1_CreateProductRequest()
        product.accountID = acme.account.id
        product.kind = .container
        product.name = "Web"
        let web: Accessd_V1_ProductResponse = try call(Methods.createProduct, product, as: ann)
        ids["web"] = web.product.id

        var share = Accessd_V1_ShareAccessRequest()
        share.ownerAccountID = acme.account.id
        share.granteeEmail = bob
        share.scope.products.productIds = [web.product.id]
        let shared: Accessd_V1_ShareResponse = try call(Methods.shareAccess, share, as: ann)
        ids["share"] = shared.share.id

        var link = Accessd_V1_ClientLinkRequest()
        link.agencyAccountID = agency.account.id
        link.clientAccountID = acme.account.id
        let _: Accessd_V1_ClientLinkResponse = try call(Methods.addClient, link, as: gary)
        let _: Accessd_V1_ClientLinkResponse = try call(Methods.requestAccess, link, as: gary)
        var approve = Accessd_V1_ApproveAccessRequest()
        approve.agencyAccountID = agency.account.id
        approve.clientAccountID = acme.account.id
        approve.role = "AUDITOR"
        let _: Accessd_V1_ClientLinkResponse = try call(Methods.approveAccess, approve, as: ann)

        outbox = try call(Methods.listOutbox, Accessd_V1_ListOutboxRequest())
        let tokens = outbox.messages.filter { $0.to == "dora@acme.example" }.map(\.token)
        let actors = [
            Actor(email: ann, id: acme.owner.id), Actor(email: "carl@acme.example", id: carl.id),
            Actor(email: "dora@acme.example", id: dora.id), Actor(email: "erin@acme.example", id: erin.id),
            Actor(email: bob, id: beta.owner.id), Actor(email: gary, id: agency.owner.id),
        ]
        return Fixture(
            state: driver.state, history: driver.history, now: driver.now, actors: actors, calls: calls,
            writes: driver.writes, ids: ids, tokens: tokens)
    }
}
