import AccessStore
import NIOConcurrencyHelpers

/// Wakes the reads that wait for `min_revision` when the state's owner
/// publishes a revision that reaches them. Nothing is polled: a waiting
/// connection costs one registration here until the revision arrives or it
/// cancels (a connection registers for the lowest revision its reads wait
/// for, and cancels when it closes). The owner takes one uncontended lock per
/// published state.
public final class RevisionSignal: Sendable {
    /// A registration, for `cancel`.
    struct Registration: Hashable, Sendable {
        fileprivate var id: UInt64
    }

    private struct Waiter {
        var revision: UInt64
        var wake: @Sendable (UInt64) -> Void
    }

    private struct State {
        var reached: UInt64
        var nextID: UInt64 = 1
        var waiters: [UInt64: Waiter] = [:]
    }

    private let state: NIOLockedValueBox<State>

    public init(reached: UInt64 = 0) {
        state = NIOLockedValueBox(State(reached: reached))
    }

    /// Calls `wake` once, with the revision reached, when it is at least
    /// `revision`: at once on this thread when it already is (then nil is
    /// returned), else from the owner's loop. `wake` hops to its own loop.
    func notify(when revision: UInt64, _ wake: @escaping @Sendable (UInt64) -> Void) -> Registration? {
        let outcome: (reached: UInt64?, registration: Registration?) = state.withLockedValue { state in
            if state.reached >= revision { return (state.reached, nil) }
            let id = state.nextID
            state.nextID += 1
            state.waiters[id] = Waiter(revision: revision, wake: wake)
            return (nil, Registration(id: id))
        }
        if let reached = outcome.reached { wake(reached) }
        return outcome.registration
    }

    /// Forgets a registration not yet woken (a connection that closed).
    func cancel(_ registration: Registration) {
        _ = state.withLockedValue { $0.waiters.removeValue(forKey: registration.id) }
    }

    /// The owner published `revision`: wakes every waiter it reaches.
    func reached(_ revision: UInt64) {
        let woken: [Waiter] = state.withLockedValue { state in
            state.reached = max(state.reached, revision)
            guard !state.waiters.isEmpty else { return [] }
            var woken: [Waiter] = []
            for (id, waiter) in state.waiters where waiter.revision <= revision {
                woken.append(waiter)
                state.waiters[id] = nil
            }
            return woken
        }
        for waiter in woken { waiter.wake(revision) }
    }

    /// Registrations not yet woken (for tests and stats).
    var waiting: Int { state.withLockedValue { $0.waiters.count } }
}
