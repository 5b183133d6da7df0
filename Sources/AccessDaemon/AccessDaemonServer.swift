public import AccessStore
import AccessStatus
import AccessCore
import AccessPaths
import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import AccessWire
import SwiftProtobuf
import NIOPosix
import NIOExtras
import AccessPostgresLog

#if canImport(Glibc)
    import Glibc
#endif

/// The listening daemon: the state's owner on an event loop of its own, a Unix
/// socket (mode 0660) in a directory only the daemon's user can write, and a
/// `ConnectionHandler` per connection on every loop.
public final class AccessDaemonServer: Sendable {
    public let configuration: DaemonConfiguration
    /// The settings in force: `configuration` as reloaded by SIGHUP (`reload(_:)`).
    public let live: LiveConfiguration
    public let owner: StateOwner
    private let group: MultiThreadedEventLoopGroup
    /// The state owner's loop: it serves no connection; the journal syncs on its own thread.
    private let ownerGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let logger: Logger
    private let channel: NIOLockedValueBox<(any Channel)?> = NIOLockedValueBox(nil)
    /// Connections per peer uid and in all, unfinished-frame bytes per uid, write rates.
    let peers = PeerRegistry()
    /// The connections the descriptor limit leaves room for (set at start).
    private let descriptorCap = NIOLockedValueBox(Int.max)
    /// Every connection accepted and not yet closed: the ones the drain timeout closes.
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    /// Knows the listener and every connection it accepted: at shutdown it
    /// closes the listener and sends each connection `ChannelShouldQuiesceEvent`
    /// (GoAway). Made by `start`, dropped by `tearDown` while the loops still
    /// run (an unused one fails a promise on one of them as it goes).
    private let quiescing = NIOLockedValueBox<ServerQuiescingHelper?>(nil)
    /// Whether `tearDown` began (it runs once).
    private let tornDown = NIOLockedValueBox(false)
    /// Applies what other hosts commit to a shared log (none for the local journal).
    private let follower = NIOLockedValueBox<LogFollower?>(nil)

    /// The log every accepted write goes to before its reply (`LocalJournal`:
    /// the journal of the state directory); the owner and the daemon use it
    /// only as an `EventLog`.
    package let journal: any EventLog
    public let stateDirectory: StateDirectory
    /// The event history on disk (README "Event history").
    public let events: EventArchive
    /// What recovery found at start.
    public let recovered: StateDirectory.Recovered

    /// The last snapshot: its journal lsn, revision and time (ms since the epoch).
    private let lastSnapshot: NIOLockedValueBox<(lsn: UInt64, revision: UInt64, at: Int64)>
    let snapshotTask: NIOLockedValueBox<RepeatedTask?> = NIOLockedValueBox(nil)
    /// Snapshots are encoded and written here, one at a time, off the event loops.
    private let snapshotThread = NIOThreadPool(numberOfThreads: 1)
    /// Whether the snapshot thread's priority was lowered (or tried): once.
    private let snapshotThreadNiced = NIOLockedValueBox(false)
    /// Held for the daemon's life: another accessd on the same state directory is refused.
    private let directoryLock: StateDirectoryLock?
    /// The socket this process bound (and so removes at stop); nil for one passed by systemd.
    private let boundSocketPath = NIOLockedValueBox<String?>(nil)

    /// Calls, the journal, snapshots, recovery and the state's figures (GetMetrics, `metrics_textfile`).
    public let metrics: DaemonMetrics
    /// When the daemon started: for its uptime, and in milliseconds since the epoch.
    let startedAt = NIODeadline.now()
    let startedAtMilliseconds = StateOwner.wallClock().millisecondsSinceEpoch
    /// Set as `tearDown` begins: the health check says NOT_SERVING from then on, and a connection
    /// accepted from then on is told GoAway as soon as it is set up.
    let draining = NIOLockedValueBox(false)
    /// Why writes are refused from now on (a divergence from the shared log), once they are.
    let writesStopped = NIOLockedValueBox<String?>(nil)
    /// Writes `metrics_textfile` every interval, when set.
    let metricsTextfileTask: NIOLockedValueBox<RepeatedTask?> = NIOLockedValueBox(nil)

    /// Recovers the state from the state directory (the newest snapshot that
    /// holds, then the journal after it) and opens the journal. Anything
    /// damaged stops the start with a message naming the file (see
    /// `StateDirectory.recover`). Recovery asks `shouldStop` as it goes: once
    /// it says yes, `init` throws `StateDirectory.RecoveryError.stopped`,
    /// having changed nothing on disk. A failed journal fsync calls
    /// `onFatalSync` (the journal acknowledges nothing from then on;
    /// `AccessDaemonService` tears the daemon down and the executable exits
    /// 74, so that the service manager restarts it and recovery decides what
    /// is on disk).
    public init(
        configuration: DaemonConfiguration, logger: Logger, shouldStop: @escaping @Sendable () -> Bool = { false },
        onFatalSync: @escaping @Sendable (StorageError) -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.live = LiveConfiguration(configuration)
        self.logger = logger
        let storage: any Storage
        if configuration.storage is PosixStorage {
            // Only a directory nobody else can write in, held open: every state file is opened through it.
            let owned = try OwnedDirectory.open(
                configuration.stateDirectory, create: true, user: OwnedDirectory.effectiveUser)
            storage = PosixStorage(directory: owned)
            // One daemon per state directory: a second would interleave its journal with ours.
            self.directoryLock = try StateDirectoryLock(directory: owned)
        } else {
            storage = configuration.storage
            self.directoryLock = nil
        }
        let directory = StateDirectory(storage: storage, path: configuration.stateDirectory)
        let recoveryStarted = NIODeadline.now()
        let recovered = try directory.recover(
            acceptLoss: configuration.acceptDataLoss,
            eventRetention: min(configuration.eventMemoryCount, configuration.eventRetentionCount), logger: logger,
            shouldStop: shouldStop)
        // Asked to stop as recovery finished: open nothing more (the event archive, a journal segment).
        if shouldStop() { throw StateDirectory.RecoveryError.stopped }
        let recoveryTook = NIODeadline.now() - recoveryStarted
        logger.info(
            "recovered the state",
            metadata: .accessd([
                .snapshot: "\(recovered.snapshot ?? "none")", .records: "\(recovered.replayed)",
                .revision: "\(recovered.durable.state.revision)", .users: "\(recovered.durable.state.users.count)",
                .milliseconds: "\(recoveryTook.nanoseconds / 1_000_000)",
            ]))
        self.stateDirectory = directory
        self.recovered = recovered
        self.events = try EventArchive.open(
            storage: storage, directory: configuration.stateDirectory,
            retention: EventArchive.Retention(
                count: configuration.eventRetentionCount, milliseconds: configuration.eventRetentionSeconds * 1000),
            head: recovered.durable.state.revision, logger: logger)
        self.lastSnapshot = NIOLockedValueBox(
            (recovered.snapshotLSN, recovered.snapshotRevision, recovered.snapshotWrittenAtMilliseconds))
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        let metrics = DaemonMetrics(loops: Array(group.makeIterator()), version: AccessdVersion.current)
        metrics.recoveryDuration.set(Double(recoveryTook.nanoseconds) / 1e9)
        metrics.recoveryRecords.set(recovered.replayed)
        self.metrics = metrics
        snapshotThread.start()
        let local = LocalJournal(
            directory: directory, recovered: recovered, policy: configuration.fsyncPolicy, logger: logger,
            onFatalSync: onFatalSync, metrics: metrics.journal)
        switch configuration.log {
        case .local:
            self.journal = local
        case .postgresql:
            // The journal of the state directory becomes the shared log's cache.
            let settings: PostgresLogSettings
            do {
                settings = try configuration.sharedLogSettings()
            } catch {
                local.close()
                throw error
            }
            self.journal = PostgresLog(settings: settings, cache: local, cachedThrough: recovered.durable.lsn, logger: logger)
            logger.info(
                "writes go to the shared log",
                metadata: .accessd([
                    .servers: "\(settings.endpoints.map(\.description).joined(separator: ","))",
                    .writer: "\(settings.writer)", .lsn: "\(recovered.durable.lsn)",
                ]))
        }
        self.owner = StateOwner(
            loop: ownerGroup.any(), durable: recovered.durable, policy: configuration.policy, log: journal)
    }

    /// Binds the socket and starts serving; or serves `listener`, a socket
    /// systemd passed (socket activation), which is then never unlinked.
    public func start(listener: ActivatedSocket? = nil) async throws {
        let socketPath = listener?.path ?? configuration.socketPath
        if listener == nil {
            let directory = (socketPath as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
            // Only root or this daemon's user may write the directory, or another user could put an
            // impostor in the socket's place. (A socket systemd passed is systemd's business: not checked.)
            if let problem = SocketTrust.checkDirectory(ofDaemonSocket: socketPath) { throw problem }
            try removeStaleSocket(at: socketPath)
        }
        let live = self.live
        let owner = self.owner
        let logger = self.logger
        let peers = self.peers
        let connections = self.connections
        let journal = self.journal
        let lastSnapshot = self.lastSnapshot
        let writesStopped = self.writesStopped
        let control = DaemonControl(
            snapshot: { [self] in
                self.snapshot(force: true).map { written in (written?.revision ?? 0, written?.path ?? "") }
            },
            backup: { [self] in self.backupImage() },
            status: {
                let snapshot = lastSnapshot.withLockedValue { $0 }
                let stats = journal.status
                return DaemonStatus(
                    connections: peers.connections, snapshotRevision: snapshot.revision,
                    snapshotLSN: snapshot.lsn, snapshotAtMilliseconds: snapshot.at, fsyncPolicy: stats.durability,
                    journalRecords: stats.appended, journalSyncs: stats.syncs,
                    log: LogReport(log: journal, published: owner.published, writesStopped: writesStopped.withLockedValue { $0 }))
            })
        var connectionShared = ConnectionHandler.Shared(
            owner: owner, control: control, live: live, logger: logger, metrics: metricsHooks())
        connectionShared.events = events
        if journal.hasOtherWriters, let freshness = journal.freshness {
            connectionShared.sharedLog = ConnectionHandler.SharedLogView(
                freshness: freshness, lookNow: { journal.lookNow() }, failure: { journal.failure })
            try await owner.loop.submit {
                owner.assumeIsolated { owner in
                    owner.setOnWritesStopped { error in
                        writesStopped.withLockedValue { $0 = "\(error)" }
                        logger.critical(
                            "writes are stopped: every write is refused from now on, reads go on",
                            metadata: .accessd([.error: "\(error)"]))
                    }
                }
            }.get()
            follower.withLockedValue { $0 = LogFollower(log: journal, owner: owner, logger: logger) }
        }
        let shared = connectionShared
        let metrics = self.metrics
        try await followEvents()
        // Under systemd's default soft limit (1024) the descriptors would run
        // out before max_connections: raise it, and refuse past what it allows.
        let softLimit = DescriptorLimit.raiseSoftLimit()
        let cap = DescriptorLimit.connections(softLimit: softLimit)
        descriptorCap.withLockedValue { $0 = cap }
        if configuration.maximumConnections > cap {
            logger.warning(
                "max_connections is more than the descriptor limit (RLIMIT_NOFILE) leaves room for; refusing connections past that (raise LimitNOFILE= or lower max_connections)",
                metadata: .accessd([
                    .configured: "\(configuration.maximumConnections)", .limit: "\(softLimit)", .connections: "\(cap)",
                ]))
        }
        let descriptorCap = self.descriptorCap
        let refusals = LogRateLimit()
        let acceptErrors = LogRateLimit()
        let quiescing = ServerQuiescingHelper(group: group)
        self.quiescing.withLockedValue { $0 = quiescing }
        let draining = self.draining
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            // One socket read of at most 8 KiB per connection per loop turn:
            // a peer pipelining thousands of requests gets through them in
            // turns with the other connections of its loop, never all at once.
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 8 * 1024))
            // What the kernel holds for a peer that does not read (it doubles
            // this); with the outbound high-water mark it bounds how many
            // replies a peer that never reads gets the daemon to make.
            .childChannelOption(.socketOption(.so_sndbuf), value: 64 * 1024)
            .serverChannelInitializer { channel in
                // Out of descriptors (EMFILE, ENFILE), accept fails at once on
                // every try: wait a moment instead of spinning on it.
                channel.eventLoop.makeCompletedFuture {
                    // First: it sees every accepted connection before the bootstrap sets it up.
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptBackoffHandler(shouldForwardIOErrorCaught: false) { error in
                            let (log, suppressed) = acceptErrors.allow()
                            if log {
                                var metadata: Logger.Metadata = .accessd([.error: "\(error)"])
                                if suppressed > 0 { metadata[accessd: .suppressed] = "\(suppressed)" }
                                logger.warning("accept failed; pausing accepts for 100 ms", metadata: metadata)
                            }
                            return .milliseconds(100)
                        })
                }
            }
            .childChannelInitializer { channel in
                let key = ObjectIdentifier(channel)
                connections.withLockedValue { $0[key] = channel }
                channel.closeFuture.whenComplete { _ in connections.withLockedValue { $0[key] = nil } }
                let configuration = live.current
                let highWater = configuration.outboundHighWaterBytes
                return channel.setOption(
                    .writeBufferWaterMark, value: .init(low: max(1, highWater / 4), high: highWater)
                ).flatMap {
                    PeerCredentials.read(from: channel)
                }.flatMapThrowing { credentials in
                    let peerClass = ConnectionHandler.peerClass(of: credentials, configuration)
                    func refuse(_ code: StatusCode, _ message: String) throws {
                        let (log, suppressed) = refusals.allow()
                        if log {
                            logger.warning(
                                "refusing a connection",
                                metadata: .accessd([
                                    .peer: "\(credentials.map(String.init(describing:)) ?? "unknown")",
                                    .suppressed: "\(suppressed)", .reason: "\(message)",
                                ]))
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            RefuseConnectionHandler(frame: Self.refusalFrame(code, message)))
                    }
                    guard peerClass != .none else {
                        return try refuse(
                            .permissionDenied,
                            "uid \(credentials.map { String($0.uid) } ?? "?") may not use accessd (default_peer_class = none; add it to service_uids, read_only_uids or their gids)")
                    }
                    let limits = Self.registryLimits(configuration, descriptorCap: descriptorCap.withLockedValue { $0 })
                    switch peers.admit(uid: credentials?.uid ?? UInt32.max, administrator: peerClass == .administrator, limits: limits) {
                    case .failure(let refusal):
                        return try refuse(.resourceExhausted, refusal.message)
                    case .success(let usage):
                        channel.closeFuture.whenComplete { _ in peers.release(usage) }
                        try channel.pipeline.syncOperations.addHandler(
                            ConnectionHandler(
                                shared: shared, configuration: configuration, peer: credentials, usage: usage,
                                metrics: metrics.block(for: channel.eventLoop)))
                        // Accepted as the drain began: the quiescing helper's event may have found no handler yet.
                        // (Set before that event is sent, on this loop, so one of the two reaches the handler.)
                        if draining.withLockedValue({ $0 }) {
                            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                        }
                    }
                }
            }
        let channel: any Channel
        if let listener {
            channel = try await bootstrap.withBoundSocket(listener.descriptor).get()
        } else {
            channel = try await bootstrap.bind(unixDomainSocketPath: socketPath).get()
            boundSocketPath.withLockedValue { $0 = socketPath }
            chmod(socketPath, mode_t(configuration.socketMode))
        }
        self.channel.withLockedValue { $0 = channel }
        scheduleSnapshots(everySeconds: configuration.snapshotIntervalSeconds)
        startMetricsTextfile()
        // A snapshot after every `snapshotEveryRecords` journal records, in the background.
        let every = UInt64(max(1, configuration.snapshotEveryRecords))
        let queued = NIOLockedValueBox(false)
        try await owner.loop.submit { [self] in
            owner.assumeIsolated { owner in
                owner.setOnDurable { lsn in
                    guard lsn >= lastSnapshot.withLockedValue({ $0.lsn }) + every else { return }
                    guard queued.withLockedValue({ queued in defer { queued = true }; return !queued }) else { return }
                    self.snapshot(force: false).whenComplete { result in
                        queued.withLockedValue { $0 = false }
                        if case .failure(let error) = result {
                            logger.error(
                                "a snapshot after snapshot_every_records journal records failed",
                                metadata: .accessd([.records: "\(every)", .error: "\(error)"]))
                        }
                    }
                }
            }
        }.get()
        logger.info(
            "accessd listening", metadata: .accessd([.socket: "\(socketPath)", .activated: "\(listener != nil)"]))
    }

    /// Writes a snapshot when the state changed since the last one.
    public func snapshotIfChanged() async throws {
        _ = try await snapshot(force: false).get()
    }

    /// Writes a snapshot of the durable state now (AdminService.Snapshot).
    public func snapshotNow() async throws -> (revision: UInt64, lsn: UInt64, path: String) {
        guard let written = try await snapshot(force: true).get() else {
            throw StorageError(.io, "the daemon is stopping; no snapshot was written")
        }
        return written
    }

    /// Writes a snapshot on the snapshot thread (one at a time), unless
    /// nothing changed since the last one and `force` is not set. The owner
    /// hands over an O(1) copy of its durable state; encoding and writing
    /// happen on that thread while the loops keep serving. Then the journal
    /// starts a new segment and the segments older than both kept snapshots
    /// are removed.
    func snapshot(force: Bool) -> EventLoopFuture<(revision: UInt64, lsn: UInt64, path: String)?> {
        snapshotThread.runIfActive(eventLoop: owner.loop) { [self] in
            lowerSnapshotThreadPriority()
            let owner = self.owner
            let durable = try owner.loop.submit { owner.assumeIsolated { $0.durable } }.wait()
            guard force || durable.lsn != lastSnapshot.withLockedValue({ $0.lsn }) else { return nil }
            let writtenAt = StateOwner.wallClock()
            let started = NIODeadline.now()
            let written: StoredSnapshot
            do {
                let bytes = try SnapshotFile.encode(durable, writtenAt: writtenAt)
                written = try journal.storeSnapshotWaiting(LogSnapshot(lsn: durable.lsn, bytes: bytes))
            } catch {
                metrics.snapshotFailures.increment()
                throw error
            }
            metrics.snapshotsWritten.increment()
            metrics.snapshotDuration.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
            metrics.snapshotBytes.set(written.bytes)
            // The event archive takes its events from the journal's segments until it has synced them.
            if events.sync(through: durable.state.revision) {
                journal.release(through: written.keepFrom)
            } else {
                logger.warning(
                    "the event archive has not synced the events of the journal segments the snapshot covers; keeping them",
                    metadata: .accessd([.revision: "\(durable.state.revision)"]))
            }
            lastSnapshot.withLockedValue { $0 = (durable.lsn, durable.state.revision, writtenAt.millisecondsSinceEpoch) }
            logger.info(
                "wrote a snapshot",
                metadata: .accessd([
                    .snapshot: "\(written.name)", .revision: "\(durable.state.revision)", .lsn: "\(durable.lsn)",
                    .bytes: "\(written.bytes)", .milliseconds: "\((NIODeadline.now() - started).nanoseconds / 1_000_000)",
                ]))
            return (durable.state.revision, durable.lsn, configuration.stateDirectory + "/" + written.name)
        }
    }

    /// The snapshot thread yields most of the cores to the loops: on a busy
    /// machine a snapshot takes longer rather than making calls wait, yet
    /// still gets about a tenth of a core, so it always finishes. Done once,
    /// on the pool's one thread (on Linux the nice value is per thread; 0 is
    /// the calling thread). A refusal (a system-call filter without
    /// setpriority) is logged once: the snapshots then compete with the calls.
    private func lowerSnapshotThreadPriority() {
        guard snapshotThreadNiced.withLockedValue({ done in defer { done = true }; return !done }) else { return }
        errno = 0
        guard setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.snapshotThreadNice) != 0 else { return }
        let reason = String(cString: strerror(errno))
        logger.warning(
            "cannot lower the snapshot thread's priority; snapshots compete with calls for the CPU",
            metadata: .accessd([
                .nice: "\(Self.snapshotThreadNice)", .error: "\(reason)",
                .hint: "a system-call filter must allow setpriority (the shipped unit does: SystemCallFilter=setpriority)",
            ]))
    }

    /// The snapshot thread's nice value.
    static let snapshotThreadNice: Int32 = 10

    /// Whether a backup holds the one slot (`BackupLease`).
    private let backupTaken = NIOLockedValueBox(false)

    /// A snapshot of the durable state encoded for AdminService.Backup, on
    /// the snapshot thread (one at a time with the snapshots, at its lower
    /// priority) from the same O(1) copy a snapshot takes: one state at one
    /// journal record, whatever the writes do meanwhile. Nothing is written
    /// to the state directory. Fails with `BackupBusy` while another backup
    /// holds its image.
    func backupImage() -> EventLoopFuture<BackupImage> {
        let taken = backupTaken
        guard taken.withLockedValue({ taken in defer { taken = true }; return !taken }) else {
            return owner.loop.makeFailedFuture(BackupBusy())
        }
        let lease = BackupLease { taken.withLockedValue { $0 = false } }
        return snapshotThread.runIfActive(eventLoop: owner.loop) { [self] in
            lowerSnapshotThreadPriority()
            let owner = self.owner
            let durable = try owner.loop.submit { owner.assumeIsolated { $0.durable } }.wait()
            let started = NIODeadline.now()
            let image = try BackupImage.encode(durable, takenAt: StateOwner.wallClock(), lease: lease)
            logger.info(
                "encoded a backup",
                metadata: .accessd([
                    .revision: "\(image.revision)", .lsn: "\(image.lsn)", .bytes: "\(image.bytes.count)",
                    .milliseconds: "\((NIODeadline.now() - started).nanoseconds / 1_000_000)",
                ]))
            return image
        }
    }

    /// Stops listening and tells every connection to quiesce
    /// (`ChannelShouldQuiesceEvent`: GoAway first, then streams and waiting
    /// reads end with UNAVAILABLE, the calls in flight are answered, and the
    /// connection closes); returns once every connection accepted has closed.
    /// Those still open after `drain_timeout_s` are closed.
    private func drainConnections() async {
        guard channel.withLockedValue({ $0 }) != nil, let quiescing = quiescing.withLockedValue({ $0 }) else { return }
        let drained = owner.loop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: drained)
        let connections = self.connections
        let timeout = owner.loop.scheduleTask(in: .seconds(live.current.drainTimeoutSeconds)) {
            for channel in connections.withLockedValue({ Array($0.values) }) { channel.close(promise: nil) }
        }
        try? await drained.futureResult.get()
        timeout.cancel()
    }

    /// The event archive copies every event the owner publishes.
    private func followEvents() async throws {
        let owner = self.owner
        let events = self.events
        events.start { owner.published.history }
        try await owner.loop.submit {
            owner.assumeIsolated { $0.follow(FollowerKey(connection: ObjectIdentifier(events), id: 0)) { events.wake() } }
        }.get()
    }

    /// Ends the daemon: the one teardown, whatever ends it (SIGTERM, a start
    /// that failed, a fatal fsync); a second call returns at once. Both modes
    /// first stop the schedules (snapshots, the metrics textfile), remove the
    /// socket this process bound (new clients find none) and say NOT_SERVING.
    /// `.drain` then closes the listener, tells every connection GoAway and
    /// waits for them (`drain_timeout_s`), and writes the final snapshot when
    /// the state changed since the last one. `.release` closes the listener and
    /// the connections and writes nothing. Then both close the event archive
    /// and the journal, give up the state directory's lock and stop the
    /// threads and loops.
    /// - Throws: the final snapshot's error, once everything is released (the
    ///   journal still holds every acknowledged write).
    package func tearDown(_ mode: DaemonLifecycle.TearDown) async throws {
        guard tornDown.withLockedValue({ done in defer { done = true }; return !done }) else { return }
        draining.withLockedValue { $0 = true }
        await stopMetricsTextfile()
        if let task = snapshotTask.withLockedValue({ $0 }) {
            let promise = owner.loop.makePromise(of: Void.self)
            task.cancel(promise: promise)
            try? await promise.futureResult.get()
        }
        if let path = boundSocketPath.withLockedValue({ $0 }) { unlink(path) }
        var finalSnapshot: (any Error)?
        switch mode {
        case .drain:
            await drainConnections()
            do {
                try await snapshotIfChanged()
            } catch {
                logger.error(
                    "the final snapshot failed (the journal still holds every acknowledged write)",
                    metadata: .accessd([.error: "\(error)"]))
                finalSnapshot = error
            }
        case .release:
            try? await channel.withLockedValue({ $0 })?.close()
            for connection in connections.withLockedValue({ Array($0.values) }) { try? await connection.close() }
        }
        quiescing.withLockedValue { $0 = nil }
        follower.withLockedValue { $0 }?.stop()
        events.close()
        journal.close()
        directoryLock?.release()
        try? await snapshotThread.shutdownGracefully()
        try? await group.shutdownGracefully()
        try? await ownerGroup.shutdownGracefully()
        if let finalSnapshot { throw finalSnapshot }
    }

    /// `tearDown(.drain)`: stops listening, says GoAway, drains, writes the final snapshot, and closes the loops.
    public func stop() async throws {
        try await tearDown(.drain)
    }

    /// Open connections, and the last snapshot's revision and time (ms since the epoch).
    public func runtimeStatus() -> (connections: Int, snapshotRevision: UInt64, snapshotAtMilliseconds: Int64) {
        let snapshot = lastSnapshot.withLockedValue { $0 }
        return (peers.connections, snapshot.revision, snapshot.at)
    }

    /// The per-uid and total limits of a configuration, the total capped by what the descriptor limit allows.
    static func registryLimits(_ configuration: DaemonConfiguration, descriptorCap: Int = .max) -> PeerRegistry.Limits {
        PeerRegistry.Limits(
            connections: min(configuration.maximumConnections, descriptorCap),
            connectionsPerUID: configuration.maximumConnectionsPerUID,
            reservedForAdministrators: min(configuration.connectionsReservedForAdministrators, configuration.maximumConnections - 1),
            inboundBytesPerUID: configuration.maximumInboundBytesPerUID,
            writesPerSecondPerUID: configuration.writesPerSecondPerUID,
            writeBurstPerUID: configuration.writeBurstPerUID)
    }

    private func removeStaleSocket(at path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw DaemonError.socketPathTaken(path)
        }
        // A socket nobody answers on is left over from a crash: replace it.
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if connected == 0 { throw DaemonError.socketInUse(path) }
        unlink(path)
    }

    private static func refusalFrame(_ code: StatusCode, _ message: String) -> ByteBuffer {
        var response = Accessd_V1_Response()
        response.code = UInt32(code.rawValue)
        response.message = message
        var frame = Accessd_V1_ServerFrame()
        frame.response = response
        return ByteBufferAllocator().frame((try? frame.serializedBytes()) ?? [])
    }
}

public enum DaemonError: Error, CustomStringConvertible {
    case socketInUse(String)
    case socketPathTaken(String)

    public var description: String {
        switch self {
        case .socketInUse(let path): "another accessd is already listening on \(path)"
        case .socketPathTaken(let path): "\(path) exists and is not a socket; move it or choose another socket path"
        }
    }
}

/// Answers a connection over the limit with one frame, then closes it.
final class RefuseConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let frame: ByteBuffer

    init(frame: ByteBuffer) { self.frame = frame }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(NIOAny(frame)).whenComplete { _ in channel.close(promise: nil) }
    }
}
