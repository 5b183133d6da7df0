import Testing

@testable import AccessDaemon

/// The daemon's lifecycle as a value (docs/ARCHITECTURE.md, "The daemon's
/// life"): every transition and what it asks for, and the events that do not
/// apply in a state changing nothing.
@Suite struct DaemonLifecycleTests {
    /// A machine driven to `state` the usual way.
    static func machine(at state: DaemonLifecycle.State) -> DaemonLifecycle {
        var machine = DaemonLifecycle()
        switch state {
        case .initial: break
        case .recovering: _ = machine.start()
        case .serving: _ = machine.start(); _ = machine.recovered(); _ = machine.listening()
        case .draining: _ = machine.start(); _ = machine.recovered(); _ = machine.listening(); _ = machine.shutdown()
        case .stopped:
            _ = machine.start(); _ = machine.recovered(); _ = machine.listening(); _ = machine.shutdown(); _ = machine.drained()
        }
        #expect(machine.state == state)
        return machine
    }

    @Test func aStartRecoversListensAnnouncesServesDrainsAndStops() {
        var machine = DaemonLifecycle()
        #expect(machine.state == .initial)
        #expect(machine.start() == .recover)
        #expect(machine.state == .recovering)
        #expect(machine.recovered() == .listen)
        #expect(machine.state == .recovering, "still starting until the socket answers")
        #expect(machine.listening() == .announceReady)
        #expect(machine.state == .serving)
        #expect(machine.reload() == .reload)
        #expect(machine.state == .serving, "a reload keeps serving")
        #expect(machine.shutdown() == .tearDown(.drain))
        #expect(machine.state == .draining)
        #expect(machine.drained() == .none)
        #expect(machine.state == .stopped)
    }

    @Test func aShutdownDuringRecoveryStopsItAndWritesNothing() {
        var machine = Self.machine(at: .recovering)
        #expect(machine.shutdown() == .stopRecovery)
        #expect(machine.shutdownRequested)
        #expect(machine.shutdown() == .none, "asked once")
        #expect(machine.recoveryStopped() == .none)
        #expect(machine.state == .stopped)
    }

    @Test func aShutdownRecoveryDidNotSeeReleasesWithoutServing() {
        var machine = Self.machine(at: .recovering)
        _ = machine.shutdown()
        #expect(machine.recovered() == .tearDown(.release), "recovered, but never serve nor snapshot")
        #expect(machine.state == .stopped)
    }

    @Test func aShutdownWhileBindingDrainsOnceListening() {
        var machine = Self.machine(at: .recovering)
        #expect(machine.recovered() == .listen)
        #expect(machine.shutdown() == .stopRecovery)
        #expect(machine.listening() == .tearDown(.drain), "listening already: drain what connected")
        #expect(machine.state == .draining)
    }

    @Test func aShutdownBeforeTheStartStopsAtOnce() {
        var machine = DaemonLifecycle()
        #expect(machine.shutdown() == .none)
        #expect(machine.state == .stopped)
        #expect(machine.start() == .none, "a stopped daemon does not start again")
    }

    @Test func aFailureReleasesWhateverWasUnderWay() {
        for state in [DaemonLifecycle.State.recovering, .serving, .draining] {
            var machine = Self.machine(at: state)
            #expect(machine.failed() == .tearDown(.release), "\(state)")
            #expect(machine.state == .stopped)
        }
        var initial = DaemonLifecycle()
        #expect(initial.failed() == .none)
        #expect(initial.state == .stopped)
        var stopped = Self.machine(at: .stopped)
        #expect(stopped.failed() == .none)
    }

    @Test func onlyAServingDaemonReloads() {
        for state in [DaemonLifecycle.State.initial, .recovering, .draining, .stopped] {
            var machine = Self.machine(at: state)
            #expect(machine.reload() == .none, "\(state)")
            #expect(machine.state == state)
        }
    }

    @Test func eventsOutOfTurnChangeNothing() {
        for state in [DaemonLifecycle.State.initial, .serving, .draining, .stopped] {
            var machine = Self.machine(at: state)
            let before = machine
            #expect(machine.recovered() == .none, "\(state)")
            #expect(machine.recoveryStopped() == .none, "\(state)")
            #expect(machine.listening() == .none, "\(state)")
            #expect(machine == before)
        }
        for state in [DaemonLifecycle.State.initial, .recovering, .serving, .stopped] {
            var machine = Self.machine(at: state)
            let before = machine
            #expect(machine.drained() == .none, "\(state)")
            #expect(machine == before)
        }
        var draining = Self.machine(at: .draining)
        #expect(draining.shutdown() == .none, "a second SIGTERM while draining")
        #expect(draining.state == .draining)
    }
}
