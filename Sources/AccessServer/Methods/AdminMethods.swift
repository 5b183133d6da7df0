import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// AdminService: administrator calls (R1, R3) and the daemon's own.
    static var adminService: [(String, MethodHandler)] {
        [
            (
                "CreateAccount",
                Handlers.write(
                    Accessd_V1_CreateAccountRequest.self,
                    command: { request, _ throws(AccessError) in
                        .createAccount(
                            CreateAccount(
                                name: request.name,
                                kind: request.kind == .unspecified ? .standard : try AccountKind.parse(request.kind, field: "kind"),
                                region: request.region == .unspecified ? .global : try Region.parse(request.region, field: "region"),
                                fullAccessLicenses: WireInput.count(request.fullAccessLicenses),
                                billing: Billing(wire: request.billing), ownerEmail: request.ownerEmail,
                                ownerFirstName: request.ownerFirstName, ownerLastName: request.ownerLastName))
                    },
                    reply: { events, state in
                        var response = Accessd_V1_CreateAccountResponse()
                        if let account = events.changedAccount() {
                            response.account = Accessd_V1_Account(account, licensesInUse: state.licensesInUse(account.id))
                        }
                        if let owner = events.changedUser(in: state) { response.owner = Accessd_V1_User(owner) }
                        response.events = Handlers.wire(events)
                        return response
                    })
            ),
            (
                "SetLicenseCount",
                Handlers.write(Accessd_V1_SetLicenseCountRequest.self) { request, _ throws(AccessError) in
                    .setLicenseCount(
                        account: try WireInput.id(request.accountID, field: "account_id"),
                        count: WireInput.count(request.count))
                }
            ),
            ("Snapshot", .daemon),
            ("GetStats", .daemon),
            ("Backup", .daemon),
            ("GetMetrics", .daemon),
            (
                "ListAccounts",
                Handlers.read(Accessd_V1_ListAccountsRequest.self) { request, context throws(AccessError) in
                    let page = try context.state.listAccounts(
                        pageSize: Int(request.pageSize), pageToken: request.pageToken, as: context.principal)
                    var response = Accessd_V1_ListAccountsResponse()
                    response.accounts = page.accounts.map(Accessd_V1_Account.init)
                    response.nextPageToken = page.nextPageToken
                    return response
                }
            ),
        ]
    }
}
