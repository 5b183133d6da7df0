import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// SharingService (R16, R17).
    static var sharingService: [Entry] {
        [
            Handlers.write(
                Methods.shareAccess,
                command: { request, _ throws(AccessError) in
                    .shareAccess(
                        ShareAccess(
                            owner: try WireInput.id(request.ownerAccountID, field: "owner_account_id"),
                            granteeEmail: request.granteeEmail,
                            scope: try ShareScope(wire: request.scope, field: "scope"), billing: request.billing))
                },
                reply: { events, _ in
                    var response = Accessd_V1_ShareResponse()
                    if let share = events.changedShare() { response.share = Accessd_V1_Share(share) }
                    response.events = Handlers.wire(events)
                    return response
                }),
            Handlers.read(Methods.listSharedWith) { request, context throws(AccessError) in
                let owner: AccountID = try WireInput.id(request.ownerAccountID, field: "owner_account_id")
                var response = Accessd_V1_ListSharedWithResponse()
                response.shares = try context.state.sharedWith(owner, as: context.principal)
                    .map(Accessd_V1_OutgoingShare.init)
                return response
            },
            Handlers.read(Methods.listSharedWithMe) { _, context throws(AccessError) in
                var response = Accessd_V1_ListSharedWithMeResponse()
                response.shares = try context.state.sharedWithMe(as: context.principal).map(Accessd_V1_IncomingShare.init)
                return response
            },
            Handlers.write(Methods.removeShare) { request, _ throws(AccessError) in
                .removeShare(try WireInput.id(request.shareID, field: "share_id"))
            },
            Handlers.write(Methods.retireShare) { request, _ throws(AccessError) in
                .retireShare(try WireInput.id(request.shareID, field: "share_id"))
            },
        ]
    }
}
