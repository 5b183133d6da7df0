import AccessStore
import AccessMapping
import AccessServer
import AccessWire
import NIOCore

/// The methods calls are counted by: every path of the method table in a
/// fixed order, and one slot for paths the table does not serve. Looking a
/// request's method up here is the method table lookup the connection makes
/// anyway (the table is the daemon's one router), so counting by method
/// costs no extra hash.
enum MeteredMethods {
    /// Every served path, sorted; a method's index is its slot.
    static let paths: [String] = MethodTable.entries.keys.sorted()
    /// The slot of a method the table does not serve (UNIMPLEMENTED).
    static let unknown = paths.count
    static let count = paths.count + 1

    /// A method of the table, its handler and its slot.
    struct Route: Sendable {
        let method: AnyMethod
        let handler: MethodHandler
        let slot: Int
    }

    /// The route of each method of the catalogue, by its index in `Methods.all`
    /// (`RequestHead.methodIndex`); nil for one the table does not serve.
    static let routes: [Route?] = {
        let slots = Dictionary(uniqueKeysWithValues: paths.enumerated().map { ($0.element, $0.offset) })
        return Methods.all.map { method in
            slots[method.path].map { slot in
                let entry = MethodTable.entries[method.path]!
                return Route(method: entry.method, handler: entry.handler, slot: slot)
            }
        }
    }()

    /// The route of a request's method, or nil when the table does not serve
    /// it: no path hashed (every method the table serves is in the catalogue).
    @inline(__always)
    static func route(of request: RequestHead) -> Route? {
        request.methodIndex.flatMap { routes[$0] }
    }

    /// Check's slot, for the calls the Check lane answers.
    static let checkSlot = routes[Methods.indexByPath[Methods.check.path]!]!.slot

    /// `(service, method)` of a slot, as the labels say them: `("accessd.v1.AccessService", "Check")`.
    static func labels(_ slot: Int) -> (service: String, method: String) {
        guard slot < paths.count else { return ("unknown", "unknown") }
        let parts = paths[slot].split(separator: "/")
        return (String(parts[0]), String(parts[1]))
    }
}

/// The upper bounds of the call-duration histogram buckets (seconds: 10 µs
/// to 10 s, then +Inf), in nanoseconds.
enum CallDurationBuckets {
    static let bounds: [UInt64] = [
        10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000,
    ]
    /// Buckets per method: the bounds and +Inf.
    static let count = bounds.count + 1

    /// The bucket a duration falls in (its first bound at or above it); calls are fast, so the scan is short.
    @inline(__always)
    static func index(of nanoseconds: UInt64) -> Int {
        var index = 0
        while index < bounds.count, nanoseconds > bounds[index] { index += 1 }
        return index
    }
}

/// One event loop's call counters: plain integers that only connections on
/// that loop change, with no lock, atomic or exclusivity check on the hot
/// path (the storage is a raw buffer). The daemon reads them when scraped,
/// by hopping to the loop (`copy()` there) and summing every loop's copy.
///
/// Layout, one `UInt64` slot each:
///   calls by (method, code), method-major: `MeteredMethods.count x 17`;
///   call durations by (method, bucket), not cumulative: `MeteredMethods.count x CallDurationBuckets.count`;
///   the durations' sum by method (nanoseconds): `MeteredMethods.count`;
///   then bytes received, bytes sent, connections accepted, and the calls in
///   flight (an `Int64` bit pattern: connections add and remove).
final class LoopMetrics: @unchecked Sendable {
    static let codes = 17
    static let callsBase = 0
    static let bucketsBase = MeteredMethods.count * codes
    static let sumsBase = bucketsBase + MeteredMethods.count * CallDurationBuckets.count
    static let bytesInSlot = sumsBase + MeteredMethods.count
    static let bytesOutSlot = bytesInSlot + 1
    static let acceptedSlot = bytesInSlot + 2
    static let inFlightSlot = bytesInSlot + 3
    static let slotCount = bytesInSlot + 4

    /// The loop whose connections count here (the only thread that touches `slots`).
    let loop: any EventLoop
    private let slots: UnsafeMutablePointer<UInt64>

    init(loop: any EventLoop) {
        self.loop = loop
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: 0, count: Self.slotCount)
    }

    deinit { slots.deallocate() }

    /// A call answered with `code` (0-16; anything else counts as UNKNOWN).
    @inline(__always)
    func answered(method slot: Int, code: Int) {
        let code = code >= 0 && code < Self.codes ? code : 2
        slots[Self.callsBase + slot * Self.codes + code] &+= 1
    }

    /// A call's duration, already placed in its bucket.
    @inline(__always)
    func observe(method slot: Int, bucket: Int, nanoseconds: UInt64) {
        slots[Self.bucketsBase + slot * CallDurationBuckets.count + bucket] &+= 1
        slots[Self.sumsBase + slot] &+= nanoseconds
    }

    @inline(__always) func received(_ bytes: Int) { slots[Self.bytesInSlot] &+= UInt64(truncatingIfNeeded: bytes) }
    @inline(__always) func sent(_ bytes: Int) { slots[Self.bytesOutSlot] &+= UInt64(truncatingIfNeeded: bytes) }
    @inline(__always) func accepted() { slots[Self.acceptedSlot] &+= 1 }
    @inline(__always) func inFlight(_ change: Int) { slots[Self.inFlightSlot] &+= UInt64(bitPattern: Int64(change)) }

    /// The counters as they are now; only on `loop`.
    func copy() -> CallTotals {
        loop.preconditionInEventLoop()
        return CallTotals(slots: Array(UnsafeBufferPointer(start: slots, count: Self.slotCount)))
    }
}

/// Call counters summed over loops (or one loop's copy).
struct CallTotals: Sendable, Equatable {
    var slots: [UInt64]

    init(slots: [UInt64] = Array(repeating: 0, count: LoopMetrics.slotCount)) { self.slots = slots }

    static func + (lhs: CallTotals, rhs: CallTotals) -> CallTotals {
        CallTotals(slots: zip(lhs.slots, rhs.slots).map { $0 &+ $1 })
    }

    func calls(method slot: Int, code: Int) -> UInt64 { slots[LoopMetrics.callsBase + slot * LoopMetrics.codes + code] }
    func calls(method slot: Int) -> UInt64 { (0..<LoopMetrics.codes).reduce(0) { $0 + calls(method: slot, code: $1) } }
    func bucket(method slot: Int, _ bucket: Int) -> UInt64 {
        slots[LoopMetrics.bucketsBase + slot * CallDurationBuckets.count + bucket]
    }
    func durationSum(method slot: Int) -> UInt64 { slots[LoopMetrics.sumsBase + slot] }
    var bytesReceived: UInt64 { slots[LoopMetrics.bytesInSlot] }
    var bytesSent: UInt64 { slots[LoopMetrics.bytesOutSlot] }
    var connectionsAccepted: UInt64 { slots[LoopMetrics.acceptedSlot] }
    var callsInFlight: Int64 { Int64(bitPattern: slots[LoopMetrics.inFlightSlot]) }
}
