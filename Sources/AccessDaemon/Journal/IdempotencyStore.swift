public import AccessCore
import AccessWire
public import Foundation
import HashTreeCollections

/// First replies to writes that carried an idempotency key, by actor and key,
/// for 24 hours. A persistent map, so the owner's durable copy costs O(1).
public struct IdempotencyStore: Sendable, Equatable {
    public static let windowMilliseconds: Int64 = 24 * 3600 * 1000

    /// One first reply.
    public struct Entry: Sendable, Hashable {
        public var actor: String
        public var key: String
        public var at: Timestamp
        public var code: StatusCode
        public var message: String
        public var payload: Data
        public var revision: UInt64
    }

    private var entries: TreeDictionary<String, Entry> = [:]
    private var insertionsSincePrune = 0

    public init() {}

    public var count: Int { entries.count }

    static func slot(actor: String, key: String) -> String { actor + "\u{0}" + key }

    /// The first reply for `key` from `actor`, unless older than 24 hours.
    public func lookup(actor: String, key: String, now: Timestamp) -> Entry? {
        guard let entry = entries[Self.slot(actor: actor, key: key)] else { return nil }
        return entry.at.millisecondsSinceEpoch >= Self.horizon(now) ? entry : nil
    }

    public mutating func insert(_ entry: Entry) {
        entries[Self.slot(actor: entry.actor, key: entry.key)] = entry
        insertionsSincePrune += 1
        if insertionsSincePrune >= 4096 {
            prune(now: entry.at)
        }
    }

    /// Drops the entries older than 24 hours.
    public mutating func prune(now: Timestamp) {
        let horizon = Self.horizon(now)
        entries = entries.filter { $0.value.at.millisecondsSinceEpoch >= horizon }
        insertionsSincePrune = 0
    }

    /// The oldest time still inside the window at `now`. Saturating: `now` is
    /// also a reply's own time, read back from a snapshot or the journal.
    private static func horizon(_ now: Timestamp) -> Int64 {
        let (horizon, overflow) = now.millisecondsSinceEpoch.subtractingReportingOverflow(windowMilliseconds)
        return overflow ? .min : horizon
    }

    /// The entries, for a snapshot.
    public var all: [Entry] { entries.values.sorted { ($0.at, $0.actor, $0.key) < ($1.at, $1.actor, $1.key) } }

    public static func == (lhs: IdempotencyStore, rhs: IdempotencyStore) -> Bool { lhs.entries == rhs.entries }
}

extension IdempotencyStore.Entry {
    init(wire: Accessd_V1_IdempotentReply) {
        self.init(
            actor: wire.actor, key: wire.key, at: Timestamp(millisecondsSinceEpoch: wire.atMs),
            code: StatusCode(rawValue: Int(wire.code)) ?? .unknown, message: wire.message, payload: wire.payload,
            revision: wire.revision)
    }

    var wire: Accessd_V1_IdempotentReply {
        var reply = Accessd_V1_IdempotentReply()
        reply.actor = actor
        reply.key = key
        reply.atMs = at.millisecondsSinceEpoch
        reply.code = UInt32(code.rawValue)
        reply.message = message
        reply.payload = payload
        reply.revision = revision
        return reply
    }
}

/// What the journal and the snapshots make durable: the state, the recent
/// events, the idempotent replies, and the lsn of the last journal record
/// they include. A value: copies cost O(1).
public struct DurableState: Sendable {
    public var state: AccessState
    public var history: EventHistory
    public var idempotency: IdempotencyStore
    public var lsn: UInt64

    public init(state: AccessState, history: EventHistory, idempotency: IdempotencyStore = IdempotencyStore(), lsn: UInt64 = 0) {
        self.state = state
        self.history = history
        self.idempotency = idempotency
        self.lsn = lsn
    }
}
