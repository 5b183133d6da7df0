import Testing

@testable import AccessDaemon

/// The daemon's life as a value (docs/ARCHITECTURE.md, "The daemon's life"):
/// every transition and what it asks the service to do, and every event that
/// does not apply where the daemon is, which changes nothing and asks for nothing.
@Suite struct DaemonLifecycleTests {
    typealias State = DaemonLifecycle.State

    static let damaged = DaemonFailure.start(.stateDamaged, what: "cannot load the state", error: "damaged")
    static let socketInUse = DaemonFailure.start(.socketInUse, what: "cannot listen on the socket", error: "in use")
    static let fsync = DaemonFailure.fatalSync(error: "EIO")
    static let snapshot = DaemonFailure.finalSnapshot(error: "ENOSPC")

    /// A machine driven to `state` the usual way.
    static func machine(at state: State) -> DaemonLifecycle {
        var machine = DaemonLifecycle()
        switch state {
        case .initial:
            break
        case .recovering(let recovering):
            _ = machine.start()
            if recovering.reloadAsked { _ = machine.reload() }
            if recovering.loaded { _ = machine.recovered() }
            if recovering.stopAsked { _ = machine.shutdown() }
        case .serving:
            _ = machine.start(); _ = machine.recovered(); _ = machine.listening()
        case .draining(.drain):
            _ = machine.start(); _ = machine.recovered(); _ = machine.listening(); _ = machine.shutdown()
        case .draining(.release):
            _ = machine.start(); _ = machine.recovered(); _ = machine.listenFailed(socketInUse)
        case .stopped:
            _ = machine.start(); _ = machine.recovered(); _ = machine.listening(); _ = machine.shutdown()
            _ = machine.tornDown()
        }
        #expect(machine.state == state)
        return machine
    }

    static let recovering = State.recovering(.init())
    static let binding = State.recovering(.init(loaded: true))
    static let everyState: [State] = [
        .initial, recovering, .recovering(.init(stopAsked: true)), .recovering(.init(reloadAsked: true)), binding,
        .recovering(.init(loaded: true, stopAsked: true)), .serving, .draining(.drain), .draining(.release), .stopped,
    ]

    /// Every event, as a name and a call.
    static let events: [(name: String, apply: @Sendable (inout DaemonLifecycle) -> DaemonLifecycle.Action)] = [
        ("start", { $0.start() }),
        ("recovered", { $0.recovered() }),
        ("recoveryStopped", { $0.recoveryStopped() }),
        ("recoveryFailed", { $0.recoveryFailed(damaged) }),
        ("listening", { $0.listening() }),
        ("listenFailed", { $0.listenFailed(socketInUse) }),
        ("shutdown", { $0.shutdown() }),
        ("reload", { $0.reload() }),
        ("syncFailed", { $0.syncFailed(fsync) }),
        ("tornDown", { $0.tornDown() }),
    ]

    typealias Outcome = (state: State, action: DaemonLifecycle.Action)

    /// The transitions that do something, as (state, event) -> (state, action). Anything else is refused.
    static func expected(_ state: State, _ event: String) -> Outcome? {
        switch (state, event) {
        case (.initial, "start"):
            return (recovering, .recover)
        case (.initial, "shutdown"):
            return (.stopped, .finish(nil))
        case (.recovering(let r), "recovered") where !r.loaded:
            if r.stopAsked { return (.draining(.release), .tearDown(.release)) }
            return (.recovering(.init(loaded: true, reloadAsked: r.reloadAsked)), .listen)
        case (.recovering(let r), "recoveryStopped") where !r.loaded && r.stopAsked:
            return (.stopped, .finish(nil))
        case (.recovering(let r), "recoveryFailed") where !r.loaded:
            return (.stopped, .finish(damaged))
        case (.recovering(let r), "listening") where r.loaded:
            if r.stopAsked { return (.draining(.release), .tearDown(.release)) }
            return (.serving, .serve(reload: r.reloadAsked))
        case (.recovering(let r), "listenFailed") where r.loaded:
            return (.draining(.release), .tearDown(.release))
        case (.recovering(var r), "shutdown") where !r.stopAsked:
            r.stopAsked = true
            return (.recovering(r), r.loaded ? .none : .stopRecovery)
        case (.recovering(var r), "reload") where !r.stopAsked && !r.reloadAsked:
            r.reloadAsked = true
            return (.recovering(r), .none)
        case (.recovering(var r), "syncFailed") where !r.stopAsked:
            r.stopAsked = true
            return (.recovering(r), r.loaded ? .none : .stopRecovery)
        case (.serving, "shutdown"):
            return (.draining(.drain), .tearDown(.drain))
        case (.serving, "reload"):
            return (.serving, .reload)
        case (.serving, "syncFailed"):
            return (.draining(.release), .tearDown(.release))
        case (.draining(let mode), "tornDown"):
            return (.stopped, .finish(mode == .release ? socketInUse : nil))
        default:
            return nil
        }
    }

    /// Going down already (or asked to): a fatal fsync changes no step, only how the run ends.
    static func remembersAFailure(_ state: State) -> Bool {
        switch state {
        case .draining: true
        case .recovering(let recovering): recovering.stopAsked
        default: false
        }
    }

    @Test func everyEventInEveryStateDoesWhatTheTableSaysAndNothingElse() {
        for state in Self.everyState {
            for event in Self.events {
                var machine = Self.machine(at: state)
                let before = machine
                let action = event.apply(&machine)
                if let (next, expectedAction) = Self.expected(state, event.name) {
                    #expect(machine.state == next, "\(state) --\(event.name)--> \(machine.state), not \(next)")
                    #expect(action == expectedAction, "\(state) --\(event.name)--> \(action), not \(expectedAction)")
                } else if event.name == "syncFailed", Self.remembersAFailure(state) {
                    // Refused as a transition, yet remembered: the run ends with the failure.
                    #expect(machine.state == state && action == .none, "\(state)")
                    #expect(machine.failure == (state == .draining(.release) ? Self.socketInUse : Self.fsync), "\(state)")
                } else {
                    #expect(machine == before, "\(state) refuses \(event.name)")
                    #expect(action == .none, "\(state) refuses \(event.name): \(action)")
                }
            }
        }
    }

    @Test func aStartRecoversListensServesReloadsDrainsAndStopsCleanly() {
        var machine = DaemonLifecycle()
        #expect(machine.start() == .recover)
        #expect(machine.recovered() == .listen)
        #expect(machine.state == Self.binding, "still starting until the socket answers")
        #expect(machine.listening() == .serve(reload: false))
        #expect(machine.reload() == .reload)
        #expect(machine.state == .serving, "a reload keeps serving")
        #expect(machine.shutdown() == .tearDown(.drain))
        #expect(machine.shutdown() == .none, "a second SIGTERM while draining")
        #expect(machine.tornDown() == .finish(nil))
        #expect(machine.state == .stopped)
        #expect(machine.start() == .none, "a stopped daemon does not start again")
    }

    @Test func sigtermWhileRecoveringStopsRecoveryAndWritesNothing() {
        var machine = Self.machine(at: Self.recovering)
        #expect(machine.shutdown() == .stopRecovery)
        #expect(machine.shutdown() == .none, "asked once")
        #expect(machine.recoveryStopped() == .finish(nil), "exit 0")
        #expect(machine.state == .stopped)
    }

    @Test func sigtermRecoveryFinishedBeforeSeeingReleasesWithoutServingOrSnapshot() {
        var machine = Self.machine(at: Self.recovering)
        _ = machine.shutdown()
        #expect(machine.recovered() == .tearDown(.release), "recovered, but neither serve nor write the final snapshot")
        #expect(machine.tornDown() == .finish(nil))
    }

    @Test func sigtermWhileBindingReleasesOnceListening() {
        var machine = Self.machine(at: Self.binding)
        #expect(machine.shutdown() == .none, "binding is short: wait for its end")
        #expect(machine.listening() == .tearDown(.release))
        #expect(machine.tornDown() == .finish(nil))
    }

    @Test func aSighupWhileStartingReloadsOnceServing() {
        var machine = Self.machine(at: Self.recovering)
        #expect(machine.reload() == .none)
        #expect(machine.recovered() == .listen)
        #expect(machine.listening() == .serve(reload: true), "queued, as before the lifecycle")
    }

    @Test func aFailedStartEndsWithItsExitStatus() {
        var damaged = Self.machine(at: Self.recovering)
        #expect(damaged.recoveryFailed(Self.damaged) == .finish(Self.damaged), "nothing to tear down")
        #expect(Self.damaged.exitStatus == .stateDamaged)

        var inUse = Self.machine(at: Self.binding)
        #expect(inUse.listenFailed(Self.socketInUse) == .tearDown(.release), "release the state loaded")
        #expect(inUse.tornDown() == .finish(Self.socketInUse))
        #expect(Self.socketInUse.exitStatus == .socketInUse)
    }

    @Test func aFatalFsyncReleasesWithoutSnapshotAndEndsWithStatus74() {
        var serving = Self.machine(at: .serving)
        #expect(serving.syncFailed(Self.fsync) == .tearDown(.release))
        #expect(serving.shutdown() == .none, "SIGTERM now changes nothing")
        #expect(serving.tornDown() == .finish(Self.fsync))
        #expect(Self.fsync.exitStatus.code == 74)

        var draining = Self.machine(at: .draining(.drain))
        #expect(draining.syncFailed(Self.fsync) == .none, "the drain under way goes on")
        #expect(draining.tornDown(finalSnapshot: Self.snapshot) == .finish(Self.fsync), "the first failure decides")
    }

    @Test func aFailedFinalSnapshotEndsWithStatus74() {
        var machine = Self.machine(at: .draining(.drain))
        #expect(machine.tornDown(finalSnapshot: Self.snapshot) == .finish(Self.snapshot))
        #expect(Self.snapshot.exitStatus == .stateIO)
    }
}
