import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// AccountService: an account's settings and billing.
    static var accountService: [(String, MethodHandler)] {
        [
            (
                "GetAccount",
                Handlers.read(Accessd_V1_GetAccountRequest.self) { request, context throws(AccessError) in
                    let id: AccountID = try WireInput.id(request.accountID, field: "account_id")
                    return Accessd_V1_Account(try context.state.getAccount(id, as: context.principal))
                }
            ),
            (
                "RenameAccount",
                Handlers.write(Accessd_V1_RenameAccountRequest.self) { request, _ throws(AccessError) in
                    .renameAccount(account: try WireInput.id(request.accountID, field: "account_id"), name: request.name)
                }
            ),
            (
                "GetBilling",
                Handlers.read(Accessd_V1_GetBillingRequest.self) { request, context throws(AccessError) in
                    let id: AccountID = try WireInput.id(request.accountID, field: "account_id")
                    return Accessd_V1_Billing(try context.state.getBilling(id, as: context.principal))
                }
            ),
            (
                "UpdateBilling",
                Handlers.write(Accessd_V1_UpdateBillingRequest.self) { request, _ throws(AccessError) in
                    .updateBilling(
                        account: try WireInput.id(request.accountID, field: "account_id"),
                        billing: Billing(wire: request.billing))
                }
            ),
        ]
    }
}
