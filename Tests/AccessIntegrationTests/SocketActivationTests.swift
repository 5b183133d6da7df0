import AccessStore
import AccessDaemon
import AccessTestSupport
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
        let created = try connection.call(Methods.createAccount, create, id: 1)
        #expect(created.code == 0, "\(created.message)")
        let stats = try connection.call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 2)
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

    /// Issue 13, item 4: a start that fails under socket activation answers the
    /// connections waiting on the socket (UNAVAILABLE, the exit status and where
    /// the reason is) before it exits, so that systemd does not start it again
    /// for the same connections until start-limit-hit fails accessd.socket.
    @Test(.enabled(if: socketActivate != nil, "systemd-socket-activate is absent (scripts/test.sh installs systemd)"))
    func aFailingStartAnswersTheWaitingConnectionsAndExitsWithItsStatus() throws {
        let directory = SystemdTestSupport.temporaryDirectory("activate-fail")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "\nsokcet = /run/accessd.sock\n".write(toFile: directory + "/broken.conf", atomically: true, encoding: .utf8)
        let socketPath = directory + "/activated.sock"
        let binary = try #require(AccessdBinaryTests.binary)
        let daemon = try DaemonProcess(
            executable: Self.socketActivate!,
            arguments: ["-l", socketPath, "--fdname=accessd", binary.path, "--config", directory + "/broken.conf", "--state-dir", directory + "/state"],
            directory: directory)
        #expect(SystemdTestSupport.waitForFile(socketPath), "systemd-socket-activate did not listen")
        // Two clients wait in the backlog, one having sent its call already.
        // (The file appears at bind(), a moment before listen(): until then a connect is refused.)
        let first = try RawConnection.whenListening(path: socketPath)
        try first.send(try Accessd_V1_Request(id: 1, method: Methods.getStats.path, Accessd_V1_GetStatsRequest()))
        let second = try RawConnection(path: socketPath)
        #expect(daemon.wait() == ExitStatus.config.code, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("broken.conf:2: unknown key 'sokcet'"), "\(daemon.stderr)")
        for connection in [first, second] {
            let answer = try connection.readResponse()
            #expect(answer.id == 0)
            #expect(answer.code == 14, "UNAVAILABLE: \(answer.message)")
            #expect(answer.message.contains("accessd could not start (exit status 78"), "\(answer.message)")
            #expect(answer.message.contains("journalctl -u accessd"), "\(answer.message)")
            #expect(!answer.message.contains("sokcet"), "the details stay in the log: \(answer.message)")
        }
        #expect(daemon.stderr.contains("answered the connections waiting on the socket accessd.connections=2"), "\(daemon.stderr)")
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
