import AccessStatus
import AccessWire
import NIOConcurrencyHelpers

/// The calls in flight on one connection, by id, and the connection's phase.
///
/// Every mutation happens under one lock; continuations are resumed, and
/// streams fed or finished, only after the lock is released (a stream's
/// `onTermination` may call back into the table).
final class CallTable: Sendable {
    enum Waiter: Sendable {
        /// A unary call whose id is allocated but whose continuation is not installed yet.
        case reserved
        /// A reserved unary call whose task was cancelled before its continuation was installed.
        case cancelledBeforeStart
        /// A reserved unary call whose connection failed before its continuation was installed.
        case failedBeforeStart(CallError)
        /// A unary call in flight; `sent` once its request has been handed to the channel.
        case unary(CheckedContinuation<Reply, any Error>, sent: Bool)
        /// A unary call whose task was cancelled while its request was being
        /// handed to the channel: its Cancel must follow that request.
        case cancelledWhileSending
        case stream(AsyncThrowingStream<Reply, any Error>.Continuation)
    }

    private struct State: Sendable {
        var nextID: UInt64 = 1
        var phase: AccessClient.ConnectionState = .ready
        var waiters: [UInt64: Waiter] = [:]
    }

    /// Work to do once the lock is released.
    enum Completion: Sendable {
        case resume(CheckedContinuation<Reply, any Error>, Result<Reply, any Error>)
        case yield(AsyncThrowingStream<Reply, any Error>.Continuation, Reply)
        case finish(AsyncThrowingStream<Reply, any Error>.Continuation, CallError?)

        func run() {
            switch self {
            case .resume(let continuation, let result):
                continuation.resume(with: result)
            case .yield(let continuation, let reply):
                continuation.yield(reply)
            case .finish(let continuation, let error):
                if let error {
                    continuation.finish(throwing: error)
                } else {
                    continuation.finish()
                }
            }
        }
    }

    private let state = NIOLockedValueBox(State())

    var phase: AccessClient.ConnectionState {
        state.withLockedValue { $0.phase }
    }

    var inFlight: Int {
        state.withLockedValue { $0.waiters.count }
    }

    private static func refusal(_ phase: AccessClient.ConnectionState) -> CallError? {
        switch phase {
        case .ready:
            return nil
        case .goingAway(let reason):
            return CallError(
                code: StatusCode.unavailable,
                message: "the daemon is going away (\(reason.isEmpty ? "no reason given" : reason)); reconnect")
        case .closed(let error):
            return error
        }
    }

    // MARK: Unary calls

    /// Allocates an id for a unary call, or says why no call can start.
    func reserveUnary() throws(CallError) -> UInt64 {
        let result: Result<UInt64, CallError> = state.withLockedValue { state in
            if let refusal = Self.refusal(state.phase) { return .failure(refusal) }
            let id = state.nextID
            state.nextID += 1
            state.waiters[id] = .reserved
            return .success(id)
        }
        return try result.get()
    }

    /// Forgets a reserved id whose request was never sent.
    func release(_ id: UInt64) {
        state.withLockedValue { _ = $0.waiters.removeValue(forKey: id) }
    }

    /// Installs the continuation of a reserved call. Returns true when the
    /// request is to be sent; otherwise the continuation has been resumed.
    func install(_ id: UInt64, _ continuation: CheckedContinuation<Reply, any Error>) -> Bool {
        let failure: (any Error)? = state.withLockedValue { state in
            switch state.waiters[id] {
            case .reserved:
                state.waiters[id] = .unary(continuation, sent: false)
                return nil
            case .cancelledBeforeStart:
                state.waiters[id] = nil
                return CancellationError()
            case .failedBeforeStart(let error):
                state.waiters[id] = nil
                return error
            case .unary, .cancelledWhileSending, .stream, nil:
                // Not reachable: an id is installed once, after its reservation.
                return CallError(code: StatusCode.internal, message: "call \(id) was not reserved")
            }
        }
        if let failure {
            continuation.resume(throwing: failure)
            return false
        }
        return true
    }

    /// The request of unary call `id` has been handed to the channel. Returns
    /// true when the call was cancelled meanwhile and a Cancel is to follow.
    func markSent(_ id: UInt64) -> Bool {
        state.withLockedValue { state in
            switch state.waiters[id] {
            case .unary(let continuation, sent: false):
                state.waiters[id] = .unary(continuation, sent: true)
                return false
            case .cancelledWhileSending:
                state.waiters[id] = nil
                return true
            case .unary(_, sent: true), .reserved, .cancelledBeforeStart, .failedBeforeStart, .stream, nil:
                // Already answered or failed.
                return false
            }
        }
    }

    /// The task of unary call `id` was cancelled. Returns true when its request
    /// was sent and a Cancel is to follow now.
    func cancelUnary(_ id: UInt64) -> Bool {
        let cancelled: (CheckedContinuation<Reply, any Error>, sendCancel: Bool)? = state.withLockedValue { state in
            switch state.waiters[id] {
            case .reserved:
                state.waiters[id] = .cancelledBeforeStart
                return nil
            case .unary(let continuation, sent: true):
                state.waiters[id] = nil
                return (continuation, true)
            case .unary(let continuation, sent: false):
                // markSent sends the Cancel, after the request.
                state.waiters[id] = .cancelledWhileSending
                return (continuation, false)
            case .cancelledBeforeStart, .failedBeforeStart, .cancelledWhileSending, .stream, nil:
                return nil
            }
        }
        guard let cancelled else { return false }
        cancelled.0.resume(throwing: CancellationError())
        return cancelled.sendCancel
    }

    // MARK: Streams

    /// Allocates an id for a stream and registers its continuation.
    func registerStream(_ continuation: AsyncThrowingStream<Reply, any Error>.Continuation) throws(CallError) -> UInt64 {
        let result: Result<UInt64, CallError> = state.withLockedValue { state in
            if let refusal = Self.refusal(state.phase) { return .failure(refusal) }
            let id = state.nextID
            state.nextID += 1
            state.waiters[id] = .stream(continuation)
            return .success(id)
        }
        return try result.get()
    }

    /// The consumer of stream `id` went away. Returns true when the stream was
    /// still in flight (so a Cancel is to be sent).
    func streamTerminated(_ id: UInt64) -> Bool {
        state.withLockedValue { state in
            guard case .stream = state.waiters[id] else { return false }
            state.waiters[id] = nil
            return true
        }
    }

    // MARK: Events of the connection

    /// A Response arrived.
    func receive(_ response: Accessd_V1_Response) {
        if response.id == 0 {
            // An error about the connection itself; the daemon closes it next.
            let error = CallError(code: StatusCode(wire: response.code), message: response.message)
            fail(
                pending: error,
                new: CallError(
                    code: StatusCode.unavailable,
                    message: "the connection failed: \(error)"))
            return
        }
        let completion: Completion? = state.withLockedValue { state in
            switch state.waiters[response.id] {
            case .unary(let continuation, _):
                // A unary call takes the first message; anything after it for
                // the same id is ignored as an unknown id.
                state.waiters[response.id] = nil
                if response.code == StatusCode.ok.wire {
                    return .resume(continuation, .success(Self.reply(response)))
                }
                return .resume(continuation, .failure(CallError(code: StatusCode(wire: response.code), message: response.message)))
            case .stream(let continuation):
                if response.more {
                    if response.code == StatusCode.ok.wire {
                        return .yield(continuation, Self.reply(response))
                    }
                    // A non-OK message that says more follows breaks the
                    // protocol; end the stream with it rather than drop it.
                    state.waiters[response.id] = nil
                    return .finish(continuation, CallError(code: StatusCode(wire: response.code), message: response.message))
                }
                state.waiters[response.id] = nil
                if response.code == StatusCode.ok.wire {
                    return .finish(continuation, nil)
                }
                return .finish(continuation, CallError(code: StatusCode(wire: response.code), message: response.message))
            case .reserved, .cancelledBeforeStart, .failedBeforeStart, .cancelledWhileSending, nil:
                // Unknown, or a call already given up (cancelled): ignored.
                return nil
            }
        }
        completion?.run()
    }

    private static func reply(_ response: Accessd_V1_Response) -> Reply {
        Reply(payload: Array(response.payload), revision: response.revision)
    }

    /// A GoAway arrived: no new calls; those in flight still get their replies.
    func goAway(reason: String) {
        state.withLockedValue { state in
            if case .ready = state.phase {
                state.phase = .goingAway(reason: reason)
            }
        }
    }

    /// Fails every call in flight with `pending`; calls started later fail with `new`.
    func fail(pending: CallError, new: CallError) {
        let completions: [Completion] = state.withLockedValue { state in
            if case .closed = state.phase {} else {
                state.phase = .closed(new)
            }
            var completions: [Completion] = []
            for (id, waiter) in state.waiters {
                switch waiter {
                case .reserved:
                    state.waiters[id] = .failedBeforeStart(pending)
                case .cancelledBeforeStart, .failedBeforeStart, .cancelledWhileSending:
                    break
                case .unary(let continuation, _):
                    state.waiters[id] = nil
                    completions.append(.resume(continuation, .failure(pending)))
                case .stream(let continuation):
                    state.waiters[id] = nil
                    completions.append(.finish(continuation, pending))
                }
            }
            return completions
        }
        for completion in completions { completion.run() }
    }

    /// Fails call `id` alone (its request could not be written).
    func fail(_ id: UInt64, with error: CallError) {
        let completion: Completion? = state.withLockedValue { state in
            switch state.waiters[id] {
            case .unary(let continuation, _):
                state.waiters[id] = nil
                return .resume(continuation, .failure(error))
            case .stream(let continuation):
                state.waiters[id] = nil
                return .finish(continuation, error)
            case .reserved, .cancelledBeforeStart, .failedBeforeStart, .cancelledWhileSending, nil:
                return nil
            }
        }
        completion?.run()
    }
}
