import AccessStore
import AccessMapping
import AccessServer
import AccessCore
import AccessWire

/// What the health probe reads of the daemon (HealthService.Check).
struct HealthProbe: Sendable {
    /// Why the journal cannot take writes now (a fatal sync, or the last
    /// append failed), or nil when it can.
    var journalFailure: @Sendable () -> String?
    /// Whether the daemon is shutting down.
    var draining: @Sendable () -> Bool
    /// Why reads are refused now (a shared log not caught up with for longer
    /// than max_staleness_ms), or nil.
    var readsRefused: @Sendable () -> String? = { nil }
    /// The log's report (its lag), with a shared log.
    var log: @Sendable () -> LogReport? = { nil }
}

/// HealthService.Check, with the meaning of gRPC's health checking
/// (grpc.health.v1): SERVING when the daemon answers reads and takes writes,
/// NOT_SERVING with the reason when it cannot, SERVICE_UNKNOWN for a
/// service name it does not serve. A pure function of what the probe read.
enum HealthCheck {
    /// Every service served, by full name ("accessd.v1.AccessService"), and
    /// whether it takes writes (has a method that goes through the journal).
    static let services: [String: Bool] = {
        var services: [String: Bool] = [:]
        for method in Methods.all {
            let name = "accessd.v1.\(method.service)"
            services[name] = (services[name] ?? false) || method.kind == .write
        }
        return services
    }()

    typealias Status = Accessd_V1_HealthCheckResponse.ServingStatus

    /// The answer for `service` ("" for the daemon as a whole).
    static func answer(
        service: String, journalFailure: String?, readsRefused: String? = nil, draining: Bool, revision: UInt64,
        log: LogReport? = nil
    ) -> Accessd_V1_HealthCheckResponse {
        var response = Accessd_V1_HealthCheckResponse()
        response.revision = revision
        if let log {
            response.logLagRecords = log.lagRecords
            response.logLagMs = log.lagMilliseconds
        }
        let takesWrites: Bool
        if service.isEmpty {
            takesWrites = true
        } else if let writes = services[service] {
            takesWrites = writes
        } else {
            response.status = .serviceUnknown
            response.reason = "accessd serves no service named \(PeerText.quote(service)); names look like accessd.v1.AccessService"
            return response
        }
        if draining {
            response.status = .notServing
            response.reason = "accessd is shutting down"
        } else if let readsRefused {
            response.status = .notServing
            response.reason = readsRefused
        } else if let journalFailure, takesWrites {
            response.status = .notServing
            response.reason =
                "writes are refused: \(journalFailure); reads are still answered (the services without writes, such as accessd.v1.AccessService, are SERVING)"
        } else {
            response.status = .serving
        }
        return response
    }
}
