package import NIOCore
import Synchronization

/// When this host last knew it held every record of a log other hosts write
/// too: the moment a look at the log (a poll, a notification's query, an
/// append's answer) found nothing this host had not applied. Reads compare
/// it with `max_staleness_ms` and fail closed past it: a revocation another
/// host committed may not have arrived.
///
/// One atomic word, read by every read on every loop without a lock.
package final class LogFreshness: Sendable {
    /// `NIODeadline.uptimeNanoseconds` of the last time caught up; 0: never.
    private let caughtUpAt = Atomic<UInt64>(0)

    package init() {}

    /// The host held every committed record as of `moment` (the time the
    /// look began, not when its answer came: the answer may be late).
    package func caughtUp(at moment: NIODeadline) {
        let nanoseconds = max(1, moment.uptimeNanoseconds)
        var current = caughtUpAt.load(ordering: .relaxed)
        while current < nanoseconds {
            let (exchanged, original) = caughtUpAt.compareExchange(
                expected: current, desired: nanoseconds, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// How long ago the host was last caught up, or nil if it never was since start.
    package func silence(now: NIODeadline) -> TimeAmount? {
        let at = caughtUpAt.load(ordering: .relaxed)
        guard at > 0 else { return nil }
        return .nanoseconds(Int64(now.uptimeNanoseconds >= at ? now.uptimeNanoseconds - at : 0))
    }
}
