import AccessStore
import AccessCore
import AccessTestSupport
import AccessWire
import NIOCore
import Testing

@testable import AccessDaemon

/// The connection as a value (`ConnectionStateMachine`): every limit of
/// docs/protocol.md ("Bad input and limits") checked without I/O, times
/// passed in. The defects of issue 12 that these pin down are named.
@Suite struct ConnectionStateMachineTests {
    static let limits = ConnectionStateMachine.Limits(
        maximumFrameLength: 4 * 1024 * 1024, callsInFlight: 4, frameStall: .seconds(10),
        defaultRevisionWait: .seconds(1), maximumRevisionWait: .seconds(30))

    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    /// A frame of `length` payload bytes (all 0x2A), with its 4-byte header.
    static func frame(_ length: Int) -> [UInt8] {
        let header = UInt32(length)
        return [UInt8(header >> 24), UInt8((header >> 16) & 0xFF), UInt8((header >> 8) & 0xFF), UInt8(header & 0xFF)]
            + [UInt8](repeating: 0x2A, count: length)
    }

    static func receive(_ machine: inout ConnectionStateMachine, _ bytes: some Sequence<UInt8>) {
        var buffer = ByteBuffer(bytes: Array(bytes))
        machine.received(&buffer)
    }

    /// Takes every whole frame the machine yields now; their payload lengths.
    static func drain(_ machine: inout ConnectionStateMachine) -> [Int] {
        var lengths: [Int] = []
        while case .frame(let frame) = machine.nextFrame() { lengths.append(frame.readableBytes) }
        return lengths
    }

    // MARK: Framing

    /// The Check lane's run (`answerAtOnce`): whole frames at the head are
    /// answered in order, each as its bytes lie; it stops at the first frame
    /// it leaves or whose id is not admitted, which `nextFrame` then yields
    /// whole; a frame still arriving or above the maximum length is never
    /// taken, and nothing is while the peer does not read its replies.
    @Test func theLanesRunTakesTheFramesItAnswersAndLeavesTheRest() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        // Payload: [id, answerable]; the frame of id 9 is one the lane leaves.
        let ids: [UInt8] = [1, 2, 3, 9, 4]
        Self.receive(&machine, ids.flatMap { [0, 0, 0, 2, $0, $0 == 9 ? 0 : 1] } + [0, 0, 0, 2, 5])
        var replies: [UInt64] = []
        let decide: (UnsafeRawBufferPointer) -> UInt64? = { $0.count == 2 && $0[1] == 1 ? UInt64($0[0]) : nil }
        #expect(machine.answerAtOnce(decide, id: { $0 }, reply: { replies.append($0) }) == 3)
        #expect(replies == [1, 2, 3])
        guard case .frame(let left) = machine.nextFrame() else {
            Issue.record("the frame the lane left is not yielded")
            return
        }
        #expect(Array(left.readableBytesView) == [9, 0])
        // A call in flight with the same id is not admitted: its frame stays for the general path.
        machine.started(4, .write)
        #expect(machine.answerAtOnce(decide, id: { $0 }, reply: { replies.append($0) }) == 0)
        #expect(Self.drain(&machine) == [2])
        // The frame of id 5 is still arriving: not taken until whole.
        #expect(machine.answerAtOnce(decide, id: { $0 }, reply: { replies.append($0) }) == 0)
        Self.receive(&machine, [1])
        _ = machine.writabilityChanged(writable: false)
        #expect(machine.answerAtOnce(decide, id: { $0 }, reply: { replies.append($0) }) == 0)
        _ = machine.writabilityChanged(writable: true)
        #expect(machine.answerAtOnce(decide, id: { $0 }, reply: { replies.append($0) }) == 1)
        #expect(replies == [1, 2, 3, 5])
        // Above the maximum length: left for `nextFrame`, which fails it.
        var small = ConnectionStateMachine(limits: .init(
            maximumFrameLength: 1, callsInFlight: 4, frameStall: .seconds(10),
            defaultRevisionWait: .seconds(1), maximumRevisionWait: .seconds(30)))
        Self.receive(&small, [0, 0, 0, 2, 7, 1])
        #expect(small.answerAtOnce(decide, id: { $0 }, reply: { replies.append($0) }) == 0)
        guard case .fail(.resourceExhausted, _) = small.nextFrame() else {
            Issue.record("an oversize frame left by the lane is not failed")
            return
        }
    }

    @Test func framesSplitAnywhereComeOutWhole() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        let stream = Self.frame(3) + Self.frame(0) + Self.frame(70_000)
        var seen: [Int] = []
        for start in stride(from: 0, to: stream.count, by: 7_001) {
            Self.receive(&machine, stream[start..<min(stream.count, start + 7_001)])
            seen += Self.drain(&machine)
            _ = machine.readEnded(now: Self.t0)
        }
        #expect(seen == [3, 0, 70_000])
        #expect(machine.inboundBytes == 0)
    }

    @Test func anOversizeLengthFailsAtItsHeaderWithResourceExhausted() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        Self.receive(&machine, [0x00, 0x50, 0x00, 0x01])
        guard case .fail(let code, let message) = machine.nextFrame() else {
            Issue.record("an oversize header fails the connection")
            return
        }
        #expect(code == .resourceExhausted)
        #expect(message.contains("longer than the maximum"))
        #expect(machine.lifecycle == .closed)
        #expect(machine.nextFrame() == .none)
    }

    /// Issue 12, item 2: 1 MiB frames sent back to back, each socket read
    /// ending half-way into the next frame, grew one connection by 1.6 GB.
    @Test func item2_aPendingFrameBehindHandledOnesIsCompactedSoTheBufferStaysNearOneFrame() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        let frameLength = 1 << 20
        let one = Self.frame(frameLength)
        var pending: [UInt8] = Array(one[..<(one.count / 2)])
        Self.receive(&machine, pending)
        var handled = 0
        var largest = 0
        for _ in 0..<200 {
            // The rest of this frame and the first half of the next, in one read.
            pending = Array(one[(one.count / 2)...]) + Array(one[..<(one.count / 2)])
            Self.receive(&machine, pending)
            handled += Self.drain(&machine).count
            _ = machine.readEnded(now: Self.t0)
            largest = max(largest, machine.inboundBytes)
        }
        #expect(handled == 200)
        #expect(largest <= one.count / 2 + 4, "what is held is the half frame pending, not every frame before it")
        #expect(machine.inboundCapacity <= 4 * one.count, "capacity \(machine.inboundCapacity)")
    }

    // MARK: The stall limit

    /// Issue 12, item 3: the limit was armed when a read ended mid-frame and
    /// cancelled only when a read ended on a frame boundary, so a healthy
    /// client whose writes never lined up with frames was closed after 10 s.
    @Test func item3_aConnectionWhoseFramesKeepFinishingIsNeverClosedForTheStallLimit() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        let stream = Array((0..<2_000).map { _ in Self.frame(50) }.joined())
        var now = Self.t0
        var timer: NIODeadline?
        var handled = 0
        // 60 s of reads of 37 bytes each, never on a frame boundary, every 30 ms.
        var offset = 0
        while offset < stream.count {
            Self.receive(&machine, stream[offset..<min(stream.count, offset + 37)])
            offset += 37
            handled += Self.drain(&machine).count
            if case .scheduleStallTimer(let deadline) = machine.readEnded(now: now) { timer = deadline }
            now = now + .milliseconds(30)
            if let deadline = timer, now >= deadline {
                switch machine.stallTimerFired(now: now) {
                case .close: Issue.record("closed at \((now - Self.t0).nanoseconds / 1_000_000) ms with frames finishing")
                case .reschedule(let next): timer = next
                case .none: timer = nil
                }
            }
        }
        #expect(handled == 2_000)
        #expect(machine.lifecycle == .open)
    }

    @Test func item3_aFrameThatHasStartedMustFinishWithinTheLimitEvenIfBytesTrickleIn() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        var now = Self.t0
        var timer: NIODeadline?
        let frame = Self.frame(1_000)
        var closedAt: NIODeadline?
        for index in 0..<frame.count {
            Self.receive(&machine, [frame[index]])
            _ = Self.drain(&machine)
            if case .scheduleStallTimer(let deadline) = machine.readEnded(now: now) { timer = deadline }
            now = now + .milliseconds(100)  // a byte every 100 ms: 100 s for the frame
            if let deadline = timer, now >= deadline {
                switch machine.stallTimerFired(now: now) {
                case .close:
                    closedAt = now
                case .reschedule(let next): timer = next
                case .none: timer = nil
                }
            }
            if closedAt != nil { break }
        }
        #expect(closedAt.map { ($0 - Self.t0) <= .seconds(11) } == true, "the frame's own 10 s ran out")
        #expect(machine.lifecycle == .closed)
    }

    @Test func anIdleConnectionHasNoStallTimer() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        Self.receive(&machine, Self.frame(10))
        #expect(Self.drain(&machine) == [10])
        #expect(machine.readEnded(now: Self.t0) == .none)
        #expect(machine.frameDeadline == nil)
    }

    // MARK: Back-pressure

    /// Issue 12, item 1: a peer that sends requests and never reads the
    /// replies made the daemon grow without bound.
    @Test func item1_whileThePeerLeavesRepliesUnreadNoFurtherRequestIsHandledNorReadFromTheSocket() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        Self.receive(&machine, Array((0..<10).map { _ in Self.frame(5) }.joined()))
        guard case .frame = machine.nextFrame() else {
            Issue.record("the first frame is handled")
            return
        }
        // Its reply crossed the high-water mark.
        #expect(machine.writabilityChanged(writable: false) == .none)
        #expect(machine.nextFrame() == .none, "frames wait in the buffer")
        #expect(machine.readRequested() == false, "and nothing more is read from the socket")
        #expect(machine.readEnded(now: Self.t0) == .none, "the stall limit does not run while the daemon holds back")
        #expect(machine.writabilityChanged(writable: true) == .resume(read: true))
        #expect(Self.drain(&machine).count == 9)
        #expect(machine.readRequested() == true)
    }

    // MARK: Calls

    @Test func admissionRefusesDuplicatesTheInFlightLimitAndCallsAfterGoAway() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        for id in 1...4 as ClosedRange<UInt64> {
            #expect(machine.admit(id: id) == .accepted)
            machine.started(id, .daemon)
        }
        guard case .rejected(.invalidArgument, _) = machine.admit(id: 2) else {
            Issue.record("a duplicate id is refused")
            return
        }
        guard case .rejected(.resourceExhausted, _) = machine.admit(id: 5) else {
            Issue.record("the fifth call in flight is refused")
            return
        }
        #expect(machine.finished(1) == .none)
        #expect(machine.admit(id: 5) == .accepted)
        let goAway = machine.goAway()
        #expect(goAway.sendGoAway && !goAway.close)
        guard case .rejected(.unavailable, _) = machine.admit(id: 6) else {
            Issue.record("a call after GoAway gets UNAVAILABLE")
            return
        }
        for id in [2, 3] as [UInt64] { #expect(machine.finished(id) == .none) }
        #expect(machine.finished(4) == .close, "the last answer closes a connection going away")
    }

    @Test func cancelStopsWaitingReadsAndStreamsButNeverAWrite() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        machine.queueWrite(1, WriteCall(
            command: .renameAccount(account: AccountID(uncheckedRawValue: "acc_1"), name: "X"), principal: .administrator, dryRun: false,
            idempotencyKey: "", reply: { _, _ in .init() }, deadline: nil))
        _ = machine.wait(2, Self.waiting(revision: 10, deadline: Self.t0 + .seconds(1)))
        machine.started(3, .stream(after: 0))
        #expect(machine.cancel(1) == .ignored)
        #expect(machine.cancel(2) == .cancelledRead)
        #expect(machine.cancel(3) == .cancelledStream)
        #expect(machine.cancel(9) == .ignored)
        #expect(machine.takeQueuedWrites().map(\.id) == [1])
    }

    // MARK: Reads waiting for a revision

    static func waiting(revision: UInt64, deadline: NIODeadline) -> ConnectionStateMachine.WaitingRead {
        .init(method: "/m", payload: ByteBuffer(), principal: .anonymous, minRevision: revision, deadline: deadline)
    }

    /// Issue 12, item 4: waiting reads were re-polled every millisecond and a
    /// wait of 49 days was accepted. Now the connection registers once, for the
    /// lowest revision awaited, and every wait ends by the configured cap.
    @Test func item4_waitingReadsRegisterOnceForTheLowestRevisionAndAreWokenInOrder() {
        var machine = ConnectionStateMachine(limits: .init(
            maximumFrameLength: 1024, callsInFlight: 200, frameStall: .seconds(10),
            defaultRevisionWait: .seconds(1), maximumRevisionWait: .seconds(30)))
        var registrations: [UInt64] = []
        for id in 1...128 as ClosedRange<UInt64> {
            let actions = machine.wait(id, Self.waiting(revision: 1_000 + id % 4, deadline: Self.t0 + .seconds(30)))
            if let revision = actions.registerWake { registrations.append(revision) }
        }
        #expect(registrations == [1_001, 1_000], "one registration per new lowest revision, not one per read")
        let first = machine.revisionReached(1_001)
        #expect(first.ready.count == 64)
        #expect(first.ready.map(\.0) == first.ready.map(\.0).sorted())
        #expect(first.registerWake == 1_002)
        let rest = machine.revisionReached(1_003)
        #expect(rest.ready.count == 64 && rest.registerWake == nil)
        #expect(machine.calls.isEmpty)
    }

    @Test func item4_theLongestWaitIsCappedWhateverTheDeadline() {
        let machine = ConnectionStateMachine(limits: Self.limits)
        let fortyNineDays = Self.t0 + .hours(49 * 24)
        #expect(machine.revisionWaitDeadline(now: Self.t0, requested: fortyNineDays) == Self.t0 + .seconds(30))
        #expect(machine.revisionWaitDeadline(now: Self.t0, requested: nil) == Self.t0 + .seconds(1))
        #expect(machine.revisionWaitDeadline(now: Self.t0, requested: Self.t0 + .milliseconds(5)) == Self.t0 + .milliseconds(5))
    }

    @Test func expiredWaitsComeOutOfTheTimerAndTheNextDeadlineIsScheduled() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        #expect(machine.wait(1, Self.waiting(revision: 5, deadline: Self.t0 + .seconds(2))).scheduleWaitTimer == Self.t0 + .seconds(2))
        #expect(machine.wait(2, Self.waiting(revision: 5, deadline: Self.t0 + .seconds(1))).scheduleWaitTimer == Self.t0 + .seconds(1))
        #expect(machine.wait(3, Self.waiting(revision: 5, deadline: Self.t0 + .seconds(3))).scheduleWaitTimer == nil)
        let fired = machine.waitTimerFired(now: Self.t0 + .seconds(1))
        #expect(fired.expired.map(\.0) == [2])
        #expect(fired.next == Self.t0 + .seconds(2))
    }

    // MARK: Streams

    @Test func aStreamPullsFromWhereItStandsOnlyWhileThePeerTakesWhatIsSent() {
        var machine = ConnectionStateMachine(limits: Self.limits)
        machine.started(7, .stream(after: 40))
        #expect(machine.streamReady(7) == .pull(after: 40))
        machine.streamSent(7, through: 296)
        #expect(machine.streamReady(7) == .pull(after: 296))
        _ = machine.writabilityChanged(writable: false)
        #expect(machine.streamReady(7) == .wait, "a follower that stops reading holds its place, not its events")
        _ = machine.writabilityChanged(writable: true)
        #expect(machine.streams == [7])
        #expect(machine.closed() == [7])
        #expect(machine.streamReady(7) == .wait)
    }
}

