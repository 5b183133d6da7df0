public import AccessCore
import Foundation
import AccessServer
import NIOConcurrencyHelpers
public import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The state and recent events as last published: what every read answers
/// from. One immutable object, so a reader takes it with one lock and one retain.
public final class PublishedState: Sendable {
    public let state: AccessState
    public let history: EventHistory

    init(state: AccessState, history: EventHistory) {
        self.state = state
        self.history = history
    }

    public var revision: UInt64 { state.revision }
}

/// One write as the owner runs it.
struct WriteCall: Sendable {
    var command: Command
    var principal: Principal
    var dryRun: Bool
    /// The same key from the same actor within 24 hours gets the first reply again.
    var idempotencyKey: String
    /// Builds the method's reply from the events and the state after them.
    var reply: @Sendable ([Event], AccessState) -> Data
    /// Past this, the write is not applied (DEADLINE_EXCEEDED).
    var deadline: NIODeadline?
}

/// The owner's answer to one write: its events, or why it was refused.
enum WriteOutcome: Sendable {
    case applied(reply: Data, revision: UInt64)
    case refused(AccessError)
}

/// The only writer of the state. Its executor is an event loop: handlers on
/// that loop enter it with `assumeIsolated` (no thread hop); other loops hand
/// it whole batches (one hop per batch). After each batch, and before any of
/// its replies leave, it publishes the new state for reads on every loop.
public actor StateOwner {
    public nonisolated let loop: any EventLoop
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.executor.asUnownedSerialExecutor() }

    private var state: AccessState
    private var history: EventHistory
    private var random = SystemRandomNumberGenerator()
    private let policy: DomainPolicy
    private let clock: @Sendable () -> Timestamp
    private nonisolated let publishedBox: NIOLockedValueBox<PublishedState>
    /// First replies by actor and idempotency key, with when they were given, oldest first for expiry.
    private var idempotentReplies: [String: WriteOutcome] = [:]
    private var idempotencyOrder: [(key: String, at: Timestamp)] = []
    private var idempotencyHead = 0
    static let idempotencyWindowMilliseconds: Int64 = 24 * 3600 * 1000

    /// Followers of events (FollowEvents), called on the owner's loop with every applied batch.
    private var followers: [FollowerKey: @Sendable ([Event]) -> Void] = [:]

    public init(
        loop: any EventLoop, state: AccessState, history: EventHistory, policy: DomainPolicy,
        clock: @escaping @Sendable () -> Timestamp = StateOwner.wallClock
    ) {
        self.loop = loop
        self.state = state
        self.history = history
        self.policy = policy
        self.clock = clock
        self.publishedBox = NIOLockedValueBox(PublishedState(state: state, history: history))
    }

    /// The latest published state; any thread.
    public nonisolated var published: PublishedState { publishedBox.withLockedValue { $0 } }

    /// The wall clock, in milliseconds since the epoch.
    public static let wallClock: @Sendable () -> Timestamp = {
        Timestamp(millisecondsSinceEpoch: Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) &+ bootOffset)
    }
    private static let bootOffset: Int64 = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let wall = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        return wall - Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
    }()

    /// Runs a batch of writes in order, then publishes once.
    func run(_ batch: [WriteCall]) -> [WriteOutcome] {
        var outcomes: [WriteOutcome] = []
        outcomes.reserveCapacity(batch.count)
        var applied: [Event] = []
        for call in batch {
            let now = clock()
            expireIdempotencyKeys(now: now)
            let idempotencyKey = call.idempotencyKey.isEmpty || call.dryRun ? nil : "\(call.principal)\u{0}\(call.idempotencyKey)"
            if let idempotencyKey, let first = idempotentReplies[idempotencyKey] {
                outcomes.append(first)
                continue
            }
            if let deadline = call.deadline, deadline < .now() {
                outcomes.append(.refused(AccessError(.deadlineExceeded, "the deadline passed before the write ran; it was not applied")))
                continue
            }
            let context = CommandContext(principal: call.principal, now: now, policy: policy)
            let outcome: WriteOutcome
            do {
                if call.dryRun {
                    var copy = state
                    let events = try copy.execute(call.command, context: context, using: &random)
                    outcome = .applied(reply: call.reply(events, copy), revision: state.revision)
                } else {
                    let events = try state.execute(call.command, context: context, using: &random)
                    history.append(events)
                    applied += events
                    outcome = .applied(reply: call.reply(events, state), revision: state.revision)
                }
            } catch {
                outcome = .refused(error)
            }
            if let idempotencyKey {
                idempotentReplies[idempotencyKey] = outcome
                idempotencyOrder.append((idempotencyKey, now))
            }
            outcomes.append(outcome)
        }
        if !applied.isEmpty {
            let published = PublishedState(state: state, history: history)
            publishedBox.withLockedValue { $0 = published }
            for follower in followers.values { follower(applied) }
        }
        return outcomes
    }

    private func expireIdempotencyKeys(now: Timestamp) {
        let horizon = now.adding(milliseconds: -Self.idempotencyWindowMilliseconds)
        while idempotencyHead < idempotencyOrder.count, idempotencyOrder[idempotencyHead].at < horizon {
            idempotentReplies[idempotencyOrder[idempotencyHead].key] = nil
            idempotencyHead += 1
        }
        if idempotencyHead > 1024 && idempotencyHead * 2 > idempotencyOrder.count {
            idempotencyOrder.removeFirst(idempotencyHead)
            idempotencyHead = 0
        }
    }

    /// Starts following events after `afterSeq`: returns the ones already
    /// held, then calls `send` with every new batch. Both happen on this loop,
    /// so no event falls between the backlog and the live ones.
    func follow(
        _ key: FollowerKey, after afterSeq: UInt64, send: @escaping @Sendable ([Event]) -> Void
    ) throws(AccessError) -> [Event] {
        var backlog: [Event] = []
        var next = afterSeq
        while true {
            let chunk = try history.events(after: next, limit: 10_000)
            guard let last = chunk.last else { break }
            backlog += chunk
            next = last.seq
        }
        followers[key] = send
        return backlog
    }

    func unfollow(_ key: FollowerKey) {
        followers[key] = nil
    }
}

/// Names one following call: its connection and its id.
struct FollowerKey: Hashable, Sendable {
    var connection: ObjectIdentifier
    var id: UInt64
}
