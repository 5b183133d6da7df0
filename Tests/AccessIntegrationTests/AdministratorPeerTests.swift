import AccessTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// docs/protocol.md, "Who is calling": administrator calls only for root and
/// the configured uids, decided from the peer's SO_PEERCRED. The client runs
/// as `nobody` through setpriv (util-linux), so the tests need root.
@Suite(.serialized) struct AdministratorPeerTests {
    let binary = AccessdBinaryTests()

    static var accessctl: URL? { AccessdBinaryTests.binary?.deletingLastPathComponent().appendingPathComponent("accessctl") }

    /// Runs accessctl as uid/gid 65534 (nobody).
    func accessctlAsNobody(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", Self.accessctl!.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func createAccountAsNobody(adminUIDs: [String]) throws -> (status: Int32, output: String) {
        let directory = "/tmp/accessd-peer-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try binary.start(directory: directory, arguments: adminUIDs.flatMap { ["--admin-uid", $0] })
        defer { _ = binary.stop(daemon) }
        // Let nobody reach the socket (the daemon makes its directory 0750 and the socket 0660).
        chmod(directory, 0o755)
        chmod(directory + "/run", 0o755)
        chmod(daemon.socket, 0o666)
        return try accessctlAsNobody([
            "accounts", "create", "--name", "Acme", "--licenses", "1", "--owner-email", "o@acme.example",
            "--owner-first-name", "O", "--owner-last-name", "Owner", "--socket", daemon.socket,
        ])
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aPeerThatIsNotAnAdministratorGetsPermissionDenied() throws {
        let result = try createAccountAsNobody(adminUIDs: [])
        #expect(result.status == 2, "\(result.output)")  // the daemon refused the call
        #expect(result.output.contains("error: PERMISSION_DENIED"), "\(result.output)")
    }

    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aConfiguredAdministratorUIDMakesAdministratorCalls() throws {
        let result = try createAccountAsNobody(adminUIDs: ["65534"])
        #expect(result.status == 0, "\(result.output)")
    }
}
