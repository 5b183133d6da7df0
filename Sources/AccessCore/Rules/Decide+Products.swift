extension Decider {
    /// R15: MANAGE_PRODUCTS creates containers and gateways (for a grantee, only
    /// with a share of every current and new product, R16).
    mutating func createProduct(_ accountID: AccountID, _ kind: ProductKind, _ name: String) throws(AccessError) {
        let (actor, _) = try authorize(.manageProducts, in: accountID)
        let name = try Validation.name(name, field: "product name")
        recorder.record(
            .productCreated(
                Product(id: recorder.nextID(), account: accountID, kind: kind, name: name, createdBy: actor.id, createdAt: now)))
    }

    mutating func renameProduct(_ id: ProductID, _ name: String) throws(AccessError) {
        guard var product = state.products[id] else { throw .notFound("no product \(PeerText.quote(id))") }
        try authorize(.manageProducts, in: product.account, on: .product(id))
        product.name = try Validation.name(name, field: "product name")
        recorder.record(.productRenamed(product))
    }

    /// R15: deleting a product removes it from the shares that list it (in `apply`).
    mutating func deleteProduct(_ id: ProductID) throws(AccessError) {
        guard let product = state.products[id] else { throw .notFound("no product \(PeerText.quote(id))") }
        try authorize(.manageProducts, in: product.account, on: .product(id))
        recorder.record(.productDeleted(id))
    }
}
