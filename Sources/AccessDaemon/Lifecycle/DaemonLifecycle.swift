/// The daemon's life as a value: where it is and, for each thing that
/// happens, what to do next. `AccessDaemonService` feeds it every event from
/// one task, in the order they happen, and carries out the actions it
/// returns; the machine does no I/O, so every transition is a unit test
/// (`DaemonLifecycleTests`). An event that does not apply where the daemon is
/// changes nothing and asks for nothing (`.none`).
///
/// ```
/// initial ─start─▶ recovering ─recovered─▶ (binding) ─listening─▶ serving ─shutdown─▶ draining(.drain) ─tornDown─▶ stopped
///                      │ shutdown: stop recovery ─recoveryStopped─────────────────────────────────────────────▶ stopped
///                      │ recovery failed ─────────────────────────────────────────────────────────────────────▶ stopped
///                      └ recovered or listening after a shutdown, listen failed ─▶ draining(.release) ─tornDown─▶ stopped
///                                                                   serving ─fatal fsync─▶ draining(.release)
/// ```
package struct DaemonLifecycle: Sendable, Equatable {
    package enum State: Sendable, Equatable, CustomStringConvertible {
        /// Nothing started yet.
        case initial
        /// Reading the snapshot and the journal, then binding the socket.
        case recovering(Recovering)
        /// Answering calls; SIGHUP reloads.
        case serving
        /// Going down: teardown under way, after which the run ends.
        case draining(TearDown)
        /// Everything released; the run has ended (or ends now).
        case stopped

        package var description: String {
            switch self {
            case .initial: "initial"
            case .recovering(let recovering): recovering.loaded ? "recovering (listening)" : "recovering"
            case .serving: "serving"
            case .draining(.drain): "draining"
            case .draining(.release): "draining (release)"
            case .stopped: "stopped"
            }
        }
    }

    /// What is known while recovering.
    package struct Recovering: Sendable, Equatable {
        /// The state is loaded: the socket is being bound.
        package var loaded = false
        /// A shutdown (or a failure) asked recovery to stop: nothing will be served or written.
        package var stopAsked = false
        /// SIGHUP came meanwhile: reload once serving (as a signal during the start always was: queued).
        package var reloadAsked = false

        package init(loaded: Bool = false, stopAsked: Bool = false, reloadAsked: Bool = false) {
            self.loaded = loaded
            self.stopAsked = stopAsked
            self.reloadAsked = reloadAsked
        }
    }

    /// How the teardown ends the daemon (`AccessDaemonServer.tearDown`).
    package enum TearDown: Sendable, Equatable {
        /// Stop listening, GoAway, let the calls in flight finish (drain_timeout_s), write the final snapshot, release.
        case drain
        /// Close the listener and the connections and release, writing nothing: a stop before serving, a failed
        /// start, a fatal fsync.
        case release
    }

    package enum Action: Sendable, Equatable {
        /// Recover the state (off the task; it looks at the stop flag as it goes), then report `recovered`,
        /// `recoveryStopped` or `recoveryFailed`.
        case recover
        /// Raise the stop flag the recovery under way looks at.
        case stopRecovery
        /// Bind the socket (or take systemd's), then report `listening` or `listenFailed`.
        case listen
        /// Tell systemd READY=1 and STATUS=, start the watchdog; then reload if `reload` (a SIGHUP while starting).
        case serve(reload: Bool)
        /// RELOADING=1, read the configuration again and put it in force, READY=1.
        case reload
        /// STOPPING=1, stop the watchdog, tear down as said, then report `tornDown`.
        case tearDown(TearDown)
        /// The run ends: cleanly (nil) or with the failure, which decides the exit status.
        case finish(DaemonFailure?)
        /// Nothing to do: the event does not apply here, or asks for nothing more.
        case none
    }

    package private(set) var state: State = .initial
    /// The first failure: what the run ends with once torn down.
    package private(set) var failure: DaemonFailure?

    package init() {}

    /// The service's run begins.
    package mutating func start() -> Action {
        guard case .initial = state else { return .none }
        state = .recovering(Recovering())
        return .recover
    }

    /// Recovery loaded the state.
    package mutating func recovered() -> Action {
        guard case .recovering(var recovering) = state, !recovering.loaded else { return .none }
        if recovering.stopAsked {
            // Too late to interrupt it, and still: serve nothing, write nothing.
            state = .draining(.release)
            return .tearDown(.release)
        }
        recovering.loaded = true
        state = .recovering(recovering)
        return .listen
    }

    /// Recovery ended early, as the stop flag asked: nothing was loaded, opened or written.
    package mutating func recoveryStopped() -> Action {
        guard case .recovering(let recovering) = state, !recovering.loaded, recovering.stopAsked else { return .none }
        state = .stopped
        return .finish(failure)
    }

    /// Recovery failed (damage, a permission, another accessd on the directory): nothing to tear down.
    package mutating func recoveryFailed(_ failure: DaemonFailure) -> Action {
        guard case .recovering(let recovering) = state, !recovering.loaded else { return .none }
        self.failure = self.failure ?? failure
        state = .stopped
        return .finish(self.failure)
    }

    /// The socket listens.
    package mutating func listening() -> Action {
        guard case .recovering(let recovering) = state, recovering.loaded else { return .none }
        if recovering.stopAsked {
            state = .draining(.release)
            return .tearDown(.release)
        }
        state = .serving
        return .serve(reload: recovering.reloadAsked)
    }

    /// The socket would not listen: release the state loaded.
    package mutating func listenFailed(_ failure: DaemonFailure) -> Action {
        guard case .recovering(let recovering) = state, recovering.loaded else { return .none }
        self.failure = self.failure ?? failure
        state = .draining(.release)
        return .tearDown(.release)
    }

    /// SIGTERM or SIGINT: the ServiceGroup's graceful shutdown (or the run's task was cancelled).
    package mutating func shutdown() -> Action {
        switch state {
        case .initial:
            state = .stopped
            return .finish(nil)
        case .recovering(var recovering):
            guard !recovering.stopAsked else { return .none }
            recovering.stopAsked = true
            state = .recovering(recovering)
            // Binding the socket is short: `listening` or `listenFailed` comes next and releases.
            return recovering.loaded ? .none : .stopRecovery
        case .serving:
            state = .draining(.drain)
            return .tearDown(.drain)
        case .draining, .stopped:
            return .none
        }
    }

    /// SIGHUP: a serving daemon reloads; a starting one reloads once serving.
    package mutating func reload() -> Action {
        switch state {
        case .serving:
            return .reload
        case .recovering(var recovering):
            if !recovering.stopAsked { recovering.reloadAsked = true }
            state = .recovering(recovering)
            return .none
        case .initial, .draining, .stopped:
            return .none
        }
    }

    /// A journal fsync failed: acknowledge nothing more, release without a snapshot, end with the failure.
    package mutating func syncFailed(_ failure: DaemonFailure) -> Action {
        switch state {
        case .serving:
            self.failure = self.failure ?? failure
            state = .draining(.release)
            return .tearDown(.release)
        case .draining:
            // The teardown under way goes on; the run ends with the failure.
            self.failure = self.failure ?? failure
            return .none
        case .recovering(var recovering):
            self.failure = self.failure ?? failure
            let asked = recovering.stopAsked
            recovering.stopAsked = true
            state = .recovering(recovering)
            return asked || recovering.loaded ? .none : .stopRecovery
        case .initial, .stopped:
            return .none
        }
    }

    /// The teardown is done; `finalSnapshot` says why the final snapshot failed, if it did.
    package mutating func tornDown(finalSnapshot: DaemonFailure? = nil) -> Action {
        guard case .draining = state else { return .none }
        failure = failure ?? finalSnapshot
        state = .stopped
        return .finish(failure)
    }
}
