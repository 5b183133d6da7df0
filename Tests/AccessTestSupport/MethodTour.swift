public import AccessWire
public import SwiftProtobuf
import Testing

/// Runs a method by its path on encoded bytes: the method table in-process,
/// or the real daemon through `AccessClient` or through raw frames.
public protocol MethodCaller {
    /// Runs `path` with `payload` as `actor` ("" is the administrator peer),
    /// returning the reply's payload or throwing its error.
    mutating func callBytes(_ path: String, _ payload: [UInt8], actor: String) async throws -> [UInt8]
}

extension MethodCaller {
    /// Runs a method with a request message and decodes its reply.
    public mutating func call<Request, Response>(
        _ method: Method<Request, Response>, _ request: Request, as actor: String = ""
    ) async throws -> Response {
        let bytes = try await callBytes(method.path, try request.serializedBytes(), actor: actor)
        return try Response(serializedBytes: bytes)
    }
}

/// Builds a request message.
public func make<M: SwiftProtobuf.Message>(_: M.Type = M.self, _ fill: (inout M) -> Void) -> M {
    var message = M()
    fill(&message)
    return message
}

/// One tour of every read and write the method table serves, each checked
/// for what its reply must carry. The same tour runs against the table
/// in-process (AccessServerTests) and against the real `accessd` through
/// `AccessClient` and through raw frames (AccessDaemonTests).
public enum MethodTour {
    /// The paths the tour called and the events the daemon listed at its end.
    public struct Outcome: Sendable {
        public var called: Set<String>
        public var events: [Accessd_V1_Event]
    }

    /// Records the paths called on the way.
    struct Recording<Inner: MethodCaller>: MethodCaller {
        var inner: Inner
        var called: Set<String> = []

        mutating func callBytes(_ path: String, _ payload: [UInt8], actor: String) async throws -> [UInt8] {
            let reply = try await inner.callBytes(path, payload, actor: actor)
            called.insert(path)
            return reply
        }
    }

    static func acme(_ h: inout some MethodCaller) async throws -> Accessd_V1_CreateAccountResponse {
        try await h.call(
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
        _ h: inout some MethodCaller, account: String, email: String, first: String, role: String, as actor: String,
        offices: [String] = []
    ) async throws -> Accessd_V1_UserResponse {
        try await h.call(
            Methods.addUser,
            make(Accessd_V1_AddUserRequest.self) {
                $0.accountID = account
                $0.email = email
                $0.firstName = first
                $0.lastName = "Tester"
                $0.role = role
                $0.officeIds = offices
            }, as: actor)
    }

    /// Runs the tour on a fresh state through `caller`.
    public static func run(_ caller: inout some MethodCaller) async throws -> Outcome {
        var h = Recording(inner: caller)
        defer { caller = h.inner }
        let (ann, bob, gary, carlEmail) = ("ann@acme.example", "bob@beta.example", "gary@agency.example", "carl@acme.example")

        // AdminService.
        let acme = try await acme(&h).account.id
        let beta: Accessd_V1_CreateAccountResponse = try await h.call(
            Methods.createAccount,
            make(Accessd_V1_CreateAccountRequest.self) {
                $0.name = "Beta"
                $0.region = .global
                $0.fullAccessLicenses = 2
                $0.ownerEmail = bob
                $0.ownerFirstName = "Bob"
                $0.ownerLastName = "Boss"
            })
        #expect(beta.account.region == .global)
        #expect(beta.owner.email == bob)
        let agency: Accessd_V1_CreateAccountResponse = try await h.call(
            Methods.createAccount,
            make(Accessd_V1_CreateAccountRequest.self) {
                $0.name = "Agency"
                $0.kind = .agency
                $0.fullAccessLicenses = 2
                $0.ownerEmail = gary
                $0.ownerFirstName = "Gary"
                $0.ownerLastName = "Agent"
            })
        #expect(agency.account.kind == .agency)
        let licenses: Accessd_V1_WriteResponse = try await h.call(
            Methods.setLicenseCount,
            make(Accessd_V1_SetLicenseCountRequest.self) {
                $0.accountID = acme
                $0.count = 6
            })
        #expect(licenses.events.map(\.licenseCountChanged.fullAccessLicenses) == [6])
        let firstTwo: Accessd_V1_ListAccountsResponse = try await h.call(
            Methods.listAccounts, make(Accessd_V1_ListAccountsRequest.self) { $0.pageSize = 2 })
        #expect(firstTwo.accounts.map(\.id) == [acme, beta.account.id])
        #expect(firstTwo.accounts.first?.fullAccessLicenses == 6)
        #expect(firstTwo.accounts.first?.licensesInUse == 1)
        let rest: Accessd_V1_ListAccountsResponse = try await h.call(
            Methods.listAccounts,
            make(Accessd_V1_ListAccountsRequest.self) {
                $0.pageSize = 2
                $0.pageToken = firstTwo.nextPageToken
            })
        #expect(rest.accounts.map(\.id) == [agency.account.id])
        #expect(rest.nextPageToken.isEmpty, "the last page has no next page")

        // AccountService.
        let renamed: Accessd_V1_WriteResponse = try await h.call(
            Methods.renameAccount,
            make(Accessd_V1_RenameAccountRequest.self) {
                $0.accountID = acme
                $0.name = "Acme Inc"
            }, as: ann)
        #expect(renamed.events.first?.accountRenamed.name == "Acme Inc")
        let _: Accessd_V1_WriteResponse = try await h.call(
            Methods.updateBilling,
            make(Accessd_V1_UpdateBillingRequest.self) {
                $0.accountID = acme
                $0.billing.billingEmail = "billing@acme.example"
                $0.billing.address = "1 Main St"
            }, as: ann)
        let billing: Accessd_V1_Billing = try await h.call(
            Methods.getBilling, make(Accessd_V1_GetBillingRequest.self) { $0.accountID = acme }, as: ann)
        #expect(billing.billingEmail == "billing@acme.example")
        #expect(billing.companyName.isEmpty)
        let account: Accessd_V1_Account = try await h.call(
            Methods.getAccount, make(Accessd_V1_GetAccountRequest.self) { $0.accountID = acme }, as: ann)
        #expect(account.name == "Acme Inc")
        #expect(account.fullAccessLicenses == 6)
        #expect(account.licensesInUse == 1)

        // OfficeService.
        let berlin: Accessd_V1_OfficeResponse = try await h.call(
            Methods.createOffice,
            make(Accessd_V1_CreateOfficeRequest.self) {
                $0.accountID = acme
                $0.name = "Berlin"
            }, as: ann)
        let renamedOffice: Accessd_V1_OfficeResponse = try await h.call(
            Methods.renameOffice,
            make(Accessd_V1_RenameOfficeRequest.self) {
                $0.officeID = berlin.office.id
                $0.name = "Berlin Mitte"
            }, as: ann)
        #expect(renamedOffice.office.name == "Berlin Mitte")
        let paris: Accessd_V1_OfficeResponse = try await h.call(
            Methods.createOffice,
            make(Accessd_V1_CreateOfficeRequest.self) {
                $0.accountID = acme
                $0.name = "Paris"
            }, as: ann)
        let deletedOffice: Accessd_V1_WriteResponse = try await h.call(
            Methods.deleteOffice, make(Accessd_V1_DeleteOfficeRequest.self) { $0.officeID = paris.office.id }, as: ann)
        #expect(deletedOffice.events.map(\.officeDeleted) == [paris.office.id])
        let office: Accessd_V1_Office = try await h.call(
            Methods.getOffice, make(Accessd_V1_GetOfficeRequest.self) { $0.officeID = berlin.office.id }, as: ann)
        #expect(office.name == "Berlin Mitte")
        let offices: Accessd_V1_ListOfficesResponse = try await h.call(
            Methods.listOffices, make(Accessd_V1_ListOfficesRequest.self) { $0.accountID = acme }, as: ann)
        #expect(offices.offices.map(\.name) == ["Berlin Mitte"])

        // RoleService.
        let auditor: Accessd_V1_RoleResponse = try await h.call(
            Methods.createRole,
            make(Accessd_V1_CreateRoleRequest.self) {
                $0.accountID = acme
                $0.name = "Auditor"
                $0.access = .viewer
                $0.permissions = [.viewProjects]
            }, as: ann)
        let editedRole: Accessd_V1_RoleResponse = try await h.call(
            Methods.editRole,
            make(Accessd_V1_EditRoleRequest.self) {
                $0.roleID = auditor.role.id
                $0.setPermissions = true
                $0.permissions = [.viewBilling, .viewProjects]
            }, as: ann)
        #expect(editedRole.role.permissions == [.viewProjects, .viewBilling])
        #expect(editedRole.role.access == .viewer)
        #expect(editedRole.role.name == "Auditor")
        let temp: Accessd_V1_RoleResponse = try await h.call(
            Methods.createRole,
            make(Accessd_V1_CreateRoleRequest.self) {
                $0.accountID = acme
                $0.name = "Temp"
                $0.access = .full
            }, as: ann)
        let _: Accessd_V1_WriteResponse = try await h.call(
            Methods.deleteRole, make(Accessd_V1_DeleteRoleRequest.self) { $0.roleID = temp.role.id }, as: ann)
        let role: Accessd_V1_Role = try await h.call(
            Methods.getRole, make(Accessd_V1_GetRoleRequest.self) { $0.roleID = auditor.role.id }, as: ann)
        #expect(role.name == "Auditor")
        let roles: Accessd_V1_ListRolesResponse = try await h.call(
            Methods.listRoles, make(Accessd_V1_ListRolesRequest.self) { $0.accountID = acme }, as: ann)
        #expect(roles.roles.map(\.name) == ["Account Owner", "Member", "Viewer", "Auditor"])

        // UserService.
        let carl = try await addUser(
            &h, account: acme, email: carlEmail, first: "Carl", role: "Member", as: ann, offices: [berlin.office.id])
        #expect(carl.user.officeIds == [berlin.office.id])
        let fetched: Accessd_V1_User = try await h.call(
            Methods.getUser, make(Accessd_V1_GetUserRequest.self) { $0.userID = carl.user.id }, as: ann)
        #expect(fetched == carl.user)
        let searched: Accessd_V1_ListUsersResponse = try await h.call(
            Methods.listUsers,
            make(Accessd_V1_ListUsersRequest.self) {
                $0.accountID = acme
                $0.search = "CARL"
                $0.statuses = [.pending]
                $0.sortBy = .email
                $0.descending = true
                $0.officeIds = [berlin.office.id]
                $0.permissions = [.manageProducts]
                $0.pageSize = 10
            }, as: ann)
        #expect(searched.users.map(\.id) == [carl.user.id])
        #expect(searched.users.first?.offices.map(\.name) == ["Berlin Mitte"])
        let outbox: Accessd_V1_ListOutboxResponse = try await h.call(
            Methods.listOutbox, make(Accessd_V1_ListOutboxRequest.self) { $0.limit = 1 })
        #expect(outbox.messages.count == 1)
        let _: Accessd_V1_UserResponse = try await h.call(
            Methods.activateUser, make(Accessd_V1_ActivateUserRequest.self) { $0.token = outbox.messages[0].token })
        let dora = try await addUser(&h, account: acme, email: "dora@acme.example", first: "Dora", role: "auditor", as: ann)
        let resent: Accessd_V1_UserResponse = try await h.call(
            Methods.resendActivation, make(Accessd_V1_UserRequest.self) { $0.userID = dora.user.id }, as: ann)
        #expect(resent.user.id == dora.user.id, "a resent activation answers with its user")
        #expect(resent.events.count == 2)
        #expect(resent.events.first?.activationIssued.userID == dora.user.id)
        #expect(resent.events.last?.outboxMessageQueued.to == "dora@acme.example")
        let deactivated: Accessd_V1_UserResponse = try await h.call(
            Methods.deactivateUser, make(Accessd_V1_UserRequest.self) { $0.userID = dora.user.id }, as: ann)
        #expect(deactivated.user.status == .deactivated)
        #expect(deactivated.user.deactivatedAtMs > 0)
        let reactivated: Accessd_V1_UserResponse = try await h.call(
            Methods.reactivateUser, make(Accessd_V1_UserRequest.self) { $0.userID = dora.user.id }, as: ann)
        #expect(reactivated.user.status == .pending, "never activated: PENDING again with a new activation")
        let editedUser: Accessd_V1_UserResponse = try await h.call(
            Methods.editUser,
            make(Accessd_V1_EditUserRequest.self) {
                $0.userID = carl.user.id
                $0.setExtraPermissions = true
                $0.extraPermissions = [.viewAllProjects]
                $0.setOffices = true
            }, as: ann)
        #expect(editedUser.user.extraPermissions == [.viewAllProjects])
        #expect(editedUser.user.officeIds.isEmpty)

        // ProjectService.
        let apollo: Accessd_V1_ProjectResponse = try await h.call(
            Methods.createProject,
            make(Accessd_V1_CreateProjectRequest.self) {
                $0.accountID = acme
                $0.name = "Apollo"
                $0.visibility = .private
                $0.officeIds = [berlin.office.id]
            }, as: carlEmail)
        #expect(apollo.project.visibility == .private)
        #expect(apollo.project.memberIds == [carl.user.id], "the creator is a member")
        let updated: Accessd_V1_ProjectResponse = try await h.call(
            Methods.updateProject,
            make(Accessd_V1_UpdateProjectRequest.self) {
                $0.projectID = apollo.project.id
                $0.visibility = .public
                $0.setMembers = true
            }, as: carlEmail)
        #expect(updated.project.visibility == .public)
        #expect(updated.project.memberIds.isEmpty)
        #expect(updated.project.officeIds == [berlin.office.id])
        let gemini: Accessd_V1_ProjectResponse = try await h.call(
            Methods.createProject,
            make(Accessd_V1_CreateProjectRequest.self) {
                $0.accountID = acme
                $0.name = "Gemini"
            }, as: ann)
        #expect(gemini.project.visibility == .public, "UNSPECIFIED is PUBLIC")
        let _: Accessd_V1_WriteResponse = try await h.call(
            Methods.deleteProject, make(Accessd_V1_DeleteProjectRequest.self) { $0.projectID = gemini.project.id },
            as: ann)
        let project: Accessd_V1_Project = try await h.call(
            Methods.getProject, make(Accessd_V1_GetProjectRequest.self) { $0.projectID = apollo.project.id },
            as: carlEmail)
        #expect(project.name == "Apollo")
        let projects: Accessd_V1_ListProjectsResponse = try await h.call(
            Methods.listProjects, make(Accessd_V1_ListProjectsRequest.self) { $0.accountID = acme }, as: carlEmail)
        #expect(projects.projects.map(\.name) == ["Apollo"])

        // ProductService.
        let web: Accessd_V1_ProductResponse = try await h.call(
            Methods.createProduct,
            make(Accessd_V1_CreateProductRequest.self) {
                $0.accountID = acme
                $0.kind = .container
                $0.name = "Web"
            }, as: ann)
        let gateway: Accessd_V1_ProductResponse = try await h.call(
            Methods.createProduct,
            make(Accessd_V1_CreateProductRequest.self) {
                $0.accountID = acme
                $0.kind = .gateway
                $0.name = "GW"
            }, as: ann)
        let renamedProduct: Accessd_V1_ProductResponse = try await h.call(
            Methods.renameProduct,
            make(Accessd_V1_RenameProductRequest.self) {
                $0.productID = gateway.product.id
                $0.name = "Gateway"
            }, as: ann)
        #expect(renamedProduct.product.name == "Gateway")
        #expect(renamedProduct.product.kind == .gateway)
        let product: Accessd_V1_Product = try await h.call(
            Methods.getProduct, make(Accessd_V1_GetProductRequest.self) { $0.productID = web.product.id }, as: ann)
        #expect(product.name == "Web")

        // SharingService.
        let share: Accessd_V1_ShareResponse = try await h.call(
            Methods.shareAccess,
            make(Accessd_V1_ShareAccessRequest.self) {
                $0.ownerAccountID = acme
                $0.granteeEmail = bob
                $0.scope.products.productIds = [web.product.id, gateway.product.id]
            }, as: ann)
        #expect(share.share.scope.products.productIds == [web.product.id, gateway.product.id])
        let _: Accessd_V1_WriteResponse = try await h.call(
            Methods.deleteProduct, make(Accessd_V1_DeleteProductRequest.self) { $0.productID = gateway.product.id },
            as: ann)
        let bobsProducts: Accessd_V1_ListProductsResponse = try await h.call(
            Methods.listProducts, make(Accessd_V1_ListProductsRequest.self) { $0.accountID = acme }, as: bob)
        #expect(bobsProducts.products.map(\.name) == ["Web"])
        let outgoing: Accessd_V1_ListSharedWithResponse = try await h.call(
            Methods.listSharedWith, make(Accessd_V1_ListSharedWithRequest.self) { $0.ownerAccountID = acme }, as: ann)
        #expect(outgoing.shares.map(\.share.scope.products.productIds) == [[web.product.id]])
        let incoming: Accessd_V1_ListSharedWithMeResponse = try await h.call(
            Methods.listSharedWithMe, Accessd_V1_ListSharedWithMeRequest(), as: bob)
        #expect(incoming.shares.map(\.ownerAccountName) == ["Acme Inc"])
        let removed: Accessd_V1_WriteResponse = try await h.call(
            Methods.removeShare, make(Accessd_V1_ShareIdRequest.self) { $0.shareID = share.share.id }, as: ann)
        #expect(removed.events.map(\.shareRemoved) == [share.share.id])
        let billingOnly: Accessd_V1_ShareResponse = try await h.call(
            Methods.shareAccess,
            make(Accessd_V1_ShareAccessRequest.self) {
                $0.ownerAccountID = acme
                $0.granteeEmail = bob
                $0.scope.products = Accessd_V1_ProductList()
                $0.billing = true
            }, as: ann)
        #expect(billingOnly.share.billing)
        #expect(billingOnly.share.scope.products.productIds.isEmpty)
        let _: Accessd_V1_WriteResponse = try await h.call(
            Methods.retireShare, make(Accessd_V1_ShareIdRequest.self) { $0.shareID = billingOnly.share.id }, as: bob)

        // ClientService.
        let link = make(Accessd_V1_ClientLinkRequest.self) {
            $0.agencyAccountID = agency.account.id
            $0.clientAccountID = acme
        }
        let added: Accessd_V1_ClientLinkResponse = try await h.call(Methods.addClient, link, as: gary)
        #expect(added.link.status == .none)
        #expect(added.link.addedBy == agency.owner.id)
        let requested: Accessd_V1_ClientLinkResponse = try await h.call(Methods.requestAccess, link, as: gary)
        #expect(requested.link.status == .pending)
        let denied: Accessd_V1_ClientLinkResponse = try await h.call(Methods.denyAccess, link, as: ann)
        #expect(denied.link.status == .denied)
        let _: Accessd_V1_ClientLinkResponse = try await h.call(Methods.requestAccess, link, as: gary)
        let approved: Accessd_V1_ClientLinkResponse = try await h.call(
            Methods.approveAccess,
            make(Accessd_V1_ApproveAccessRequest.self) {
                $0.agencyAccountID = agency.account.id
                $0.clientAccountID = acme
                $0.role = "AUDITOR"
            }, as: ann)
        #expect(approved.link.status == .approved)
        #expect(approved.link.roleID == auditor.role.id)
        let clients: Accessd_V1_ListClientLinksResponse = try await h.call(
            Methods.listClients, make(Accessd_V1_ListClientsRequest.self) { $0.agencyAccountID = agency.account.id },
            as: gary)
        #expect(clients.links.map(\.clientAccountID) == [acme])
        let agencies: Accessd_V1_ListClientLinksResponse = try await h.call(
            Methods.listAgencies, make(Accessd_V1_ListAgenciesRequest.self) { $0.clientAccountID = acme }, as: ann)
        #expect(agencies.links.map(\.agencyAccountID) == [agency.account.id])

        // AccessService, while the client link is approved.
        let through: Accessd_V1_CheckResponse = try await h.call(
            Methods.check,
            make(Accessd_V1_CheckRequest.self) {
                $0.user = gary
                $0.accountID = acme
                $0.permission = .viewBilling
            })
        #expect(through.allowed)
        #expect(through.path.clientLink.agencyAccountID == agency.account.id)
        #expect(through.path.clientLink.roleID == auditor.role.id)
        let onProject: Accessd_V1_CheckResponse = try await h.call(
            Methods.check,
            make(Accessd_V1_CheckRequest.self) {
                $0.user = carlEmail
                $0.accountID = acme
                $0.permission = .manageProjects
                $0.projectID = apollo.project.id
            })
        #expect(onProject.allowed)
        // BatchCheck: in order, each answered as Check alone, an unknown user that item's NOT_FOUND.
        let batch: Accessd_V1_BatchCheckResponse = try await h.call(
            Methods.batchCheck,
            make(Accessd_V1_BatchCheckRequest.self) {
                $0.checks = [
                    make(Accessd_V1_CheckRequest.self) {
                        $0.user = gary
                        $0.accountID = acme
                        $0.permission = .viewBilling
                    },
                    make(Accessd_V1_CheckRequest.self) {
                        $0.user = "nobody@example.com"
                        $0.accountID = acme
                        $0.permission = .viewBilling
                    },
                    make(Accessd_V1_CheckRequest.self) {
                        $0.user = carlEmail
                        $0.accountID = acme
                        $0.permission = .manageProjects
                        $0.projectID = apollo.project.id
                    },
                ]
            })
        #expect(batch.results.map(\.code) == [0, 5, 0])
        #expect(batch.results.first?.response == through)
        #expect(batch.results.dropFirst().first?.message.contains("no user has the id or email") == true)
        #expect(batch.results.last?.response == onProject)
        let accessible: Accessd_V1_ListAccessibleAccountsResponse = try await h.call(
            Methods.listAccessibleAccounts,
            make(Accessd_V1_ListAccessibleAccountsRequest.self) { $0.user = agency.owner.id })
        #expect(accessible.accounts.map(\.accountID) == [agency.account.id, acme])

        let revoked: Accessd_V1_ClientLinkResponse = try await h.call(Methods.revokeAccess, link, as: ann)
        #expect(revoked.link.status == .none)
        #expect(revoked.link.roleID.isEmpty)
        let removedClient: Accessd_V1_WriteResponse = try await h.call(Methods.removeClient, link, as: gary)
        #expect(removedClient.events.map(\.clientRemoved.clientAccountID) == [acme])

        // EventService.
        let all: Accessd_V1_ListEventsResponse = try await h.call(Methods.listEvents, Accessd_V1_ListEventsRequest())
        #expect(all.events.map(\.seq) == Array(1...UInt64(all.events.count)), "events are numbered without gaps")
        let pending: Accessd_V1_ListOutboxResponse = try await h.call(
            Methods.listOutbox, make(Accessd_V1_ListOutboxRequest.self) { $0.afterID = outbox.messages[0].id })
        #expect(!pending.messages.isEmpty)
        let acknowledged: Accessd_V1_WriteResponse = try await h.call(
            Methods.acknowledgeOutbox,
            make(Accessd_V1_AcknowledgeOutboxRequest.self) { $0.ids = pending.messages.map(\.id) })
        #expect(acknowledged.events.first?.outboxAcknowledged.ids == pending.messages.map(\.id))

        let final: Accessd_V1_ListEventsResponse = try await h.call(Methods.listEvents, Accessd_V1_ListEventsRequest())
        #expect(final.events.count == all.events.count + 1, "the acknowledgement is one more event")
        return Outcome(called: h.called, events: final.events)
    }
}
