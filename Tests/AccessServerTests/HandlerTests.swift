import AccessMapping
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import Testing

@testable import AccessServer

/// Scenarios driven through the method table only: requests are encoded,
/// replies decoded, as a client of the daemon would see them.
@Suite("Handlers: scenarios through the method table")
struct HandlerTests {
    /// An account "Acme" (3 licenses) created by an administrator, owner ann@acme.example.
    static func acme(_ h: inout TableHarness) throws -> Accessd_V1_CreateAccountResponse {
        try h.call(
            Methods.createAccount,
            make(Accessd_V1_CreateAccountRequest.self) {
                $0.name = "Acme"
                $0.fullAccessLicenses = 3
                $0.billing.companyName = "Acme GmbH"
                $0.ownerEmail = "ann@acme.example"
                $0.ownerFirstName = "Ann"
                $0.ownerLastName = "Admin"
            })
    }

    static func addUser(
        _ h: inout TableHarness, account: String, email: String, first: String, role: String, as actor: String,
        extra: [Accessd_V1_Permission] = [], offices: [String] = []
    ) throws -> Accessd_V1_UserResponse {
        try h.call(
            Methods.addUser,
            make(Accessd_V1_AddUserRequest.self) {
                $0.accountID = account
                $0.email = email
                $0.firstName = first
                $0.lastName = "Tester"
                $0.role = role
                $0.extraPermissions = extra
                $0.officeIds = offices
            }, as: actor)
    }

    @Test("create an account, add users by role name, list them, share, check; and the errors")
    func scenario() throws {
        var h = TableHarness()

        // CreateAccount as administrator: kind and region UNSPECIFIED are STANDARD and GLOBAL.
        let created = try Self.acme(&h)
        let acme = created.account.id
        #expect(acme.hasPrefix("acc_"))
        #expect(created.account.name == "Acme")
        #expect(created.account.kind == .standard)
        #expect(created.account.region == .global)
        #expect(created.account.fullAccessLicenses == 3)
        #expect(created.account.licensesInUse == 1)
        #expect(created.account.billing.companyName == "Acme GmbH")
        #expect(created.owner.email == "ann@acme.example")
        #expect(created.owner.status == .active)
        #expect(created.owner.accountID == acme)
        #expect(created.events.count == 5)
        #expect(created.events.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(created.events.allSatisfy { $0.actor == "administrator" })

        let roles: Accessd_V1_ListRolesResponse = try h.call(
            Methods.listRoles, make(Accessd_V1_ListRolesRequest.self) { $0.accountID = acme }, as: "ann@acme.example")
        #expect(roles.roles.map(\.name) == ["Account Owner", "Member", "Viewer"])
        #expect(roles.roles.map(\.builtIn) == [.accountOwner, .member, .viewer])
        let memberRole = roles.roles[1].id
        let viewerRole = roles.roles[2].id

        // AddUser by role name, case-insensitively.
        let carl = try Self.addUser(&h, account: acme, email: "carl@acme.example", first: "Carl", role: "member", as: "ann@acme.example")
        #expect(carl.user.roleID == memberRole)
        #expect(carl.user.status == .pending)
        #expect(carl.events.map(\.change).count == 3)
        let dora = try Self.addUser(&h, account: acme, email: "dora@acme.example", first: "Dora", role: " Viewer ", as: "ann@acme.example")
        #expect(dora.user.roleID == viewerRole)

        // ListUsers: rows, licenses in use of bought, totals.
        let listed: Accessd_V1_ListUsersResponse = try h.call(
            Methods.listUsers, make(Accessd_V1_ListUsersRequest.self) { $0.accountID = acme }, as: "ann@acme.example")
        #expect(listed.users.map(\.firstName) == ["Ann", "Carl", "Dora"])
        #expect(listed.users.map(\.roleName) == ["Account Owner", "Member", "Viewer"])
        #expect(listed.users[2].permissions == [.viewProjects])
        #expect(listed.licensesInUse == 2)
        #expect(listed.licenseCount == 3)
        #expect(listed.totalUsers == 3)
        #expect(listed.totalMatching == 3)
        #expect(listed.nextPageToken.isEmpty)

        // R2: the third FULL user takes the last license; a fourth is RESOURCE_EXHAUSTED; VIEWER is unlimited.
        _ = try Self.addUser(&h, account: acme, email: "erin@acme.example", first: "Erin", role: memberRole, as: "ann@acme.example")
        let exhausted = h.failure(
            Methods.addUser,
            make(Accessd_V1_AddUserRequest.self) {
                $0.accountID = acme
                $0.email = "fay@acme.example"
                $0.firstName = "Fay"
                $0.lastName = "Full"
                $0.role = "Member"
            }, as: "ann@acme.example")
        #expect(exhausted?.code == .resourceExhausted)
        #expect(exhausted?.message.contains("3 of 3") == true, "\(exhausted?.message ?? "")")
        _ = try Self.addUser(&h, account: acme, email: "fay@acme.example", first: "Fay", role: "viewer", as: "ann@acme.example")

        // The mailer reads the outbox; Carl activates with his token (no actor); the mailer acknowledges.
        let outbox: Accessd_V1_ListOutboxResponse = try h.call(Methods.listOutbox, Accessd_V1_ListOutboxRequest())
        #expect(outbox.messages.map(\.to) == ["carl@acme.example", "dora@acme.example", "erin@acme.example", "fay@acme.example"])
        #expect(outbox.messages.allSatisfy { $0.kind == "activation_email" && $0.token.count == 64 })
        let activated: Accessd_V1_UserResponse = try h.call(
            Methods.activateUser,
            make(Accessd_V1_ActivateUserRequest.self) { $0.token = outbox.messages[0].token }, as: "")
        #expect(activated.user.id == carl.user.id)
        #expect(activated.user.status == .active)
        #expect(activated.user.activatedAtMs > 0)
        let acknowledged: Accessd_V1_WriteResponse = try h.call(
            Methods.acknowledgeOutbox, make(Accessd_V1_AcknowledgeOutboxRequest.self) { $0.ids = [outbox.messages[0].id] })
        #expect(acknowledged.events.count == 1)
        #expect(acknowledged.events[0].outboxAcknowledged.ids == [outbox.messages[0].id])

        // A second account; Acme shares its products and billing with Beta's owner.
        let beta: Accessd_V1_CreateAccountResponse = try h.call(
            Methods.createAccount,
            make(Accessd_V1_CreateAccountRequest.self) {
                $0.name = "Beta"
                $0.fullAccessLicenses = 2
                $0.ownerEmail = "bob@beta.example"
                $0.ownerFirstName = "Bob"
                $0.ownerLastName = "Boss"
            })
        let web: Accessd_V1_ProductResponse = try h.call(
            Methods.createProduct,
            make(Accessd_V1_CreateProductRequest.self) {
                $0.accountID = acme
                $0.kind = .container
                $0.name = "Web"
            }, as: "ann@acme.example")
        #expect(web.product.kind == .container)
        #expect(web.product.createdBy == created.owner.id)
        let shared: Accessd_V1_ShareResponse = try h.call(
            Methods.shareAccess,
            make(Accessd_V1_ShareAccessRequest.self) {
                $0.ownerAccountID = acme
                $0.granteeEmail = "bob@beta.example"
                $0.scope.allCurrentAndNew = true
                $0.billing = true
            }, as: "ann@acme.example")
        #expect(shared.share.granteeUserID == beta.owner.id)
        #expect(shared.share.scope.scope == .allCurrentAndNew(true))
        #expect(shared.events.count == 1)
        let sharedWith: Accessd_V1_ListSharedWithResponse = try h.call(
            Methods.listSharedWith, make(Accessd_V1_ListSharedWithRequest.self) { $0.ownerAccountID = acme },
            as: "ann@acme.example")
        #expect(sharedWith.shares.map(\.granteeEmail) == ["bob@beta.example"])
        #expect(sharedWith.shares.map(\.granteeName) == ["Bob Boss"])

        // Check by email or id (R19); the answer does not depend on the actor.
        func check(_ user: String, _ permission: Accessd_V1_Permission, product: String? = nil) throws -> Accessd_V1_CheckResponse {
            try h.call(
                Methods.check,
                make(Accessd_V1_CheckRequest.self) {
                    $0.user = user
                    $0.accountID = acme
                    $0.permission = permission
                    if let product { $0.productID = product }
                }, as: "carl@acme.example")
        }
        let products = try check("bob@beta.example", .manageProducts, product: web.product.id)
        #expect(products.allowed)
        #expect(products.path.shareID == shared.share.id)
        #expect(products.deniedBy.isEmpty)
        let settings = try check("BOB@beta.example", .editAccountSettings)
        #expect(!settings.allowed)
        #expect(settings.deniedBy == "R16")
        #expect(!settings.reason.isEmpty)
        let home = try check(carl.user.id, .viewProjects)
        #expect(home.allowed)
        #expect(home.path.homeRoleID == memberRole)
        let pending = try check("erin@acme.example", .viewProjects)
        #expect(!pending.allowed)
        #expect(pending.deniedBy == "R7")

        let accessible: Accessd_V1_ListAccessibleAccountsResponse = try h.call(
            Methods.listAccessibleAccounts,
            make(Accessd_V1_ListAccessibleAccountsRequest.self) { $0.user = "bob@beta.example" })
        #expect(accessible.accounts.map(\.name) == ["Beta", "Acme"])
        #expect(accessible.accounts[1].permissions == [.manageProducts, .viewBilling, .editBilling])
        #expect(accessible.accounts[1].path.shareID == shared.share.id)

        // ListEvents reads the history (limit 0 = 1000).
        let all: Accessd_V1_ListEventsResponse = try h.call(Methods.listEvents, Accessd_V1_ListEventsRequest())
        #expect(all.events.map(\.seq) == Array(1...h.history.lastSeq))
        let some: Accessd_V1_ListEventsResponse = try h.call(
            Methods.listEvents,
            make(Accessd_V1_ListEventsRequest.self) {
                $0.afterSeq = 5
                $0.limit = 2
            })
        #expect(some.events.map(\.seq) == [6, 7])
        #expect(try some.events.map { try Event(wire: $0) } == Array(try h.history.events(after: 5, limit: 2)))

        // INVALID_ARGUMENT: a payload that does not decode.
        let undecodable = h.failure(Methods.addUser.path, payload: Data([0xFF]), as: "ann@acme.example")
        #expect(undecodable == AccessError(.invalidArgument, "the payload does not decode as accessd.v1.AddUserRequest"))

        // INVALID_ARGUMENT: a malformed id, an empty one.
        let malformed = h.failure(Methods.getAccount, make(Accessd_V1_GetAccountRequest.self) { $0.accountID = "x" })
        #expect(malformed == AccessError(.invalidArgument, "account_id 'x' is not an account id (acc_...)"))
        let missing = h.failure(Methods.getAccount, Accessd_V1_GetAccountRequest())
        #expect(missing == AccessError(.invalidArgument, "account_id is required"))
        let wrongKind = h.failure(
            Methods.getUser, make(Accessd_V1_GetUserRequest.self) { $0.userID = acme }, as: "ann@acme.example")
        #expect(wrongKind?.code == .invalidArgument)
        #expect(wrongKind?.message == "user_id '\(acme)' is not a user id (usr_...)")

        // INVALID_ARGUMENT: an UNSPECIFIED or unknown enum, an unknown permission.
        let unknownKind = h.failure(
            Methods.createProduct,
            make(Accessd_V1_CreateProductRequest.self) {
                $0.accountID = acme
                $0.kind = .UNRECOGNIZED(42)
                $0.name = "Odd"
            }, as: "ann@acme.example")
        #expect(unknownKind?.code == .invalidArgument)
        #expect(unknownKind?.message.hasPrefix("kind is 42, which is not a value of accessd.v1.ProductKind") == true)
        let unsetAccess = h.failure(
            Methods.createRole,
            make(Accessd_V1_CreateRoleRequest.self) {
                $0.accountID = acme
                $0.name = "Auditor"
            }, as: "ann@acme.example")
        #expect(unsetAccess?.code == .invalidArgument)
        #expect(unsetAccess?.message.contains("ROLE_ACCESS_UNSPECIFIED") == true)
        let unsetPermission = h.failure(
            Methods.check,
            make(Accessd_V1_CheckRequest.self) {
                $0.user = "ann@acme.example"
                $0.accountID = acme
            })
        #expect(unsetPermission?.code == .invalidArgument)
        #expect(unsetPermission?.message.hasPrefix("permission is not set") == true)
        let unknownPermission = h.failure(
            Methods.addUser,
            make(Accessd_V1_AddUserRequest.self) {
                $0.accountID = acme
                $0.email = "gus@acme.example"
                $0.firstName = "Gus"
                $0.lastName = "Guest"
                $0.role = "Viewer"
                $0.extraPermissions = [.viewBilling, .UNRECOGNIZED(99)]
            }, as: "ann@acme.example")
        #expect(unknownPermission?.code == .invalidArgument)
        #expect(unknownPermission?.message.hasPrefix("extra_permissions[1] is 99") == true)

        // PERMISSION_DENIED: a Member adds users (R4); a user creates an account (R1); a user reads events.
        let member = h.failure(
            Methods.addUser,
            make(Accessd_V1_AddUserRequest.self) {
                $0.accountID = acme
                $0.email = "gus@acme.example"
                $0.firstName = "Gus"
                $0.lastName = "Guest"
                $0.role = "Viewer"
            }, as: "carl@acme.example")
        #expect(member?.code == .permissionDenied)
        #expect(member?.rule == .r4)
        let notAdmin = h.failure(
            Methods.createAccount,
            make(Accessd_V1_CreateAccountRequest.self) {
                $0.name = "Mine"
                $0.fullAccessLicenses = 1
                $0.ownerEmail = "me@mine.example"
                $0.ownerFirstName = "Me"
                $0.ownerLastName = "Mine"
            }, as: "ann@acme.example")
        #expect(notAdmin?.code == .permissionDenied)
        #expect(notAdmin?.rule == .r1)
        // Events carry no secrets: any peer may list them (the daemon gates by peer class); the outbox is an administrator's.
        let eventsAsUser = try h.call(
            Methods.listEvents, Accessd_V1_ListEventsRequest(), as: "ann@acme.example")
        #expect(!eventsAsUser.events.isEmpty)
        let outboxAsUser = h.failure(Methods.listOutbox, Accessd_V1_ListOutboxRequest(), as: "ann@acme.example")
        #expect(outboxAsUser?.code == .permissionDenied)

        // NOT_FOUND: an unknown user, an unknown role name, an unknown user to check, an unknown account.
        let noUser = h.failure(Methods.getUser, make(Accessd_V1_GetUserRequest.self) { $0.userID = "usr_zzz" })
        #expect(noUser?.code == .notFound)
        let noRole = h.failure(
            Methods.addUser,
            make(Accessd_V1_AddUserRequest.self) {
                $0.accountID = acme
                $0.email = "gus@acme.example"
                $0.firstName = "Gus"
                $0.lastName = "Guest"
                $0.role = "Admin"
            }, as: "ann@acme.example")
        #expect(noRole?.code == .notFound)
        #expect(noRole?.message.hasPrefix("account \(acme) has no role named 'Admin'; name a role by id (rol_...)") == true)
        let noCheckUser = h.failure(
            Methods.check,
            make(Accessd_V1_CheckRequest.self) {
                $0.user = "nobody@acme.example"
                $0.accountID = acme
                $0.permission = .viewProjects
            })
        #expect(noCheckUser?.code == .notFound)
        let noAccount = h.failure(
            Methods.listAccessibleAccounts, make(Accessd_V1_ListAccessibleAccountsRequest.self) { $0.user = "usr_zz" })
        #expect(noAccount?.code == .notFound)
        let noRoleAccount = h.failure(
            Methods.addUser,
            make(Accessd_V1_AddUserRequest.self) {
                $0.accountID = "acc_zzz"
                $0.email = "gus@acme.example"
                $0.firstName = "Gus"
                $0.lastName = "Guest"
                $0.role = "Member"
            }, as: "ann@acme.example")
        #expect(noRoleAccount?.code == .notFound)

        // A list given without its set_ flag would be ignored: refused instead.
        let unflagged = h.failure(
            Methods.editUser,
            make(Accessd_V1_EditUserRequest.self) {
                $0.userID = carl.user.id
                $0.officeIds = ["off_1"]
            }, as: "ann@acme.example")
        #expect(unflagged?.code == .invalidArgument)
        #expect(unflagged?.message.hasPrefix("office_ids is given but set_offices is false") == true)
    }

    @Test("a role is named by id or by name; an id of the account wins over a name that looks like one")
    func roleNames() throws {
        var h = TableHarness()
        let acme = try Self.acme(&h).account.id
        let custom: Accessd_V1_RoleResponse = try h.call(
            Methods.createRole,
            make(Accessd_V1_CreateRoleRequest.self) {
                $0.accountID = acme
                $0.name = "Ops Team"
                $0.access = .viewer
                $0.permissions = [.viewProjects]
            }, as: "ann@acme.example")
        #expect(custom.role.access == .viewer)
        #expect(custom.role.builtIn == .none)
        let byName = try Self.addUser(&h, account: acme, email: "a@acme.example", first: "A", role: "OPS TEAM", as: "ann@acme.example")
        #expect(byName.user.roleID == custom.role.id)
        let byID = try Self.addUser(&h, account: acme, email: "b@acme.example", first: "B", role: custom.role.id, as: "ann@acme.example")
        #expect(byID.user.roleID == custom.role.id)

        // A name that looks like an id: a role of the account with that id wins; else the name is looked up.
        let roles: Accessd_V1_ListRolesResponse = try h.call(
            Methods.listRoles, make(Accessd_V1_ListRolesRequest.self) { $0.accountID = acme }, as: "ann@acme.example")
        let member = try #require(roles.roles.first { $0.name == "Member" })
        for name in [member.id, "rol_zzz"] {
            let _: Accessd_V1_RoleResponse = try h.call(
                Methods.createRole,
                make(Accessd_V1_CreateRoleRequest.self) {
                    $0.accountID = acme
                    $0.name = name
                    $0.access = .viewer
                }, as: "ann@acme.example")
        }
        let named = try #require(h.state.roles.values.first { $0.name == "rol_zzz" })
        let idWins = try Self.addUser(&h, account: acme, email: "d@acme.example", first: "D", role: member.id, as: "ann@acme.example")
        #expect(idWins.user.roleID == member.id)
        let nameFound = try Self.addUser(&h, account: acme, email: "e@acme.example", first: "E", role: "ROL_ZZZ", as: "ann@acme.example")
        #expect(nameFound.user.roleID == named.id.rawValue)

        // A role of another account, by id, is the core's NOT_FOUND.
        let beta: Accessd_V1_CreateAccountResponse = try h.call(
            Methods.createAccount,
            make(Accessd_V1_CreateAccountRequest.self) {
                $0.name = "Beta"
                $0.fullAccessLicenses = 1
                $0.ownerEmail = "bob@beta.example"
                $0.ownerFirstName = "Bob"
                $0.ownerLastName = "Boss"
            })
        let betaRoles: Accessd_V1_ListRolesResponse = try h.call(
            Methods.listRoles, make(Accessd_V1_ListRolesRequest.self) { $0.accountID = beta.account.id })
        let foreign = h.failure(
            Methods.addUser,
            make(Accessd_V1_AddUserRequest.self) {
                $0.accountID = acme
                $0.email = "c@acme.example"
                $0.firstName = "C"
                $0.lastName = "C"
                $0.role = betaRoles.roles[2].id
            }, as: "ann@acme.example")
        #expect(foreign?.code == .notFound)

        // EditUser takes a role name of the user's account; empty keeps the role.
        let edited: Accessd_V1_UserResponse = try h.call(
            Methods.editUser,
            make(Accessd_V1_EditUserRequest.self) {
                $0.userID = byName.user.id
                $0.role = "viewer"
                $0.firstName = "Alice"
            }, as: "ann@acme.example")
        #expect(edited.user.roleID != custom.role.id)
        #expect(edited.user.firstName == "Alice")
        let kept: Accessd_V1_UserResponse = try h.call(
            Methods.editUser,
            make(Accessd_V1_EditUserRequest.self) {
                $0.userID = byName.user.id
                $0.lastName = "Anders"
            }, as: "ann@acme.example")
        #expect(kept.user.roleID == edited.user.roleID)
        let viewer: Accessd_V1_Role = try h.call(
            Methods.getRole, make(Accessd_V1_GetRoleRequest.self) { $0.roleID = kept.user.roleID }, as: "ann@acme.example")
        #expect(viewer.name == "Viewer")
    }
}
