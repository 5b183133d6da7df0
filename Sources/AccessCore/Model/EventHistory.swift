import HashTreeCollections

/// The most recent events, for readers that fetch "events after N" (R20).
/// A persistent structure like the state, so a reader's copy costs O(1).
/// Older events are dropped past `retention`; asking for them is OUT_OF_RANGE
/// here (the daemon reads them from its event archive on disk instead).
///
/// Laid out for a window that only grows at one end and shrinks at the other:
/// events sit in chunks of `chunkSize` by sequence number. The chunk being
/// filled is a plain array (`tail`); a full chunk becomes an immutable box in
/// a persistent map keyed by its number. So a batch of writes after a
/// reader's copy copies the tail once (pointers to boxed events), and the map
/// changes once per `chunkSize` events, instead of a tree path being copied
/// for every event added and every event dropped (profiled: that was a fifth
/// of a durable write's CPU).
public struct EventHistory: Sendable {
    public let retention: Int
    /// Events per chunk.
    static let chunkSize: UInt64 = 256
    /// Filled chunks by number (`chunk(of:)`); each holds consecutive events.
    private var chunks: TreeDictionary<UInt64, Box<[Box<Event>]>> = [:]
    /// The consecutive events of the newest chunk, from `tailFirst`.
    private var tail: [Box<Event>] = []
    private var tailFirst: UInt64 = 1
    /// The oldest sequence number still held (when not empty).
    public private(set) var firstSeq: UInt64 = 1
    /// The newest sequence number held, 0 before any.
    public private(set) var lastSeq: UInt64 = 0

    public init(retention: Int = 100_000) {
        precondition(retention >= 1, "an event history holds at least one event")
        self.retention = retention
    }

    /// The number of events held.
    public var count: Int { Int(lastSeq + 1 - firstSeq) }

    private static func chunk(of seq: UInt64) -> UInt64 { (seq - 1) / chunkSize }

    /// Starts an empty history after `seq`: the events up to it are not held
    /// (a state restored from a snapshot); the next event appended is `seq + 1`.
    public mutating func skip(to seq: UInt64) {
        precondition(count == 0 && chunks.isEmpty && tail.isEmpty, "only an empty history skips ahead")
        lastSeq = seq
        firstSeq = seq + 1
    }

    /// Appends events in order; they must follow `lastSeq` without a gap.
    public mutating func append<S: Sequence<Event>>(_ newEvents: S) {
        for event in newEvents {
            precondition(event.seq == lastSeq + 1, "event \(event.seq) does not follow \(lastSeq)")
            if tail.isEmpty {
                tailFirst = event.seq
            } else if Self.chunk(of: event.seq) != Self.chunk(of: tailFirst) {
                chunks[Self.chunk(of: tailFirst)] = Box(tail)
                tail = []
                tailFirst = event.seq
            }
            tail.append(Box(event))
            lastSeq = event.seq
        }
        guard count > retention else { return }
        // Drop whole chunks that fall before the window; the tail's chunk is never among them.
        let newFirst = lastSeq + 1 - UInt64(retention)
        for number in Self.chunk(of: firstSeq)..<Self.chunk(of: newFirst) {
            chunks[number] = nil
        }
        firstSeq = newFirst
    }

    /// Up to `limit` events with a sequence number above `seq`, oldest first.
    /// - Complexity: O(limit + log n).
    public func events(after seq: UInt64, limit: Int = 1000) throws(AccessError) -> [Event] {
        guard limit >= 1 else { throw .invalidArgument("limit must be at least 1, not \(limit)") }
        guard seq < lastSeq else { return [] }
        guard seq + 1 >= firstSeq else {
            throw .outOfRange(
                "events after \(seq) are no longer held in memory: the oldest event held is \(firstSeq); read after \(firstSeq - 1), and rebuild what came before from a snapshot of the state")
        }
        var result: [Event] = []
        result.reserveCapacity(min(limit, Int(lastSeq - seq)))
        var next = seq + 1
        while next <= lastSeq, result.count < limit {
            let (first, run) = self.run(containing: next)
            for box in run[Int(next - first)...] {
                guard result.count < limit else { break }
                result.append(box.value)
            }
            next = first + UInt64(run.count)
        }
        return result
    }

    /// The chunk (or tail) holding `seq`, with the sequence number of its first event.
    private func run(containing seq: UInt64) -> (first: UInt64, events: [Box<Event>]) {
        if seq >= tailFirst && !tail.isEmpty { return (tailFirst, tail) }
        let events = chunks[Self.chunk(of: seq)]!.value
        return (events[0].value.seq, events)
    }

    /// The events held, oldest first.
    var all: [Event] { (try? events(after: firstSeq - 1, limit: max(count, 1))) ?? [] }
}

extension EventHistory: Hashable {
    /// Equal when they hold the same events under the same retention, however
    /// they were laid out (a restored history starts mid-chunk).
    public static func == (lhs: EventHistory, rhs: EventHistory) -> Bool {
        lhs.retention == rhs.retention && lhs.firstSeq == rhs.firstSeq && lhs.lastSeq == rhs.lastSeq && lhs.all == rhs.all
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(retention)
        hasher.combine(firstSeq)
        hasher.combine(lastSeq)
    }
}
