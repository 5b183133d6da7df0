extension Decider {
    /// R20: the mailer (an administrator peer) acknowledges what it delivered;
    /// unacknowledged messages stay and are delivered again.
    mutating func acknowledgeOutbox(_ ids: [OutboxMessageID]) throws(AccessError) {
        try requireAdministrator("acknowledging outbox messages", rule: .r20)
        guard !ids.isEmpty else { throw .invalidArgument("name at least one outbox message to acknowledge", rule: .r20) }
        var seen = Set<OutboxMessageID>()
        var unique: [OutboxMessageID] = []
        for id in ids where seen.insert(id).inserted {
            guard state.outbox[id] != nil else {
                throw .notFound("no outbox message \(PeerText.quote(id)) (it may have been acknowledged already)", rule: .r20)
            }
            unique.append(id)
        }
        recorder.record(.outboxAcknowledged(unique))
    }
}
