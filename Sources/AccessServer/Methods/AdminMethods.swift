import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// AdminService: administrator calls (R1, R3) and the daemon's own.
    static var adminService: [Entry] {
        [
            Handlers.write(
                Methods.createAccount,
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
                }),
            Handlers.write(Methods.setLicenseCount) { request, _ throws(AccessError) in
                .setLicenseCount(
                    account: try WireInput.id(request.accountID, field: "account_id"),
                    count: WireInput.count(request.count))
            },
            Handlers.daemon(Methods.snapshot, .snapshot),
            Handlers.daemon(Methods.getStats, .stats),
            Handlers.daemon(Methods.backup, .backup),
            Handlers.daemon(Methods.getMetrics, .metrics),
            Handlers.read(Methods.listAccounts) { request, context throws(AccessError) in
                let page = try context.state.listAccounts(
                    pageSize: Int(request.pageSize), pageToken: request.pageToken, as: context.principal)
                var response = Accessd_V1_ListAccountsResponse()
                response.accounts = page.accounts.map(Accessd_V1_Account.init)
                response.nextPageToken = page.nextPageToken
                return response
            },
        ]
    }
}
