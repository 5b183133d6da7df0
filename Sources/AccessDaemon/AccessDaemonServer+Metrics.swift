import AccessStore
import AccessWire
import NIOCore

extension AccessDaemonServer {
    /// What the daemon says of itself at a scrape.
    func reading() -> DaemonReading {
        let state = owner.published.state
        let snapshot = runtimeStatus()
        let health = HealthCheck.answer(
            service: "", journalFailure: writeFailure(), readsRefused: readsRefused(),
            draining: draining.withLockedValue { $0 }, revision: state.revision)
        return DaemonReading(
            revision: state.revision, users: state.users.count, accounts: state.accounts.count,
            connections: snapshot.connections, serving: health.status == .serving,
            uptimeNanoseconds: UInt64((NIODeadline.now() - startedAt).nanoseconds),
            startTimeMilliseconds: startedAtMilliseconds, lastSnapshotRevision: snapshot.snapshotRevision,
            lastSnapshotAtMilliseconds: snapshot.snapshotAtMilliseconds, log: logReport())
    }

    /// The metrics as Prometheus text, gathered from every loop; completed on `loop`.
    /// `excludingCaller`: asked by a call, which is itself in flight and not counted.
    func metricsText(on loop: any EventLoop, excludingCaller: Bool = false) -> EventLoopFuture<String> {
        metrics.gather(on: loop).map { [self] totals in
            metrics.render(totals, reading(), excludingCaller: excludingCaller)
        }
    }

    /// What the daemon says of its log now.
    func logReport() -> LogReport {
        LogReport(log: journal, published: owner.published, writesStopped: writesStopped.withLockedValue { $0 })
    }

    /// Why writes are refused now: stopped for good (a divergence), or the log cannot take them.
    func writeFailure() -> String? {
        writesStopped.withLockedValue { $0 }.map { "writes are stopped: \($0)" } ?? journal.failure
    }

    /// Why reads are refused now (a shared log past max_staleness_ms), or nil.
    func readsRefused() -> String? {
        logReport().readsRefused(maxStalenessMilliseconds: live.current.maxStalenessMilliseconds, failure: journal.failure)
    }

    /// What connections ask of the metrics and the health probe.
    func metricsHooks() -> MetricsHooks {
        let journal = self.journal
        let draining = self.draining
        let startedAt = self.startedAt
        return MetricsHooks(
            text: { [self] loop in metricsText(on: loop, excludingCaller: true) },
            callsInFlight: { [metrics] loop in
                metrics.gather(on: loop).map { UInt64(max(0, $0.callsInFlight - 1)) }
            },
            health: HealthProbe(
                journalFailure: { [self] in writeFailure() }, draining: { draining.withLockedValue { $0 } },
                readsRefused: { [self] in readsRefused() }, log: { [self] in journal.hasOtherWriters ? logReport() : nil }),
            uptimeMilliseconds: { (NIODeadline.now() - startedAt).nanoseconds / 1_000_000 })
    }

    /// Writes `metrics_textfile` now and every `metrics_textfile_interval_s`, from the owner's loop.
    func startMetricsTextfile() {
        let path = configuration.metricsTextfile
        guard !path.isEmpty else { return }
        let file = MetricsTextfile(path: path, logger: logger)
        let loop = owner.loop
        let interval = TimeAmount.seconds(max(1, configuration.metricsTextfileIntervalSeconds))
        let task = loop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: interval) { [self] _ in
            metricsText(on: loop).flatMap { file.write($0, on: loop) }
        }
        metricsTextfileTask.withLockedValue { $0 = task }
    }

    func stopMetricsTextfile() async {
        guard let task = metricsTextfileTask.withLockedValue({ $0 }) else { return }
        let promise = owner.loop.makePromise(of: Void.self)
        task.cancel(promise: promise)
        try? await promise.futureResult.get()
    }
}
