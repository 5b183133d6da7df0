import AccessMapping
import AccessWire
extension MethodTable {
    /// HealthService: the daemon's health probe, answered by the daemon
    /// itself (any peer class, no actor).
    static var healthService: [Entry] {
        [Handlers.daemon(Methods.healthCheck, .health)]
    }
}
