package import CoreMetrics

/// What the journal counts as it writes (swift-metrics handles, rendered by
/// swift-prometheus). Its thread is the journal writer's, once per record.
public struct JournalMetrics: Sendable {
    package var records: CoreMetrics.Counter
    package var bytes: CoreMetrics.Counter
    package var syncs: CoreMetrics.Counter
    package var appendFailures: CoreMetrics.Counter
    package var syncDuration: CoreMetrics.Timer

    package init(
        records: CoreMetrics.Counter, bytes: CoreMetrics.Counter, syncs: CoreMetrics.Counter,
        appendFailures: CoreMetrics.Counter, syncDuration: CoreMetrics.Timer
    ) {
        self.records = records
        self.bytes = bytes
        self.syncs = syncs
        self.appendFailures = appendFailures
        self.syncDuration = syncDuration
    }
}

