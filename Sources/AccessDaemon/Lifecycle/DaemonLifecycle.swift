/// The daemon's life as a value: where it is (initial, recovering, serving,
/// draining, stopped) and, for each thing that happens, what to do next.
/// `AccessDaemonService` feeds it the events in the order they happen, from
/// one task, and carries out the actions; the machine does no I/O, so every
/// transition is a unit test (`DaemonLifecycleTests`).
///
/// ```
/// initial --start--> recovering --recovered, listening--> serving --shutdown--> draining --drained--> stopped
///             shutdown during recovery: recovery stops, nothing is written ----------------------> stopped
///             a failure anywhere (a fatal fsync, a start that fails): release, no snapshot ------> stopped
/// ```
public struct DaemonLifecycle: Sendable, Equatable {
    package enum State: Sendable, Equatable {
        /// Nothing started yet.
        case initial
        /// Reading the snapshot and the journal, then binding the socket.
        case recovering
        /// Answering calls; SIGHUP reloads.
        case serving
        /// GoAway sent: calls in flight finish, then the final snapshot.
        case draining
        /// Everything released; `run` returns.
        case stopped
    }

    /// How teardown ends the daemon's resources.
    public enum TearDown: Sendable, Equatable {
        /// Stop listening, GoAway and drain the connections, write the final snapshot, release.
        case drain
        /// Release what is held and write nothing: recovery was stopped, the start failed, or the journal died.
        case release
    }

    package enum Action: Sendable, Equatable {
        /// Run recovery (it checks `recoveryShouldStop` as it goes).
        case recover
        /// Recovery is done: bind the socket (or adopt systemd's) and start serving.
        case listen
        /// Tell systemd READY=1 and start the watchdog.
        case announceReady
        /// Ask the recovery under way to stop; it ends with `recoveryStopped`.
        case stopRecovery
        /// Read the configuration again and put it in force.
        case reload
        /// Tear down as said, then `stopped`.
        case tearDown(TearDown)
        /// Nothing to do (an event that does not apply in this state).
        case none
    }

    package private(set) var state: State = .initial
    /// A shutdown asked for while recovering: acted on once recovery returns.
    package private(set) var shutdownRequested = false

    package init() {}

    /// The service starts running.
    package mutating func start() -> Action {
        guard state == .initial else { return .none }
        state = .recovering
        return .recover
    }

    /// Recovery finished with the state loaded.
    package mutating func recovered() -> Action {
        guard state == .recovering else { return .none }
        if shutdownRequested {
            // The stop came too late to interrupt recovery: still write nothing and serve nothing.
            state = .stopped
            return .tearDown(.release)
        }
        return .listen
    }

    /// Recovery ended early because a shutdown asked it to: nothing was loaded or written.
    package mutating func recoveryStopped() -> Action {
        guard state == .recovering else { return .none }
        state = .stopped
        return .none
    }

    /// The socket is bound and the daemon answers calls.
    package mutating func listening() -> Action {
        guard state == .recovering else { return .none }
        if shutdownRequested {
            state = .draining
            return .tearDown(.drain)
        }
        state = .serving
        return .announceReady
    }

    /// SIGTERM or SIGINT (the ServiceGroup's graceful shutdown).
    package mutating func shutdown() -> Action {
        switch state {
        case .initial:
            state = .stopped
            return .none
        case .recovering:
            guard !shutdownRequested else { return .none }
            shutdownRequested = true
            return .stopRecovery
        case .serving:
            state = .draining
            return .tearDown(.drain)
        case .draining, .stopped:
            return .none
        }
    }

    /// SIGHUP: only a serving daemon reloads (a reload while recovering or
    /// draining would have nothing to apply to, or nothing to apply for).
    package mutating func reload() -> Action {
        state == .serving ? .reload : .none
    }

    /// The drain and the final snapshot are done (or failed: the journal holds every acknowledged write).
    package mutating func drained() -> Action {
        guard state == .draining else { return .none }
        state = .stopped
        return .none
    }

    /// Something the daemon cannot go on after: a failed start, a fatal
    /// fsync. Whatever was under way, release and write nothing.
    package mutating func failed() -> Action {
        switch state {
        case .stopped:
            return .none
        case .initial:
            state = .stopped
            return .none
        case .recovering, .serving, .draining:
            state = .stopped
            return .tearDown(.release)
        }
    }
}
