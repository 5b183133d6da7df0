import AccessDaemon
import AccessWire
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 5: socket activation. With LISTEN_FDS/LISTEN_PID (and
/// LISTEN_FDNAMES) accessd serves the passed socket instead of binding one,
/// and never unlinks a socket it did not create.
@Suite(.serialized) struct SocketActivationTests {
    static let socketActivate = SystemdTestSupport.tool("systemd-socket-activate")

    @Test(.enabled(if: socketActivate != nil, "systemd-socket-activate is absent (scripts/test.sh installs systemd)"))
    func accessdServesTheSocketSystemdSocketActivatePassesAndLeavesItInPlace() throws {
        let directory = SystemdTestSupport.temporaryDirectory("activate")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/activated.sock"
        let binary = try #require(AccessdBinaryTests.binary)
        let notify = try NotifySocket(path: directory + "/notify.sock")
        // systemd-socket-activate passes only the variables it is told (-E) to the program.
        let daemon = try DaemonProcess(
            executable: Self.socketActivate!,
            arguments: [
                "-l", socketPath, "--fdname=accessd", "-E", "NOTIFY_SOCKET=\(notify.path)",
                binary.path, "--state-dir", directory + "/state", "--socket", directory + "/not-this-one.sock",
            ],
            directory: directory)
        // It execs accessd on the first connection, which waits in the backlog meanwhile.
        #expect(SystemdTestSupport.waitForFile(socketPath), "systemd-socket-activate did not listen")
        let connection = try RawConnection(path: socketPath)
        #expect(notify.waitFor("READY=1") != nil, "stderr: \(daemon.stderr)")
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 1
        create.ownerEmail = "owner@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        let created = try connection.call("/accessd.v1.AdminService/CreateAccount", create, id: 1)
        #expect(created.code == 0, "\(created.message)")
        let stats = try connection.call("/accessd.v1.AdminService/GetStats", Accessd_V1_GetStatsRequest(), id: 2)
        #expect(try Accessd_V1_GetStatsResponse(serializedBytes: stats.payload).socketPath == socketPath)
        #expect(daemon.stdout.contains("listening on \(socketPath)"), "\(daemon.stdout)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/not-this-one.sock"), "the passed socket wins over --socket")

        daemon.signal(SIGTERM)
        #expect(daemon.wait() == 0, "\(daemon.stderr)")
        var status = stat()
        #expect(lstat(socketPath, &status) == 0, "accessd never unlinks a socket it did not create")
    }

    @Test(.enabled(if: socketActivate != nil, "systemd-socket-activate is absent (scripts/test.sh installs systemd)"))
    func severalPassedSocketsNoneNamedAccessdIsAConfigError() throws {
        let directory = SystemdTestSupport.temporaryDirectory("activate2")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let binary = try #require(AccessdBinaryTests.binary)
        let daemon = try DaemonProcess(
            executable: Self.socketActivate!,
            arguments: ["-l", directory + "/a.sock", "-l", directory + "/b.sock", binary.path, "--state-dir", directory + "/state"],
            directory: directory)
        #expect(SystemdTestSupport.waitForFile(directory + "/a.sock"))
        _ = try RawConnection(path: directory + "/a.sock")
        #expect(daemon.wait() == ExitStatus.config.code, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("FileDescriptorName="), "\(daemon.stderr)")
    }

    @Test func listenPIDOfAnotherProcessMeansNoSocketWasPassedToUs() throws {
        let environment = ["LISTEN_FDS": "1", "LISTEN_PID": "\(getpid() + 1)"]
        #expect(try SocketActivation.takeListener(environment: environment, unsetEnvironment: false) == nil)
        #expect(try SocketActivation.takeListener(environment: [:], unsetEnvironment: false) == nil)
        #expect(throws: SocketActivation.Invalid.self) {
            try SocketActivation.takeListener(
                environment: ["LISTEN_FDS": "zero", "LISTEN_PID": "\(getpid())"], unsetEnvironment: false)
        }
    }
}
