import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// AccountService: an account's settings and billing.
    static var accountService: [Entry] {
        [
            Handlers.read(Methods.getAccount) { request, context throws(AccessError) in
                let id: AccountID = try WireInput.id(request.accountID, field: "account_id")
                return Accessd_V1_Account(try context.state.getAccount(id, as: context.principal))
            },
            Handlers.write(Methods.renameAccount) { request, _ throws(AccessError) in
                .renameAccount(account: try WireInput.id(request.accountID, field: "account_id"), name: request.name)
            },
            Handlers.read(Methods.getBilling) { request, context throws(AccessError) in
                let id: AccountID = try WireInput.id(request.accountID, field: "account_id")
                return Accessd_V1_Billing(try context.state.getBilling(id, as: context.principal))
            },
            Handlers.write(Methods.updateBilling) { request, _ throws(AccessError) in
                .updateBilling(
                    account: try WireInput.id(request.accountID, field: "account_id"),
                    billing: Billing(wire: request.billing))
            },
        ]
    }
}
