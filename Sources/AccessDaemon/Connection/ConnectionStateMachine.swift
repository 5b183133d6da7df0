import AccessStore
import AccessStatus
import AccessCore
import AccessWire
import NIOCore

/// One connection's protocol state as a value (docs/protocol.md): framing
/// and its stall limit, the calls in flight, the reads waiting for a
/// revision, the writes queued for the state's owner, back-pressure, and
/// shutdown. Every event the connection sees comes in as a method call and
/// leaves as an action; the machine does no I/O and reads no clock (times are
/// passed in), and `ConnectionHandler` only carries its actions out. Modelled
/// on postgres-nio's `ConnectionStateMachine`.
///
/// Memory a peer can make the connection hold is bounded: the unread inbound
/// bytes by the maximum frame (plus what one socket read brings; the buffer
/// is compacted whenever a frame is pending behind frames already handled),
/// replies not yet read by the peer by the outbound high-water mark (past it
/// no further request is read, and no stream sends, until the peer drains
/// them), calls in flight by `Limits.callsInFlight`.
struct ConnectionStateMachine {
    struct Limits: Sendable, Equatable {
        var maximumFrameLength: Int
        var callsInFlight: Int
        /// A frame that has started arriving must be complete this long after its first byte.
        var frameStall: TimeAmount
        /// How long a read waits for `min_revision` when it has no deadline.
        var defaultRevisionWait: TimeAmount
        /// The longest a read waits for `min_revision`, deadline or not.
        var maximumRevisionWait: TimeAmount
    }

    /// A call the connection must still answer.
    enum Call: Sendable {
        /// A write handed to (or queued for) the state's owner: it is answered
        /// once journaled, and cannot be stopped once received.
        case write
        /// A read waiting for `min_revision`.
        case waiting(WaitingRead)
        /// FollowEvents: the events after `after` are still to send. The
        /// connection pulls them from the published history while the peer
        /// takes them, so a follower that stops reading holds nothing but
        /// its place.
        case stream(after: UInt64)
        /// A call served by the daemon itself that completes later (Snapshot).
        case daemon
        /// AdminService.Backup: nil while the snapshot is encoded off the
        /// loops, then its pieces sent one at a time while the peer takes them.
        case backup(BackupTransfer?)
    }

    /// A read waiting for the state to reach a revision: what it needs to run later.
    struct WaitingRead: Sendable {
        var method: String
        /// Copied out of the socket's buffer, so that a waiting read does not
        /// keep the whole buffer it arrived in.
        var payload: ByteBuffer
        var principal: Principal
        var minRevision: UInt64
        var deadline: NIODeadline
    }

    /// Writes received in one socket read, in order, for one hop to the owner.
    struct QueuedWrite {
        var id: UInt64
        var call: WriteCall
    }

    enum Lifecycle: Equatable {
        /// Serving.
        case open
        /// GoAway sent: new calls get UNAVAILABLE; the connection closes once
        /// the calls in flight are answered.
        case goingAway
        /// Closed, or closing after a connection-level error.
        case closed
    }

    private(set) var limits: Limits
    private(set) var lifecycle: Lifecycle = .open
    private var decoder: FrameDecoder
    /// What the peer sent that is not handled yet: whole frames waiting for
    /// the connection to be writable again, and the start of the next frame.
    private var inbound: ByteBuffer?
    /// Whether a frame was taken out of `inbound` since the last `readEnded`.
    private var tookFrame = false

    /// When the frame begun at the end of `inbound` must be complete; nil
    /// while none is pending, or while reading is paused (the peer is not
    /// to blame for bytes the daemon does not read).
    private(set) var frameDeadline: NIODeadline?
    /// The stall timer the handler has scheduled, if any.
    private var stallTimer: NIODeadline?
    private(set) var calls: [UInt64: Call] = [:]
    private var queuedWrites: [QueuedWrite] = []
    /// The earliest deadline among waiting reads that a timer is scheduled for.
    private var waitTimer: NIODeadline?
    /// The lowest revision the connection asked the owner to be woken at.
    private var wakeRegistered: UInt64?
    /// Whether the socket can take more replies (NIO's writability: the
    /// outbound high-water mark). While false, no request is read.
    private(set) var writable = true
    /// A read from the socket NIO asked for while not writable: made on resume.
    private var readHeld = false
    private(set) var lastAcceptedID: UInt64 = 0

    init(limits: Limits) {
        self.limits = limits
        self.decoder = FrameDecoder(maximumFrameLength: limits.maximumFrameLength)
    }

    /// Limits from a reloaded configuration; they apply from the next frame.
    mutating func setLimits(_ new: Limits) {
        if new.maximumFrameLength != limits.maximumFrameLength {
            decoder = FrameDecoder(maximumFrameLength: new.maximumFrameLength)
        }
        limits = new
    }

    // MARK: - Framing

    /// Bytes read from the socket.
    mutating func received(_ bytes: inout ByteBuffer) {
        guard lifecycle != .closed else { return }
        if inbound == nil {
            inbound = bytes
        } else {
            inbound!.writeBuffer(&bytes)
        }
    }

    enum NextFrame: Equatable {
        /// A whole frame to handle.
        case frame(ByteBuffer)
        /// Nothing to handle now: no whole frame, not writable, or closed.
        case none
        /// The connection must end: answer with id 0 and close (an oversize frame).
        case fail(StatusCode, String)
    }

    /// The next whole frame received, unless the connection is not writable
    /// (back-pressure: requests wait in `inbound`) or closed.
    mutating func nextFrame() -> NextFrame {
        guard lifecycle != .closed, writable, inbound != nil else { return .none }
        do {
            guard let frame = try decoder.decode(buffer: &inbound!) else { return .none }
            tookFrame = true
            return .frame(frame)
        } catch let error as FrameTooLong {
            return fail(.resourceExhausted, "\(error); the connection is closed")
        } catch {
            return fail(.internal, "framing failed; the connection is closed")
        }
    }

    /// Takes whole frames from the head of what was received while each is
    /// answered at once (the Check lane), with no slice made of any: `decide`
    /// gets a frame's bytes (its length left out) and returns its answer, or
    /// nil to leave it, and the rest, to `nextFrame`; an answer whose call
    /// `id` is admitted takes its frame and goes to `reply`, one that is not
    /// (a repeated id, too many calls in flight) stays for `nextFrame` too.
    /// Nothing is taken while `nextFrame` would take nothing. Returns how
    /// many frames were answered.
    @discardableResult
    mutating func answerAtOnce<Answer>(
        _ decide: (UnsafeRawBufferPointer) -> Answer?, id: (Answer) -> UInt64, reply: (Answer) -> Void
    ) -> Int {
        guard lifecycle == .open, writable, inbound != nil else { return 0 }
        var answered = 0
        // A frame above the maximum length is left to `nextFrame`, which fails the connection for it.
        while let length = try? decoder.wholeFrameLength(in: inbound!, at: inbound!.readerIndex),
            let answer = inbound!.withUnsafeReadableBytes({ decide(UnsafeRawBufferPointer(rebasing: $0[4..<4 + length])) }),
            case .accepted = admit(id: id(answer))
        {
            inbound!.moveReaderIndex(forwardBy: 4 + length)
            tookFrame = true
            answered += 1
            reply(answer)
        }
        return answered
    }

    enum ReadEnd: Equatable {
        case none
        /// Schedule the stall timer for this deadline (none is scheduled).
        case scheduleStallTimer(NIODeadline)
    }

    /// The frames of one socket read are handled: compacts what is left and
    /// arms the stall limit for the frame begun at its end, if any.
    mutating func readEnded(now: @autoclosure () -> NIODeadline) -> ReadEnd {
        defer { tookFrame = false }
        guard lifecycle != .closed, let buffer = inbound, buffer.readableBytes > 0 else {
            inbound = nil
            frameDeadline = nil
            return .none
        }
        compactInbound()
        guard writable else { return .none }
        if frameDeadline == nil || tookFrame {
            // A new frame began in this read: its own limit starts now.
            frameDeadline = now() + limits.frameStall
        }
        guard stallTimer == nil, let deadline = frameDeadline else { return .none }
        stallTimer = deadline
        return .scheduleStallTimer(deadline)
    }

    /// Bytes received and not yet handled: the unfinished frame, and frames
    /// waiting for the connection to drain.
    var inboundBytes: Int { inbound?.readableBytes ?? 0 }

    /// The bytes received and not yet taken as frames (a copy of the buffer's view, not of its bytes).
    var unreadBytes: ByteBuffer? { inbound }

    /// Payload bytes the reads waiting for a revision hold (copied out of the
    /// socket's buffer); they count with `inboundBytes` against the peer
    /// uid's budget.
    private(set) var waitingBytes = 0

    /// The storage the inbound buffer holds (what compaction bounds).
    var inboundCapacity: Int { inbound?.capacity ?? 0 }

    /// Drops the bytes already handled, so that a frame pending behind them
    /// does not keep (or grow) a buffer of everything before it; and gives
    /// back a buffer much larger than what it holds.
    private mutating func compactInbound() {
        guard var buffer = inbound else { return }
        let readable = buffer.readableBytes
        if buffer.capacity > 4 * max(readable, 64 * 1024) {
            var fresh = ByteBufferAllocator().buffer(capacity: readable)
            fresh.writeBuffer(&buffer)
            inbound = fresh
        } else if buffer.readerIndex > 0 {
            inbound = nil  // one reference, so that discarding moves bytes instead of copying the storage
            buffer.discardReadBytes()
            inbound = buffer
        }
    }

    enum StallTimerAction: Equatable {
        case none
        case reschedule(NIODeadline)
        /// The frame did not finish in time: close the connection.
        case close
    }

    /// The stall timer fired: closes the connection when the frame begun has
    /// not finished in time; the frames that kept finishing re-arm it.
    mutating func stallTimerFired(now: NIODeadline) -> StallTimerAction {
        stallTimer = nil
        guard lifecycle != .closed, let deadline = frameDeadline else { return .none }
        if now >= deadline {
            lifecycle = .closed
            return .close
        }
        stallTimer = deadline
        return .reschedule(deadline)
    }

    // MARK: - Calls

    enum Admission: Equatable {
        case accepted
        case rejected(StatusCode, String)
    }

    /// A request arrived: may it become a call?
    mutating func admit(id: UInt64) -> Admission {
        guard lifecycle == .open else {
            return .rejected(.unavailable, "accessd is shutting down; call again once it is back")
        }
        guard calls[id] == nil else {
            return .rejected(.invalidArgument, "id \(id) is already in flight on this connection")
        }
        guard calls.count < limits.callsInFlight else {
            return .rejected(
                .resourceExhausted, "more than \(limits.callsInFlight) calls in flight on this connection; wait for replies")
        }
        lastAcceptedID = max(lastAcceptedID, id)
        return .accepted
    }

    /// An admitted call that will be answered later (reads answered at once are not recorded).
    mutating func started(_ id: UInt64, _ call: Call) {
        calls[id] = call
    }

    /// A write admitted in this read, queued for the owner with the others.
    mutating func queueWrite(_ id: UInt64, _ call: WriteCall) {
        calls[id] = .write
        queuedWrites.append(QueuedWrite(id: id, call: call))
    }

    /// The writes queued since the last call, in the order received.
    mutating func takeQueuedWrites() -> [QueuedWrite] {
        defer { queuedWrites = [] }
        return queuedWrites
    }

    enum Completion: Equatable {
        case none
        /// Going away and nothing is left to answer: close.
        case close
    }

    /// A recorded call was answered.
    mutating func finished(_ id: UInt64) -> Completion {
        calls[id] = nil
        return drainedCompletion()
    }

    private var drained: Bool { calls.isEmpty && queuedWrites.isEmpty }

    /// After calls ended outside `finished` (woken or expired reads, cancels):
    /// going away and nothing is left to answer: close.
    mutating func checkDrained() -> Completion { drainedCompletion() }

    private mutating func drainedCompletion() -> Completion {
        guard lifecycle == .goingAway, drained else { return .none }
        lifecycle = .closed
        return .close
    }

    enum CancelOutcome: Equatable {
        /// Nothing to stop: unknown id, a write (applied in order once received), or a daemon call.
        case ignored
        /// A waiting read: answer CANCELLED.
        case cancelledRead
        /// A stream: stop following, answer CANCELLED.
        case cancelledStream
        /// A backup: drop what is left of it, answer CANCELLED.
        case cancelledBackup
    }

    mutating func cancel(_ id: UInt64) -> CancelOutcome {
        switch calls[id] {
        case .waiting(let read):
            calls[id] = nil
            waitingBytes -= read.payload.readableBytes
            return .cancelledRead
        case .stream:
            calls[id] = nil
            return .cancelledStream
        case .backup:
            calls[id] = nil
            return .cancelledBackup
        case .write, .daemon, nil:
            return .ignored
        }
    }

    // MARK: - Reads waiting for a revision

    /// The deadline of a read that waits for `min_revision`: its own, or the
    /// default wait, never past the longest wait.
    func revisionWaitDeadline(now: NIODeadline, requested: NIODeadline?) -> NIODeadline {
        let cap = now + limits.maximumRevisionWait
        return min(requested ?? now + limits.defaultRevisionWait, cap)
    }

    struct WaitActions: Equatable {
        /// Ask the owner to wake the connection at this revision.
        var registerWake: UInt64?
        /// Schedule the wait timer for this deadline (replacing any other).
        var scheduleWaitTimer: NIODeadline?
    }

    /// A read must wait for its revision.
    mutating func wait(_ id: UInt64, _ read: WaitingRead) -> WaitActions {
        calls[id] = .waiting(read)
        waitingBytes += read.payload.readableBytes
        var actions = WaitActions()
        if wakeRegistered.map({ read.minRevision < $0 }) ?? true {
            wakeRegistered = read.minRevision
            actions.registerWake = read.minRevision
        }
        if waitTimer.map({ read.deadline < $0 }) ?? true {
            waitTimer = read.deadline
            actions.scheduleWaitTimer = read.deadline
        }
        return actions
    }

    /// The owner woke the connection: the state is at `revision`. Returns the
    /// reads it reaches (to answer now) and whether to register again.
    mutating func revisionReached(_ revision: UInt64) -> (ready: [(UInt64, WaitingRead)], registerWake: UInt64?) {
        if let registered = wakeRegistered, registered <= revision { wakeRegistered = nil }
        var ready: [(UInt64, WaitingRead)] = []
        var lowest: UInt64?
        for (id, call) in calls {
            guard case .waiting(let read) = call else { continue }
            if read.minRevision <= revision {
                ready.append((id, read))
            } else {
                lowest = min(lowest ?? .max, read.minRevision)
            }
        }
        for (id, read) in ready {
            calls[id] = nil
            waitingBytes -= read.payload.readableBytes
        }
        ready.sort { $0.0 < $1.0 }
        var register: UInt64?
        if let lowest, wakeRegistered.map({ lowest < $0 }) ?? true {
            wakeRegistered = lowest
            register = lowest
        }
        return (ready, register)
    }

    /// The wait timer fired: the reads past their deadline (answer
    /// DEADLINE_EXCEEDED) and the next deadline to schedule, if any.
    mutating func waitTimerFired(now: NIODeadline) -> (expired: [(UInt64, WaitingRead)], next: NIODeadline?) {
        waitTimer = nil
        var expired: [(UInt64, WaitingRead)] = []
        var next: NIODeadline?
        for (id, call) in calls {
            guard case .waiting(let read) = call else { continue }
            if read.deadline <= now {
                expired.append((id, read))
            } else {
                next = min(next ?? read.deadline, read.deadline)
            }
        }
        for (id, read) in expired {
            calls[id] = nil
            waitingBytes -= read.payload.readableBytes
        }
        expired.sort { $0.0 < $1.0 }
        waitTimer = next
        return (expired, next)
    }

    // MARK: - Streams

    /// Where a stream stands: the events after `after` are to be pulled and
    /// sent now, or it waits (the peer has not drained what was sent, or the
    /// stream is gone).
    enum StreamPull: Equatable {
        case pull(after: UInt64)
        case wait
    }

    /// New events may be there for stream `id` (it started, the owner
    /// published, or the connection drained).
    func streamReady(_ id: UInt64) -> StreamPull {
        guard lifecycle != .closed, writable, case .stream(let after) = calls[id] else { return .wait }
        return .pull(after: after)
    }

    /// The events of stream `id` up to `seq` were written.
    mutating func streamSent(_ id: UInt64, through seq: UInt64) {
        guard case .stream = calls[id] else { return }
        calls[id] = .stream(after: seq)
    }

    /// The streams to pull for once the connection is writable again.
    var streams: [UInt64] {
        calls.compactMap { id, call -> UInt64? in
            if case .stream = call { return id } else { return nil }
        }.sorted()
    }

    // MARK: - Backups

    /// The snapshot of backup `id` is encoded: false when the call is gone
    /// (cancelled, or the connection closed), and the image is dropped.
    mutating func backupEncoded(_ id: UInt64, _ transfer: BackupTransfer) -> Bool {
        guard lifecycle != .closed, case .backup(nil) = calls[id] else { return false }
        calls[id] = .backup(transfer)
        return true
    }

    enum BackupPull: Equatable {
        /// Send this message with `more` set.
        case send(BackupTransfer.Piece)
        /// Everything was sent: end the call with OK.
        case finished
        /// Not now: the peer has not drained what was sent, the snapshot is
        /// still being encoded, or the call is gone.
        case wait
    }

    /// The next message of backup `id`, while the peer takes them.
    mutating func nextBackupPiece(_ id: UInt64) -> BackupPull {
        guard lifecycle != .closed, writable, case .backup(var transfer?) = calls[id] else { return .wait }
        guard let piece = transfer.take() else { return .finished }
        calls[id] = .backup(transfer)
        return .send(piece)
    }

    /// The backups to go on with once the connection is writable again.
    var backups: [UInt64] {
        calls.compactMap { id, call -> UInt64? in
            if case .backup = call { return id } else { return nil }
        }.sorted()
    }

    // MARK: - Back-pressure

    enum WritabilityAction: Equatable {
        case none
        /// Writable again: handle the frames waiting in `inbound`, and read
        /// from the socket if NIO asked while paused.
        case resume(read: Bool)
    }

    mutating func writabilityChanged(writable: Bool) -> WritabilityAction {
        guard writable != self.writable else { return .none }
        self.writable = writable
        guard writable else {
            frameDeadline = nil  // paused by the daemon: the stall limit waits too
            return .none
        }
        guard lifecycle != .closed else { return .none }
        defer { readHeld = false }
        return .resume(read: readHeld)
    }

    /// NIO wants to read from the socket: go ahead unless paused.
    mutating func readRequested() -> Bool {
        guard writable else {
            readHeld = true
            return false
        }
        return true
    }

    // MARK: - Shutdown and errors

    struct GoAwayActions: Equatable {
        /// Send GoAway (once).
        var sendGoAway: Bool
        /// Streams to end with UNAVAILABLE.
        var streams: [UInt64]
        /// Waiting reads to answer UNAVAILABLE.
        var waitingReads: [UInt64]
        /// Nothing left: close now.
        var close: Bool
    }

    /// The daemon is shutting down.
    mutating func goAway() -> GoAwayActions {
        guard lifecycle == .open else {
            return GoAwayActions(sendGoAway: false, streams: [], waitingReads: [], close: false)
        }
        lifecycle = .goingAway
        var streams: [UInt64] = []
        var reads: [UInt64] = []
        for (id, call) in calls {
            switch call {
            case .stream: streams.append(id)
            case .waiting: reads.append(id)
            case .write, .daemon, .backup: break  // answered before the connection closes (drain_timeout_s)
            }
        }
        for id in streams + reads { calls[id] = nil }
        waitingBytes = 0
        let close = drainedCompletion() == .close
        return GoAwayActions(sendGoAway: true, streams: streams.sorted(), waitingReads: reads.sorted(), close: close)
    }

    /// A connection-level error (bad frame, framing): answer it with id 0, then close.
    mutating func fail(_ code: StatusCode, _ message: String) -> NextFrame {
        guard lifecycle != .closed else { return .none }
        lifecycle = .closed
        inbound = nil
        return .fail(code, message)
    }

    /// The channel closed: what to release (streams to stop following).
    mutating func closed() -> [UInt64] {
        lifecycle = .closed
        inbound = nil
        frameDeadline = nil
        let streams = calls.compactMap { id, call -> UInt64? in
            if case .stream = call { return id } else { return nil }
        }
        calls = [:]
        waitingBytes = 0
        queuedWrites = []
        return streams.sorted()
    }
}
