import AccessMapping
import AccessCore
import AccessWire

extension MethodTable {
    /// EventService (R20): reading events (any peer: they carry no secrets)
    /// and draining the outbox (administrators: it holds activation tokens).
    static var eventService: [Entry] {
        [
            Handlers.read(Methods.listEvents, shortcut: .eventHistoryOnDisk) { request, context throws(AccessError) in
                let limit = request.limit == 0 ? 1000 : Int(request.limit)
                var response = Accessd_V1_ListEventsResponse()
                response.events = Handlers.wire(try context.history.events(after: request.afterSeq, limit: limit))
                // The daemon answers from its event archive on disk too (EventArchive.list); this is memory alone.
                response.oldestSeq = context.history.count > 0 ? context.history.firstSeq : 0
                return response
            },
            Handlers.daemon(Methods.followEvents, .followEvents),
            Handlers.read(Methods.listOutbox) { request, context throws(AccessError) in
                let after: OutboxMessageID? = try WireInput.optionalID(request.afterID, field: "after_id")
                let limit = request.limit == 0 ? 100 : Int(request.limit)
                var response = Accessd_V1_ListOutboxResponse()
                response.messages = try context.state.outboxMessages(after: after, limit: limit, as: context.principal)
                    .map { Accessd_V1_OutboxMessage($0) }
                return response
            },
            Handlers.write(Methods.acknowledgeOutbox) { request, _ throws(AccessError) in
                .acknowledgeOutbox(try WireInput.idList(request.ids, field: "ids"))
            },
        ]
    }
}
