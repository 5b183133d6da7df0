import AccessMapping
public import AccessStatus
public import AccessCore
package import AccessWire
public import Foundation
import HashTreeCollections

/// First replies to applied writes that carried an idempotency key, by
/// actor and key, for 24 hours. A persistent map, so the owner's durable copy
/// costs O(1). Bounded (docs/protocol.md, "Bad input and limits"): a peer
/// chooses the actor, so keys are counted per peer uid and in total; past
/// either bound a new keyed write is refused, and no key is ever dropped
/// inside its 24 hours.
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
        /// The peer that made the write (nil in entries written before peers were recorded).
        public var caller: Caller?

        package init(
            actor: String, key: String, at: Timestamp, code: StatusCode, message: String, payload: Data,
            revision: UInt64, caller: Caller?
        ) {
            self.actor = actor
            self.key = key
            self.at = at
            self.code = code
            self.message = message
            self.payload = payload
            self.revision = revision
            self.caller = caller
        }
    }

    /// How many first replies may be held.
    public struct Limits: Sendable, Equatable {
        public var perUID: Int
        public var total: Int

        public init(perUID: Int, total: Int) {
            self.perUID = perUID
            self.total = total
        }

        public static let unbounded = Limits(perUID: .max, total: .max)
    }

    private var entries: TreeDictionary<String, Entry> = [:]
    private var perUID: TreeDictionary<UInt32, Int> = [:]
    private var insertionsSincePrune = 0

    public init() {}

    public var count: Int { entries.count }

    /// First replies held for writes made by `uid`.
    public func count(uid: UInt32) -> Int { perUID[uid] ?? 0 }

    package static func slot(actor: String, key: String) -> String { actor + "\u{0}" + key }

    /// The first reply for `key` from `actor`, unless older than 24 hours.
    public func lookup(actor: String, key: String, now: Timestamp) -> Entry? {
        guard let entry = entries[Self.slot(actor: actor, key: key)] else { return nil }
        return entry.at.millisecondsSinceEpoch >= Self.horizon(now) ? entry : nil
    }

    /// Why a new key from `uid` cannot be held now, if it cannot: the bound
    /// it would pass (counting only keys still inside their 24 hours).
    public mutating func refusal(uid: UInt32?, now: Timestamp, limits: Limits) -> String? {
        func over() -> String? {
            if entries.count >= limits.total {
                return "accessd holds \(entries.count) idempotency keys, its limit (max_idempotency_keys)"
            }
            if let uid, count(uid: uid) >= limits.perUID {
                return "uid \(uid) holds \(count(uid: uid)) idempotency keys, the most one uid may (max_idempotency_keys_per_uid)"
            }
            return nil
        }
        guard over() != nil else { return nil }
        prune(now: now)
        guard let reason = over() else { return nil }
        return reason + "; each is kept 24 hours: retry without a key, or once older keys have expired"
    }

    public mutating func insert(_ entry: Entry) {
        let slot = Self.slot(actor: entry.actor, key: entry.key)
        if let old = entries[slot] { uncount(old) }
        entries[slot] = entry
        if let uid = entry.caller?.uid { perUID[uid, default: 0] += 1 }
        insertionsSincePrune += 1
        if insertionsSincePrune >= 4096 {
            prune(now: entry.at)
        }
    }

    private mutating func uncount(_ entry: Entry) {
        guard let uid = entry.caller?.uid, let held = perUID[uid] else { return }
        perUID[uid] = held > 1 ? held - 1 : nil
    }

    /// Drops the entries older than 24 hours.
    public mutating func prune(now: Timestamp) {
        let horizon = Self.horizon(now)
        let expired = entries.filter { $0.value.at.millisecondsSinceEpoch < horizon }
        for (slot, entry) in expired {
            entries[slot] = nil
            uncount(entry)
        }
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
    package init(wire: Accessd_V1_IdempotentReply) {
        self.init(
            actor: wire.actor, key: wire.key, at: Timestamp(millisecondsSinceEpoch: wire.atMs),
            code: StatusCode(rawValue: Int(wire.code)) ?? .unknown, message: wire.message, payload: wire.payload,
            revision: wire.revision, caller: wire.hasCaller ? Caller(wire: wire.caller) : nil)
    }

    package var wire: Accessd_V1_IdempotentReply {
        var reply = Accessd_V1_IdempotentReply()
        reply.actor = actor
        reply.key = key
        reply.atMs = at.millisecondsSinceEpoch
        reply.code = UInt32(code.rawValue)
        reply.message = message
        reply.payload = payload
        reply.revision = revision
        if let caller { reply.caller = Accessd_V1_Caller(caller) }
        return reply
    }
}

/// What the journal and the snapshots make durable: the state, the recent
/// events, the idempotent replies, and the lsn of the last journal record
/// they include, with that record's hash in the log's chain. A value: copies cost O(1).
public struct DurableState: Sendable {
    public var state: AccessState
    public var history: EventHistory
    public var idempotency: IdempotencyStore
    public var lsn: UInt64
    /// The hash of record `lsn` (`LogHash.zero` before the first, and when a
    /// snapshot of before the hash chain is all that holds it): the next
    /// record names it as its previous hash.
    package var logHash: LogHash = .zero

    public init(state: AccessState, history: EventHistory, idempotency: IdempotencyStore = IdempotencyStore(), lsn: UInt64 = 0) {
        self.state = state
        self.history = history
        self.idempotency = idempotency
        self.lsn = lsn
    }
}
