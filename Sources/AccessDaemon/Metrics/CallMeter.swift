import AccessStore
import NIOCore

/// One connection's share of the call metrics, as a value its handler holds:
/// it tells the loop's `LoopMetrics` each call's method, code and duration.
///
/// What it costs per call answered at once (the common case: Check and the
/// other reads): the method's slot comes with the method table lookup the
/// connection makes anyway, then two integer increments. The clock is read
/// twice per socket read, not per call: when its first request is handled
/// and when the read's frames are done; every call answered within the read
/// gets that duration (the time from the read to its reply, queueing behind
/// the read's other frames included). A call answered later (a write, once
/// its journal record is durable; a read waiting for a revision; a stream; a
/// daemon call) keeps its read's start and reads the clock once when answered.
struct CallMeter {
    let block: LoopMetrics?
    /// The call being handled now, on its way in.
    private var current: (id: UInt64, slot: Int, answered: Bool)?
    /// Calls that will be answered later: their method and their read's start.
    private var pending: [UInt64: (slot: Int, start: UInt64)] = [:]
    /// When the socket read being handled began (uptime ns; 0: not read yet).
    private var readStart: UInt64 = 0
    /// The methods of the calls answered within this read.
    private var answeredInRead: [Int] = []

    init(block: LoopMetrics?) {
        self.block = block
        block?.accepted()
    }

    @inline(__always)
    private static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

    /// A request of method `slot` is being handled.
    @inline(__always)
    mutating func begin(id: UInt64, slot: Int) {
        guard block != nil else { return }
        if readStart == 0 { readStart = Self.now() }
        current = (id, slot, false)
    }

    /// The request is handled: unanswered, it is in flight until `answered`.
    @inline(__always)
    mutating func endRequest() {
        guard let block, let call = current else { return }
        current = nil
        if !call.answered {
            pending[call.id] = (call.slot, readStart)
            block.inFlight(1)
        }
    }

    /// A call of method `slot` answered at once with `code`, with no
    /// `begin` (the Check lane): it takes its read's duration.
    @inline(__always)
    mutating func answeredAtOnce(slot: Int, code: Int) {
        guard let block else { return }
        if readStart == 0 { readStart = Self.now() }
        block.answered(method: slot, code: code)
        answeredInRead.append(slot)
    }

    /// The final reply of call `id` is written with `code`.
    @inline(__always)
    mutating func answered(id: UInt64, code: Int) {
        guard let block else { return }
        if let call = current, call.id == id, !call.answered {
            current!.answered = true
            block.answered(method: call.slot, code: code)
            answeredInRead.append(call.slot)
        } else if let call = pending.removeValue(forKey: id) {
            block.answered(method: call.slot, code: code)
            block.inFlight(-1)
            let elapsed = Self.now() &- call.start
            block.observe(method: call.slot, bucket: CallDurationBuckets.index(of: elapsed), nanoseconds: elapsed)
        }
    }

    /// The frames of one socket read are handled: the calls answered within
    /// it take its duration.
    @inline(__always)
    mutating func readEnded() {
        guard let block, readStart != 0 else { return }
        if !answeredInRead.isEmpty {
            let elapsed = Self.now() &- readStart
            let bucket = CallDurationBuckets.index(of: elapsed)
            for slot in answeredInRead { block.observe(method: slot, bucket: bucket, nanoseconds: elapsed) }
            answeredInRead.removeAll(keepingCapacity: true)
        }
        readStart = 0
    }

    /// Bytes the peer sent, and bytes written to it.
    @inline(__always) func received(_ bytes: Int) { block?.received(bytes) }
    @inline(__always) func sent(_ bytes: Int) { block?.sent(bytes) }

    /// The connection closed: its unanswered calls are no longer in flight.
    mutating func closed() {
        guard let block, !pending.isEmpty else { return }
        block.inFlight(-pending.count)
        pending = [:]
    }
}
