import AccessStatus
import AccessClient
import AccessWire
import ArgumentParser
import Foundation

/// `accessctl metrics`: the daemon's metrics as Prometheus text (AdminService.GetMetrics).
struct Metrics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the daemon's metrics as Prometheus text exposition 0.0.4 (administrators).",
        discussion: """
            The same text the daemon writes to metrics_textfile for node_exporter's textfile collector. \
            The README's "Metrics and health" says what each metric means.
            """)

    @OptionGroup var options: ConnectionOptions

    func run() async throws {
        let client = try await options.connectOrFail()
        let response: Accessd_V1_GetMetricsResponse
        do {
            response = try await client.call(
                Methods.getMetrics, Accessd_V1_GetMetricsRequest())
            await client.close()
        } catch let error as CallError {
            await client.close()
            throw fail("\(error.codeName): \(error.message)")
        }
        if options.json {
            print(try JSONOutput.document(response))
        } else {
            FileHandle.standardOutput.write(Data(response.text.utf8))
        }
    }
}

/// `accessctl health`: HealthService.Check, with exit statuses for a probe.
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask whether the daemon is serving (any peer may); the exit status says it, for probes.",
        discussion: """
            Exit status: 0 SERVING; 1 NOT_SERVING or SERVICE_UNKNOWN (the reason is printed); \
            2 no answer within 5 seconds, or another error; 69 the daemon cannot be reached (as every accessctl command).
            """)

    @OptionGroup var options: ConnectionOptions

    @Option(help: "A service to ask about, such as accessd.v1.AccessService (default: the daemon as a whole).")
    var service: String = ""

    /// How long the probe waits for the daemon's answer.
    static let timeout: Duration = .seconds(5)

    func run() async throws {
        let client: AccessClient
        do {
            client = try await options.connectOrFail()
        } catch let code as ExitCode where code == .failure {
            throw ExitCode(2)  // the reason is printed already
        }
        var request = Accessd_V1_HealthCheckRequest()
        request.service = service
        let response: Accessd_V1_HealthCheckResponse
        do {
            response = try await Self.check(client, request)
            await client.close()
        } catch let error as CallError {
            await client.close()
            FileHandle.standardError.write(Data("error: \(error.codeName): \(error.message)\n".utf8))
            throw ExitCode(2)
        } catch {
            await client.close()
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let status = Self.statusName(response.status)
        if options.json {
            print(try JSONOutput.document(response))
        } else if response.status == .serving {
            print("\(status) at revision \(response.revision)")
        } else {
            print("\(status): \(response.reason.isEmpty ? "no reason given" : response.reason)")
        }
        if response.status != .serving { throw ExitCode(1) }
    }

    /// The call, or DEADLINE_EXCEEDED once `timeout` passed without an answer.
    static func check(_ client: AccessClient, _ request: Accessd_V1_HealthCheckRequest) async throws
        -> Accessd_V1_HealthCheckResponse
    {
        let milliseconds = UInt32(timeout.components.seconds * 1000)
        return try await withThrowingTaskGroup(of: Accessd_V1_HealthCheckResponse.self) { group in
            group.addTask {
                try await client.call(
                    Methods.healthCheck, request, options: CallOptions(timeoutMilliseconds: milliseconds))
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw CallError(
                    code: StatusCode.deadlineExceeded, message: "accessd did not answer the health check within \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    static func statusName(_ status: Accessd_V1_HealthCheckResponse.ServingStatus) -> String {
        switch status {
        case .unknown: "UNKNOWN"
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        case .UNRECOGNIZED(let value): "UNKNOWN_\(value)"
        }
    }
}
