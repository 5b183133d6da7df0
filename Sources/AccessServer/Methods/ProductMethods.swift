import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// ProductService (R15, R16).
    static var productService: [Entry] {
        [
            Handlers.write(
                Methods.createProduct,
                command: { request, _ throws(AccessError) in
                    .createProduct(
                        account: try WireInput.id(request.accountID, field: "account_id"),
                        kind: try ProductKind.parse(request.kind, field: "kind"), name: request.name)
                },
                reply: productReply),
            Handlers.read(Methods.getProduct) { request, context throws(AccessError) in
                let id: ProductID = try WireInput.id(request.productID, field: "product_id")
                return Accessd_V1_Product(try context.state.getProduct(id, as: context.principal))
            },
            Handlers.read(Methods.listProducts) { request, context throws(AccessError) in
                let account: AccountID = try WireInput.id(request.accountID, field: "account_id")
                var response = Accessd_V1_ListProductsResponse()
                response.products = try context.state.listProducts(account, as: context.principal)
                    .map(Accessd_V1_Product.init)
                return response
            },
            Handlers.write(
                Methods.renameProduct,
                command: { request, _ throws(AccessError) in
                    .renameProduct(try WireInput.id(request.productID, field: "product_id"), name: request.name)
                },
                reply: productReply),
            Handlers.write(Methods.deleteProduct) { request, _ throws(AccessError) in
                .deleteProduct(try WireInput.id(request.productID, field: "product_id"))
            },
        ]
    }

    @Sendable private static func productReply(_ events: [Event], _ state: AccessState) -> Accessd_V1_ProductResponse {
        var response = Accessd_V1_ProductResponse()
        if let product = events.changedProduct() { response.product = Accessd_V1_Product(product) }
        response.events = Handlers.wire(events)
        return response
    }
}
