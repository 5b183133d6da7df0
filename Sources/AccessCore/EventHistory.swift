import HashTreeCollections

/// The most recent events, for readers that fetch "events after N" (R20).
/// A persistent structure like the state, so a reader's copy costs O(1).
/// Older events are dropped past `retention`; asking for them is OUT_OF_RANGE
/// (the journal, not memory, holds the full history).
public struct EventHistory: Hashable, Sendable {
    public let retention: Int
    private(set) var events: TreeDictionary<UInt64, Event> = [:]
    /// The oldest sequence number still held (when not empty).
    public private(set) var firstSeq: UInt64 = 1
    /// The newest sequence number held, 0 before any.
    public private(set) var lastSeq: UInt64 = 0

    public init(retention: Int = 100_000) {
        precondition(retention >= 1, "an event history holds at least one event")
        self.retention = retention
    }

    /// Starts an empty history after `seq`: the events up to it are not held
    /// (a state restored from a snapshot); the next event appended is `seq + 1`.
    public mutating func skip(to seq: UInt64) {
        precondition(events.isEmpty, "only an empty history skips ahead")
        lastSeq = seq
        firstSeq = seq + 1
    }

    /// Appends events in order; they must follow `lastSeq` without a gap.
    public mutating func append<S: Sequence<Event>>(_ newEvents: S) {
        for event in newEvents {
            precondition(event.seq == lastSeq + 1, "event \(event.seq) does not follow \(lastSeq)")
            if events.isEmpty { firstSeq = event.seq }
            events[event.seq] = event
            lastSeq = event.seq
            while events.count > retention {
                events[firstSeq] = nil
                firstSeq += 1
            }
        }
    }

    /// Up to `limit` events with a sequence number above `seq`, oldest first.
    /// - Complexity: O(limit * log n).
    public func events(after seq: UInt64, limit: Int = 1000) throws(AccessError) -> [Event] {
        guard limit >= 1 else { throw .invalidArgument("limit must be at least 1, not \(limit)") }
        guard seq <= lastSeq else { return [] }
        guard seq + 1 >= firstSeq else {
            throw .outOfRange(
                "events after \(seq) are no longer held in memory (the oldest is \(firstSeq)); start from a snapshot or read the journal")
        }
        var result: [Event] = []
        var next = seq + 1
        while next <= lastSeq, result.count < limit, let event = events[next] {
            result.append(event)
            next += 1
        }
        return result
    }
}
