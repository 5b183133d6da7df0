import AccessStore
import NIOConcurrencyHelpers
import NIOCore

/// At most one log line per interval for a kind of event peers can cause at
/// will (bad frames, refused connections), with a count of what was left out,
/// so that a peer cannot fill the journal with them. Shared by every connection.
final class LogRateLimit: Sendable {
    private struct State {
        var next: NIODeadline = .uptimeNanoseconds(0)
        var suppressed = 0
    }

    private let interval: TimeAmount
    private let state = NIOLockedValueBox(State())

    init(interval: TimeAmount = .seconds(1)) {
        self.interval = interval
    }

    /// Whether to log now, and how many lines were left out since the last one.
    func allow(now: NIODeadline = .now()) -> (log: Bool, suppressed: Int) {
        state.withLockedValue { state in
            guard now >= state.next else {
                state.suppressed += 1
                return (false, 0)
            }
            state.next = now + interval
            defer { state.suppressed = 0 }
            return (true, state.suppressed)
        }
    }
}
