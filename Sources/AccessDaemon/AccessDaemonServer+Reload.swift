import AccessStore
import Foundation
import NIOCore

extension AccessDaemonServer {
    /// Writes a snapshot every `seconds` when the state changed, on the
    /// owner's loop; replaces the schedule in force (a reload may change it).
    func scheduleSnapshots(everySeconds seconds: Int64) {
        let interval = TimeAmount.seconds(max(1, seconds))
        let loop = owner.loop
        let task = loop.scheduleRepeatedAsyncTask(initialDelay: interval, delay: interval) { [self] _ in
            snapshot(force: false).map { _ in }
        }
        snapshotTask.withLockedValue { old in
            old?.cancel()
            old = task
        }
    }

    /// Puts a reloaded configuration in force (SIGHUP) without dropping a
    /// connection: limits and administrators apply to connections already
    /// open from their next read, the snapshot interval from now, the drain
    /// timeout at the next shutdown. The socket, the state directory, the
    /// activation lifetime and the event retention stay until a restart.
    /// - Returns: the keys that changed.
    @discardableResult
    public func reload(_ configuration: DaemonConfiguration) -> ConfigurationChange {
        let before = live.current
        let change = live.replace(with: configuration)
        if before.snapshotIntervalSeconds != configuration.snapshotIntervalSeconds {
            scheduleSnapshots(everySeconds: configuration.snapshotIntervalSeconds)
        }
        return change
    }

    /// One line for systemd's `STATUS=` (and `systemctl status`): users,
    /// accounts, revision, connections, the last snapshot.
    public func statusSummary() -> String {
        let state = owner.published.state
        let status = runtimeStatus()
        var line = "\(state.users.count) users in \(state.accounts.count) accounts at revision \(state.revision); "
        line += "\(status.connections) connections; "
        if status.snapshotAtMilliseconds == 0 {
            line += "no snapshot written yet"
        } else {
            let date = Date(timeIntervalSince1970: Double(status.snapshotAtMilliseconds) / 1000)
            line += "last snapshot at revision \(status.snapshotRevision), \(Self.isoFormatter.string(from: date))"
        }
        return line
    }

    private static var isoFormatter: ISO8601DateFormatter { ISO8601DateFormatter() }
}
