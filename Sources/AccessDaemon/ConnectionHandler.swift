import AccessCore
import AccessServer
import AccessWire
import Foundation
import Logging
import NIOCore
import SwiftProtobuf

/// One client connection: framing (with the stall limit), the calls in flight,
/// reads answered from the published state on this loop, writes batched to the
/// state's owner, replies written as they are ready (spec/protocol.md).
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum InFlight {
        case write
        case waitingForRevision
        case stream
    }

    private struct PendingWrite {
        var id: UInt64
        var call: WriteCall
    }

    private let owner: StateOwner
    private var configuration: DaemonConfiguration
    /// The reloadable settings (SIGHUP); `configuration` follows it from the next read.
    private let live: LiveConfiguration?
    private var liveGeneration: UInt64 = 0
    private var logger: Logger
    private var decoder: FrameDecoder
    private var cumulation: ByteBuffer?
    private var stallTimer: Scheduled<Void>?
    private var inFlight: [UInt64: InFlight] = [:]
    private var pendingWrites: [PendingWrite] = []
    private var peer: PeerCredentials?
    private var closing = false
    /// Set on shutdown: new calls get UNAVAILABLE; the connection closes once the calls in flight are answered.
    private var goingAway = false
    private var lastAcceptedID: UInt64 = 0
    /// For the one debug line per call: method, actor, trace metadata, start.
    private var calls: [UInt64: (method: String, actor: String, metadata: [String: String], start: NIODeadline)] = [:]
    private var context: ChannelHandlerContext?
    /// The published state taken once per read from the socket, for all its frames (one lock, not one per call).
    private var readPublished: PublishedState?
    private var published: PublishedState { readPublished ?? owner.published }

    private let control: DaemonControl

    init(
        owner: StateOwner, configuration: DaemonConfiguration, control: DaemonControl, logger: Logger,
        live: LiveConfiguration? = nil
    ) {
        self.owner = owner
        self.control = control
        self.configuration = configuration
        self.live = live
        self.logger = logger
        self.decoder = FrameDecoder(maximumFrameLength: configuration.maximumFrameLength)
        followLiveConfiguration()
    }

    /// Takes a reloaded configuration when there is one (one atomic load otherwise).
    private func followLiveConfiguration() {
        guard let live, live.generation != liveGeneration else { return }
        liveGeneration = live.generation
        configuration = live.current
        if decoder.maximumFrameLength != configuration.maximumFrameLength {
            decoder = FrameDecoder(maximumFrameLength: configuration.maximumFrameLength)
        }
    }

    /// Root and the configured uids and groups make administrator calls.
    private var isAdministrator: Bool {
        guard let peer else { return false }
        return peer.uid == 0 || configuration.administratorUIDs.contains(peer.uid)
            || configuration.administratorGIDs.contains(peer.gid)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stallTimer?.cancel()
        let streams = inFlight.filter { $0.value == .stream }.map(\.key)
        for id in streams { unfollow(id) }
        inFlight = [:]
        self.context = nil
    }

    /// Shutdown (`GoAwayEvent`): streams end with UNAVAILABLE, a GoAway frame
    /// goes out, and the connection closes once the calls in flight are answered.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is GoAwayEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        goingAway = true
        for (id, kind) in inFlight where kind == .stream {
            unfollow(id)
            inFlight[id] = nil
            respond(id: id, code: .unavailable, message: "accessd is shutting down; follow again from the last event seen", context: context)
        }
        var goAway = Accessd_V1_GoAway()
        goAway.reason = "accessd is shutting down"
        goAway.lastAcceptedID = lastAcceptedID
        var frame = Accessd_V1_ServerFrame()
        frame.goAway = goAway
        write(frame, context: context)
        context.flush()
        closeIfDrained(context: context)
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        if goingAway && inFlight.isEmpty && pendingWrites.isEmpty && !closing {
            closing = true
            context.close(promise: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        PeerCredentials.read(from: context.channel).whenSuccess { credentials in
            let handler = loopBound.value
            handler.peer = credentials
            handler.logger[metadataKey: "peer"] = "\(credentials.map(String.init(describing:)) ?? "unknown")"
        }
        context.fireChannelActive()
    }

    // MARK: - Framing

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !closing else { return }
        followLiveConfiguration()
        if cumulation == nil {
            cumulation = bytes
        } else {
            cumulation!.writeBuffer(&bytes)
        }
        readPublished = owner.published
        defer { readPublished = nil }
        do {
            while !closing, var buffer = cumulation, let frame = try decoder.decode(buffer: &buffer) {
                cumulation = buffer
                handleFrame(frame, context: context)
            }
        } catch let error as FrameTooLong {
            fail(context: context, code: .resourceExhausted, message: "\(error); the connection is closed")
            return
        } catch {
            fail(context: context, code: .internal, message: "framing failed")
            return
        }
        if let buffer = cumulation, buffer.readableBytes > 0 {
            if stallTimer == nil {
                // A frame has started: it must finish in time.
                let timeout = TimeAmount.milliseconds(configuration.frameStallTimeoutMilliseconds)
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                stallTimer = context.eventLoop.scheduleTask(in: timeout) {
                    let (handler, context) = loopBound.value
                    handler.logger.notice("closing a connection whose frame stalled half-way")
                    handler.closing = true
                    context.close(promise: nil)
                }
            }
        } else {
            stallTimer?.cancel()
            stallTimer = nil
            cumulation = nil
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushWrites(context: context)
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }

    /// Answers a connection-level error with id 0, then closes (spec: oversize, undecodable).
    private func fail(context: ChannelHandlerContext, code: StatusCode, message: String) {
        closing = true
        logger.notice("closing connection: \(code): \(message)")
        respond(id: 0, code: code, message: message, context: context)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
        context.close(promise: nil)
    }

    // MARK: - Calls

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
            fail(context: context, code: .invalidArgument, message: "the frame does not decode as accessd.v1.ClientFrame")
            return
        }
        switch clientFrame.kind {
        case .request(let request):
            handleRequest(RequestHead(request), context: context)
        case .cancel(let cancel):
            handleCancel(cancel.id, context: context)
        case nil:
            fail(context: context, code: .invalidArgument, message: "the frame carries neither a request nor a cancel")
        }
    }

    /// Reads answer at once and writes, once received, are applied in order:
    /// only a read waiting for its revision, or a stream, can still be stopped.
    private func handleCancel(_ id: UInt64, context: ChannelHandlerContext) {
        switch inFlight[id] {
        case .waitingForRevision:
            inFlight[id] = nil
            respond(id: id, code: .cancelled, message: "cancelled by the client", context: context)
        case .stream:
            unfollow(id)
            inFlight[id] = nil
            respond(id: id, code: .cancelled, message: "cancelled by the client", context: context)
        case .write, nil:
            break
        }
    }

    private func handleRequest(_ request: RequestHead, context: ChannelHandlerContext) {
        let id = request.id
        guard !goingAway else {
            respond(id: id, code: .unavailable, message: "accessd is shutting down; call again once it is back", context: context)
            return
        }
        guard inFlight[id] == nil else {
            respond(id: id, code: .invalidArgument, message: "id \(id) is already in flight on this connection", context: context)
            return
        }
        guard inFlight.count < configuration.maximumCallsPerConnection else {
            respond(
                id: id, code: .resourceExhausted,
                message: "more than \(configuration.maximumCallsPerConnection) calls in flight on this connection; wait for replies",
                context: context)
            return
        }
        guard let handler = MethodTable.handlers[request.method] else {
            respond(id: id, code: .unimplemented, message: "unknown method \(request.method)", context: context)
            return
        }
        lastAcceptedID = max(lastAcceptedID, id)
        if logger.logLevel <= .debug {
            calls[id] = (request.method, request.actor, request.metadata, .now())
        }
        let published = self.published
        let principal: Principal
        if request.actor.isEmpty {
            principal = isAdministrator ? .administrator : .anonymous
        } else {
            do {
                principal = try published.state.principal(forActor: request.actor)
            } catch {
                respond(id: id, error: error, context: context)
                return
            }
        }
        let deadline = request.timeoutMs > 0 ? NIODeadline.now() + .milliseconds(Int64(request.timeoutMs)) : nil
        switch handler {
        case .read(let read):
            answerRead(
                id: id, method: request.method, read: read, payload: request.payload, principal: principal,
                minRevision: request.minRevision, deadline: deadline, context: context)
        case .write(let makeCommand, let reply):
            do {
                let command = try makeCommand(Data(request.payload.readableBytesView), published.state)
                inFlight[id] = .write
                pendingWrites.append(
                    PendingWrite(
                        id: id,
                        call: WriteCall(
                            command: command, principal: principal, dryRun: request.dryRun,
                            idempotencyKey: request.idempotencyKey, reply: reply, deadline: deadline)))
            } catch {
                respond(id: id, error: error, context: context)
            }
        case .daemon:
            answerDaemonCall(
                id: id, method: request.method, payload: Data(request.payload.readableBytesView), principal: principal, published: published,
                context: context)
        }
    }

    private func answerRead(
        id: UInt64, method: String, read: @escaping @Sendable (Data, ReadContext) throws(AccessError) -> Data,
        payload: ByteBuffer, principal: Principal,
        minRevision: UInt64, deadline: NIODeadline?, context: ChannelHandlerContext
    ) {
        let published = self.published
        if published.revision < minRevision {
            // Read-your-writes: wait for the state to reach the revision, or the deadline.
            let limit = deadline ?? .now() + .milliseconds(configuration.defaultMinRevisionWaitMilliseconds)
            guard NIODeadline.now() < limit else {
                inFlight[id] = nil
                respond(
                    id: id, code: .deadlineExceeded,
                    message: "the state did not reach revision \(minRevision) in time (it is at \(published.revision))",
                    context: context)
                return
            }
            inFlight[id] = .waitingForRevision
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(1)) {
                let (handler, context) = loopBound.value
                guard handler.inFlight[id] == .waitingForRevision else { return }  // cancelled
                handler.answerRead(
                    id: id, method: method, read: read, payload: payload, principal: principal, minRevision: minRevision,
                    deadline: limit, context: context)
                context.flush()
            }
            return
        }
        inFlight[id] = nil
        if method == CheckFastPath.method, let request = CheckFastPath.request(payload) {
            do {
                let reply = try MethodTable.check(request, in: published.state)
                respond(id: id, revision: published.revision, context: context, payloadLength: CheckFastPath.length(of: reply)) {
                    CheckFastPath.write(reply, to: &$0)
                }
            } catch {
                respond(id: id, error: error, revision: published.revision, context: context)
            }
            return
        }
        do {
            let reply = try read(
                Data(payload.readableBytesView), ReadContext(state: published.state, history: published.history, principal: principal))
            respond(id: id, payload: reply, revision: published.revision, context: context)
        } catch {
            respond(id: id, error: error, revision: published.revision, context: context)
        }
    }

    private func answerDaemonCall(
        id: UInt64, method: String, payload: Data, principal: Principal, published: PublishedState,
        context: ChannelHandlerContext
    ) {
        guard principal == .administrator else {
            respond(id: id, code: .permissionDenied, message: "\(method) is an administrator's call", context: context)
            return
        }
        switch method {
        case MethodTable.path(service: "AdminService", method: "GetStats"):
            let status = control.status()
            var stats = Accessd_V1_GetStatsResponse()
            stats.revision = published.revision
            stats.accounts = UInt64(published.state.accounts.count)
            stats.users = UInt64(published.state.users.count)
            stats.connections = UInt64(status.connections)
            stats.callsInFlight = UInt64(inFlight.count)
            stats.lastSnapshotRevision = status.snapshotRevision
            stats.lastSnapshotAtMs = status.snapshotAtMilliseconds
            stats.stateDirectory = configuration.stateDirectory
            stats.socketPath = configuration.socketPath
            stats.lastSnapshotLsn = status.snapshotLSN
            stats.fsyncPolicy = status.fsyncPolicy
            stats.journalRecords = status.journalRecords
            stats.journalSyncs = status.journalSyncs
            respond(id: id, payload: (try? stats.serializedBytes()) ?? Data(), revision: published.revision, context: context)
        case MethodTable.path(service: "AdminService", method: "Snapshot"):
            inFlight[id] = .write
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let snapshot = control.snapshot
            snapshot().hop(to: context.eventLoop).whenComplete { result in
                let (handler, context) = loopBound.value
                handler.inFlight[id] = nil
                switch result {
                case .success(let written):
                    var reply = Accessd_V1_SnapshotResponse()
                    reply.revision = written.revision
                    reply.path = written.path
                    handler.respond(id: id, payload: (try? reply.serializedBytes()) ?? Data(), context: context)
                case .failure(let error):
                    handler.respond(id: id, code: .unavailable, message: "the snapshot could not be written: \(error)", context: context)
                }
                context.flush()
                handler.closeIfDrained(context: context)
            }
        case MethodTable.path(service: "EventService", method: "FollowEvents"):
            guard let request = try? Accessd_V1_FollowEventsRequest(serializedBytes: payload) else {
                respond(
                    id: id, code: .invalidArgument, message: "the payload does not decode as accessd.v1.FollowEventsRequest",
                    context: context)
                return
            }
            follow(id: id, after: request.afterSeq, context: context)
        default:
            respond(id: id, code: .unimplemented, message: "\(method) is not served by this build yet", context: context)
        }
    }

    // MARK: - Streams (FollowEvents)

    /// Registers with the owner (on its loop, so the backlog and the live
    /// events join without a gap), then sends the backlog and every new event
    /// as `more` responses until cancelled.
    private func follow(id: UInt64, after afterSeq: UInt64, context: ChannelHandlerContext) {
        inFlight[id] = .stream
        let key = FollowerKey(connection: ObjectIdentifier(self), id: id)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let connectionLoop = context.eventLoop
        let send: @Sendable ([Event]) -> Void = { events in
            connectionLoop.execute {
                let (handler, context) = loopBound.value
                handler.sendEvents(events, id: id, context: context)
            }
        }
        let owner = self.owner
        owner.loop.execute {
            let backlog = owner.assumeIsolated { owner in Result { () throws(AccessError) in try owner.follow(key, after: afterSeq, send: send) } }
            connectionLoop.execute {
                let (handler, context) = loopBound.value
                switch backlog {
                case .success(let events):
                    handler.sendEvents(events, id: id, context: context)
                case .failure(let error):
                    handler.inFlight[id] = nil
                    handler.respond(id: id, error: error, context: context)
                    context.flush()
                }
            }
        }
    }

    private func sendEvents(_ events: [Event], id: UInt64, context: ChannelHandlerContext) {
        guard inFlight[id] == .stream, !events.isEmpty else { return }
        for event in events {
            let payload: [UInt8] = (try? Accessd_V1_Event(event).serializedBytes()) ?? []
            respond(id: id, more: true, revision: event.seq, context: context, payloadLength: payload.count) {
                $0.bytes(payload)
            }
        }
        context.flush()
    }

    private func unfollow(_ id: UInt64) {
        let key = FollowerKey(connection: ObjectIdentifier(self), id: id)
        let owner = self.owner
        owner.loop.execute { owner.assumeIsolated { $0.unfollow(key) } }
    }

    /// Sends this read's batch of writes to the owner: on its loop directly,
    /// from another loop in one hop. The owner queues it behind the record
    /// being synced (see `StateOwner.submit`); the replies leave once the
    /// batch's journal record is durable, back on this connection's loop.
    private func flushWrites(context: ChannelHandlerContext) {
        guard !pendingWrites.isEmpty else { return }
        let ids = pendingWrites.map(\.id)
        let calls = pendingWrites.map(\.call)
        pendingWrites = []
        let owner = self.owner
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let connectionLoop = context.eventLoop
        let completion: StateOwner.BatchCompletion = { result in
            @Sendable func deliver() {
                let (handler, context) = loopBound.value
                switch result {
                case .success(let outcomes):
                    handler.deliver(ids, outcomes, context: context)
                case .failure(let error):
                    let refusal = AccessError(
                        .unavailable, "the write could not be made durable and was not applied (\(error)); try again later")
                    handler.deliver(ids, ids.map { _ in .refused(refusal) }, context: context)
                }
                context.flush()
            }
            if connectionLoop.inEventLoop { deliver() } else { connectionLoop.execute(deliver) }
        }
        if owner.loop.inEventLoop {
            owner.assumeIsolated { $0.submit(calls, completion: completion) }
        } else {
            owner.loop.execute { owner.assumeIsolated { $0.submit(calls, completion: completion) } }
        }
    }

    private func deliver(_ ids: [UInt64], _ outcomes: [WriteOutcome], context: ChannelHandlerContext) {
        defer { closeIfDrained(context: context) }
        for (id, outcome) in zip(ids, outcomes) {
            inFlight[id] = nil
            switch outcome {
            case .applied(let reply, let revision):
                respond(id: id, payload: reply, revision: revision, context: context)
            case .refused(let error):
                respond(id: id, error: error, context: context)
            }
        }
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
        if !more, let call = calls.removeValue(forKey: id) {
            let micros = (NIODeadline.now() - call.start).nanoseconds / 1000
            var metadata: Logger.Metadata = [
                "method": "\(call.method)", "uid": "\(peer.map { String($0.uid) } ?? "?")",
                "actor": "\(call.actor.isEmpty ? (isAdministrator ? "administrator" : "anonymous") : call.actor)",
                "status": "\(code)", "us": "\(micros)",
            ]
            for (key, value) in call.metadata { metadata["meta.\(key)"] = "\(value)" }
            logger.debug("call", metadata: metadata)
        }
        let frame = ResponseFrame(
            id: id, code: UInt32(code.rawValue), message: message, more: more, revision: revision ?? published.revision)
        var buffer = context.channel.allocator.buffer(capacity: 32 + message.utf8.count + payloadLength)
        frame.write(to: &buffer, payloadLength: payloadLength, writePayload)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func write(_ frame: Accessd_V1_ServerFrame, context: ChannelHandlerContext) {
        guard let bytes: [UInt8] = try? frame.serializedBytes() else { return }
        context.write(wrapOutboundOut(context.channel.allocator.frame(bytes)), promise: nil)
    }
}

/// Tells every connection that the daemon is shutting down.
struct GoAwayEvent: Sendable {}
