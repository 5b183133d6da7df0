import AccessStore
import AccessTestSupport
import AccessWire
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The daemon's life through the real binary and its ServiceGroup
/// (docs/ARCHITECTURE.md, "The daemon's life"): SIGTERM while recovering stops
/// within seconds, exit 0, nothing written; SIGTERM during a stream sends
/// GoAway, then ends the stream with UNAVAILABLE; SIGTERM while a snapshot is
/// being written leaves a whole snapshot or none, and the state loads again.
@Suite(.serialized) struct LifecycleTests {
    static let quiet: Logger = {
        var logger = Logger(label: "lifecycle-tests")
        logger.logLevel = .critical
        return logger
    }()

    /// A state directory whose `accounts` accounts are in its journal alone
    /// (no snapshot), written through the daemon with snapshots off and fsync
    /// none, pipelined; then the daemon is killed (SIGKILL, so that it writes
    /// no final snapshot).
    static func journalOnlyState(accounts: Int, in directory: String) throws -> String {
        let state = directory + "/state"
        let socket = directory + "/build.sock"
        let config = directory + "/build.conf"
        try "snapshot_interval_s = 86400\nsnapshot_every_records = 1000000000\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let builder = try DaemonProcess.accessd(
            arguments: ["--socket", socket, "--state-dir", state, "--config", config, "--fsync", "none", "--log-level", "warning"],
            directory: directory)
        defer {
            builder.signal(SIGKILL)
            _ = builder.wait()
            unlink(socket)
        }
        #expect(builder.waitForOutput("listening on"), "\(builder.stderr)")
        let connection = try RawConnection(path: socket)
        var next = 0
        while next < accounts {
            let batch = min(100, accounts - next)  // under max_calls_in_flight
            let requests = try (next..<next + batch).map { n in
                var create = Accessd_V1_CreateAccountRequest()
                create.name = "Account \(n)"
                create.fullAccessLicenses = 2
                create.ownerEmail = "owner\(n)@example.com"
                create.ownerFirstName = "Owner"
                create.ownerLastName = "Number\(n)"
                return try Accessd_V1_Request(id: UInt64(n + 1), method: Methods.createAccount.path, create)
            }
            try connection.writeBytes(try RawConnection.frames(requests))
            for _ in 0..<batch {
                let reply = try connection.readResponse(timeout: 30)
                guard reply.code == 0 else { throw RawConnection.Failure(description: "CreateAccount: \(reply.message)") }
            }
            next += batch
        }
        return state
    }

    /// Every file of a directory and its bytes.
    static func contents(_ directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            files[name] = FileManager.default.contents(atPath: directory + "/" + name)
        }
        return files
    }

    @Test func sigtermWhileRecoveringStopsWithinSecondsExitsZeroAndLeavesTheStateDirectoryAsItWas() throws {
        let directory = SystemdTestSupport.temporaryDirectory("life-recover")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = try Self.journalOnlyState(accounts: 12_000, in: directory)
        let before = try Self.contents(state)
        #expect(!before.keys.contains { $0.hasPrefix("snapshot-") }, "the journal alone: \(before.keys.sorted())")

        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", directory + "/run/accessd.sock", "--state-dir", state], directory: directory)
        #expect(daemon.waitForOutput("recovering the state", timeout: 20), "\(daemon.stderr)")
        daemon.signal(SIGTERM)
        let asked = Date()
        let status = daemon.wait(timeout: 20)
        let took = Date().timeIntervalSince(asked)
        #expect(!daemon.stderr.contains("recovered the state"), "SIGTERM came after recovery (make the journal bigger): \(daemon.stderr)")
        #expect(status == 0, "\(daemon.stderr)")
        #expect(took < 3, "stopped within a few seconds: \(took) s")
        #expect(daemon.stderr.contains("stopped before serving; nothing was written"), "\(daemon.stderr)")
        #expect(!daemon.stdout.contains("listening on"), "never served")

        let after = try Self.contents(state)
        #expect(after.keys.sorted() == before.keys.sorted(), "no file made or removed: \(after.keys.sorted())")
        // Every file byte for byte, but `lock`: the state directory's flock, which holds the pid of its holder.
        for (name, bytes) in before where name != "lock" { #expect(after[name] == bytes, "\(name) changed") }

        // And the next start recovers every account.
        let recovered = try StateDirectory(path: state).recover(readOnly: true, logger: Self.quiet)
        #expect(recovered.durable.state.accounts.count == 12_000)
    }

    @Test func sigtermDuringAFollowEventsStreamSendsGoAwayFirstThenEndsTheStreamWithUnavailable() throws {
        let directory = SystemdTestSupport.temporaryDirectory("life-stream")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = directory + "/run/accessd.sock"
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", socket, "--state-dir", directory + "/state"], directory: directory)
        #expect(daemon.waitForOutput("listening on"), "\(daemon.stderr)")
        var create = Accessd_V1_CreateAccountRequest()
        create.name = "Acme"
        create.fullAccessLicenses = 1
        create.ownerEmail = "owner@acme.example"
        create.ownerFirstName = "Olga"
        create.ownerLastName = "Owner"
        #expect(try RawConnection(path: socket).call(Methods.createAccount, create, id: 1).code == 0)

        let stream = try RawConnection(path: socket)
        try stream.send(try Accessd_V1_Request(id: 7, method: Methods.followEvents.path, Accessd_V1_FollowEventsRequest()))
        let first = try stream.readResponse()
        #expect(first.id == 7 && first.more, "the backlog streams")

        daemon.signal(SIGTERM)
        var order: [String] = []
        var end: Accessd_V1_Response?
        while let frame = try stream.readFrame(timeout: 10) {
            switch frame.kind {
            case .goAway(let goAway):
                order.append("goAway")
                #expect(goAway.lastAcceptedID == 7, "the last call accepted: \(goAway)")
            case .response(let response) where response.id == 7 && !response.more:
                order.append("end")
                end = response
            default:
                break
            }
        }
        #expect(order == ["goAway", "end"], "GoAway first, then the stream's end, then the close: \(order)")
        #expect(end?.code == 14, "the stream ends with UNAVAILABLE: \(String(describing: end))")
        #expect(daemon.wait() == 0, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("wrote a snapshot"), "the final snapshot: \(daemon.stderr)")
    }

    @Test func sigtermDuringASnapshotLeavesAWholeSnapshotOrNoneAndTheDaemonRestartsWithTheState() throws {
        let directory = SystemdTestSupport.temporaryDirectory("life-snapshot")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let state = try Self.journalOnlyState(accounts: 10_000, in: directory)
        let socket = directory + "/run/accessd.sock"
        let daemon = try DaemonProcess.accessd(arguments: ["--socket", socket, "--state-dir", state], directory: directory)
        #expect(daemon.waitForOutput("listening on", timeout: 60), "\(daemon.stderr)")
        // AdminService.Snapshot, and SIGTERM while the snapshot thread writes it.
        let admin = try RawConnection(path: socket)
        try admin.send(try Accessd_V1_Request(id: 1, method: Methods.snapshot.path, Accessd_V1_SnapshotRequest()))
        usleep(10_000)
        daemon.signal(SIGTERM)
        var answer: Accessd_V1_Response?
        while let frame = try admin.readFrame(timeout: 30) {
            if case .response(let response) = frame.kind, response.id == 1 { answer = response }
        }
        #expect(answer?.code == 0, "the drain lets the snapshot in flight finish: \(String(describing: answer))")
        #expect(daemon.wait(timeout: 60) == 0, "\(daemon.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: state)
        #expect(!names.contains { $0.hasSuffix(".tmp") }, "no partial snapshot: \(names.sorted())")
        #expect(names.contains { $0.hasPrefix("snapshot-") }, "\(names.sorted())")

        // The daemon starts again from it, with every account.
        let again = try DaemonProcess.accessd(arguments: ["--socket", socket, "--state-dir", state], directory: directory)
        #expect(again.waitForOutput("listening on", timeout: 60), "\(again.stderr)")
        #expect(again.stderr.contains("recovered the state"), "\(again.stderr)")
        let stats = try RawConnection(path: socket).call(Methods.getStats, Accessd_V1_GetStatsRequest(), id: 1)
        #expect(stats.code == 0)
        let figures = try Accessd_V1_GetStatsResponse(serializedBytes: stats.payload)
        #expect(figures.accounts == 10_000, "\(figures)")
        again.signal(SIGTERM)
        #expect(again.wait() == 0, "\(again.stderr)")
    }
}
