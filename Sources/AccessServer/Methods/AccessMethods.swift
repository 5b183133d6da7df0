import AccessCore
import AccessWire

extension MethodTable {
    /// AccessService (R19): any caller may check; the answer does not depend on the actor.
    static var accessService: [(String, MethodHandler)] {
        [
            (
                "Check",
                Handlers.read(Accessd_V1_CheckRequest.self) { request, context throws(AccessError) in
                    let state = context.state
                    let user = try WireInput.user(request.user, field: "user", in: state)
                    let account: AccountID = try WireInput.id(request.accountID, field: "account_id")
                    let permission = try Permission.parse(request.permission, field: "permission")
                    let resource: CheckResource? =
                        switch request.resource {
                        case nil: nil
                        case .projectID(let id): .project(try WireInput.id(id, field: "project_id"))
                        case .productID(let id): .product(try WireInput.id(id, field: "product_id"))
                        }
                    let result = try state.check(
                        CheckRequest(user: user, account: account, permission: permission, resource: resource))
                    return Accessd_V1_CheckResponse(result)
                }
            ),
            (
                "ListAccessibleAccounts",
                Handlers.read(Accessd_V1_ListAccessibleAccountsRequest.self) { request, context throws(AccessError) in
                    let user = try WireInput.user(request.user, field: "user", in: context.state)
                    var response = Accessd_V1_ListAccessibleAccountsResponse()
                    response.accounts = try context.state.accessibleAccounts(of: user).map(Accessd_V1_AccessibleAccount.init)
                    return response
                }
            ),
        ]
    }
}
