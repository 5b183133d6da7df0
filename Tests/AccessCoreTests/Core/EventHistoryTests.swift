import AccessStatus
import Testing

@testable import AccessCore

/// The recent events kept for "events after N" (R20): retention, reads after a
/// sequence number, OUT_OF_RANGE once trimmed.
@Suite struct EventHistoryTests {
    /// Real events from a small world: at least `count` of them, numbered from 1.
    private func events(_ count: Int) throws -> [Event] {
        var world = World()
        let (acme, owner) = try world.createAccount()
        var i = 0
        while world.history.count < count {
            try world.run(.createOffice(account: acme, name: "Office \(i)"), as: .user(owner))
            i += 1
        }
        return Array(world.history.prefix(count))
    }

    @discardableResult
    private func expectReadError<T>(
        _ code: StatusCode, rule: Rule?, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
    ) -> AccessError? {
        do {
            let value = try body()
            Issue.record("expected \(code), got \(value)", sourceLocation: sourceLocation)
            return nil
        } catch let error as AccessError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
            #expect(error.rule == rule, "\(error)", sourceLocation: sourceLocation)
            return error
        } catch {
            Issue.record("expected an AccessError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    @Test func anEmptyHistoryHasNothingAfterZero() throws {
        let history = EventHistory()
        #expect(history.lastSeq == 0)
        #expect(try history.events(after: 0).isEmpty)
        #expect(try history.events(after: 10).isEmpty)
    }

    @Test func eventsAfterNAreTheOnesNumberedAboveN() throws {
        let all = try events(12)
        var history = EventHistory()
        history.append(all)
        #expect(history.firstSeq == 1 && history.lastSeq == 12)
        #expect(try history.events(after: 0) == all)
        #expect(try history.events(after: 5) == Array(all[5...]))
        #expect(try history.events(after: 11) == [all[11]])
        #expect(try history.events(after: 12).isEmpty)
        #expect(try history.events(after: 99).isEmpty, "a reader ahead of the history gets nothing")
    }

    @Test func aLimitCapsTheReply() throws {
        let all = try events(12)
        var history = EventHistory()
        history.append(all)
        #expect(try history.events(after: 0, limit: 3) == Array(all[0..<3]))
        #expect(try history.events(after: 3, limit: 3) == Array(all[3..<6]))
        #expect(try history.events(after: 10, limit: 100) == Array(all[10...]))
        expectReadError(.invalidArgument, rule: nil) { try history.events(after: 0, limit: 0) }
    }

    @Test func retentionKeepsOnlyTheNewestEvents() throws {
        let all = try events(12)
        var history = EventHistory(retention: 5)
        history.append(all)
        #expect(history.retention == 5)
        #expect(history.firstSeq == 8)
        #expect(history.lastSeq == 12)
        #expect(history.count == 5)
        #expect(try history.events(after: 7) == Array(all[7...]), "the oldest held is still readable")
        #expect(try history.events(after: 10) == Array(all[10...]))
    }

    @Test func askingForTrimmedEventsIsOutOfRange() throws {
        let all = try events(12)
        var history = EventHistory(retention: 5)
        history.append(all)
        let error = expectReadError(.outOfRange, rule: nil) { try history.events(after: 6) }
        #expect(error?.message.contains("8") == true, "the message names the oldest held: \(error?.message ?? "")")
        expectReadError(.outOfRange, rule: nil) { try history.events(after: 0) }
    }

    @Test func appendingOneAtATimeTrimsAsItGoes() throws {
        let all = try events(10)
        var history = EventHistory(retention: 3)
        for (index, event) in all.enumerated() {
            history.append([event])
            #expect(history.lastSeq == event.seq)
            #expect(history.count == min(index + 1, 3))
            #expect(history.firstSeq == UInt64(max(1, index - 1)))
        }
        #expect(try history.events(after: 7) == Array(all[7...]))
    }

    @Test func aCopyIsNotChangedByLaterAppends() throws {
        let all = try events(8)
        var history = EventHistory(retention: 4)
        history.append(all.prefix(4))
        let copy = history
        history.append(all.dropFirst(4))
        #expect(copy.lastSeq == 4 && copy.firstSeq == 1)
        #expect(try copy.events(after: 0) == Array(all.prefix(4)))
        #expect(history.firstSeq == 5)
        expectReadError(.outOfRange, rule: nil) { try history.events(after: 0) }
    }

    @Test func chunkBoundariesRetentionAndCopiesHoldAcrossHundredsOfEvents() throws {
        // More than two chunks (EventHistory.chunkSize) in uneven batches, a
        // retention that cuts mid-chunk, and copies taken along the way.
        let all = try events(700)
        var history = EventHistory(retention: 300)
        var copies: [(EventHistory, Int)] = []
        var appended = 0
        for size in [1, 255, 1, 3, 300, 140] {
            history.append(all[appended..<appended + size])
            appended += size
            copies.append((history, appended))
            #expect(history.lastSeq == UInt64(appended))
            #expect(history.count == min(appended, 300))
        }
        for (copy, upTo) in copies {
            let first = max(0, upTo - 300)
            #expect(try copy.events(after: UInt64(first), limit: 1000) == Array(all[first..<upTo]), "a copy at \(upTo)")
        }
        #expect(try history.events(after: 400, limit: 1000) == Array(all[400...]))
        #expect(try history.events(after: 500, limit: 7) == Array(all[500..<507]))
        expectReadError(.outOfRange, rule: nil) { try history.events(after: 399) }

        var restored = EventHistory(retention: 300)
        restored.skip(to: 400)
        restored.append(all[400...])
        #expect(restored == history, "the same events under the same retention are equal however they were laid out")
    }

    @Test func appendingOutOfSequenceStops() async {
        await #expect(processExitsWith: .failure) {
            var history = EventHistory()
            history.append([
                Event(seq: 2, time: Timestamp(millisecondsSinceEpoch: 0), actor: .administrator, change: .outboxAcknowledged([]))
            ])
        }
    }
}
