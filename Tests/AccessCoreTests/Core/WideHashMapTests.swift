import Testing

@testable import AccessCore

/// `WideHashMap`, the map of the access kept per user (R19's one lookup):
/// it answers as a `Dictionary` does after any sequence of writes, a copy
/// never sees a later write to the other, and equality and hashing look at
/// the entries only.
@Suite struct WideHashMapTests {
    /// A key whose hash puts every key in one of three buckets, so that
    /// lookups, updates and removals inside a crowded bucket are exercised.
    private struct Crowded: Hashable, Sendable {
        var number: Int
        func hash(into hasher: inout Hasher) { hasher.combine(number % 3) }
    }

    private func expectSame<Key: Hashable & Sendable, Value: Equatable & Sendable>(
        _ map: WideHashMap<Key, Value>, _ reference: [Key: Value], probes: some Sequence<Key>
    ) {
        #expect(map.count == reference.count)
        #expect(map.isEmpty == reference.isEmpty)
        var seen: [Key: Value] = [:]
        map.forEach { key, value in
            #expect(seen.updateValue(value, forKey: key) == nil, "a key met twice")
        }
        #expect(seen == reference)
        for key in probes {
            #expect(map[key] == reference[key])
            #expect(map.value(forKey: key, hash: key.hashValue) == reference[key])
        }
    }

    private func randomWrites<Key: Hashable & Sendable>(
        _ makeKey: (Int) -> Key, keys: Int, steps: Int, seed: UInt64
    ) {
        var random = SeededGenerator(seed: seed)
        var map = WideHashMap<Key, Int>()
        var reference: [Key: Int] = [:]
        var copies: [(WideHashMap<Key, Int>, [Key: Int])] = []
        for step in 0..<steps {
            let key = makeKey(Int.random(in: 0..<keys, using: &random))
            if Int.random(in: 0..<4, using: &random) == 0 {
                map[key] = nil
                reference[key] = nil
            } else {
                map[key] = step
                reference[key] = step
            }
            if step.isMultiple(of: 97) { copies.append((map, reference)) }
            if step.isMultiple(of: 199) { expectSame(map, reference, probes: (0..<keys).map(makeKey)) }
        }
        expectSame(map, reference, probes: (0..<keys).map(makeKey))
        // Every copy still holds what it held when it was taken.
        for (copy, then) in copies { expectSame(copy, then, probes: (0..<keys).map(makeKey)) }
    }

    @Test func answersAsADictionaryAfterRandomWrites() {
        randomWrites({ UserID(uncheckedRawValue: "usr_\($0)") }, keys: 3000, steps: 12000, seed: 0x51DE_0001)
    }

    @Test func answersAsADictionaryInsideCrowdedBuckets() {
        randomWrites({ Crowded(number: $0) }, keys: 60, steps: 3000, seed: 0x51DE_0002)
    }

    @Test func aBulkBuildEqualsOneEntryAtATime() {
        let entries = (0..<5000).map { (UserID(uncheckedRawValue: "usr_\($0)"), $0 * 7) }
        let bulk = WideHashMap(uniqueKeysWithValues: entries)
        var single = WideHashMap<UserID, Int>()
        for (key, value) in entries.reversed() { single[key] = value }
        #expect(bulk == single)
        #expect(bulk.hashValue == single.hashValue)
        expectSame(bulk, Dictionary(uniqueKeysWithValues: entries), probes: entries.map(\.0) + [UserID(uncheckedRawValue: "usr_x")])
        #expect(WideHashMap<UserID, Int>(uniqueKeysWithValues: []).isEmpty)
    }

    @Test func equalityAndHashingLookAtTheEntriesOnly() {
        let keys = (0..<400).map { Crowded(number: $0) }
        var forward = WideHashMap<Crowded, Int>()
        for key in keys { forward[key] = key.number }
        var backward = WideHashMap<Crowded, Int>()
        for key in keys.reversed() { backward[key] = key.number }
        #expect(forward == backward)
        #expect(forward.hashValue == backward.hashValue)
        var changed = forward
        changed[keys[17]] = -1
        #expect(changed != forward)
        changed[keys[17]] = 17
        #expect(changed == forward)
        changed[keys[17]] = nil
        #expect(changed != forward)
        // Emptied by removals, a map equals a new one.
        var emptied = forward
        for key in keys { emptied[key] = nil }
        #expect(emptied == WideHashMap())
        #expect(emptied.isEmpty && emptied[keys[0]] == nil)
    }

    @Test func warmingReadsAndChangesNothing() {
        var map = WideHashMap<UserID, Int>()
        let keys = (0..<1000).map { UserID(uncheckedRawValue: "usr_\($0)") }
        let hashes = keys.map(\.hashValue)
        #expect(hashes.withUnsafeBufferPointer { map.warm($0) } == 0)
        for (index, key) in keys.enumerated() where index.isMultiple(of: 2) { map[key] = index }
        let before = map
        #expect(hashes.withUnsafeBufferPointer { map.warm($0) } > 0)
        #expect(map == before)
        for (index, key) in keys.enumerated() { #expect(map[key] == (index.isMultiple(of: 2) ? index : nil)) }
    }
}
