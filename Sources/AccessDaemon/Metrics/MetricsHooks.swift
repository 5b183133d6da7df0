import AccessStore
import NIOCore

/// What a connection asks of the daemon's metrics and health: GetMetrics,
/// GetStats' daemon-wide figures, HealthService.Check.
struct MetricsHooks: Sendable {
    /// The metrics as Prometheus text, gathered from every loop (the caller's
    /// own call not counted in flight); completed on the loop given.
    var text: @Sendable (_ on: any EventLoop) -> EventLoopFuture<String>
    /// Calls in flight daemon-wide, the caller's own not counted; completed on the loop given.
    var callsInFlight: @Sendable (_ on: any EventLoop) -> EventLoopFuture<UInt64>
    var health: HealthProbe
    /// Milliseconds since the daemon started.
    var uptimeMilliseconds: @Sendable () -> Int64
}
