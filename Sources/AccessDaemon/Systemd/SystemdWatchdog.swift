import AccessStore
import NIOConcurrencyHelpers
import NIOCore

extension StateOwner {
    /// A call that does nothing but run on the owner: it returns only when the
    /// actor (and the event loop it runs on) is free to take work.
    func heartbeat() -> UInt64 { published.revision }
}

/// Pets systemd's watchdog from the serving loop: every `interval` a task on
/// the state owner's loop enters the owner (a cheap isolated call) and only
/// then sends `WATCHDOG=1` (a non-blocking datagram),
/// so a hung owner or a blocked loop stops the petting and systemd restarts
/// the service after `WatchdogSec=`. Each tick also sends `STATUS=` when the
/// summary changed.
public final class SystemdWatchdog: Sendable {
    private let task: NIOLockedValueBox<RepeatedTask?> = NIOLockedValueBox(nil)
    private let lastStatus = NIOLockedValueBox("")

    /// Starts ticking. `intervalMicroseconds` is `SystemdNotifier.watchdogInterval`
    /// (half of `$WATCHDOG_USEC`); without a watchdog, `statusOnlyEverySeconds` keeps
    /// `STATUS=` fresh and no `WATCHDOG=1` is sent.
    public init(
        owner: StateOwner, notifier: SystemdNotifier, intervalMicroseconds: Int64?,
        statusOnlyEverySeconds: Int64 = 10, status: @escaping @Sendable () -> String
    ) {
        guard notifier.isEnabled else { return }
        let petting = intervalMicroseconds != nil
        let interval = intervalMicroseconds.map { TimeAmount.microseconds($0) } ?? .seconds(statusOnlyEverySeconds)
        let lastStatus = self.lastStatus
        let loop = owner.loop
        // The tick runs on the owner's own loop (its executor) and enters the
        // owner there, without the cooperative thread pool: a blocked loop or
        // a busy owner delays the tick, and so the ping.
        let repeated = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            _ = owner.assumeIsolated { $0.heartbeat() }
            var assignments = petting ? ["WATCHDOG=1"] : []
            let line = status()
            if lastStatus.withLockedValue({ old in defer { old = line }; return old != line }) {
                assignments.append("STATUS=" + line)
            }
            if !assignments.isEmpty { notifier.notify(assignments) }
        }
        task.withLockedValue { $0 = repeated }
    }

    /// Remembers the status last sent some other way, so a tick does not repeat it.
    public func sent(status: String) { lastStatus.withLockedValue { $0 = status } }

    /// Stops ticking (at shutdown, before the loops close).
    public func stop() {
        task.withLockedValue { task in
            task?.cancel()
            task = nil
        }
    }
}
