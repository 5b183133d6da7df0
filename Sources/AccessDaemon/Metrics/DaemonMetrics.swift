public import AccessStore
import AccessStatus
import AccessCore
import CoreMetrics
import NIOConcurrencyHelpers
public import NIOCore
import Prometheus

/// What the daemon itself says at a scrape (read when scraped, not counted).
struct DaemonReading: Sendable {
    var revision: UInt64
    var users: Int
    var accounts: Int
    var connections: Int
    var serving: Bool
    var uptimeNanoseconds: UInt64
    var startTimeMilliseconds: Int64
    var lastSnapshotRevision: UInt64
    var lastSnapshotAtMilliseconds: Int64
    var log: LogReport
}

/// The daemon's metrics. The calls (by method and code, their durations,
/// bytes, connections, calls in flight) are counted per event loop in
/// `LoopMetrics` blocks, without a lock, atomic or clock read per call, and
/// summed when scraped (`gather`). The cold paths (journal, snapshots,
/// recovery) count through swift-metrics handles whose backend is a
/// swift-prometheus registry; the state's figures are read at the scrape.
/// `render` gives the whole as Prometheus text exposition 0.0.4.
public final class DaemonMetrics: Sendable {
    /// One block per loop serving connections.
    let loops: [LoopMetrics]
    private let byLoop: [ObjectIdentifier: LoopMetrics]
    private let registry = PrometheusCollectorRegistry()
    public let journal: JournalMetrics
    let snapshotsWritten: CoreMetrics.Counter
    let snapshotFailures: CoreMetrics.Counter
    let snapshotDuration: CoreMetrics.Timer
    let snapshotBytes: CoreMetrics.Meter
    let recoveryDuration: CoreMetrics.Meter
    let recoveryRecords: CoreMetrics.Meter
    private let revision: CoreMetrics.Meter
    private let users: CoreMetrics.Meter
    private let accounts: CoreMetrics.Meter
    private let connections: CoreMetrics.Meter
    private let callsInFlight: CoreMetrics.Meter
    private let serving: CoreMetrics.Meter
    private let uptime: CoreMetrics.Meter
    private let startTime: CoreMetrics.Meter
    private let lastSnapshotRevision: CoreMetrics.Meter
    private let lastSnapshotTime: CoreMetrics.Meter
    private let logConnected: CoreMetrics.Meter
    private let logHead: CoreMetrics.Meter
    private let logApplied: CoreMetrics.Meter
    private let logLagRecords: CoreMetrics.Meter
    private let logLag: CoreMetrics.Meter
    private let writesStopped: CoreMetrics.Meter
    /// Scrapes set the gauges, then emit: one at a time.
    private let scrapeLock = NIOLock()

    /// Blocks for `loops` (every loop that serves connections).
    public init(loops: [any EventLoop], version: String) {
        let blocks = loops.map(LoopMetrics.init(loop:))
        self.loops = blocks
        var byLoop: [ObjectIdentifier: LoopMetrics] = [:]
        for block in blocks { byLoop[ObjectIdentifier(block.loop)] = block }
        self.byLoop = byLoop

        let registry = self.registry
        let factory = PrometheusMetricsFactory(registry: registry)
        func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "accessd", metricName: name, unitName: unit, helpText: help)
        }
        func counter(_ metric: String, _ help: String) -> CoreMetrics.Counter {
            let descriptor = name(metric, "total", help)
            return CoreMetrics.Counter(
                label: descriptor.name, dimensions: [], handler: registry.makeCounter(descriptor: descriptor), factory: factory)
        }
        func gauge(_ metric: String, _ unit: String = "", _ help: String) -> CoreMetrics.Meter {
            let descriptor = name(metric, unit, help)
            return CoreMetrics.Meter(
                label: descriptor.name, dimensions: [], handler: registry.makeGauge(descriptor: descriptor), factory: factory)
        }
        func timer(_ metric: String, _ help: String, buckets: [Duration]) -> CoreMetrics.Timer {
            let descriptor = name(metric, "seconds", help)
            return CoreMetrics.Timer(
                label: descriptor.name, dimensions: [],
                handler: registry.makeDurationHistogram(descriptor: descriptor, buckets: buckets), factory: factory)
        }
        let milliseconds: [Duration] = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        ]
        journal = JournalMetrics(
            records: counter("journal_records", "Journal records written (one per batch of writes) since the daemon started."),
            bytes: counter("journal_bytes", "Bytes appended to the journal (records with their framing) since the daemon started."),
            syncs: counter("journal_syncs", "fdatasyncs of the journal since the daemon started."),
            appendFailures: counter(
                "journal_append_failures",
                "Journal appends that failed (for example a full disk); their writes were refused and rolled back."),
            syncDuration: timer("journal_sync_duration", "How long each fdatasync of the journal took.", buckets: milliseconds))
        snapshotsWritten = counter("snapshots", "Snapshots written since the daemon started.")
        snapshotFailures = counter("snapshot_failures", "Snapshots that could not be written since the daemon started.")
        snapshotDuration = timer(
            "snapshot_duration", "How long each snapshot took to encode, write and sync (on its own thread).",
            buckets: [
                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
            ])
        snapshotBytes = gauge("snapshot_size", "bytes", "The size of the last snapshot written.")
        recoveryDuration = gauge(
            "recovery_duration", "seconds", "How long the recovery at start took (loading the snapshot, replaying the journal).")
        recoveryRecords = gauge("recovery_replayed_records", "", "Journal records the recovery at start replayed after the snapshot.")
        revision = gauge("revision", "", "The revision of the state: the seq of the last event applied and durable.")
        users = gauge("users", "", "Users in the state.")
        accounts = gauge("accounts", "", "Accounts in the state.")
        connections = gauge("connections", "", "Connections open now.")
        callsInFlight = gauge(
            "calls_in_flight", "",
            "Calls received and not yet answered, daemon-wide: writes waiting for the journal, reads waiting for a revision, streams, snapshots (the scrape itself not counted).")
        serving = gauge("serving", "", "1 when the health check says SERVING, else 0.")
        uptime = gauge("uptime", "seconds", "Seconds since the daemon started.")
        startTime = gauge("start_time", "seconds", "When the daemon started, in seconds since the epoch.")
        lastSnapshotRevision = gauge("snapshot_last_revision", "", "The revision the last snapshot holds (0: none yet).")
        lastSnapshotTime = gauge(
            "snapshot_last_timestamp", "seconds", "When the last snapshot was written, in seconds since the epoch (0: none yet).")
        logConnected = gauge("log_connected", "", "1 while the log answers (the local journal always does; a shared log in PostgreSQL when reachable), else 0.")
        logHead = gauge("log_head_lsn", "", "The newest record of the log as this host last saw it.")
        logApplied = gauge("log_applied_lsn", "", "The newest record of the log this host has applied.")
        logLagRecords = gauge("log_lag_records", "", "Records the log holds that this host has not applied yet.")
        logLag = gauge("log_lag", "seconds", "How long this host has been behind the log (0 when it is not).")
        writesStopped = gauge(
            "writes_stopped", "", "1 once writes are refused for good (a divergence from the shared log; accessd resync mends it), else 0.")
        let info = registry.makeGauge(
            descriptor: name("build_info", "", "Always 1; the version label says which accessd this is."), labels: [("version", version)])
        info.set(Int64(1))
    }

    /// The block of the loop a connection runs on (nil for a loop the daemon did not make).
    func block(for loop: any EventLoop) -> LoopMetrics? { byLoop[ObjectIdentifier(loop)] }

    /// Every loop's counters, summed: one hop to each loop, completed on `loop`.
    func gather(on loop: any EventLoop) -> EventLoopFuture<CallTotals> {
        let copies = loops.map { block in block.loop.submit { block.copy() } }
        return EventLoopFuture.whenAllSucceed(copies, on: loop).map { $0.reduce(CallTotals(), +) }
    }

    /// Prometheus text exposition 0.0.4 of everything. `excludingCaller`:
    /// the scrape is itself a call in flight, and is not counted.
    func render(_ totals: CallTotals, _ reading: DaemonReading, excludingCaller: Bool) -> String {
        let registered = scrapeLock.withLock { () -> String in
            revision.set(Int64(clamping: reading.revision))
            users.set(reading.users)
            accounts.set(reading.accounts)
            connections.set(reading.connections)
            callsInFlight.set(max(0, totals.callsInFlight - (excludingCaller ? 1 : 0)))
            serving.set(reading.serving ? 1 : 0)
            uptime.set(Double(reading.uptimeNanoseconds) / 1e9)
            startTime.set(Double(reading.startTimeMilliseconds) / 1000)
            lastSnapshotRevision.set(Int64(clamping: reading.lastSnapshotRevision))
            lastSnapshotTime.set(Double(reading.lastSnapshotAtMilliseconds) / 1000)
            logConnected.set(reading.log.connected ? 1 : 0)
            logHead.set(Int64(clamping: reading.log.headLSN))
            logApplied.set(Int64(clamping: reading.log.appliedLSN))
            logLagRecords.set(Int64(clamping: reading.log.lagRecords))
            logLag.set(Double(reading.log.lagMilliseconds) / 1000)
            writesStopped.set(reading.log.writesStopped == nil ? 0 : 1)
            return registry.emitToString()
        }
        // The registry keeps its families in a dictionary: sorted by name, the text reads the same at every scrape.
        let families = registered.components(separatedBy: "# HELP ").filter { !$0.isEmpty }.sorted()
        return families.map { "# HELP " + $0 }.joined() + Self.renderCalls(totals)
    }

    /// The families summed from the loops' blocks.
    static func renderCalls(_ totals: CallTotals) -> String {
        var out = PrometheusText()
        let codes = (0..<LoopMetrics.codes).map { StatusCode(rawValue: $0)!.description }
        let methods = (0..<MeteredMethods.count).filter { totals.calls(method: $0) > 0 }
        out.family(
            "accessd_calls_total", type: "counter",
            help: "Calls answered since the daemon started, by service, method and status code (gRPC's names).")
        for slot in methods {
            let (service, method) = MeteredMethods.labels(slot)
            for code in 0..<LoopMetrics.codes {
                let count = totals.calls(method: slot, code: code)
                guard count > 0 else { continue }
                out.sample("accessd_calls_total", [("service", service), ("method", method), ("code", codes[code])], "\(count)")
            }
        }
        out.family(
            "accessd_call_duration_seconds", type: "histogram",
            help: "From the socket read that brought a call to its final reply, by service and method (a stream: its whole life).")
        for slot in methods {
            let (service, method) = MeteredMethods.labels(slot)
            let labels = [("service", service), ("method", method)]
            var cumulative: UInt64 = 0
            for (index, bound) in CallDurationBuckets.bounds.enumerated() {
                cumulative += totals.bucket(method: slot, index)
                out.sample(
                    "accessd_call_duration_seconds_bucket", labels + [("le", PrometheusText.seconds(nanoseconds: bound))],
                    "\(cumulative)")
            }
            cumulative += totals.bucket(method: slot, CallDurationBuckets.bounds.count)
            out.sample("accessd_call_duration_seconds_bucket", labels + [("le", "+Inf")], "\(cumulative)")
            out.sample("accessd_call_duration_seconds_sum", labels, PrometheusText.seconds(nanoseconds: totals.durationSum(method: slot)))
            out.sample("accessd_call_duration_seconds_count", labels, "\(cumulative)")
        }
        out.family("accessd_received_bytes_total", type: "counter", help: "Bytes read from peers' connections.")
        out.sample("accessd_received_bytes_total", [], "\(totals.bytesReceived)")
        out.family("accessd_sent_bytes_total", type: "counter", help: "Bytes of frames written to peers' connections.")
        out.sample("accessd_sent_bytes_total", [], "\(totals.bytesSent)")
        out.family(
            "accessd_connections_accepted_total", type: "counter",
            help: "Connections accepted and served since the daemon started (refused ones not counted).")
        out.sample("accessd_connections_accepted_total", [], "\(totals.connectionsAccepted)")
        return out.text
    }
}
