import AccessStore
import AccessCore
import AccessTestSupport
import AccessWire
import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@testable import AccessDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// HealthService.Check and `accessctl health` (README "Metrics and
/// health"): gRPC health checking's meaning, any peer class, exit statuses
/// fit for a probe; NOT_SERVING while the journal fails and while shutting down.
@Suite(.serialized) struct HealthTests {
    let binary = AccessdBinaryTests()

    /// Runs accessctl as this user.
    static func accessctl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = AdministratorPeerTests.accessctl
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Lets any uid reach the daemon's socket (it makes its directory 0750 and the socket 0660).
    static func openToEveryone(_ daemon: AccessdBinaryTests.Daemon) {
        chmod(daemon.directory, 0o755)
        chmod(daemon.directory + "/run", 0o755)
        chmod(daemon.socket, 0o666)
    }

    static func health(_ connection: RawConnection, service: String = "", id: UInt64) throws -> Accessd_V1_HealthCheckResponse {
        var request = Accessd_V1_HealthCheckRequest()
        request.service = service
        let response = try connection.call(Methods.healthCheck, request, id: id)
        try #require(response.code == 0, "\(response.message)")
        return try Accessd_V1_HealthCheckResponse(serializedBytes: response.payload)
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aReadOnlyPeerMayProbeHealthAndTheExitStatusSaysTheAnswer() throws {
        let directory = "/tmp/accessd-health-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "read_only_uids = 65534\n".write(toFile: directory + "/accessd.conf", atomically: true, encoding: .utf8)
        let daemon = try binary.start(directory: directory, arguments: ["--config", directory + "/accessd.conf"])
        defer { #expect(binary.stop(daemon) == 0) }
        Self.openToEveryone(daemon)
        _ = try MetricsTests.createAccount(try RawConnection(path: daemon.socket), id: 1)
        let revision = try MetricsTests.stats(try RawConnection(path: daemon.socket), id: 1).revision

        let nobody = AdministratorPeerTests()
        let serving = try nobody.accessctlAsNobody(["health", "--socket", daemon.socket])
        #expect(serving.status == 0, "\(serving.output)")
        #expect(serving.output == "SERVING at revision \(revision)\n", "\(serving.output)")
        let service = try nobody.accessctlAsNobody(["health", "--service", "accessd.v1.AccessService", "--socket", daemon.socket])
        #expect(service.status == 0, "\(service.output)")
        let unknown = try nobody.accessctlAsNobody(["health", "--service", "accessd.v1.Nothing", "--socket", daemon.socket])
        #expect(unknown.status == 1, "\(unknown.output)")
        #expect(unknown.output.hasPrefix("SERVICE_UNKNOWN: accessd serves no service named 'accessd.v1.Nothing'"), "\(unknown.output)")
        let json = try nobody.accessctlAsNobody(["health", "--json", "--socket", daemon.socket])
        #expect(json.status == 0 && json.output.contains("\"SERVING\""), "\(json.output)")
        // Without an actor, through raw frames, as the read-only peer would send them.
        let raw = try Self.health(try RawConnection(path: daemon.socket), id: 7)
        #expect(raw.status == .serving && raw.revision == revision && raw.reason.isEmpty)
    }

    @Test func accessctlHealthExitsUnavailableWhenNoDaemonAnswers() throws {
        let directory = "/tmp/accessd-nohealth-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o700)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try Self.accessctl(["health", "--socket", directory + "/accessd.sock"])
        #expect(result.status == 69, "\(result.output)")
        #expect(result.output.contains("cannot reach accessd at \(directory)/accessd.sock"), "\(result.output)")
    }

    /// The real daemon on a 4 MiB tmpfs that fills up (as FullDiskTests):
    /// NOT_SERVING with the reason while appends fail, the read-only
    /// services still SERVING, SERVING again once a write goes through.
    @Test(.enabled(if: FullDiskTests.canMount))
    func aFailingJournalMakesTheDaemonNotServingUntilAWriteSucceedsAgain() throws {
        let directory = "/tmp/accessd-sick-\(UUID().uuidString.prefix(8))"
        let mountPoint = directory + "/fs"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try #require(FullDiskTests.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint]))
        defer {
            _ = FullDiskTests.run("/bin/umount", [mountPoint])
            try? FileManager.default.removeItem(atPath: directory)
        }
        var status = statvfs()
        #expect(statvfs(mountPoint, &status) == 0)
        let filler = mountPoint + "/filler"
        #expect(FileManager.default.createFile(
            atPath: filler, contents: Data(count: max(0, Int(status.f_bavail) * Int(status.f_frsize) - 256 * 1024))))
        let daemon = try binary.start(directory: directory, arguments: ["--state-dir", mountPoint + "/state"])
        defer { #expect(binary.stop(daemon) == 0) }
        let connection = try RawConnection(path: daemon.socket)
        #expect(try Self.health(connection, id: 1).status == .serving)

        let full = FullDiskTests()
        var refused = false
        for n in 0..<10_000 where !refused {
            refused = try full.createAccount(connection, n).0.code == 14
        }
        try #require(refused, "the filesystem filled up")
        let sick = try Self.health(connection, id: 20_001)
        #expect(sick.status == .notServing)
        #expect(sick.reason.contains("No space left on device") && sick.reason.contains("reads are still answered"), "\(sick.reason)")
        #expect(try Self.health(connection, service: "accessd.v1.AccessService", id: 20_002).status == .serving, "Check needs no journal")
        #expect(try Self.health(connection, service: "accessd.v1.UserService", id: 20_003).status == .notServing)
        let probe = try Self.accessctl(["health", "--socket", daemon.socket])
        #expect(probe.status == 1, "\(probe.output)")
        #expect(probe.output.hasPrefix("NOT_SERVING: writes are refused: the last journal append failed"), "\(probe.output)")
        let metrics = try MetricsTests.metrics(connection, id: 20_004)
        #expect(metrics.value("accessd_serving") == 0)
        #expect((metrics.value("accessd_journal_append_failures_total") ?? 0) >= 1)

        try FileManager.default.removeItem(atPath: filler)
        #expect(try full.createAccount(connection, 30_000).0.code == 0)
        #expect(try Self.health(connection, id: 30_001).status == .serving)
        #expect(try Self.accessctl(["health", "--socket", daemon.socket]).status == 0)
    }
}
