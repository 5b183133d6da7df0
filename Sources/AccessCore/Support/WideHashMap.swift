/// A persistent hash map shaped for one hot lookup: the access kept for each
/// user, which every Check reads (R19).
///
/// A `TreeDictionary` spends five bits of the hash per level, so a lookup
/// among 100,000 keys walks four or five nodes, and each node's header is a
/// cache miss of its own (the profile of a pipelined Check put most of the
/// lookup's time on those loads). This map has three levels of fixed width:
/// a root of 512 slots, 256 buckets under each, and the bucket, an array of
/// entries searched by their stored hash. A lookup reads the root (hot), one
/// slot of the second level (2 KiB per slot of the root, mostly in cache) and
/// one bucket: one or two misses at any size. With 131,072 buckets, a million
/// keys make buckets of about eight entries.
///
/// It is a value with the same sharing as the trees around it: copying the
/// map copies one reference, and a write to one of two copies copies the
/// root (512 references), one second-level array (256) and one bucket, the
/// path it changes, never the rest. A state published to readers is never
/// written again, so readers on other threads see it whole.
///
/// The layout follows `Hasher`'s seed, which changes per process: nothing of
/// it is ever written to disk, and equality and hashing look at the entries
/// only, in no order.
struct WideHashMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    struct Entry: Sendable {
        var hash: Int
        var key: Key
        var value: Value
    }

    typealias Bucket = ContiguousArray<Entry>
    typealias Middle = ContiguousArray<Bucket>

    static var rootWidth: Int { 1 << 9 }
    static var middleWidth: Int { 1 << 8 }

    /// Empty until the first entry, then `rootWidth` middles (each empty
    /// until an entry falls under it, then `middleWidth` buckets).
    private var root: ContiguousArray<Middle> = []
    private(set) var count = 0

    init() {}

    /// A map of distinct keys, built in one pass with every bucket at its
    /// final size (a restore). A repeated key traps, as `TreeDictionary`'s does.
    init(uniqueKeysWithValues elements: some Sequence<(Key, Value)>) {
        var entries: [Entry] = []
        entries.reserveCapacity(elements.underestimatedCount)
        for (key, value) in elements { entries.append(Entry(hash: key.hashValue, key: key, value: value)) }
        guard !entries.isEmpty else { return }
        var sizes = [Int32](repeating: 0, count: Self.rootWidth * Self.middleWidth)
        for entry in entries { sizes[Self.bucketNumber(entry.hash)] += 1 }
        root = ContiguousArray(repeating: [], count: Self.rootWidth)
        for top in 0..<Self.rootWidth {
            let first = top * Self.middleWidth
            guard sizes[first..<first + Self.middleWidth].contains(where: { $0 > 0 }) else { continue }
            var middle = Middle(repeating: [], count: Self.middleWidth)
            for slot in 0..<Self.middleWidth where sizes[first + slot] > 0 {
                middle[slot].reserveCapacity(Int(sizes[first + slot]))
            }
            root[top] = middle
        }
        for entry in entries {
            let (top, slot) = Self.place(entry.hash)
            precondition(
                !root[top][slot].contains { $0.hash == entry.hash && $0.key == entry.key }, "duplicate key \(entry.key)")
            root[top][slot].append(entry)
        }
        count = entries.count
    }

    /// The root slot and the bucket under it: the hash's top 9 bits, then the next 8.
    @inline(__always)
    static func place(_ hash: Int) -> (top: Int, slot: Int) {
        let bits = UInt(bitPattern: hash)
        return (Int(truncatingIfNeeded: bits &>> (UInt.bitWidth - 9)), Int(truncatingIfNeeded: (bits &>> (UInt.bitWidth - 17)) & 0xff))
    }

    @inline(__always)
    static func bucketNumber(_ hash: Int) -> Int {
        let (top, slot) = place(hash)
        return top &* middleWidth &+ slot
    }

    var isEmpty: Bool { count == 0 }

    /// The value for `key`; setting nil removes it.
    /// - Complexity: O(1) on average (a bucket holds count / 131,072 entries on average).
    subscript(key: Key) -> Value? {
        get { value(forKey: key, hash: key.hashValue) }
        set {
            let hash = key.hashValue
            let (top, slot) = Self.place(hash)
            guard let newValue else {
                remove(key, hash: hash, top: top, slot: slot)
                return
            }
            if root.isEmpty { root = ContiguousArray(repeating: [], count: Self.rootWidth) }
            if root[top].isEmpty { root[top] = Middle(repeating: [], count: Self.middleWidth) }
            if let index = root[top][slot].firstIndex(where: { $0.hash == hash && $0.key == key }) {
                root[top][slot][index].value = newValue
                return
            }
            // Buckets grow one entry at a time (they hold a few), so none carries spare capacity.
            var bucket = Bucket()
            bucket.reserveCapacity(root[top][slot].count + 1)
            bucket.append(contentsOf: root[top][slot])
            bucket.append(Entry(hash: hash, key: key, value: newValue))
            root[top][slot] = bucket
            count += 1
        }
    }

    /// The value for `key`, whose `hashValue` is `hash`.
    func value(forKey key: Key, hash: Int) -> Value? {
        let (top, slot) = Self.place(hash)
        return root.withUnsafeBufferPointer { root -> Value? in
            guard !root.isEmpty else { return nil }
            return root[top].withUnsafeBufferPointer { middle -> Value? in
                guard !middle.isEmpty else { return nil }
                return middle[slot].withUnsafeBufferPointer { bucket -> Value? in
                    for index in bucket.indices where bucket[index].hash == hash && bucket[index].key == key {
                        return bucket[index].value
                    }
                    return nil
                }
            }
        }
    }

    /// Reads the bucket of every hash (its count and its first entry),
    /// one after another with nothing waiting on the loads, so that their
    /// cache misses overlap instead of coming one lookup at a time; the
    /// lookups that follow find the buckets in cache. Returns a sum of
    /// what it read, which the caller keeps so that the reads are made.
    func warm(_ hashes: UnsafeBufferPointer<Int>) -> Int {
        root.withUnsafeBufferPointer { root -> Int in
            guard !root.isEmpty else { return 0 }
            var sum = 0
            for hash in hashes {
                let (top, slot) = Self.place(hash)
                sum &+= root[top].withUnsafeBufferPointer { middle -> Int in
                    guard !middle.isEmpty else { return 0 }
                    return middle[slot].withUnsafeBufferPointer { bucket -> Int in
                        // The count sits before the first entry; the entry's value is on the next line.
                        guard let first = bucket.baseAddress else { return 0 }
                        return bucket.count
                            &+ Int(UnsafeRawPointer(first).load(fromByteOffset: MemoryLayout<Entry>.stride &- 1, as: UInt8.self))
                    }
                }
            }
            return sum
        }
    }

    private mutating func remove(_ key: Key, hash: Int, top: Int, slot: Int) {
        guard !root.isEmpty, !root[top].isEmpty,
            let index = root[top][slot].firstIndex(where: { $0.hash == hash && $0.key == key })
        else { return }
        count -= 1
        if count == 0 {
            root = []
            return
        }
        if root[top][slot].count == 1 {
            root[top][slot] = []
        } else {
            var bucket = Bucket()
            bucket.reserveCapacity(root[top][slot].count - 1)
            for (at, entry) in root[top][slot].enumerated() where at != index { bucket.append(entry) }
            root[top][slot] = bucket
        }
    }

    /// Every entry, in the order of the layout (which changes from process to process).
    func forEach(_ body: (Key, Value) throws -> Void) rethrows {
        for middle in root {
            for bucket in middle {
                for entry in bucket { try body(entry.key, entry.value) }
            }
        }
    }
}

extension WideHashMap: Equatable where Value: Equatable {
    static func == (lhs: WideHashMap, rhs: WideHashMap) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var same = true
        lhs.forEach { key, value in
            if same, rhs[key] != value { same = false }
        }
        return same
    }
}

extension WideHashMap: Hashable where Value: Hashable {
    /// Independent of the order of the entries, as equality is.
    func hash(into hasher: inout Hasher) {
        var sum = 0
        forEach { key, value in
            var entry = Hasher()
            entry.combine(key)
            entry.combine(value)
            sum &+= entry.finalize()
        }
        hasher.combine(count)
        hasher.combine(sum)
    }
}
