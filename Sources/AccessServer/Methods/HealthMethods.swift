import AccessMapping
extension MethodTable {
    /// HealthService: the daemon's health probe, answered by the daemon
    /// itself (any peer class, no actor).
    static var healthService: [(String, MethodHandler)] {
        [("Check", .daemon)]
    }
}
