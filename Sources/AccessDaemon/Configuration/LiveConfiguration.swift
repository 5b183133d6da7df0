import AccessPaths
import AccessStore
import NIOConcurrencyHelpers
import Synchronization

/// The configuration as it is now, shared by the listener and every
/// connection, so that a reload (SIGHUP) reaches connections already open
/// without dropping them. Readers that look often (a connection, per read)
/// compare `generation` (one atomic load) and copy `current` only when it moved.
public final class LiveConfiguration: Sendable {
    private let box: NIOLockedValueBox<DaemonConfiguration>
    private let counter = Synchronization.Atomic<UInt64>(0)

    public init(_ configuration: DaemonConfiguration) {
        self.box = NIOLockedValueBox(configuration)
    }

    /// The configuration in force.
    public var current: DaemonConfiguration { box.withLockedValue { $0 } }

    /// Moves on every `replace`.
    public var generation: UInt64 { counter.load(ordering: .acquiring) }

    /// Puts the reloadable settings of `new` in force and returns what changed.
    /// The keys `ConfigKey`'s table marks `.restart` (the socket, the state
    /// directory, the journal's settings, the event retention, the loop count,
    /// ...) are fixed for the process's life: they stay as they are and come
    /// back in `fixed` when `new` asked for other values; so do the settings
    /// no key names (the domain policy, the socket's mode, the storage,
    /// `--accept-data-loss`).
    @discardableResult
    public func replace(with new: DaemonConfiguration) -> ConfigurationChange {
        let change = box.withLockedValue { configuration -> ConfigurationChange in
            let change = ConfigurationChange(from: configuration, to: new)
            var next = new
            for key in ConfigKey.allCases where key.spec.reload == .restart {
                key.field?.keep(configuration, &next)
            }
            next.policy = configuration.policy
            next.socketMode = configuration.socketMode
            next.acceptDataLoss = configuration.acceptDataLoss
            next.storage = configuration.storage
            configuration = next
            return change
        }
        counter.add(1, ordering: .releasing)
        return change
    }
}

/// The keys (config-file names) whose values differ between two configurations.
public struct ConfigurationChange: Sendable, Equatable {
    /// Changed and now in force.
    public var applied: [String] = []
    /// Changed in the file but fixed until a restart.
    public var fixed: [String] = []

    public var isEmpty: Bool { applied.isEmpty && fixed.isEmpty }

    /// In the table's order; `log_level` is the executable's (not a field of the configuration).
    public init(from old: DaemonConfiguration, to new: DaemonConfiguration) {
        for key in ConfigKey.allCases {
            guard let field = key.field, field.differs(old, new) else { continue }
            switch key.spec.reload {
            case .applied: applied.append(key.name)
            case .restart: fixed.append(key.name)
            }
        }
    }
}
