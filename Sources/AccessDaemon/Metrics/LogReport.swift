import AccessStore
import NIOCore

/// What the daemon says of the log its writes go through: GetStats, the
/// health check and the metrics all read this one report.
struct LogReport: Sendable {
    /// "local" (this host's journal) or "postgresql" (a log several hosts share).
    var kind: String
    /// Whether the log answers now (the local journal always does).
    var connected: Bool
    /// The newest record of the log as this host last saw it, and the one its state is that of.
    var headLSN: UInt64
    var appliedLSN: UInt64
    /// The hash of record `appliedLSN`.
    var appliedHash: LogHash
    var lagRecords: UInt64
    var lagMilliseconds: Int64
    /// Since when this host has not held every committed record: nil when it
    /// has not since it started; zero for the local journal.
    var silence: TimeAmount?
    /// Why writes are refused from now on, or nil.
    var writesStopped: String?

    /// Why reads are refused now (see `readsRefused(silence:...)`), or nil.
    func readsRefused(maxStalenessMilliseconds limit: Int64, failure: String?) -> String? {
        guard kind != "local" else { return nil }
        return Self.readsRefused(silence: silence, maxStalenessMilliseconds: limit, failure: failure)
    }

    /// The staleness rule of a shared log (README "Several hosts"): why reads
    /// are refused after `silence` without having caught up (nil: not since
    /// the start), or nil. A host behind the log for longer than `limit` may
    /// miss a revocation another host committed, and an authorization service
    /// fails closed.
    static func readsRefused(silence: TimeAmount?, maxStalenessMilliseconds limit: Int64, failure: String?) -> String? {
        if let silence, silence.nanoseconds <= limit * 1_000_000 { return nil }
        let since = silence.map { "for \($0.nanoseconds / 1_000_000) ms" } ?? "since it started"
        let why = failure.map { " (\($0))" } ?? ""
        return
            "this host has not caught up with the shared log \(since)\(why), longer than max_staleness_ms \(limit): reads are refused rather than answered from a state that may miss a revocation; try another host, or again later"
    }
}

extension LogReport {
    /// The report of `log` for a host whose state is `published`.
    init(log: any EventLog, published: PublishedState, writesStopped: String?, now: NIODeadline = .now()) {
        let status = log.status
        self.init(
            kind: log.hasOtherWriters ? "postgresql" : "local", connected: status.connected,
            headLSN: max(status.head, published.lsn), appliedLSN: published.lsn, appliedHash: published.logHash,
            lagRecords: status.head > published.lsn ? status.head - published.lsn : 0,
            lagMilliseconds: status.head > published.lsn ? status.lagMilliseconds : 0,
            silence: log.freshness.map { $0.silence(now: now) } ?? TimeAmount.zero, writesStopped: writesStopped)
    }
}
