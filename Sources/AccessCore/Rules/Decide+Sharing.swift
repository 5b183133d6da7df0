extension Decider {
    /// R16: SHARE_ACCESS grants an ACTIVE user of a STANDARD account of the same
    /// region control over this account's products (and billing). Sharing again
    /// with the same grantee replaces the scope.
    mutating func shareAccess(_ request: ShareAccess) throws(AccessError) {
        let (actor, _) = try authorize(.shareAccess, in: request.owner)
        let owner = try account(request.owner)
        let email = try Validation.email(request.granteeEmail, field: "grantee email")
        if case .products(let list) = request.scope {
            guard !list.isEmpty || request.billing else {
                throw .invalidArgument(
                    "the share gives nothing: choose products, all current and new products, or billing", rule: .r16)
            }
            for id in list.sorted() {
                guard let product = state.products[id] else { throw .notFound("no product \(PeerText.quote(id))") }
                guard product.account == owner.id else {
                    throw .invalidArgument("product \(id) belongs to account \(product.account), not \(owner.id)", rule: .r16)
                }
            }
        }
        guard let granteeID = state.indexes.userByEmail[EmailKey(region: owner.region, email: email)] else {
            let otherRegion = Region.allCases.first {
                $0 != owner.region && state.indexes.userByEmail[EmailKey(region: $0, email: email)] != nil
            }
            if let otherRegion {
                throw .failedPrecondition(
                    "\(PeerText.quote(email)) is a user in region \(otherRegion.rawValue), and access is shared only within region \(owner.region.rawValue)",
                    rule: .r16)
            }
            throw .notFound("no user with email \(PeerText.quote(email)) in region \(owner.region.rawValue)", rule: .r16)
        }
        let grantee = state.users[granteeID]!
        let granteeHome = state.accounts[grantee.account]!
        guard grantee.account != owner.id else {
            throw .invalidArgument("\(PeerText.quote(email)) is a user of this account already; change their role instead", rule: .r16)
        }
        guard granteeHome.kind == .standard else {
            throw .failedPrecondition(
                "\(PeerText.quote(email)) belongs to a \(granteeHome.kind.rawValue) account; shared access goes to STANDARD accounts only. An agency or partner adds this account as a client and requests access instead (R18)",
                rule: .r16)
        }
        guard grantee.status == .active else {
            throw .failedPrecondition("\(PeerText.quote(email)) is \(grantee.status.rawValue); access is shared only with ACTIVE users", rule: .r16)
        }
        if let existingID = state.indexes.shareByPair[SharePair(owner: owner.id, grantee: grantee.id)] {
            var share = state.shares[existingID]!
            share.scope = request.scope
            share.billing = request.billing
            share.grantedBy = actor.id
            share.updatedAt = now
            recorder.record(.shareUpdated(share))
        } else {
            recorder.record(
                .accessShared(
                    Share(
                        id: recorder.nextID(), owner: owner.id, grantee: grantee.id, scope: request.scope,
                        billing: request.billing, grantedBy: actor.id, createdAt: now, updatedAt: now)))
        }
    }

    /// R17: the owner side removes a share (SHARE_ACCESS).
    mutating func removeShare(_ id: ShareID) throws(AccessError) {
        guard let share = state.shares[id] else { throw .notFound("no share \(PeerText.quote(id))") }
        try authorize(.shareAccess, in: share.owner)
        recorder.record(.shareRemoved(id))
    }

    /// R17: the grantee steps away from a share.
    mutating func retireShare(_ id: ShareID) throws(AccessError) {
        let actor = try actingUser()
        guard let share = state.shares[id] else { throw .notFound("no share \(PeerText.quote(id))") }
        guard share.grantee == actor.id else {
            throw .permissionDenied("only the grantee retires share \(id); the owner account removes it", rule: .r17)
        }
        recorder.record(.shareRetired(id))
    }
}
