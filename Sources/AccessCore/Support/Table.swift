import HashTreeCollections

/// A persistent map of the state's records: a `TreeDictionary` whose values
/// sit behind immutable boxes.
///
/// Like `TreeDictionary`, a copy costs O(1) and a write to one of two copies
/// copies only the O(log n) nodes on its path; boxing keeps those nodes small
/// (a key and a pointer per entry, not a whole record), so the path copies a
/// write pays after a snapshot copy are cheap, and a lookup retains one
/// object instead of every field of the record.
public struct Table<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private var storage: TreeDictionary<Key, Box<Value>> = [:]

    public init() {}

    /// A table of records with distinct keys, built in one pass (a restore).
    public init(uniqueKeysWithValues records: some Sequence<(Key, Value)>) {
        storage = TreeDictionary(uniqueKeysWithValues: records.lazy.map { ($0.0, Box($0.1)) })
    }

    /// The record for `key`. Setting replaces the whole record (in a new box).
    /// - Complexity: O(log n).
    public subscript(key: Key) -> Value? {
        get { storage[key]?.value }
        set { storage[key] = newValue.map(Box.init) }
    }

    /// Whether there is a record for `key`, without copying it out of its box.
    /// - Complexity: O(log n).
    public func contains(_ key: Key) -> Bool { storage[key] != nil }

    /// - Complexity: O(1).
    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    public var keys: some Collection<Key> { storage.keys }
    public var values: some Collection<Value> { storage.values.lazy.map(\.value) }
}

extension Table: Sequence {
    public struct Iterator: IteratorProtocol {
        var base: TreeDictionary<Key, Box<Value>>.Iterator

        public mutating func next() -> (key: Key, value: Value)? {
            base.next().map { ($0.key, $0.value.value) }
        }
    }

    public func makeIterator() -> Iterator { Iterator(base: storage.makeIterator()) }

    public var underestimatedCount: Int { storage.count }
}

extension Table: Equatable where Value: Equatable {
    /// Shared subtrees and shared boxes compare without looking inside.
    public static func == (lhs: Table, rhs: Table) -> Bool { lhs.storage == rhs.storage }
}

extension Table: Hashable where Value: Hashable {
    public func hash(into hasher: inout Hasher) { hasher.combine(storage) }
}

/// One immutable record on the heap.
final class Box<Value: Sendable>: Sendable {
    let value: Value

    init(_ value: Value) { self.value = value }
}

extension Box: Equatable where Value: Equatable {
    static func == (lhs: Box, rhs: Box) -> Bool { lhs === rhs || lhs.value == rhs.value }
}

extension Box: Hashable where Value: Hashable {
    func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
