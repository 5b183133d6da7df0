import AccessPaths
import AccessStore
import AccessMapping
import AccessServer
import AccessStatus
import AccessCore
import AccessWire
import Foundation
import Logging
import NIOCore
import Synchronization
import SwiftProtobuf

/// One client connection, carrying out what its `ConnectionStateMachine`
/// decides: reads answered from the published state on this loop, writes
/// batched to the state's owner, reads waiting for a revision woken by the
/// owner, streams pulled from the published history while the peer takes
/// them, replies written as they are ready (docs/protocol.md).
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What a connection shares with the daemon.
    struct Shared: Sendable {
        var owner: StateOwner
        var control: DaemonControl
        var live: LiveConfiguration?
        var logger: Logger
        /// One line a second at most for bad frames, whoever sends them.
        var badFrames = LogRateLimit()
        /// GetMetrics, GetStats' daemon-wide figures, HealthService.Check (none: this connection's own).
        var metrics: MetricsHooks? = nil
        /// The event history on disk; without it events come from memory only.
        var events: EventArchive?
        /// A log other hosts write too (nil: the local journal): reads fail
        /// closed once the host has not caught up with it for `max_staleness_ms`,
        /// and a read waiting for a revision asks it to look now.
        var sharedLog: SharedLogView?
    }

    /// What the connections see of a shared log.
    struct SharedLogView: Sendable {
        var freshness: LogFreshness
        var lookNow: @Sendable () -> Void
        /// Why the log cannot be reached now, or nil.
        var failure: @Sendable () -> String?
    }

    private let shared: Shared
    private var owner: StateOwner { shared.owner }
    private var configuration: DaemonConfiguration
    private var liveGeneration: UInt64 = 0
    private var logger: Logger
    private var machine: ConnectionStateMachine
    private let peer: PeerCredentials?
    private let caller: Caller?
    private(set) var peerClass: PeerClass
    /// The peer uid's share of the per-uid limits.
    private let usage: PeerUsage?
    /// Bytes of `machine.inboundBytes` counted in `usage`.
    private var inboundCharged = 0
    private var stallTimer: Scheduled<Void>?
    private var waitTimer: Scheduled<Void>?
    /// Wake-ups asked of the owner, by revision (cancelled when the connection closes).
    private var wakeRegistrations: [UInt64: RevisionSignal.Registration] = [:]
    /// Set while frames are being handled (a writability change inside it must not re-enter).
    private var processing = false
    /// The replies to the frames of one read, gathered meanwhile so that they
    /// leave in one buffer and one write (see `emit`).
    private var replies: ByteBuffer?
    /// For the one debug line per call: method, actor, trace metadata, start.
    private var callLog: [UInt64: (method: String, actor: String, metadata: [String: String], start: NIODeadline)] = [:]
    private var context: ChannelHandlerContext?
    /// The published state taken once per read from the socket, for all its frames (one lock, not one per call).
    private var readPublished: PublishedState?
    /// Scratch space of the Check lane's warm-up (see `CheckLane.userHashes`), kept so that no read allocates.
    private var laneHashes: [Int] = []
    /// What the warm-ups read, kept so that they are not optimized away.
    private var laneWarmth = 0
    private var published: PublishedState { readPublished ?? owner.published }
    /// Counts calls, durations and bytes into this loop's metrics.
    private var meter: CallMeter
    /// Streams whose next events are being read from disk.
    private var diskPulls: Set<UInt64> = []
    /// With a shared log: the writes sent to the owner and not yet answered,
    /// with the timer that answers one at its deadline if the log has not
    /// said by then whether its record committed.
    private var writeDeadlines: [UInt64: Scheduled<Void>] = [:]
    /// Writes answered at their deadline whose outcome has not come back yet.
    private var timedOutWrites: Set<UInt64> = []

    init(
        shared: Shared, configuration: DaemonConfiguration, peer: PeerCredentials?, usage: PeerUsage? = nil,
        metrics: LoopMetrics? = nil
    ) {
        self.meter = CallMeter(block: metrics)
        self.shared = shared
        self.configuration = configuration
        self.logger = shared.logger
        self.peer = peer
        self.caller = peer.map { Caller(uid: $0.uid, pid: $0.pid) }
        self.usage = usage
        self.machine = ConnectionStateMachine(limits: Self.limits(configuration))
        self.peerClass = Self.peerClass(of: peer, configuration)
        logger[accessd: .connection] = "\(Self.connections.add(1, ordering: .relaxed).newValue)"
        if let peer { logger[accessd: .peer] = "\(peer)" }
        followLiveConfiguration()
    }

    /// Connections accepted by this process, for each connection's `accessd.connection` in the log.
    private static let connections = Atomic<UInt64>(0)

    static func limits(_ configuration: DaemonConfiguration) -> ConnectionStateMachine.Limits {
        ConnectionStateMachine.Limits(
            maximumFrameLength: configuration.maximumFrameLength,
            callsInFlight: configuration.maximumCallsPerConnection,
            frameStall: .milliseconds(configuration.frameStallTimeoutMilliseconds),
            defaultRevisionWait: .milliseconds(configuration.defaultMinRevisionWaitMilliseconds),
            maximumRevisionWait: .milliseconds(configuration.maximumRevisionWaitMilliseconds))
    }

    /// The class of a peer under a configuration (no credentials: a service,
    /// the platform cannot say more).
    static func peerClass(of peer: PeerCredentials?, _ configuration: DaemonConfiguration) -> PeerClass {
        guard let peer else { return configuration.peers.unlisted == .none ? .none : .service }
        return configuration.peers.classify(uid: peer.uid, gid: peer.gid, groups: peer.groups)
    }

    /// Takes a reloaded configuration when there is one (one atomic load otherwise).
    private func followLiveConfiguration() {
        guard let live = shared.live, live.generation != liveGeneration else { return }
        liveGeneration = live.generation
        configuration = live.current
        machine.setLimits(Self.limits(configuration))
        peerClass = Self.peerClass(of: peer, configuration)
    }

    private var registryLimits: PeerRegistry.Limits { AccessDaemonServer.registryLimits(configuration) }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    /// Everything the connection holds outside itself: streams, wake-ups, timers, budget.
    private func release() {
        for id in machine.closed() { unfollow(id) }
        meter.closed()
        for registration in wakeRegistrations.values { owner.revisions.cancel(registration) }
        wakeRegistrations = [:]
        stallTimer?.cancel()
        stallTimer = nil
        waitTimer?.cancel()
        waitTimer = nil
        for timer in writeDeadlines.values { timer.cancel() }
        writeDeadlines = [:]
        timedOutWrites = []
        if inboundCharged != 0 {
            usage?.addInbound(-inboundCharged)
            inboundCharged = 0
        }
    }

    /// Shutdown (`GoAwayEvent`, the quiescing helper's `ChannelShouldQuiesceEvent`):
    /// the GoAway frame goes out first (with the last id accepted, so the peer
    /// knows what to send again elsewhere), then streams and waiting reads end
    /// with UNAVAILABLE, and the connection closes once the calls in flight are
    /// answered.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is GoAwayEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        let actions = machine.goAway()
        guard actions.sendGoAway else { return }
        var goAway = Accessd_V1_GoAway()
        goAway.reason = "accessd is shutting down"
        goAway.lastAcceptedID = machine.lastAcceptedID
        var frame = Accessd_V1_ServerFrame()
        frame.goAway = goAway
        write(frame, context: context)
        for id in actions.streams {
            unfollow(id)
            respond(id: id, code: .unavailable, message: "accessd is shutting down; follow again from the last event seen", context: context)
        }
        for id in actions.waitingReads {
            respond(id: id, code: .unavailable, message: "accessd is shutting down before the state reached the revision; read again once it is back", context: context)
        }
        flush(context)
        if actions.close { close(context) }
    }

    // MARK: - Reading and back-pressure

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        meter.received(bytes.readableBytes)
        followLiveConfiguration()
        machine.received(&bytes)
        handleInbound(context: context)
    }

    /// Handles the whole frames received (unless the peer stopped taking
    /// replies), arms the stall limit for a frame begun, and counts the
    /// unfinished bytes against the peer uid's budget.
    private func handleInbound(context: ChannelHandlerContext) {
        guard !processing else { return }
        processing = true
        readPublished = owner.published
        defer {
            readPublished = nil
            processing = false
            meter.readEnded()
        }
        let lane = checkLaneOpen(now: context.eventLoop.now) ? readPublished : nil
        if let lane, let unread = machine.unreadBytes {
            // The users of this read's Check frames, loaded into cache together before the first is decided.
            CheckLane.userHashes(inFrames: unread, into: &laneHashes)
            if !laneHashes.isEmpty { laneWarmth &+= lane.warmAccess(laneHashes) }
        }
        frames: while true {
            if let lane { answerInCheckLane(in: lane, context: context) }
            switch machine.nextFrame() {
            case .frame(let frame):
                handleFrame(frame, context: context)
            case .none:
                break frames
            case .fail(let code, let message):
                closeConnection(code: code, message: message, context: context)
                return
            }
        }
        writeReplies(context)
        if case .scheduleStallTimer(let deadline) = machine.readEnded(now: context.eventLoop.now) {
            scheduleStallTimer(at: deadline, context: context)
        }
        chargeInbound(context: context)
    }

    private func chargeInbound(context: ChannelHandlerContext) {
        guard let usage else { return }
        let held = machine.inboundBytes + machine.waitingBytes
        guard held != inboundCharged else { return }
        let total = usage.addInbound(held - inboundCharged)
        inboundCharged = held
        let limit = configuration.maximumInboundBytesPerUID
        if total > limit, held > 0, machine.lifecycle != .closed {
            closeConnection(
                code: .resourceExhausted,
                message:
                    "uid \(usage.uid) holds \(total) bytes of unfinished frames and waiting reads across its connections (max_inbound_bytes_per_uid \(limit)); the connection is closed",
                context: context)
        }
    }

    private func scheduleStallTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        stallTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.stallTimer = nil
            switch handler.machine.stallTimerFired(now: context.eventLoop.now) {
            case .none:
                break
            case .reschedule(let next):
                handler.scheduleStallTimer(at: next, context: context)
            case .close:
                handler.logger.notice("closing a connection whose frame did not finish within frame_stall_timeout_ms")
                handler.close(context)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushQueuedWrites(context: context)
        flush(context)
    }

    /// NIO asks to read from the socket: not while the peer leaves replies unread.
    func read(context: ChannelHandlerContext) {
        if machine.readRequested() {
            context.read()
        } else {
            logger.trace("not reading: the peer has not taken its replies")
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // A closing channel fails its pending writes and so turns writable:
        // the requests still buffered are not worth handling then.
        logger.trace(context.channel.isWritable ? "writable again" : "not writable: the peer is slow to read")
        if context.channel.isActive,
            case .resume(let read) = machine.writabilityChanged(writable: context.channel.isWritable)
        {
            handleInbound(context: context)
            flushQueuedWrites(context: context)
            for id in machine.streams { pullStream(id, context: context) }
            for id in machine.backups { pullBackup(id, context: context) }
            flush(context)
            if read { context.read() }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: .accessd([.error: "\(error)"]))
        close(context)
    }

    /// Answers a connection-level error with id 0, then closes (spec: oversize, undecodable).
    private func closeConnection(code: StatusCode, message: String, context: ChannelHandlerContext) {
        _ = machine.fail(code, message)
        let (log, suppressed) = shared.badFrames.allow()
        if log {
            var metadata: Logger.Metadata = .accessd([.status: "\(code)", .error: "\(message)"])
            if suppressed > 0 { metadata[accessd: .suppressed] = "\(suppressed)" }
            logger.notice("closing connection after a bad frame", metadata: metadata)
        }
        respond(id: 0, code: code, message: message, context: context)
        writeReplies(context)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
        close(context)
    }

    // MARK: - Calls

    /// Whether this read's plain Checks may take the Check lane: the
    /// connection is open, no call is logged one by one (debug), and reads
    /// are not refused for staleness. Otherwise every frame goes the general way.
    private func checkLaneOpen(now: NIODeadline) -> Bool {
        machine.lifecycle == .open && logger.logLevel > .debug && staleness(now: now) == nil
    }

    /// The plain Checks at the head of what was received, answered in the
    /// lane (`CheckLane`): each decided where its bytes lie, admitted like
    /// any call, counted, its reply written with the read's others; the run
    /// stops at the first frame the lane leaves, which the general path
    /// takes next.
    private func answerInCheckLane(in published: PublishedState, context: ChannelHandlerContext) {
        let revision = published.revision
        while true {
            // The replies buffer taken out of the property for the run, then put back (or written).
            var taken: ByteBuffer? = nil
            swap(&taken, &replies)
            var buffer = taken ?? context.channel.allocator.buffer(capacity: Self.repliesInitialBytes)
            taken = nil
            let before = buffer.readableBytes
            machine.answerAtOnce(
                // Past the size at which replies are written, the run stops for the buffer to go out.
                { buffer.readableBytes < Self.repliesWriteBytes ? published.decideCheck($0) : nil }, id: { $0.id },
                reply: { decided in
                    meter.answeredAtOnce(slot: MeteredMethods.checkSlot, code: StatusCode.ok.rawValue)
                    CheckLane.write(decided, revision: revision, to: &buffer)
                })
            meter.sent(buffer.readableBytes - before)
            guard buffer.readableBytes >= Self.repliesWriteBytes else {
                replies = buffer
                return
            }
            // The run goes on with an empty buffer (it ends at the first frame the lane leaves).
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    private func handleFrame(_ frame: ByteBuffer, context: ChannelHandlerContext) {
        // The common shapes are read in place; the rest (and every error) the general way.
        switch ClientFrameHead.parse(frame) {
        case .request(let head):
            return handleRequest(head, context: context)
        case .cancel(let id):
            return handleCancel(id, context: context)
        case nil:
            break
        }
        let clientFrame: Accessd_V1_ClientFrame
        do {
            clientFrame = try Accessd_V1_ClientFrame(serializedBytes: Array(frame.readableBytesView))
        } catch {
            closeConnection(code: .invalidArgument, message: "the frame does not decode as accessd.v1.ClientFrame", context: context)
            return
        }
        switch clientFrame.kind {
        case .request(let request):
            handleRequest(RequestHead(request), context: context)
        case .cancel(let cancel):
            handleCancel(cancel.id, context: context)
        case nil:
            closeConnection(code: .invalidArgument, message: "the frame carries neither a request nor a cancel", context: context)
        }
    }

    /// Reads answer at once and writes, once received, are applied in order:
    /// only a read waiting for its revision, or a stream, can still be stopped.
    private func handleCancel(_ id: UInt64, context: ChannelHandlerContext) {
        switch machine.cancel(id) {
        case .ignored:
            return
        case .cancelledRead, .cancelledBackup:
            break
        case .cancelledStream:
            unfollow(id)
        }
        respond(id: id, code: .cancelled, message: "cancelled by the client", context: context)
        closeIfDrained(context: context)
    }

    private func handleRequest(_ request: RequestHead, context: ChannelHandlerContext) {
        let id = request.id
        // The method table is the one router: the catalogue entry says what
        // the method is and who may call it, the handler how it runs.
        let route = MeteredMethods.route(of: request)
        meter.begin(id: id, slot: route?.slot ?? MeteredMethods.unknown)
        defer { meter.endRequest() }
        if machine.lifecycle == .goingAway, case .daemon(.health)? = route?.handler {
            return answerHealth(id: id, payload: Data(request.payload.readableBytesView), draining: true, context: context)
        }
        if case .rejected(let code, let message) = machine.admit(id: id) {
            respond(id: id, code: code, message: message, context: context)
            return
        }
        guard let route else {
            respond(id: id, code: .unimplemented, message: "unknown method \(PeerText.quote(request.method))", context: context)
            return
        }
        let handler = route.handler
        if logger.logLevel <= .debug {
            // The method is one of the table's (logged as it is); actor and metadata are the peer's text.
            callLog[id] = (request.method, request.actor, request.metadata, .now())
        }
        let published = self.published
        let deadline = request.timeoutMs > 0 ? context.eventLoop.now + .milliseconds(Int64(request.timeoutMs)) : nil
        let actor = request.actor
        let peerPrincipal: Principal = peerClass == .administrator ? .administrator : .anonymous
        // Reads and the daemon's own calls know their actor from the published state.
        var principal = peerPrincipal
        if !actor.isEmpty, !handler.isWrite {
            do {
                principal = try published.state.principal(forActor: actor)
            } catch {
                respond(id: id, error: error, context: context)
                return
            }
        }
        switch handler {
        case .read(let read, let shortcut):
            if let refusal = staleness(now: context.eventLoop.now) {
                respond(id: id, error: refusal, context: context)
                return
            }
            answerRead(
                id: id, method: request.method, read: read, shortcut: shortcut, payload: request.payload, principal: principal,
                minRevision: request.minRevision, deadline: deadline, context: context)
        case .write(let makeCommand, let reply):
            if let refusal = refusal(ofWrite: request, now: context.eventLoop.now) {
                respond(id: id, error: refusal, context: context)
                return
            }
            // Who writes and the command are resolved at the owner, against the
            // working state the writes queued before this one leave (WriteCall).
            let payload = Data(request.payload.readableBytesView)
            machine.queueWrite(
                id,
                WriteCall(
                    principal: { state throws(AccessError) in
                        actor.isEmpty ? peerPrincipal : try state.principal(forActor: actor)
                    },
                    command: { state throws(AccessError) in try makeCommand(payload, state) },
                    dryRun: request.dryRun, idempotencyKey: request.idempotencyKey, reply: reply, deadline: deadline,
                    caller: caller,
                    keyLimits: .init(
                        perUID: configuration.maximumIdempotencyKeysPerUID, total: configuration.maximumIdempotencyKeys)))
        case .daemon(let call):
            answerDaemonCall(
                call, method: route.method, id: id, payload: Data(request.payload.readableBytesView), published: published,
                context: context)
        }
    }

    /// Why a write may not go ahead before it reaches the owner: a read-only
    /// peer, an idempotency key too long, the peer uid's write rate.
    private func refusal(ofWrite request: RequestHead, now: NIODeadline) -> AccessError? {
        guard peerClass.mayWrite else {
            return AccessError(
                .permissionDenied,
                "this peer (uid \(peer.map { String($0.uid) } ?? "?")) is read-only (read_only_uids, read_only_gids or default_peer_class): it may call Check and the read methods, not \(request.method)"
            )
        }
        let keyBytes = request.idempotencyKey.utf8.count
        guard keyBytes <= configuration.maximumIdempotencyKeyBytes else {
            return AccessError(
                .invalidArgument,
                "the idempotency key is \(keyBytes) bytes; at most \(configuration.maximumIdempotencyKeyBytes) (max_idempotency_key_bytes)")
        }
        if !request.dryRun, peerClass != .administrator, let usage,
            let wait = usage.takeWrite(limits: registryLimits, nowNanoseconds: now.uptimeNanoseconds)
        {
            let rate = configuration.writesPerSecondPerUID
            return AccessError(
                .resourceExhausted,
                "uid \(usage.uid) is over its write rate (write_rate_per_uid \(rate) a second, write_burst_per_uid \(configuration.writeBurstPerUID)); retry in \(wait) ms"
            )
        }
        return nil
    }

    /// With a shared log: why reads are refused now (the host has not caught
    /// up with the log for longer than `max_staleness_ms`: a revocation another
    /// host committed may be missing), or nil.
    private func staleness(now: NIODeadline) -> AccessError? {
        guard let log = shared.sharedLog else { return nil }
        return LogReport.readsRefused(
            silence: log.freshness.silence(now: now), maxStalenessMilliseconds: configuration.maxStalenessMilliseconds,
            failure: log.failure()
        ).map { AccessError(.unavailable, $0) }
    }

    private func answerRead(
        id: UInt64, method: String, read: @escaping @Sendable (Data, ReadContext) throws(AccessError) -> Data,
        shortcut: ReadShortcut, payload: ByteBuffer, principal: Principal,
        minRevision: UInt64, deadline: NIODeadline?, context: ChannelHandlerContext
    ) {
        let published = self.published
        if published.revision < minRevision {
            // Read-your-writes: wait (at no cost) for the owner to publish the revision, or the deadline.
            // With a shared log the revision may be another host's write: look for it now.
            shared.sharedLog?.lookNow()
            let now = context.eventLoop.now
            let limit = machine.revisionWaitDeadline(now: now, requested: deadline)
            guard now < limit else {
                respond(
                    id: id, code: .deadlineExceeded,
                    message: "the state did not reach revision \(minRevision) in time (it is at \(published.revision))",
                    context: context)
                return
            }
            var copy = context.channel.allocator.buffer(capacity: payload.readableBytes)
            copy.writeImmutableBuffer(payload)
            let actions = machine.wait(
                id,
                .init(method: method, payload: copy, principal: principal, minRevision: minRevision, deadline: limit))
            if let revision = actions.registerWake { registerWake(at: revision, context: context) }
            if let deadline = actions.scheduleWaitTimer { scheduleWaitTimer(at: deadline, context: context) }
            return
        }
        answerNow(id: id, read: read, shortcut: shortcut, payload: payload, principal: principal, published: published, context: context)
    }

    private func answerNow(
        id: UInt64, read: @Sendable (Data, ReadContext) throws(AccessError) -> Data, shortcut: ReadShortcut,
        payload: ByteBuffer, principal: Principal, published: PublishedState, context: ChannelHandlerContext
    ) {
        if shortcut == .eventHistoryOnDisk, let events = shared.events {
            return answerListEvents(id: id, payload: payload, published: published, events: events, context: context)
        }
        if shortcut == .checkFastPath, let request = CheckFastPath.request(payload) {
            do {
                let result = try MethodTable.checkResult(request, in: published.state)
                respond(id: id, revision: published.revision, context: context, payloadLength: CheckFastPath.length(of: result)) {
                    CheckFastPath.write(result, to: &$0)
                }
            } catch {
                respond(id: id, error: error, revision: published.revision, context: context)
            }
            return
        }
        if shortcut == .batchCheckFastPath,
            let answer = BatchCheckFastPath.answer(payload, in: published.state, limit: configuration.maximumBatchChecks)
        {
            switch answer {
            case .success(let items):
                let encoding = BatchCheckFastPath.Encoding(items)
                respond(id: id, revision: published.revision, context: context, payloadLength: encoding.length) {
                    encoding.write(to: &$0)
                }
            case .failure(let error):
                respond(id: id, error: error, revision: published.revision, context: context)
            }
            return
        }
        do {
            let reply = try read(
                Data(payload.readableBytesView), ReadContext(
                    state: published.state, history: published.history, principal: principal,
                    batchCheckLimit: configuration.maximumBatchChecks))
            respond(id: id, payload: reply, revision: published.revision, context: context)
        } catch {
            respond(id: id, error: error, revision: published.revision, context: context)
        }
    }

    // MARK: - Reads waiting for a revision

    private func registerWake(at revision: UInt64, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let loop = context.eventLoop
        let registration = owner.revisions.notify(when: revision) { reached in
            loop.execute {
                let (handler, context) = loopBound.value
                handler.revisionReached(reached, context: context)
            }
        }
        if let registration { wakeRegistrations[revision] = registration }
    }

    private func revisionReached(_ reached: UInt64, context: ChannelHandlerContext) {
        guard self.context != nil else { return }
        wakeRegistrations = wakeRegistrations.filter { $0.key > reached }
        let published = owner.published
        let (ready, register) = machine.revisionReached(published.revision)
        for (id, read) in ready {
            guard case .read(let answer, let shortcut) = MethodTable.handlers[read.method] else { continue }
            answerNow(
                id: id, read: answer, shortcut: shortcut, payload: read.payload, principal: read.principal,
                published: published, context: context)
        }
        if let register { registerWake(at: register, context: context) }
        if !ready.isEmpty {
            chargeInbound(context: context)
            flush(context)
            closeIfDrained(context: context)
        }
    }

    private func scheduleWaitTimer(at deadline: NIODeadline, context: ChannelHandlerContext) {
        waitTimer?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        waitTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.waitTimer = nil
            let (expired, next) = handler.machine.waitTimerFired(now: context.eventLoop.now)
            let revision = handler.owner.published.revision
            let unreachable = handler.shared.sharedLog?.failure().map { "; \($0)" } ?? ""
            for (id, read) in expired {
                handler.respond(
                    id: id, code: .deadlineExceeded,
                    message: "the state did not reach revision \(read.minRevision) in time (it is at \(revision))\(unreachable)",
                    revision: revision, context: context)
            }
            if let next { handler.scheduleWaitTimer(at: next, context: context) }
            handler.chargeInbound(context: context)
            handler.flush(context)
            handler.closeIfDrained(context: context)
        }
    }

    // MARK: - Daemon calls

    private func answerDaemonCall(
        _ call: DaemonCall, method: AnyMethod, id: UInt64, payload: Data, published: PublishedState,
        context: ChannelHandlerContext
    ) {
        // FollowEvents (events carry no secrets) and the health probe (as in
        // gRPC's health checking) are open to every peer class; the rest are
        // administrators' (the catalogue's audience).
        guard method.audience != .administrators || peerClass == .administrator else {
            respond(id: id, code: .permissionDenied, message: "\(method.path) is an administrator's call", context: context)
            return
        }
        switch call {
        case .followEvents:
            guard let request = try? Accessd_V1_FollowEventsRequest(serializedBytes: payload) else {
                respond(
                    id: id, code: .invalidArgument, message: "the payload does not decode as accessd.v1.FollowEventsRequest",
                    context: context)
                return
            }
            follow(id: id, after: request.afterSeq, context: context)
        case .health:
            answerHealth(id: id, payload: payload, draining: false, context: context)
        case .stats:
            let status = shared.control.status()
            var stats = Accessd_V1_GetStatsResponse()
            stats.revision = published.revision
            stats.accounts = UInt64(published.state.accounts.count)
            stats.users = UInt64(published.state.users.count)
            stats.connections = UInt64(status.connections)
            stats.callsInFlight = UInt64(machine.calls.count)
            stats.uptimeMs = shared.metrics?.uptimeMilliseconds() ?? 0
            stats.daemonVersion = AccessdVersion.current
            stats.lastSnapshotRevision = status.snapshotRevision
            stats.lastSnapshotAtMs = status.snapshotAtMilliseconds
            stats.stateDirectory = configuration.stateDirectory
            stats.socketPath = configuration.socketPath
            stats.lastSnapshotLsn = status.snapshotLSN
            stats.fsyncPolicy = status.fsyncPolicy
            stats.journalRecords = status.journalRecords
            stats.journalSyncs = status.journalSyncs
            stats.oldestEventSeq = published.oldestEventSeq(shared.events)
            let log = status.log
            stats.log = log.kind
            stats.logConnected = log.connected
            stats.logHeadLsn = log.headLSN
            stats.logAppliedLsn = log.appliedLSN
            stats.logLagRecords = log.lagRecords
            stats.logLagMs = log.lagMilliseconds
            stats.logSilenceMs = log.silence.map { $0.nanoseconds / 1_000_000 } ?? -1
            stats.logHash = log.appliedHash.description
            stats.writesStopped = log.writesStopped ?? ""
            if let request = try? Accessd_V1_GetStatsRequest(serializedBytes: payload), request.stateDigest {
                // The published state is a value: hashed on this loop, as a list read would be.
                stats.stateDigest = (try? SnapshotFile.stateDigest(published.state)).map(Hex.encode) ?? ""
            }
            answerStats(id: id, stats, revision: published.revision, context: context)
        case .metrics:
            answerMetrics(id: id, context: context)
        case .snapshot:
            machine.started(id, .daemon)
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            shared.control.snapshot().hop(to: context.eventLoop).whenComplete { result in
                let (handler, context) = loopBound.value
                switch result {
                case .success(let written):
                    var reply = Accessd_V1_SnapshotResponse()
                    reply.revision = written.revision
                    reply.path = written.path
                    handler.respond(id: id, payload: (try? reply.serializedBytes()) ?? Data(), context: context)
                case .failure(let error):
                    handler.respond(id: id, code: .unavailable, message: "the snapshot could not be written: \(error)", context: context)
                }
                handler.flush(context)
                if handler.machine.finished(id) == .close { handler.close(context) }
            }
        case .backup:
            backup(id: id, context: context)
        }
    }

    // MARK: - Backups (AdminService.Backup)

    /// Has a snapshot of the durable state encoded off the loops, then sends
    /// it in pieces as the peer takes them (`BackupTransfer`).
    private func backup(id: UInt64, context: ChannelHandlerContext) {
        guard let encode = shared.control.backup else {
            respond(id: id, code: .unimplemented, message: "this daemon keeps no state to back up", context: context)
            return
        }
        machine.started(id, .backup(nil))
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        encode().hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            switch result {
            case .success(let image):
                if handler.machine.backupEncoded(id, BackupTransfer(image: image)) {
                    handler.pullBackup(id, context: context)
                }
            case .failure(let error):
                guard case .backup = handler.machine.calls[id] else { return }  // cancelled meanwhile
                let code: StatusCode = error is BackupBusy ? .resourceExhausted : .unavailable
                handler.respond(id: id, code: code, message: "no backup was taken: \(error)", context: context)
                handler.flush(context)
                if handler.machine.finished(id) == .close { handler.close(context) }
            }
        }
    }

    /// Sends the next pieces of backup `id` until the peer stops taking them (or it ends).
    private func pullBackup(_ id: UInt64, context: ChannelHandlerContext) {
        var wrote = false
        defer { if wrote { flush(context) } }
        while true {
            let next = machine.nextBackupPiece(id)
            // Every message of the stream, the last too, carries the revision the backup holds.
            guard case .backup(let transfer?) = machine.calls[id] else { return }
            let revision = transfer.image.revision
            switch next {
            case .wait:
                return
            case .finished:
                respond(id: id, revision: revision, context: context)
                wrote = true
                if machine.finished(id) == .close { close(context) }
                return
            case .send(let piece):
                wrote = true
                switch piece {
                case .header(let header):
                    var chunk = Accessd_V1_BackupChunk()
                    chunk.header = header
                    let payload: [UInt8] = (try? chunk.serializedBytes()) ?? []
                    respond(id: id, more: true, revision: revision, context: context, payloadLength: payload.count) { $0.bytes(payload) }
                case .trailer(let trailer):
                    var chunk = Accessd_V1_BackupChunk()
                    chunk.trailer = trailer
                    let payload: [UInt8] = (try? chunk.serializedBytes()) ?? []
                    respond(id: id, more: true, revision: revision, context: context, payloadLength: payload.count) { $0.bytes(payload) }
                case .data(let range):
                    // BackupChunk.data (field 2), written straight from the image into the frame.
                    let length = ProtoWriter.bytesFieldSize(range.count)
                    respond(id: id, more: true, revision: revision, context: context, payloadLength: length) { writer in
                        writer.byte(0x12)
                        writer.varint(UInt64(range.count))
                        transfer.image.bytes.withUnsafeBytes { writer.bytes(UnsafeRawBufferPointer(rebasing: $0[range])) }
                    }
                }
            }
        }
    }

    // MARK: - Metrics and health

    /// GetStats, with the calls in flight daemon-wide (one hop to every loop).
    private func answerStats(id: UInt64, _ stats: Accessd_V1_GetStatsResponse, revision: UInt64, context: ChannelHandlerContext) {
        guard let metrics = shared.metrics else {
            return respond(id: id, payload: (try? stats.serializedBytes()) ?? Data(), revision: revision, context: context)
        }
        machine.started(id, .daemon)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        metrics.callsInFlight(context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            var stats = stats
            switch result {
            case .success(let inFlight):
                stats.callsInFlight = inFlight
                handler.respond(id: id, payload: (try? stats.serializedBytes()) ?? Data(), revision: revision, context: context)
            case .failure(let error):
                handler.respond(id: id, code: .unavailable, message: "the daemon's figures could not be gathered: \(error)", context: context)
            }
            handler.flush(context)
            if handler.machine.finished(id) == .close { handler.close(context) }
        }
    }

    /// GetMetrics: Prometheus text, gathered from every loop.
    private func answerMetrics(id: UInt64, context: ChannelHandlerContext) {
        guard let metrics = shared.metrics else {
            return respond(id: id, code: .unimplemented, message: "this daemon keeps no metrics", context: context)
        }
        machine.started(id, .daemon)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        metrics.text(context.eventLoop).whenComplete { result in
            let (handler, context) = loopBound.value
            switch result {
            case .success(let text):
                var reply = Accessd_V1_GetMetricsResponse()
                reply.text = text
                handler.respond(id: id, payload: (try? reply.serializedBytes()) ?? Data(), context: context)
            case .failure(let error):
                handler.respond(id: id, code: .unavailable, message: "the metrics could not be gathered: \(error)", context: context)
            }
            handler.flush(context)
            if handler.machine.finished(id) == .close { handler.close(context) }
        }
    }

    /// HealthService.Check; `draining`: this connection was told GoAway.
    private func answerHealth(id: UInt64, payload: Data, draining: Bool, context: ChannelHandlerContext) {
        guard let request = try? Accessd_V1_HealthCheckRequest(serializedBytes: payload) else {
            return respond(
                id: id, code: .invalidArgument, message: "the payload does not decode as accessd.v1.HealthCheckRequest",
                context: context)
        }
        let probe = shared.metrics?.health
        let reply = HealthCheck.answer(
            service: request.service, journalFailure: probe?.journalFailure(), readsRefused: probe?.readsRefused(),
            draining: draining || (probe?.draining() ?? false), revision: published.revision, log: probe?.log())
        respond(id: id, payload: (try? reply.serializedBytes()) ?? Data(), revision: published.revision, context: context)
    }

    // MARK: - Streams (FollowEvents)

    /// Registers with the owner, which wakes the stream after every durable
    /// batch (and once at once); each wake-up pulls what is new from the
    /// published history, as far as the peer takes it.
    private func follow(id: UInt64, after afterSeq: UInt64, context: ChannelHandlerContext) {
        machine.started(id, .stream(after: afterSeq))
        let key = FollowerKey(connection: ObjectIdentifier(self), id: id)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let connectionLoop = context.eventLoop
        let wake: @Sendable () -> Void = {
            connectionLoop.execute {
                let (handler, context) = loopBound.value
                handler.pullStream(id, context: context)
            }
        }
        let owner = self.owner
        owner.loop.execute { owner.assumeIsolated { $0.follow(key, wake: wake) } }
    }

    private func pullStream(_ id: UInt64, context: ChannelHandlerContext) {
        var wrote = false
        defer { if wrote { flush(context) } }
        while case .pull(let after) = machine.streamReady(id) {
            guard !diskPulls.contains(id) else { return }
            let published = owner.published
            let history = published.history
            switch shared.events?.streamSource(after: after, memory: history, head: published.revision) ?? .memory {
            case .memory:
                break
            case .disk:
                return pullFromDisk(id, after: after, published: published, context: context)
            case .refused(let error):
                unfollow(id)
                respond(id: id, error: error, context: context)
                wrote = true
                if machine.finished(id) == .close { close(context) }
                return
            }
            let events: [Event]
            do {
                events = try history.events(after: after, limit: 256)
            } catch {
                unfollow(id)
                respond(id: id, error: error, context: context)
                wrote = true
                if machine.finished(id) == .close { close(context) }
                return
            }
            guard let last = events.last else { return }
            for event in events {
                let payload: [UInt8] = (try? Accessd_V1_Event(event).serializedBytes()) ?? []
                respond(id: id, more: true, revision: event.seq, context: context, payloadLength: payload.count) {
                    $0.bytes(payload)
                }
            }
            wrote = true
            machine.streamSent(id, through: last.seq)
        }
    }

    // MARK: - Events on disk

    /// ListEvents from the event archive: from memory at once when memory holds
    /// its start, else read on the log's own threads, never on this loop.
    private func answerListEvents(
        id: UInt64, payload: ByteBuffer, published: PublishedState, events: EventArchive, context: ChannelHandlerContext
    ) {
        let answer = events.list(
            Data(payload.readableBytesView), memory: published.history, head: published.revision,
            maxBytes: configuration.maximumFrameLength - 4096, on: context.eventLoop)
        guard case .later(let reading) = answer else {
            if case .now(let result) = answer {
                switch result {
                case .success(let reply): respond(id: id, payload: reply, revision: published.revision, context: context)
                case .failure(let error): respond(id: id, error: error, revision: published.revision, context: context)
                }
            }
            return
        }
        machine.started(id, .daemon)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        reading.whenComplete { result in
            let (handler, context) = loopBound.value
            guard handler.context != nil else { return }
            switch result {
            case .success(let reply): handler.respond(id: id, payload: reply, revision: published.revision, context: context)
            case .failure(let error):
                handler.respond(id: id, error: error as? AccessError ?? AccessError(.unavailable, "\(error)"), context: context)
            }
            handler.flush(context)
            if handler.machine.finished(id) == .close { handler.close(context) }
        }
    }

    /// The next slice of a stream that is behind what memory holds, read on
    /// the event archive's threads; once written, the stream pulls again (from
    /// disk or memory: the same cursor, so no gap and no duplicate).
    private func pullFromDisk(_ id: UInt64, after: UInt64, published: PublishedState, context: ChannelHandlerContext) {
        guard let events = shared.events else { return }
        diskPulls.insert(id)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        events.readLater(
            after: after, limit: 256, maxBytes: 128 * 1024, memory: published.history, head: published.revision,
            on: context.eventLoop
        ).whenComplete { result in
            let (handler, context) = loopBound.value
            handler.diskPulls.remove(id)
            // Cancelled, ended or closed meanwhile: nothing to send.
            guard handler.context != nil, case .stream(let current) = handler.machine.calls[id], current == after else { return }
            switch result {
            case .success(let records):
                for record in records {
                    handler.respond(id: id, more: true, revision: record.seq, context: context, payloadLength: record.payload.count) {
                        $0.bytes(record.payload)
                    }
                }
                if let last = records.last { handler.machine.streamSent(id, through: last.seq) }
                handler.flush(context)
                if !records.isEmpty { handler.pullStream(id, context: context) }
            case .failure(let error):
                handler.unfollow(id)
                handler.respond(id: id, error: error as? AccessError ?? AccessError(.unavailable, "\(error)"), context: context)
                handler.flush(context)
                if handler.machine.finished(id) == .close { handler.close(context) }
            }
        }
    }

    private func unfollow(_ id: UInt64) {
        let key = FollowerKey(connection: ObjectIdentifier(self), id: id)
        let owner = self.owner
        owner.loop.execute { owner.assumeIsolated { $0.unfollow(key) } }
    }

    // MARK: - Writes

    /// Sends this read's batch of writes to the owner: on its loop directly,
    /// from another loop in one hop. The owner queues it behind the record
    /// being synced (see `StateOwner.submit`); the replies leave once the
    /// batch's journal record is durable, back on this connection's loop.
    private func flushQueuedWrites(context: ChannelHandlerContext) {
        let queued = machine.takeQueuedWrites()
        guard !queued.isEmpty else { return }
        let ids = queued.map(\.id)
        let calls = queued.map(\.call)
        let owner = self.owner
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        if shared.sharedLog != nil {
            for write in queued {
                guard let deadline = write.call.deadline else { continue }
                writeDeadlines[write.id] = context.eventLoop.scheduleTask(deadline: deadline) {
                    let (handler, context) = loopBound.value
                    handler.writeDeadlinePassed(write.id, context: context)
                }
            }
        }
        let connectionLoop = context.eventLoop
        let completion: StateOwner.BatchCompletion = { result in
            @Sendable func deliver() {
                let (handler, context) = loopBound.value
                switch result {
                case .success(let outcomes):
                    handler.deliver(ids, outcomes, context: context)
                case .failure(let error):
                    let refusal = Self.refusal(ofUndurableWrite: error)
                    handler.deliver(ids, ids.map { _ in .refused(refusal) }, context: context)
                }
                handler.flush(context)
            }
            if connectionLoop.inEventLoop { deliver() } else { connectionLoop.execute(deliver) }
        }
        if owner.loop.inEventLoop {
            owner.assumeIsolated { $0.submit(calls, completion: completion) }
        } else {
            owner.loop.execute { owner.assumeIsolated { $0.submit(calls, completion: completion) } }
        }
    }

    /// What a write the log did not take is answered: UNAVAILABLE (try again
    /// later), or, once the writes stopped, DATA_LOSS (this host and the log
    /// diverged) or FAILED_PRECONDITION (the log holds a newer format).
    static func refusal(ofUndurableWrite error: any Error) -> AccessError {
        switch (error as? StorageError)?.kind {
        case .diverged?:
            AccessError(.dataLoss, "the write was not applied: \(error)")
        case .newerFormat?:
            AccessError(.failedPrecondition, "the write was not applied: \(error)")
        default:
            AccessError(.unavailable, "the write could not be made durable and was not applied (\(error)); try again later")
        }
    }

    /// With a shared log, a write whose deadline passes while its record is
    /// being appended is answered then (a host cut off from the log would
    /// otherwise hold it until the append's own timeout): it may still
    /// commit, which a retry with the same idempotency key finds out.
    private func writeDeadlinePassed(_ id: UInt64, context: ChannelHandlerContext) {
        guard writeDeadlines.removeValue(forKey: id) != nil else { return }
        timedOutWrites.insert(id)
        respond(
            id: id, code: .deadlineExceeded,
            message:
                "the deadline passed before the shared log said whether the write committed: it may still be applied; send it again with the same idempotency key to learn its outcome",
            context: context)
        flush(context)
        if machine.finished(id) == .close { close(context) }
    }

    private func deliver(_ ids: [UInt64], _ outcomes: [WriteOutcome], context: ChannelHandlerContext) {
        var closing = false
        for (id, outcome) in zip(ids, outcomes) {
            // Answered at its deadline already (the first outcome for an id
            // is that call's: the owner answers batches in order).
            if timedOutWrites.remove(id) != nil { continue }
            writeDeadlines.removeValue(forKey: id)?.cancel()
            switch outcome {
            case .applied(let reply, let revision):
                respond(id: id, payload: reply, revision: revision, context: context)
            case .refused(let error):
                respond(id: id, error: error, context: context)
            }
            if machine.finished(id) == .close { closing = true }
        }
        if closing { close(context) }
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        if machine.checkDrained() == .close { close(context) }
    }

    // MARK: - Replies

    private func respond(id: UInt64, error: AccessError, revision: UInt64? = nil, context: ChannelHandlerContext) {
        respond(id: id, code: error.code, message: error.message, revision: revision, context: context)
    }

    private func respond(
        id: UInt64, code: StatusCode = .ok, message: String = "", payload: Data = Data(), revision: UInt64? = nil,
        context: ChannelHandlerContext
    ) {
        respond(
            id: id, code: code, message: message, revision: revision, context: context, payloadLength: payload.count
        ) { $0.bytes(payload) }
    }

    /// Writes one Response frame straight into a buffer for the socket.
    private func respond(
        id: UInt64, code: StatusCode = .ok, message: String = "", more: Bool = false, revision: UInt64? = nil,
        context: ChannelHandlerContext, payloadLength: Int, payload writePayload: (inout ProtoWriter) -> Void
    ) {
        if !more { meter.answered(id: id, code: code.rawValue) }
        if !more, !callLog.isEmpty, let call = callLog.removeValue(forKey: id) {
            let micros = (NIODeadline.now() - call.start).nanoseconds / 1000
            var metadata: Logger.Metadata = .accessd([
                .method: "\(call.method)", .uid: "\(peer.map { String($0.uid) } ?? "?")",
                .actor: "\(call.actor.isEmpty ? (peerClass == .administrator ? "administrator" : "anonymous") : PeerText.quote(call.actor))",
                .status: "\(code)", .micros: "\(micros)",
            ])
            for (key, value) in call.metadata.prefix(16) {
                metadata["\(LogKey.metadataPrefix.rawValue).\(PeerText.quote(key))"] = "\(PeerText.quote(value))"
            }
            logger.debug("call", metadata: metadata)
        }
        let frame = ResponseFrame(
            id: id, code: UInt32(code.rawValue), message: message, more: more, revision: revision ?? published.revision)
        emit(capacity: 32 + message.utf8.count + payloadLength, context: context) {
            frame.write(to: &$0, payloadLength: payloadLength, writePayload)
        }
    }

    /// Writes a frame for the socket: while a read's frames are handled, into
    /// the buffer their replies share (written out at the read's end, or once
    /// it holds `repliesWriteBytes`, so that back-pressure still sees them);
    /// otherwise into a buffer of its own.
    private func emit(capacity: Int, context: ChannelHandlerContext, _ write: (inout ByteBuffer) -> Void) {
        guard processing else {
            var buffer = context.channel.allocator.buffer(capacity: capacity)
            write(&buffer)
            meter.sent(buffer.readableBytes)
            context.write(wrapOutboundOut(buffer), promise: nil)
            return
        }
        // Taken out of the property (one access, and the buffer stays uniquely referenced), then put back.
        var taken: ByteBuffer? = nil
        swap(&taken, &replies)
        var buffer = taken ?? context.channel.allocator.buffer(capacity: Swift.max(capacity, Self.repliesInitialBytes))
        taken = nil
        let before = buffer.readableBytes
        write(&buffer)
        meter.sent(buffer.readableBytes - before)
        if buffer.readableBytes >= Self.repliesWriteBytes {
            context.write(wrapOutboundOut(buffer), promise: nil)
        } else {
            replies = buffer
        }
    }

    private static let repliesInitialBytes = 4096
    private static let repliesWriteBytes = 64 * 1024

    /// Hands the gathered replies to the channel (before any flush or close).
    private func writeReplies(_ context: ChannelHandlerContext) {
        guard let buffer = replies else { return }
        replies = nil
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func flush(_ context: ChannelHandlerContext) {
        writeReplies(context)
        context.flush()
    }

    private func close(_ context: ChannelHandlerContext) {
        writeReplies(context)
        context.close(promise: nil)
    }

    private func write(_ frame: Accessd_V1_ServerFrame, context: ChannelHandlerContext) {
        guard let bytes: [UInt8] = try? frame.serializedBytes() else { return }
        emit(capacity: bytes.count + 4, context: context) {
            $0.writeInteger(UInt32(bytes.count))
            $0.writeBytes(bytes)
        }
    }
}

/// Tells a connection that the daemon is shutting down: NIO's quiesce event,
/// which `ServerQuiescingHelper` sends every connection the listener accepted.
typealias GoAwayEvent = ChannelShouldQuiesceEvent
