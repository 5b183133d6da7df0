import AccessPaths
import AccessStore
import AccessDaemon
import AccessTestSupport
import AccessWire
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 5: SIGTERM drains (GoAway, calls in flight finish, final snapshot,
/// exit 0), and each kind of failure has its own exit status.
@Suite(.serialized) struct ShutdownTests {
    func createAccount(_ connection: RawConnection, id: UInt64) throws {
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 1
        create.ownerEmail = "owner\(id)@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        let created = try connection.call(Methods.createAccount, create, id: id)
        #expect(created.code == 0, "\(created.message)")
    }

    @Test func sigtermDuringAStreamSendsGoAwayWritesTheFinalSnapshotAndExitsZero() throws {
        let directory = SystemdTestSupport.temporaryDirectory("shutdown")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/run/accessd.sock"
        let notify = try NotifySocket(path: directory + "/notify.sock")
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", socketPath, "--state-dir", directory + "/state"],
            environment: ["NOTIFY_SOCKET": notify.path], directory: directory)
        #expect(notify.waitFor("READY=1") != nil, "\(daemon.stderr)")
        try createAccount(try RawConnection(path: socketPath), id: 1)

        // A stream in flight: FollowEvents from the start.
        let stream = try RawConnection(path: socketPath)
        try stream.send(try Accessd_V1_Request(id: 7, method: Methods.followEvents.path, Accessd_V1_FollowEventsRequest()))
        let first = try stream.readResponse()
        #expect(first.id == 7 && first.more, "the backlog streams")

        daemon.signal(SIGTERM)
        var sawGoAway = false
        var streamEnd: Accessd_V1_Response?
        while let frame = try stream.readFrame(timeout: 10) {
            switch frame.kind {
            case .goAway: sawGoAway = true
            case .response(let response) where response.id == 7 && !response.more: streamEnd = response
            default: break
            }
        }
        #expect(sawGoAway, "GoAway before the connection closed")
        #expect(streamEnd?.code == 14, "the stream ends with UNAVAILABLE: \(String(describing: streamEnd))")
        #expect(notify.waitFor("STOPPING=1") != nil)
        #expect(daemon.wait() == 0, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("wrote a snapshot"), "\(daemon.stderr)")
        let snapshots = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/state"))?.filter { $0.hasPrefix("snapshot-") }
        #expect(snapshots?.isEmpty == false, "the final snapshot")
        #expect(!FileManager.default.fileExists(atPath: socketPath), "accessd removes the socket it created")
    }

    @Test func aBrokenConfigFileExitsWithTheConfigStatusAndNamesTheLine() throws {
        let directory = SystemdTestSupport.temporaryDirectory("exit-config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "max_connections = 10\nmax_frame_bytes = huge\n".write(toFile: directory + "/bad.conf", atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess.accessd(
            arguments: ["--config", directory + "/bad.conf", "--socket", directory + "/a.sock", "--state-dir", directory + "/state"],
            directory: directory)
        #expect(daemon.wait() == ExitStatus.config.code)
        #expect(daemon.stderr.contains("\(directory)/bad.conf:2: max_frame_bytes"), "\(daemon.stderr)")
    }

    @Test func aSocketInUseByAnotherAccessdExitsWithTheSocketInUseStatus() throws {
        let directory = SystemdTestSupport.temporaryDirectory("exit-inuse")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socketPath = directory + "/run/accessd.sock"
        let first = try DaemonProcess.accessd(
            arguments: ["--socket", socketPath, "--state-dir", directory + "/state1"], directory: directory)
        #expect(first.waitForOutput("listening on"), "\(first.stderr)")
        let second = try DaemonProcess.accessd(
            arguments: ["--socket", socketPath, "--state-dir", directory + "/state2"], directory: directory)
        #expect(second.wait() == ExitStatus.socketInUse.code, "\(second.stderr)")
        #expect(second.stderr.contains("another accessd is already listening"), "\(second.stderr)")
        first.signal(SIGTERM)
        #expect(first.wait() == 0)
    }

    @Test func aDamagedSnapshotExitsWithTheStateStatus() throws {
        let directory = SystemdTestSupport.temporaryDirectory("exit-state")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/state", withIntermediateDirectories: true)
        let snapshot = directory + "/state/snapshot-00000000000000000001.snap"
        try Data("not a snapshot".utf8).write(to: URL(fileURLWithPath: snapshot))
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", directory + "/a.sock", "--state-dir", directory + "/state"], directory: directory)
        #expect(daemon.wait() == ExitStatus.stateDamaged.code)
        #expect(daemon.stderr.contains("snapshot-00000000000000000001.snap is damaged"), "\(daemon.stderr)")
    }

    @Test func anUnknownFlagExitsWithTheUsageStatus() throws {
        let directory = SystemdTestSupport.temporaryDirectory("exit-usage")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try DaemonProcess.accessd(arguments: ["--no-such-flag"], directory: directory)
        #expect(daemon.wait() == ExitStatus.usage.code)
    }

    @Test func versionPrintsTheOneVersionConstant() throws {
        let binary = try #require(AccessdBinaryTests.binary)
        let result = try SystemdTestSupport.run(binary.path, ["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == AccessdVersion.current)
    }

    @Test func helpListsEveryFlagEnvironmentVariableAndExitStatus() throws {
        let binary = try #require(AccessdBinaryTests.binary)
        let result = try SystemdTestSupport.run(binary.path, ["--help"])
        #expect(result.status == 0)
        let flags = ["--config", "--socket", "--state-dir", "--admin-uid", "--admin-gid", "--log-level", "--version", "--help"]
        let variables = [
            "ACCESSD_SOCKET", "ACCESSD_STATE_DIR", "ACCESSD_CONFIG", "ACCESSD_LOG_LEVEL", "RUNTIME_DIRECTORY", "STATE_DIRECTORY",
            "XDG_RUNTIME_DIR", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET",
            "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
        ]
        for word in flags + variables + ["SIGTERM", "SIGHUP"] + ExitStatus.all.map({ "\($0.code)  " }) {
            #expect(result.stdout.contains(word), "--help does not mention \(word)")
        }
    }
}
