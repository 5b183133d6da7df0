import AccessStore
import NIOConcurrencyHelpers
import Synchronization

/// What the local peers hold, per uid and in total, for the limits of
/// docs/protocol.md ("Bad input and limits"): connections (administrators
/// always keep room), bytes of unfinished frames, and the write rate. Shared
/// by the listener and every connection; a lock is taken per connection
/// opened or closed and per write admitted under a rate limit, an atomic per
/// socket read.
final class PeerRegistry: Sendable {
    struct Limits: Sendable, Equatable {
        /// Connections in all.
        var connections: Int
        /// Connections of one uid that is not an administrator.
        var connectionsPerUID: Int
        /// Of `connections`, kept for administrators: peers of other classes
        /// are refused once `connections - reservedForAdministrators` are open.
        var reservedForAdministrators: Int
        /// Bytes of frames begun but not finished, over all connections of one uid.
        var inboundBytesPerUID: Int
        /// Writes a second per uid that is not an administrator; 0: no limit.
        var writesPerSecondPerUID: Double
        /// Writes a uid may make at once before the rate applies.
        var writeBurstPerUID: Double
    }

    /// Why a connection is refused.
    struct Refusal: Error, Sendable, Equatable {
        var message: String
    }

    private struct State {
        var total = 0
        var usage: [UInt32: PeerUsage] = [:]
    }

    private let state = NIOLockedValueBox(State())

    init() {}

    /// Open connections in all.
    var connections: Int { state.withLockedValue { $0.total } }

    /// Counts a new connection of `uid`, or says why it cannot open.
    func admit(uid: UInt32, administrator: Bool, limits: Limits) -> Result<PeerUsage, Refusal> {
        state.withLockedValue { state in
            let usage = state.usage[uid] ?? PeerUsage(uid: uid)
            if administrator {
                guard state.total < limits.connections else {
                    return .failure(Refusal(message: "too many connections (\(limits.connections) are open); try again later"))
                }
            } else {
                let shared = max(0, limits.connections - limits.reservedForAdministrators)
                guard state.total < shared else {
                    return .failure(
                        Refusal(
                            message:
                                "too many connections (\(state.total) are open; the last \(limits.reservedForAdministrators) of max_connections \(limits.connections) are kept for administrators); try again later"
                        ))
                }
                guard usage.connections < limits.connectionsPerUID else {
                    return .failure(
                        Refusal(
                            message:
                                "uid \(uid) has \(usage.connections) connections open, the most one uid may hold (max_connections_per_uid); close some or share them"
                        ))
                }
            }
            usage.connections += 1
            state.usage[uid] = usage
            state.total += 1
            return .success(usage)
        }
    }

    /// A connection counted by `admit` closed.
    func release(_ usage: PeerUsage) {
        state.withLockedValue { state in
            usage.connections -= 1
            state.total -= 1
        }
    }
}

/// One uid's share of the limits, held by each of its connections.
final class PeerUsage: @unchecked Sendable {
    let uid: UInt32
    /// Guarded by the registry's lock.
    fileprivate var connections = 0
    /// Bytes of unfinished frames over the uid's connections.
    private let inbound = Atomic<Int>(0)
    private let bucket = NIOLockedValueBox<TokenBucket?>(nil)

    fileprivate init(uid: UInt32) { self.uid = uid }

    /// Moves the uid's count of unfinished-frame bytes by `delta`.
    /// - Returns: the count after the move.
    @discardableResult
    func addInbound(_ delta: Int) -> Int {
        inbound.wrappingAdd(delta, ordering: .relaxed).newValue
    }

    var inboundBytes: Int { inbound.load(ordering: .relaxed) }

    /// Takes one write from the uid's rate limit (`limits` as in force now:
    /// the bucket follows a reload of the rate or the burst).
    /// - Returns: nil when the write may go ahead, else how long to wait, in ms.
    func takeWrite(limits: PeerRegistry.Limits, nowNanoseconds: UInt64) -> Int64? {
        guard limits.writesPerSecondPerUID > 0 else { return nil }
        return bucket.withLockedValue { bucket in
            if bucket == nil {
                bucket = TokenBucket(rate: limits.writesPerSecondPerUID, burst: limits.writeBurstPerUID)
            } else if bucket!.rate != limits.writesPerSecondPerUID || bucket!.burst != max(1, limits.writeBurstPerUID) {
                bucket!.configure(rate: limits.writesPerSecondPerUID, burst: limits.writeBurstPerUID)
            }
            return bucket!.take(nowNanoseconds: nowNanoseconds)
        }
    }
}
